// The predictor registry: one line per op of the moesim-validation/1 format.
#include "validation/validate/predict.hpp"

namespace moesim::validation {

Prediction predict_gemm(const ValidationPoint&, const PredictContext&);
Prediction predict_grouped_gemm(const ValidationPoint&, const PredictContext&);
Prediction predict_attention(const ValidationPoint&, const PredictContext&);
Prediction predict_memcpy(const ValidationPoint&, const PredictContext&);
Prediction predict_alltoall(const ValidationPoint&, const PredictContext&);
Prediction predict_allreduce(const ValidationPoint&, const PredictContext&);
Prediction predict_ep(const ValidationPoint&, const PredictContext&);
Prediction predict_train_step(const ValidationPoint&, const PredictContext&);
Prediction predict_routing_stats(const ValidationPoint&, const PredictContext&);

const Registry<Predictor>& predictors() {
  static const auto registry = [] {
    Registry<Predictor> r("validation op");
    r.add("gemm", "one GEMM: CostModel::gemm_s", predict_gemm);
    r.add("grouped_gemm", "groups of equal GEMMs in one kernel", predict_grouped_gemm);
    r.add("attention", "one fused attention kernel: CostModel::attention_core_s", predict_attention);
    r.add("memcpy", "HBM streaming rate, NVLink rate between GPUs", predict_memcpy);
    r.add("alltoall", "NCCL all-to-all: latency + bytes through the port", predict_alltoall);
    r.add("allreduce", "NCCL ring all-reduce", predict_allreduce);
    r.add("ep_dispatch", "EP library dispatch kernel (models/ep_comm)", predict_ep);
    r.add("ep_combine", "EP library combine kernel (models/ep_comm)", predict_ep);
    r.add("train_step", "a training step: scenario from the point, analytic engine", predict_train_step);
    r.add("routing_stats", "expert-load statistics from the measured score source", predict_routing_stats);
    return r;
  }();
  return registry;
}

}  // namespace moesim::validation
