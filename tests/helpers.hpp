#pragma once
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "sim/result.hpp"
#include "sim/scenario.hpp"

namespace moesim::test {

// A small scenario on one DGX H100 node; `extra` members are spliced into the top level
// object and replace sections of the same name.
inline std::string scenario_json(const std::string& plan = R"({"dp": 8, "ep": 8, "micro_batches": 2, "seq_len": 1024})",
                                 const std::string& router = R"({"policy": "topk", "capacity_factor": 1.25})",
                                 const std::string& scores = R"({"alpha": 1.0, "seed": 3})",
                                 const std::string& model = R"({"preset": "mixtral-8x7b"})",
                                 const std::string& cluster = R"({"preset": "dgx-h100", "nodes": 1})") {
  return R"({"cluster": )" + cluster + R"(, "model": )" + model + R"(, "plan": )" + plan + R"(, "router": )" + router +
         R"(, "scores": )" + scores + "}";
}

inline Scenario scenario(const std::string& text) { return parse_scenario(text, "test.json"); }

// Seconds of one part of a step's breakdown (a test fails when the part is missing).
inline double part(const StepResult& r, const std::string& name) {
  for (const auto& [n, seconds] : r.breakdown_s)
    if (n == name) return seconds;
  FAIL("no breakdown part " << name);
  return 0;
}

struct CommandResult {
  int exit_code;
  std::string output;
};

// Runs a shell command, capturing stdout and stderr together.
inline CommandResult run_command(const std::string& command) {
  CommandResult r{0, ""};
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) r.output.append(buf, n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace moesim::test
