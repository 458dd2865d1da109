#include "models/params.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace moesim {

namespace {
std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string bound_problem(const ParamSpec& spec, double v) {
  if (!std::isfinite(v)) return "a finite number";
  if (spec.exclusive_min && !(v > *spec.exclusive_min)) return "a number > " + number_text(*spec.exclusive_min);
  if (spec.inclusive_min && !(v >= *spec.inclusive_min)) return "a number >= " + number_text(*spec.inclusive_min);
  if (spec.inclusive_max && !(v <= *spec.inclusive_max)) return "a number <= " + number_text(*spec.inclusive_max);
  return "";
}
}  // namespace

std::string ParamSpec::type_name() const {
  switch (kind) {
    case ParamKind::NUMBER: return "number";
    case ParamKind::OPTIONAL_NUMBER: return "number or null";
    case ParamKind::INTEGER: return "integer";
    case ParamKind::OPTIONAL_INTEGER: return "integer or null";
    case ParamKind::TEXT: return "string";
    case ParamKind::BOOLEAN: return "true or false";
    case ParamKind::INTEGER_LIST: return "list of integers";
    case ParamKind::PATH: return "file path";
    case ParamKind::CHOICE:
    case ParamKind::CHOICE_LIST: {
      std::string out = kind == ParamKind::CHOICE ? "one of " : "list of distinct ";
      for (size_t i = 0; i < choices.size(); ++i) out += (i ? ", " : "") + choices[i];
      return out;
    }
  }
  return "?";
}

std::string ParamSpec::check(const ParamValue& value) const {
  const double* number = std::get_if<double>(&value);
  switch (kind) {
    case ParamKind::OPTIONAL_NUMBER:
      if (std::holds_alternative<std::monostate>(value)) return "";
      [[fallthrough]];
    case ParamKind::NUMBER:
      return number ? bound_problem(*this, *number) : "a " + type_name();
    case ParamKind::OPTIONAL_INTEGER:
      if (std::holds_alternative<std::monostate>(value)) return "";
      [[fallthrough]];
    case ParamKind::INTEGER:
      if (!number || std::floor(*number) != *number || !bound_problem(*this, *number).empty())
        return "an integer >= " + number_text(inclusive_min.value_or(0));
      return "";
    case ParamKind::CHOICE: {
      const std::string* s = std::get_if<std::string>(&value);
      if (s)
        for (const auto& c : choices)
          if (c == *s) return "";
      return type_name();
    }
    case ParamKind::TEXT:
      return std::holds_alternative<std::string>(value) ? "" : type_name();
    case ParamKind::PATH: {
      const std::string* s = std::get_if<std::string>(&value);
      return s && !s->empty() ? "" : "a file path (relative to the scenario file)";
    }
    case ParamKind::BOOLEAN:
      return std::holds_alternative<bool>(value) ? "" : type_name();
    case ParamKind::INTEGER_LIST: {
      const auto* list = std::get_if<std::vector<double>>(&value);
      if (!list) return type_name();
      for (double v : *list)
        if (std::floor(v) != v || !bound_problem(*this, v).empty())
          return "a list of integers >= " + number_text(inclusive_min.value_or(0));
      return "";
    }
    case ParamKind::CHOICE_LIST: {
      const auto* list = std::get_if<std::vector<std::string>>(&value);
      if (!list) return type_name();
      for (size_t i = 0; i < list->size(); ++i)
        if (std::find(choices.begin(), choices.end(), (*list)[i]) == choices.end() ||
            std::find(list->begin(), list->begin() + long(i), (*list)[i]) != list->begin() + long(i))
          return type_name();
      return "";
    }
  }
  return type_name();
}

std::string param_value_text(const ParamValue& value) {
  if (const double* d = std::get_if<double>(&value)) return number_text(*d);
  if (const std::string* s = std::get_if<std::string>(&value)) return "\"" + *s + "\"";
  if (const bool* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const auto* list = std::get_if<std::vector<double>>(&value)) {
    std::string out = "[";
    for (size_t i = 0; i < list->size(); ++i) out += (i ? ", " : "") + number_text((*list)[i]);
    return out + "]";
  }
  if (const auto* list = std::get_if<std::vector<std::string>>(&value)) {
    std::string out = "[";
    for (size_t i = 0; i < list->size(); ++i) out += (i ? ", \"" : "\"") + (*list)[i] + "\"";
    return out + "]";
  }
  return "null";
}

const ParamValue& Params::at(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("parameter '" + name + "' was not declared");
  return it->second;
}

double Params::number(const std::string& name) const { return std::get<double>(at(name)); }

std::optional<double> Params::optional_number(const std::string& name) const {
  const ParamValue& v = at(name);
  if (std::holds_alternative<std::monostate>(v)) return std::nullopt;
  return std::get<double>(v);
}

const std::string& Params::text(const std::string& name) const { return std::get<std::string>(at(name)); }
bool Params::boolean(const std::string& name) const { return std::get<bool>(at(name)); }
const std::vector<double>& Params::numbers(const std::string& name) const {
  return std::get<std::vector<double>>(at(name));
}

}  // namespace moesim
