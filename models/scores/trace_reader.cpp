#include "models/scores/trace_reader.hpp"

#include <nlohmann/json.hpp>

#include "hardware/input_error.hpp"

namespace moesim {

namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const std::string& where, const std::string& path, const std::string& what) {
  throw InputError(where + ": " + path + ": " + what);
}

}  // namespace

void parse_trace_line(const std::string& line, const std::string& where, int experts, TraceShape& shape,
                      std::vector<uint16_t>& ids) {
  json doc;
  try {
    doc = json::parse(line);
  } catch (const json::exception& e) {
    fail(where, "/", std::string("not JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("exp_ids")) fail(where, "/", "expected an object with exp_ids");
  const json& tokens = doc.at("exp_ids");
  if (!tokens.is_array()) fail(where, "/exp_ids", "expected a list of tokens");
  for (size_t t = 0; t < tokens.size(); ++t) {
    const std::string token_path = "/exp_ids/" + std::to_string(t);
    const json& layers = tokens[t];
    if (!layers.is_array() || layers.empty()) fail(where, token_path, "expected a list of layers");
    if (shape.layers == 0) shape.layers = int(layers.size());
    if (int(layers.size()) != shape.layers)
      fail(where, token_path, std::to_string(layers.size()) + " layers; earlier tokens have " + std::to_string(shape.layers));
    for (size_t l = 0; l < layers.size(); ++l) {
      const std::string layer_path = token_path + "/" + std::to_string(l);
      const json& choices = layers[l];
      if (!choices.is_array() || choices.empty()) fail(where, layer_path, "expected a list of expert ids");
      if (shape.top_k == 0) shape.top_k = int(choices.size());
      if (int(choices.size()) != shape.top_k)
        fail(where, layer_path, std::to_string(choices.size()) + " experts; earlier tokens chose " + std::to_string(shape.top_k));
      for (size_t c = 0; c < choices.size(); ++c) {
        const json& e = choices[c];
        if (!e.is_number_integer() || e.get<long long>() < 0 || e.get<long long>() >= experts)
          fail(where, layer_path + "/" + std::to_string(c),
               e.dump() + ": expected an expert id in 0.." + std::to_string(experts - 1));
        ids.push_back(uint16_t(e.get<long long>()));
      }
    }
  }
}

TraceReader::TraceReader(std::string path, int experts) : path_(std::move(path)), experts_(experts), in_(path_) {
  if (!in_) throw InputError(path_ + ": cannot open the routing trace");
  ensure(1);
  if (tokens() == 0) throw InputError(path_ + ": the routing trace holds no token");
}

long TraceReader::ensure(long wanted) {
  std::string line;
  while (!at_end_ && tokens() < wanted) {
    if (!std::getline(in_, line)) {
      at_end_ = true;
      break;
    }
    ++line_;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    parse_trace_line(line, path_ + ":" + std::to_string(line_), experts_, shape_, ids_);
  }
  return tokens();
}

}  // namespace moesim
