#pragma once

namespace moesim {
// The text of scenarios/default.json, embedded at build time.
const char* default_scenario_json();
inline constexpr const char* DEFAULT_SCENARIO_NAME = "<embedded default scenario>";
}  // namespace moesim
