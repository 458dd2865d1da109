#include "sim/des/wire.hpp"

#include <cstring>
#include <stdexcept>

namespace moesim {

namespace {

class Writer {
 public:
  explicit Writer(std::FILE* out) : out_(out) {}
  template <class T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (std::fwrite(&value, sizeof value, 1, out_) != 1) throw std::runtime_error("des: cannot write results");
  }
  void put(const std::string& text) {
    put(text.size());
    if (!text.empty() && std::fwrite(text.data(), text.size(), 1, out_) != 1) throw std::runtime_error("des: cannot write results");
  }
  template <class T>
  void put_vector(const std::vector<T>& values) {
    put(values.size());
    if (!values.empty() && std::fwrite(values.data(), sizeof(T), values.size(), out_) != values.size())
      throw std::runtime_error("des: cannot write results");
  }

 private:
  std::FILE* out_;
};

class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}
  template <class T>
  T get() {
    T value;
    take(&value, sizeof value);
    return value;
  }
  std::string get_string() {
    std::string text(get<size_t>(), '\0');
    take(text.data(), text.size());
    return text;
  }
  template <class T>
  std::vector<T> get_vector() {
    std::vector<T> values(get<size_t>());
    take(values.data(), values.size() * sizeof(T));
    return values;
  }

 private:
  void take(void* to, size_t n) {
    if (pos_ + n > bytes_.size()) throw std::runtime_error("des: the simulation process sent truncated results");
    if (n) std::memcpy(to, bytes_.data() + pos_, n);
    pos_ += n;
  }
  const std::string& bytes_;
  size_t pos_ = 0;
};

}  // namespace

void write_engine_run(std::FILE* out, const EngineRun& run) {
  Writer w(out);
  w.put(run.timelines.size());
  for (const GpuTimeline& t : run.timelines) {
    w.put(t.gpu);
    w.put(t.part_s);
    w.put(t.end_s);
    w.put(t.traced);
    w.put_vector(t.spans);
  }
  w.put_vector(run.stragglers);
  w.put(run.links.size());
  for (const LinkUsage& l : run.links) {
    w.put(l.name);
    w.put(l.bandwidth_Bps);
    w.put(l.mean_utilization);
    w.put(l.peak_utilization);
  }
}

EngineRun read_engine_run(const std::string& bytes) {
  Reader r(bytes);
  EngineRun run;
  run.timelines.resize(r.get<size_t>());
  for (GpuTimeline& t : run.timelines) {
    t.gpu = r.get<int>();
    t.part_s = r.get<PartSeconds>();
    t.end_s = r.get<double>();
    t.traced = r.get<bool>();
    t.spans = r.get_vector<Span>();
  }
  run.stragglers = r.get_vector<LayerStraggler>();
  run.links.resize(r.get<size_t>());
  for (LinkUsage& l : run.links) {
    l.name = r.get_string();
    l.bandwidth_Bps = r.get<double>();
    l.mean_utilization = r.get<double>();
    l.peak_utilization = r.get<double>();
  }
  return run;
}

}  // namespace moesim
