#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace moesim {

// Routing traces in JSON Lines: one sequence per line, {"exp_ids": [[[e, ...] per layer] per
// token], ...} as in the OLMoE routing analysis (exp_ids[token][layer][choice]); other keys
// are ignored. Read line by line and only as far as a run consumes, so a trace of many GB is
// streamed, never loaded whole.
struct TraceShape {
  int layers = 0;  // per token; set by the first sequence, every later one must agree
  int top_k = 0;
};

// Appends one line's tokens to `ids` ([token][layer][choice], as uint16); throws InputError
// naming `where` (file:line) and the JSON path of the first problem.
void parse_trace_line(const std::string& line, const std::string& where, int experts, TraceShape& shape,
                      std::vector<uint16_t>& ids);

class TraceReader {
 public:
  TraceReader(std::string path, int experts);
  // Makes tokens [0, tokens) available if the file has them; returns how many it has (all of
  // them once the end is reached).
  long ensure(long tokens);
  bool at_end() const { return at_end_; }
  long tokens() const { return shape_.layers ? long(ids_.size()) / (shape_.layers * shape_.top_k) : 0; }
  const TraceShape& shape() const { return shape_; }
  // Expert of choice c of token t at trace layer l.
  int expert(long token, int layer, int choice) const {
    return ids_[(size_t(token) * shape_.layers + layer) * shape_.top_k + choice];
  }
  const std::string& path() const { return path_; }
  long lines_read() const { return line_; }

 private:
  std::string path_;
  int experts_;
  std::ifstream in_;
  long line_ = 0;
  bool at_end_ = false;
  TraceShape shape_;
  std::vector<uint16_t> ids_;
};

}  // namespace moesim
