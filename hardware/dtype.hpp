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

// Fused attention's precision: BF16, or Transformer Engine's FP8 attention per-tensor scaled
// (delayed or current scaling) or MXFP8 block-scaled (under an MXFP8 recipe).
enum class AttentionDtype { BF16, FP8, MXFP8 };
std::string_view attention_dtype_name(AttentionDtype dtype);
std::optional<AttentionDtype> parse_attention_dtype(std::string_view name);

}  // namespace moesim
