// Replays the fuzzing corpus and every input a fuzzer once crashed on
// (tests/fuzz/regressions/): each must parse, or be rejected with an InputError.
#include <catch2/catch.hpp>

#include <filesystem>

#include "sim/limits.hpp"
#include "sim/scenario.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
namespace fs = std::filesystem;

TEST_CASE("fuzz corpus and regressions: the scenario reader accepts or rejects with InputError", "[fuzz]") {
  size_t inputs = 0;
  for (const char* dir : {"tests/fuzz/corpus/scenario", "tests/fuzz/regressions/scenario"}) {
    const fs::path path = fs::path(MOESIM_SOURCE_DIR) / dir;
    if (!fs::exists(path)) continue;
    for (const auto& entry : fs::directory_iterator(path)) {
      if (!entry.is_regular_file() || entry.path().filename() == "README.md") continue;
      INFO(entry.path().string());
      ++inputs;
      try {
        const Scenario s = parse_scenario(test::read_file(entry.path().string()), entry.path().string());
        CHECK(estimate_run(s).memory_bytes >= 0);
      } catch (const InputError& e) {
        CHECK(std::string(e.what()).find(entry.path().string()) == 0);  // names the file first
      }
    }
  }
  CHECK(inputs >= 6);
}
