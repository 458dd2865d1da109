#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace moesim {

// Bad command-line arguments of a moesim command (main prints the usage and exits 2).
class CommandUsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An option's value as a whole number >= min, or a CommandUsageError naming the option.
inline int whole_number(const std::string& text, const std::string& option, int min) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 9 || std::stoi(text) < min)
    throw CommandUsageError(option + " " + text + ": expected a whole number >= " + std::to_string(min));
  return std::stoi(text);
}

// The value of the option at args[i]: the argument after it, which `i` moves onto, or an
// Error saying that the option needs one.
template <class Error = CommandUsageError>
const std::string& option_value(const std::vector<std::string>& args, size_t& i) {
  if (i + 1 >= args.size()) throw Error(args[i] + " needs a value");
  return args[++i];
}

}  // namespace moesim
