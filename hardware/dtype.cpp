#include "hardware/dtype.hpp"

namespace moesim {

double bytes_per_element(Dtype dtype) {
  switch (dtype) {
    case Dtype::FP32: return 4;
    case Dtype::BF16: return 2;
    case Dtype::FP8: return 1;
  }
  return 0;
}

std::string_view dtype_name(Dtype dtype) {
  switch (dtype) {
    case Dtype::FP32: return "fp32";
    case Dtype::BF16: return "bf16";
    case Dtype::FP8: return "fp8";
  }
  return "?";
}

std::optional<Dtype> parse_dtype(std::string_view name) {
  if (name == "fp32") return Dtype::FP32;
  if (name == "bf16") return Dtype::BF16;
  if (name == "fp8") return Dtype::FP8;
  return std::nullopt;
}

std::string_view attention_dtype_name(AttentionDtype dtype) {
  switch (dtype) {
    case AttentionDtype::BF16: return "bf16";
    case AttentionDtype::FP8: return "fp8";
    case AttentionDtype::MXFP8: return "mxfp8";
  }
  return "?";
}

std::optional<AttentionDtype> parse_attention_dtype(std::string_view name) {
  if (name == "bf16") return AttentionDtype::BF16;
  if (name == "fp8") return AttentionDtype::FP8;
  if (name == "mxfp8") return AttentionDtype::MXFP8;
  return std::nullopt;
}

}  // namespace moesim
