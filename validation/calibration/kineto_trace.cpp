#include "validation/calibration/kineto_trace.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "hardware/input_error.hpp"
#include "hardware/input_file.hpp"

namespace moesim::calibration {

const char* kernel_class_name(KernelClass c) {
  switch (c) {
    case KernelClass::ALL_TO_ALL: return "all_to_all";
    case KernelClass::GROUPED_GEMM: return "grouped_gemm";
    case KernelClass::OTHER: return "other";
  }
  return "?";
}

// NCCL runs all-to-all as point-to-point SendRecv kernels; DeepEP's kernels are its dispatch
// and combine; grouped GEMMs are named so by cuBLASLt, CUTLASS, Megatron (GroupedGEMM, gmm)
// and DeepGEMM (m_grouped).
KernelClass classify_kernel(const std::string& name) {
  std::string n(name);
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  const auto has = [&](const char* s) { return n.find(s) != std::string::npos; };
  if (has("alltoall") || has("all_to_all") || has("sendrecv") ||
      (has("deep_ep") && (has("dispatch") || has("combine"))))
    return KernelClass::ALL_TO_ALL;
  if ((has("grouped") && has("gemm")) || has("groupedgemm") || has("gmm_") || has("m_grouped"))
    return KernelClass::GROUPED_GEMM;
  return KernelClass::OTHER;
}

KinetoTrace parse_kineto_trace(const std::string& text, const std::string& source) {
  using json = nlohmann::json;
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw InputError(source + ": not JSON: " + e.what());
  }
  if (!doc.is_object() || !doc.contains("traceEvents") || !doc.at("traceEvents").is_array())
    throw InputError(source + ": /traceEvents: expected the list of events of a Chrome trace (PyTorch profiler export)");
  KinetoTrace trace{source, {}};
  const json& events = doc.at("traceEvents");
  for (size_t i = 0; i < events.size(); ++i) {
    const json& e = events[i];
    const std::string path = "/traceEvents/" + std::to_string(i);
    if (!e.is_object()) throw InputError(source + ": " + path + ": expected an event object");
    const auto category = e.find("cat");
    if (category == e.end() || !category->is_string()) continue;
    std::string cat = category->get<std::string>();
    std::transform(cat.begin(), cat.end(), cat.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (cat != "kernel") continue;
    const auto phase = e.find("ph");
    if (phase != e.end() && (!phase->is_string() || phase->get<std::string>() != "X")) continue;  // markers, flows
    for (const char* key : {"ts", "dur"})
      if (!e.contains(key) || !e.at(key).is_number() || e.at(key).get<double>() < 0)
        throw InputError(source + ": " + path + "/" + key + ": expected a number of microseconds >= 0");
    if (!e.contains("name") || !e.at("name").is_string())
      throw InputError(source + ": " + path + "/name: expected the kernel's name");
    const std::string name = e.at("name").get<std::string>();
    trace.kernels.push_back({name, classify_kernel(name), e.at("ts").get<double>() * 1e-6, e.at("dur").get<double>() * 1e-6});
  }
  if (trace.kernels.empty()) throw InputError(source + ": no GPU kernel events (\"cat\": \"kernel\") in the trace");
  return trace;
}

KinetoTrace read_kineto_trace(const std::string& path) {
  return parse_kineto_trace(read_input_file(path, "profiler trace"), path);
}

}  // namespace moesim::calibration
