// moesim schema: every key the reader accepts is listed with help, and scenarios/README.md is current.
#include <catch2/catch.hpp>

#include <set>

#include "models/placement/placement.hpp"
#include "models/routing/router.hpp"
#include "models/scores/score_source.hpp"
#include "sim/schema.hpp"
#include "tests/helpers.hpp"

using namespace moesim;
using namespace moesim::test;

namespace {

// The keys the reader names when it rejects `bogus` in `section` of a scenario.
std::set<std::string> accepted_keys(const std::string& section, const std::string& name_key = "",
                                    const std::string& name = "") {
  std::string json = scenario_json();
  json.back() = ',';
  json += "\"" + section + "\": {" + (name_key.empty() ? "" : "\"" + name_key + "\": \"" + name + "\", ") +
          "\"bogus\": 1}}";
  if (section == "cluster" || section == "model" || section == "plan") {
    // Replace the helper's own section: rebuild with the bogus key inside it.
    json = scenario_json();
    const size_t at = json.find("\"" + section + "\": {") + section.size() + 5;
    json.insert(at, "\"bogus\": 1, ");
  }
  try {
    parse_scenario(json, "t.json");
  } catch (const InputError& e) {
    const std::string message = e.what();
    const std::string marker = "expected one of: ";
    const size_t start = message.find(marker);
    REQUIRE(start != std::string::npos);
    std::set<std::string> keys;
    std::string list = message.substr(start + marker.size());
    for (size_t p; (p = list.find(", ")) != std::string::npos; list.erase(0, p + 2)) keys.insert(list.substr(0, p));
    keys.insert(list);
    return keys;
  }
  FAIL("the bogus key was accepted in " << section);
  return {};
}

std::set<std::string> schema_keys(const std::string& section, const std::string& component = "",
                                  const std::string& name_key = "") {
  std::set<std::string> keys;
  for (const auto& e : scenario_schema())
    if (e.section == section && (e.component.empty() ? e.key == name_key || name_key.empty() : e.component == component))
      keys.insert(e.key);
  return keys;
}

}  // namespace

TEST_CASE("the schema lists every key the reader accepts, each with type and help", "[schema]") {
  const auto schema = scenario_schema();
  for (const auto& e : schema) {
    INFO(e.section << "/" << e.component << "/" << e.key);
    CHECK_FALSE(e.help.empty());
    CHECK_FALSE(e.type.empty());
  }
  for (const char* section : {"cluster", "model", "plan", "sim"}) {
    INFO(section);
    CHECK(accepted_keys(section) == schema_keys(section));
  }
  const std::tuple<const char*, const char*, std::vector<std::string>> components[] = {
      {"router", "policy", router_policies().names()},
      {"scores", "source", score_sources().names()},
      {"placement", "strategy", placement_strategies().names()}};
  for (const auto& [section, name_key, names] : components)
    for (const std::string& name : names) {
      INFO(section << " " << name);
      std::set<std::string> expected = schema_keys(section, name, name_key);
      expected.insert(name_key);
      CHECK(accepted_keys(section, name_key, name) == expected);
    }
}

TEST_CASE("scenarios/README.md is the schema as moesim schema --markdown writes it", "[schema]") {
  const std::string file = read_file(std::string(MOESIM_SOURCE_DIR) + "/scenarios/README.md");
  INFO("regenerate with: build/moesim schema --markdown > scenarios/README.md");
  CHECK(file == schema_markdown(scenario_schema()));
  const CommandResult r = run_command(std::string(MOESIM_BINARY) + " schema");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("capacity_factor") && Catch::Contains("nvlink_GBps (number, GB/s"));
}
