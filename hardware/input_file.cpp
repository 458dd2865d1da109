#include "hardware/input_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "hardware/input_error.hpp"

namespace moesim {

std::string read_input_file(const std::string& path, const std::string& what, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the " + what);
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_bytes)
    throw InputError(path + ": the " + what + " is " + std::to_string(size >> 20) + " MiB; inputs above " +
                     std::to_string(max_bytes >> 20) + " MiB are refused, not loaded");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace moesim
