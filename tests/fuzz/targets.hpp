#pragma once
// What each fuzz target does with one input: parse it, and use what parsed. Any input must
// be accepted or rejected with an InputError; anything else (another exception, a crash, a
// leak, undefined behaviour) is a finding. The libFuzzer targets (*_fuzz.cpp) and the unit
// suite's corpus replay (tests/fuzz_regressions_test.cpp) share these functions.
#include <cmath>
#include <string>

#include "hardware/input_error.hpp"
#include "models/scores/trace_reader.hpp"
#include "sim/limits.hpp"
#include "sim/scenario.hpp"
#include "validation/calibration/bench_reader.hpp"
#include "validation/calibration/nccl_tests.hpp"
#include "validation/validate/predict.hpp"

namespace moesim::fuzz {

inline void trap_unless(bool ok) {
  if (!ok) __builtin_trap();
}

inline void scenario(const std::string& text) {
  const Scenario s = parse_scenario(text, "fuzz.json");
  const RunEstimate e = estimate_run(s);
  trap_unless(e.memory_bytes >= 0 && e.wall_s >= 0);  // NaN or negative estimate
}

// Every parsed measurement must carry a positive time.
inline void bench_json(const std::string& text) {
  for (const auto& m : calibration::parse_bench_json(text, "fuzz.json").measurements) trap_unless(m.time_s > 0);
}

inline void nccl_tests(const std::string& text) {
  for (auto c : {calibration::NcclCollective::ALL_TO_ALL, calibration::NcclCollective::ALL_REDUCE}) {
    const auto log = calibration::parse_nccl_tests(text, c, "fuzz.log");
    trap_unless(log.ranks > 0 && !log.rows.empty());
    for (const auto& row : log.rows) trap_unless(row.size_bytes > 0 && row.out_of_place_s > 0);
  }
}

// Every point is predicted except training steps (a fuzzed plan may be a cluster-sized run).
inline void validation_dataset(const std::string& text) {
  for (const auto& p : validation::parse_validation_dataset(text, "fuzz.json")) {
    if (p.op == "train_step") continue;
    const auto prediction = validation::predict(p, validation::PredictContext{});
    if (prediction.supported) trap_unless(!std::isnan(prediction.metric));
  }
}

// A routing trace, line by line as TraceReader reads it: every id kept is an expert id, and
// tokens are whole (layers x k ids each).
inline void routing_trace(const std::string& text) {
  constexpr int EXPERTS = 256;
  TraceShape shape;
  std::vector<uint16_t> ids;
  size_t start = 0, line = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string row = text.substr(start, end - start);
    ++line;
    if (row.find_first_not_of(" \t\r") != std::string::npos)
      parse_trace_line(row, "fuzz.jsonl:" + std::to_string(line), EXPERTS, shape, ids);
    start = end + 1;
  }
  if (shape.layers > 0) trap_unless(shape.top_k > 0 && ids.size() % size_t(shape.layers * shape.top_k) == 0);
  for (uint16_t e : ids) trap_unless(e < EXPERTS);
}

}  // namespace moesim::fuzz
