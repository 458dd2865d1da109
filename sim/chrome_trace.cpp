#include "sim/chrome_trace.hpp"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace moesim {

namespace {

// Bytes this GPU sends in a collective or message op (for the span's arguments).
double op_bytes(const StepProgram& program, int gpu, const Op& op) {
  if (op.kind == OpKind::SEND || op.kind == OpKind::RECV) return op.amount;
  const Collective& c = program.collectives[op.ref];
  if (c.kind == CollectiveKind::ALL_REDUCE) return c.bytes;
  const std::vector<int>& members = program.groups[c.group];
  const size_t n = members.size();
  size_t me = 0;
  while (members[me] != gpu) ++me;
  double copies = 0;
  for (size_t other = 0; other < n; ++other)
    copies += c.reverse ? c.load->pair_copies[other * n + me] : c.load->pair_copies[me * n + other];
  return copies * c.bytes_per_copy;
}

std::string span_name(const Op& op, Part part) {
  std::string name = part_name(part);
  if (part == Part::STRAGGLER_WAIT) name = std::string("wait for ") + part_name(op.part);
  if (op.layer >= 0) name += " L" + std::to_string(op.layer);
  if (op.backward) name += " bwd";
  return name;
}

}  // namespace

std::string write_chrome_trace(const std::string& dir, const StepProgram& program, const std::vector<GpuTimeline>& timelines,
                               const ClusterSpec& cluster) {
  std::filesystem::create_directories(dir);
  const std::string path = (std::filesystem::path(dir) / "trace.json").string();
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "w"), std::fclose);
  if (!file) throw std::runtime_error(path + ": cannot write");
  std::FILE* f = file.get();
  std::fprintf(f, "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n");
  bool first = true;
  const auto sep = [&] { std::fputs(first ? "" : ",\n", f), first = false; };
  int last_node = -1;
  for (const GpuTimeline& timeline : timelines) {
    if (!timeline.traced) continue;
    const int gpu = timeline.gpu;
    const int node = cluster.node_of(gpu);
    if (node != last_node) {
      sep();
      std::fprintf(f, R"({"ph": "M", "name": "process_name", "pid": %d, "args": {"name": "node %d"}})", node, node);
      last_node = node;
    }
    sep();
    std::fprintf(f, R"({"ph": "M", "name": "thread_name", "pid": %d, "tid": %d, "args": {"name": "GPU %d"}})", node, gpu, gpu);
    for (const Span& s : timeline.spans) {
      const Op& op = program.ops[gpu][s.op];
      sep();
      std::fprintf(f, R"({"ph": "X", "pid": %d, "tid": %d, "ts": %.3f, "dur": %.3f, "name": "%s", "cat": "%s", "args": {)",
                   node, gpu, s.start_s * 1e6, (s.end_s - s.start_s) * 1e6, span_name(op, s.part).c_str(), part_name(s.part));
      std::fprintf(f, R"("micro_batch": %d)", op.micro_batch);
      if (op.kind == OpKind::COMPUTE) std::fprintf(f, R"(, "flops": %.6g)", op.amount);
      else std::fprintf(f, R"(, "bytes_sent": %.6g)", op_bytes(program, gpu, op));
      std::fputs("}}", f);
    }
  }
  std::fprintf(f, "\n]}\n");
  if (std::ferror(f)) throw std::runtime_error(path + ": write failed");
  return path;
}

}  // namespace moesim
