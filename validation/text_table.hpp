#pragma once
#include <cstdio>
#include <string>

// Column formatting for the console tables of `moesim calibrate` and `moesim validate`.
namespace moesim::text {

inline std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}
// Left-aligned in `width` columns (at least one space after).
inline std::string pad(std::string s, size_t width) { return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' '); }
// Right-aligned in `width` columns (at least one space before).
inline std::string lpad(std::string s, size_t width) { return s.size() >= width ? " " + s : std::string(width - s.size(), ' ') + s; }

}  // namespace moesim::text
