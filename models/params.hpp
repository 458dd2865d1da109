#pragma once
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace moesim {

// Declared parameters of a pluggable component (router policy, score source, placement).
// Each parameter is declared once, with its type, default and help, next to the code that
// uses it; the scenario reader checks JSON against the declaration, and `moesim presets`
// prints it. The core receives a validated Params bag, never JSON.
enum class ParamKind {
  NUMBER,           // a finite number, optionally bounded below
  OPTIONAL_NUMBER,  // a number or null (null means "off", e.g. capacity_factor: null = dropless)
  INTEGER,          // a whole number >= min
  OPTIONAL_INTEGER, // a whole number >= min, or null
  CHOICE,           // one string of `choices`
  TEXT,             // any string
  BOOLEAN,          // true or false
  INTEGER_LIST,     // a list of whole numbers >= min (empty list allowed)
  CHOICE_LIST,      // a list of distinct strings of `choices` (empty list allowed)
  PATH,             // a file path; the scenario reader resolves it relative to the scenario file
};

using ParamValue = std::variant<std::monostate, double, std::string, bool, std::vector<double>, std::vector<std::string>>;

struct ParamSpec {
  std::string name;
  ParamKind kind = ParamKind::NUMBER;
  ParamValue default_value;
  std::string help;
  std::optional<double> exclusive_min;   // value must be > this
  std::optional<double> inclusive_min;   // value must be >= this
  std::optional<double> inclusive_max;   // value must be <= this
  std::vector<std::string> choices;      // for CHOICE and CHOICE_LIST

  // "" when `value` is acceptable, else what was expected (for the error message).
  std::string check(const ParamValue& value) const;
  std::string type_name() const;
};

std::string param_value_text(const ParamValue& value);

// Values for declared parameters, defaults filled in.
class Params {
 public:
  Params() = default;
  explicit Params(std::map<std::string, ParamValue> values) : values_(std::move(values)) {}
  double number(const std::string& name) const;
  std::optional<double> optional_number(const std::string& name) const;
  const std::string& text(const std::string& name) const;
  bool boolean(const std::string& name) const;
  const std::vector<double>& numbers(const std::string& name) const;
  const std::map<std::string, ParamValue>& values() const { return values_; }

 private:
  const ParamValue& at(const std::string& name) const;
  std::map<std::string, ParamValue> values_;
};

// A pluggable component's registry entry (its description is the registry's): what it
// takes and how to make it.
template <class Product>
struct Component {
  std::vector<ParamSpec> params;
  Product make;  // a factory taking (const Params&, ...) and returning the component
};

}  // namespace moesim
