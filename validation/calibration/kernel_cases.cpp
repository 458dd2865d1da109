#include "validation/calibration/kernel_cases.hpp"

#include <cmath>
#include <numeric>

#include "hardware/input_error.hpp"
#include "models/scores/score_source.hpp"

namespace moesim::calibration {

const std::vector<std::pair<KernelKind, std::string>>& kernel_kind_names() {
  static const std::vector<std::pair<KernelKind, std::string>> names = {
      {KernelKind::GEMM, "gemm"},         {KernelKind::EXPERT_GEMMS, "expert_gemms"},
      {KernelKind::EXPERT_LAYER, "expert_layer"}, {KernelKind::GATE, "gate"},
      {KernelKind::PERMUTE, "permute"},   {KernelKind::COPY, "copy"},
  };
  return names;
}

std::string kernel_kind_name(KernelKind kind) {
  for (const auto& [k, name] : kernel_kind_names())
    if (k == kind) return name;
  return "?";
}

namespace {

// Counter names per kind, in the order they appear in the case name.
std::vector<std::string> counter_names(KernelKind kind) {
  switch (kind) {
    case KernelKind::GEMM: return {"m", "n", "k"};
    case KernelKind::COPY: return {"bytes"};
    case KernelKind::PERMUTE: return {"rows", "width"};
    default: return {"experts", "top_k", "tokens", "d_model", "d_ffn", "matrices", "alpha", "seed"};
  }
}

std::string number_text(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(int64_t(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::map<std::string, double> case_counters(const KernelCase& c) {
  const ExpertLoadCase& l = c.load;
  std::map<std::string, double> out = {{"element_bytes", c.element_bytes}};
  switch (c.kind) {
    case KernelKind::GEMM: out.insert({{"m", c.m}, {"n", c.n}, {"k", c.k}}); break;
    case KernelKind::COPY: out.insert({{"bytes", c.bytes}}); break;
    case KernelKind::PERMUTE: out.insert({{"rows", c.rows}, {"width", c.width}}); break;
    default:
      out.insert({{"experts", l.experts}, {"top_k", l.top_k}, {"tokens", l.tokens}, {"d_model", l.d_model},
                  {"d_ffn", l.d_ffn}, {"matrices", l.matrices}, {"alpha", l.alpha}, {"seed", l.seed}});
  }
  return out;
}

std::string case_name(const KernelCase& c) {
  const auto counters = case_counters(c);
  std::string name = c.backend + "/" + kernel_kind_name(c.kind);
  for (const auto& key : counter_names(c.kind)) name += "/" + key + "=" + number_text(counters.at(key));
  return name;
}

KernelCase case_from_counters(const std::string& backend, KernelKind kind, const std::map<std::string, double>& counters,
                              const std::string& where) {
  const auto get = [&](const std::string& key, double min) {
    const auto it = counters.find(key);
    if (it == counters.end()) throw InputError(where + ": missing the shape counter \"" + key + "\"");
    if (!(it->second >= min) || !std::isfinite(it->second))
      throw InputError(where + ": counter \"" + key + "\" is " + number_text(it->second) + "; expected >= " +
                       number_text(min));
    return it->second;
  };
  const auto get_int = [&](const std::string& key, double min) {
    const double v = get(key, min);
    if (v != std::floor(v) || v > 1e9) throw InputError(where + ": counter \"" + key + "\" is not a whole number");
    return int(v);
  };
  KernelCase c;
  c.backend = backend;
  c.kind = kind;
  c.element_bytes = get("element_bytes", 1);
  if (kind == KernelKind::GEMM) {
    c.m = get("m", 1), c.n = get("n", 1), c.k = get("k", 1);
  } else if (kind == KernelKind::COPY) {
    c.bytes = get("bytes", 1);
  } else if (kind == KernelKind::PERMUTE) {
    c.rows = get("rows", 1), c.width = get("width", 1);
  } else {
    ExpertLoadCase& l = c.load;
    l.experts = get_int("experts", 1);
    l.top_k = get_int("top_k", 1);
    if (l.top_k > l.experts) throw InputError(where + ": top_k exceeds experts");
    l.tokens = get_int("tokens", 1);
    l.d_model = get_int("d_model", 1);
    l.d_ffn = get_int("d_ffn", 1);
    l.matrices = get_int("matrices", 2);
    if (l.matrices > 3) throw InputError(where + ": counter \"matrices\" must be 2 or 3");
    l.alpha = get("alpha", 1e-6);
    l.seed = get_int("seed", 0);
  }
  return c;
}

std::vector<int32_t> routed_experts(const ExpertLoadCase& l) {
  const auto& component = *score_sources().find("dirichlet");
  std::map<std::string, ParamValue> values;
  for (const auto& p : component.params) values[p.name] = p.default_value;
  values["alpha"] = l.alpha;
  values["seed"] = double(l.seed);
  ModelSpec model;  // one MoE layer of the case's shape
  model.layers = 1;
  model.experts = l.experts;
  model.top_k = l.top_k;
  const auto source = component.make(Params(values), model);
  TokenChoices choices;
  source->top_choices(ScoreContext{0, 0, l.source}, l.tokens, l.top_k, false, choices);
  return choices.expert;
}

std::vector<int> expert_rows(const ExpertLoadCase& l) {
  std::vector<int> rows(l.experts, 0);
  for (int32_t e : routed_experts(l)) ++rows[e];
  return rows;
}

ExpertOrder expert_order(const ExpertLoadCase& l) {
  const std::vector<int32_t> experts = routed_experts(l);
  ExpertOrder o;
  o.offset.assign(l.experts + 1, 0);
  for (int32_t e : experts) ++o.offset[e + 1];
  std::partial_sum(o.offset.begin(), o.offset.end(), o.offset.begin());
  std::vector<int> next(o.offset.begin(), o.offset.end() - 1);
  o.token_of_row.resize(experts.size());
  o.row_of_copy.resize(experts.size());
  for (size_t c = 0; c < experts.size(); ++c) {
    o.row_of_copy[c] = next[experts[c]]++;
    o.token_of_row[o.row_of_copy[c]] = int(c) / l.top_k;
  }
  return o;
}

double predicted_s(const KernelCase& c, const CostModel& cost) {
  const ExpertLoadCase& l = c.load;
  const auto expert_gemms_s = [&] {
    double total = 0;
    for (int r : expert_rows(l)) {
      if (r == 0) continue;  // no launch for an expert without rows
      total += (l.matrices - 1) * cost.gemm_s(r, l.d_ffn, l.d_model) + cost.gemm_s(r, l.d_model, l.d_ffn);
    }
    return total;
  };
  const double routed_rows = double(l.tokens) * l.top_k;
  const double row_bytes = double(l.d_model) * c.element_bytes;
  switch (c.kind) {
    case KernelKind::GEMM: return cost.gemm_s(c.m, c.n, c.k);
    case KernelKind::COPY: return cost.memory_kernel_s(2 * c.bytes);
    case KernelKind::PERMUTE: return cost.memory_kernel_s(2 * c.rows * c.width * c.element_bytes);
    case KernelKind::GATE:
      // logits GEMM, then one pass over the fp32 logits to pick the top-k
      return cost.gemm_s(l.tokens, l.experts, l.d_model) + cost.memory_kernel_s(4.0 * l.tokens * l.experts);
    case KernelKind::EXPERT_GEMMS: return expert_gemms_s();
    case KernelKind::EXPERT_LAYER:
      // permute reads and writes every routed row; the activation reads (matrices - 1) hidden
      // rows and writes one; unpermute reads the routed rows and writes each token once
      return cost.memory_kernel_s(2 * routed_rows * row_bytes) + expert_gemms_s() +
             cost.memory_kernel_s(l.matrices * routed_rows * l.d_ffn * c.element_bytes) +
             cost.memory_kernel_s((routed_rows + l.tokens) * row_bytes);
  }
  return 0;
}

double case_flops(const KernelCase& c) {
  const ExpertLoadCase& l = c.load;
  const double routed_rows = double(l.tokens) * l.top_k;
  switch (c.kind) {
    case KernelKind::GEMM: return 2 * c.m * c.n * c.k;
    case KernelKind::GATE: return 2.0 * l.tokens * l.experts * l.d_model;
    case KernelKind::EXPERT_GEMMS:
    case KernelKind::EXPERT_LAYER: return 2 * routed_rows * l.matrices * double(l.d_model) * l.d_ffn;
    default: return 0;
  }
}

namespace {

void add_gemm_sweep(std::vector<KernelCase>& out, const std::string& backend, double element_bytes,
                    const std::vector<int>& rows, const std::vector<std::pair<int, int>>& model_dims) {
  for (const auto& [d_model, d_ffn] : model_dims)
    for (int m : rows) {
      // the two expert GEMM shapes: up/gate projection and down projection
      out.push_back({backend, KernelKind::GEMM, double(m), double(d_ffn), double(d_model), 0, 0, 0, {}, element_bytes});
      out.push_back({backend, KernelKind::GEMM, double(m), double(d_model), double(d_ffn), 0, 0, 0, {}, element_bytes});
    }
}

void add_copies(std::vector<KernelCase>& out, const std::string& backend, double element_bytes, double from_bytes,
                double to_bytes, double factor) {
  for (double b = from_bytes; b <= to_bytes; b *= factor)
    out.push_back({backend, KernelKind::COPY, 0, 0, 0, b, 0, 0, {}, element_bytes});
}

// alpha: 1000 is near uniform; 1.0 and 0.3 are the skew of real routers' busiest layers
// (max/mean expert load 1.5x to 4x; shared/validation routing statistics).
const std::vector<double> SKEWS = {1000, 1.0, 0.3};

}  // namespace

std::vector<KernelCase> benchmark_cases(const std::string& backend, bool quick) {
  std::vector<KernelCase> out;
  if (backend == "cpu") {
    // fp32 through OpenBLAS; expert shapes scaled to what two cores time in seconds.
    const double eb = 4;
    const std::vector<int> rows = quick ? std::vector<int>{1, 4, 16, 48, 128, 320, 768, 2048}
                                        : std::vector<int>{1, 2, 4, 8, 16, 32, 48, 64, 96, 128, 192, 256, 384,
                                                           512, 768, 1024, 1536, 2048, 3072, 4096};
    add_gemm_sweep(out, backend, eb, rows, {{1024, 1408}});
    // up to well past the last-level cache, where copies run at DRAM speed
    add_copies(out, backend, eb, quick ? 4 << 20 : 1 << 20, 256 << 20, quick ? 4 : 2);
    for (double r : {256.0, 4096.0, 32768.0}) out.push_back({backend, KernelKind::PERMUTE, 0, 0, 0, 0, r, 1024, {}, eb});
    const int tokens = quick ? 512 : 2048;
    out.push_back({backend, KernelKind::GATE, 0, 0, 0, 0, 0, 0, {64, 8, tokens * 4, 1024, 1408, 3, 1000, 0}, eb});
    for (double alpha : SKEWS)
      out.push_back({backend, KernelKind::EXPERT_LAYER, 0, 0, 0, 0, 0, 0, {16, 2, tokens, 1024, 1408, 3, alpha, 0}, eb});
    return out;
  }
  // cuda: bf16 through cuBLAS at the expert shapes of DeepSeek-V3, Mixtral-8x7B and Qwen3-30B-A3B.
  const double eb = 2;
  const std::vector<int> rows = quick ? std::vector<int>{1, 16, 64, 128, 200, 512, 2048, 8192}
                                      : std::vector<int>{1, 8, 16, 32, 64, 96, 128, 160, 192, 256, 320, 384, 512,
                                                         768, 1024, 1536, 2048, 3072, 4096, 8192, 16384};
  add_gemm_sweep(out, backend, eb, rows, {{7168, 2048}, {4096, 14336}, {2048, 768}});
  for (double s : {4096.0, 8192.0}) out.push_back({backend, KernelKind::GEMM, s, s, s, 0, 0, 0, {}, eb});
  add_copies(out, backend, eb, 1 << 20, 1 << 30, quick ? 16 : 4);
  for (double r : {4096.0, 65536.0, 262144.0}) out.push_back({backend, KernelKind::PERMUTE, 0, 0, 0, 0, r, 7168, {}, eb});
  // DeepSeek-V3 (EP 32: 8 of 256 experts per GPU would be the real layout; here all 256 on
  // one GPU at 8192 tokens), Mixtral-8x7B and Qwen3-30B-A3B layers
  const std::vector<ExpertLoadCase> layers = {{256, 8, 8192, 7168, 2048, 3, 1, 0},
                                              {8, 2, 8192, 4096, 14336, 3, 1, 0},
                                              {128, 8, 16384, 2048, 768, 3, 1, 0}};
  for (KernelKind kind : {KernelKind::EXPERT_GEMMS, KernelKind::EXPERT_LAYER})
    for (double alpha : SKEWS)
      for (ExpertLoadCase l : layers) {
        l.alpha = alpha;
        out.push_back({backend, kind, 0, 0, 0, 0, 0, 0, l, eb});
      }
  return out;
}

}  // namespace moesim::calibration
