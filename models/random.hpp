#pragma once
#include <cmath>
#include <cstdint>
#include <initializer_list>

namespace moesim {

// A small, portable random generator (xoshiro256**, seeded through splitmix64) and the
// distributions moesim needs. Written here rather than taken from <random> because the
// standard distributions differ between library implementations, and moesim promises
// byte-identical results for the same seed.
class Rng {
 public:
  // One independent stream per tuple of ids (seed, layer, micro-batch, rank, ...), so that
  // results do not depend on the order in which streams are consumed.
  explicit Rng(std::initializer_list<uint64_t> ids) {
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (uint64_t id : ids) x = splitmix(x ^ (id + 0x632BE59BD9B4E019ull));
    for (auto& s : s_) s = splitmix(x);
  }

  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in the open interval (0, 1).
  double uniform() { return ((next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
  double normal() {
    // Box-Muller; the second value is dropped to keep the stream state simple.
    return std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
  }
  double gumbel() { return -std::log(-std::log(uniform())); }
  // Gamma(shape, 1) by Marsaglia and Tsang (2000), with the shape < 1 boost.
  double gamma(double shape) {
    if (shape < 1) return gamma(shape + 1) * std::pow(uniform(), 1.0 / shape);
    const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9 * d);
    for (;;) {
      double x, v;
      do {
        x = normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const double u = uniform();
      if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  }
  uint64_t s_[4];
};

}  // namespace moesim
