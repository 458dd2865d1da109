#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace moesim {

// Numeric formats that matter for compute peaks and bytes on the wire.
enum class Dtype { FP32, BF16, FP8 };

double bytes_per_element(Dtype dtype);
std::string_view dtype_name(Dtype dtype);
std::optional<Dtype> parse_dtype(std::string_view name);
inline constexpr const char* DTYPE_NAMES = "fp32, bf16, fp8";

}  // namespace moesim
