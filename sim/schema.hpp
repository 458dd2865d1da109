#pragma once
#include <string>
#include <vector>

namespace moesim {

// Every scenario key the reader accepts, from the tables the reader itself uses (the fixed
// specs' field tables, the component registries' declared parameters, the top-level
// sections): `moesim schema` prints it and scenarios/README.md is generated from it.
struct SchemaEntry {
  std::string section;    // cluster, model, plan, sim, router, scores, placement, or "" (top level)
  std::string component;  // for router/scores/placement: the policy, source or strategy it belongs to
  std::string key;
  std::string type;
  std::string unit;       // from the key's suffix; "" when it has none
  std::string default_text;
  std::string help;
};

std::vector<SchemaEntry> scenario_schema();
std::string schema_text(const std::vector<SchemaEntry>& entries);
std::string schema_markdown(const std::vector<SchemaEntry>& entries);

}  // namespace moesim
