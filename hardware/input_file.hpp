#pragma once
#include <cstddef>
#include <string>

namespace moesim {

// The text of an input file (scenario, profile, benchmark output, nccl-tests log, validation
// dataset). These are kilobytes to megabytes; a file above max_bytes is refused with an
// InputError naming it rather than loaded whole. `what` names the kind in messages.
constexpr size_t MAX_INPUT_FILE_BYTES = size_t(256) << 20;
std::string read_input_file(const std::string& path, const std::string& what, size_t max_bytes = MAX_INPUT_FILE_BYTES);

}  // namespace moesim
