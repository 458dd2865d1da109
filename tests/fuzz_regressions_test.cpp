// Replays the fuzzing corpora and every input a fuzzer once crashed on
// (tests/fuzz/regressions/): each must be accepted, or rejected with an InputError that
// names the input first.
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>

#include "tests/fuzz/targets.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
namespace fs = std::filesystem;

namespace {

// Runs `target` on every file of the target's corpus and regressions; returns how many.
size_t replay(const std::string& name, const std::function<void(const std::string&)>& target) {
  size_t inputs = 0;
  for (const std::string& dir : {"tests/fuzz/corpus/" + name, "tests/fuzz/regressions/" + name}) {
    const fs::path path = fs::path(MOESIM_SOURCE_DIR) / dir;
    if (!fs::exists(path)) continue;
    for (const auto& entry : fs::directory_iterator(path)) {
      if (!entry.is_regular_file() || entry.path().filename() == "README.md") continue;
      INFO(entry.path().string());
      ++inputs;
      try {
        target(test::read_file(entry.path().string()));
      } catch (const InputError& e) {
        CHECK(std::string(e.what()).rfind("fuzz.", 0) == 0);  // names the input first
      }
    }
  }
  return inputs;
}

}  // namespace

TEST_CASE("fuzz corpus and regressions: the scenario reader accepts or rejects with InputError", "[fuzz]") {
  CHECK(replay("scenario", fuzz::scenario) >= 6);
}

TEST_CASE("fuzz corpus and regressions: benchmark JSON, nccl-tests, validation-dataset and routing-trace readers", "[fuzz]") {
  CHECK(replay("bench_json", fuzz::bench_json) >= 1);
  CHECK(replay("nccl_tests", fuzz::nccl_tests) >= 2);
  CHECK(replay("validation_dataset", fuzz::validation_dataset) >= 2);
  CHECK(replay("routing_trace", fuzz::routing_trace) >= 3);
}
