// `moesim validate`: the dataset reader, the predictors' closed forms, EP library models.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <nlohmann/json.hpp>

#include "hardware/input_error.hpp"
#include "models/ep_comm/ep_comm.hpp"
#include "models/scores/measured_counts.hpp"
#include "sim/simulate.hpp"
#include "tests/helpers.hpp"
#include "validation/validate/megatron_flops.hpp"
#include "validation/validate/predict.hpp"

using namespace moesim;
using namespace moesim::validation;
using Catch::Matchers::Contains;

namespace {

const std::string MINI = std::string(MOESIM_SOURCE_DIR) + "/tests/fixtures/validation/mini.json";

const ValidationPoint& point(const std::vector<ValidationPoint>& points, const std::string& id) {
  for (const auto& p : points)
    if (p.id == id) return p;
  FAIL("no point " << id);
  return points.front();
}

}  // namespace

TEST_CASE("DeepEP test routing: expected destinations match the validation README's Monte Carlo", "[validate][ep]") {
  // shared/validation/README.md: EP8 5.29 ranks; EP16 1.99 nodes; EP32 3.62; EP64 3.98
  // (scores |N(0,1)| + 1, top-4 node groups, top-8 of 256 experts)
  EpKernel k{8, 4096, 8, 256, 7392, std::nullopt, std::nullopt, false};
  CHECK(destination_counts(k, 8).ranks == Approx(5.29).epsilon(0.02));
  for (const auto& [ep, nodes] : std::vector<std::pair<int, double>>{{16, 1.99}, {32, 3.62}, {64, 3.98}}) {
    k.ep_size = ep;
    k.max_nodes_per_token = 4;
    INFO("EP" << ep);
    CHECK(destination_counts(k, 8).nodes == Approx(nodes).epsilon(0.02));
  }
}

TEST_CASE("EP low-latency traffic: every selection moves once, split by where its expert lives", "[validate][ep]") {
  const EpLibrary& ll = *ep_libraries().find("deepep_ll");
  ClusterSpec c = *cluster_presets().find("hgx-h800");
  c.nodes = 4;
  const EpKernel k{32, 128, 8, 256, 7408, std::nullopt, std::nullopt, false};
  const EpTraffic t = ep_traffic(ll, k, c);
  const double selections_bytes = 128.0 * 8 * 7408;
  CHECK(t.token_experts == 128 * 8);
  // all but the selections of this rank's own experts leave it: 31/32 of the bytes
  CHECK(t.nic_bytes + t.nvlink_bytes == Approx(selections_bytes * 31 / 32));
  CHECK(t.nic_bytes == Approx(selections_bytes * 3 / 4));
  CHECK(ep_kernel_s(ll, k, c) ==
        Approx(ll.latency_s + std::max(t.nic_bytes / c.nic_payload_Bps(), t.nvlink_bytes / c.nvlink_Bps)));
}

TEST_CASE("EP normal kernels: fewer SMs than the links need make them SM bound", "[validate][ep]") {
  const EpLibrary& normal = *ep_libraries().find("deepep_normal");
  ClusterSpec c = *cluster_presets().find("hgx-h800");
  c.nodes = 4;
  EpKernel k{32, 4096, 8, 256, 7392, 4, 24, false};
  const double many = ep_kernel_s(normal, k, c);
  k.sms = 2;
  const double few = ep_kernel_s(normal, k, c);
  CHECK(few > many);
  const EpTraffic t = ep_traffic(normal, k, c);
  CHECK(few == Approx(normal.latency_s + std::max(t.nic_bytes, t.nvlink_bytes) / (2 * normal.sm_Bps)));
}

// Hybrid-EP's SM time on `sms` SMs (closed form): the NVLink bytes at sm_Bps per SM, and a
// fixed time per copy, NVLink forwards and RDMA puts alike (the NIC reads the RDMA bytes).
double hybrid_sm_s(const EpLibrary& h, const EpKernel& k, const EpTraffic& t, int sms) {
  const double copies = (t.nvlink_bytes + t.nic_bytes) / k.bytes_per_token;
  return (t.nvlink_bytes / h.sm_Bps + copies * (k.combine ? h.combine_copy_sm_s : h.dispatch_copy_sm_s)) / sms;
}

TEST_CASE("Hybrid-EP: its SMs copy the NVLink bytes and post the RDMA ones, and its PyTorch call adds a fixed cost",
          "[validate][ep]") {
  const EpLibrary& hybrid = *ep_libraries().find("hybrid_ep");
  ClusterSpec c = *cluster_presets().find("dgx-h100");
  c.nodes = 4;
  EpKernel k{32, 4096, 8, 256, 14336, std::nullopt, 2, false};
  const EpTraffic t = ep_traffic(hybrid, k, c);
  REQUIRE(t.nic_bytes > 0);
  // with 2 SMs the kernel is SM bound; the NIC still moves at its RDMA rate
  const double kernel = ep_kernel_s(hybrid, k, c);
  CHECK(kernel == Approx(hybrid.latency_s + std::max(t.nic_bytes / c.nic_payload_Bps(), hybrid_sm_s(hybrid, k, t, 2))));
  CHECK(hybrid_sm_s(hybrid, k, t, 2) > t.nic_bytes / c.nic_payload_Bps());
  k.through_torch_api = true;
  CHECK(ep_kernel_s(hybrid, k, c) == Approx(kernel + hybrid.torch_api_s));
}

TEST_CASE("Hybrid-EP: FP8 tokens of half the bytes take more than half the time on few SMs", "[validate][ep]") {
  // Its table (EP16, 4 SMs, kernel only): BF16 dispatch 44.4 GB/s, FP8 34.0 GB/s of the same
  // token count: each copy costs SM time whatever its bytes.
  const EpLibrary& hybrid = *ep_libraries().find("hybrid_ep");
  ClusterSpec c = *cluster_presets().find("dgx-h100");
  c.nodes = 2;
  EpKernel bf16{16, 4096, 8, 128, 14336, std::nullopt, 4, false};
  EpKernel fp8 = bf16;
  fp8.bytes_per_token = 7392;  // 7168 FP8 values and 56 FP32 scales of 1x128 blocks
  const double ratio = (ep_kernel_s(hybrid, fp8, c) - hybrid.latency_s) / (ep_kernel_s(hybrid, bf16, c) - hybrid.latency_s);
  CHECK(ratio > 7392.0 / 14336 + 0.1);
  CHECK(ratio < 1);
  // closed form: both SM bound on 4 SMs
  const EpTraffic t = ep_traffic(hybrid, fp8, c);
  CHECK(ep_kernel_s(hybrid, fp8, c) == Approx(hybrid.latency_s + hybrid_sm_s(hybrid, fp8, t, 4)));
}

TEST_CASE("EP libraries: more SMs stop helping at the library's share of the NVLink rate", "[validate][ep]") {
  const EpLibrary& hybrid = *ep_libraries().find("hybrid_ep");
  ClusterSpec c = *cluster_presets().find("dgx-h100");
  c.nodes = 2;
  c.nic_Bps = 1e15;  // a NIC that never binds: the NVLink copies set the time
  EpKernel k{16, 4096, 8, 128, 14336, std::nullopt, 16, false};
  const EpTraffic t = ep_traffic(hybrid, k, c);
  const double plateau_s = t.nvlink_bytes / (hybrid.nvlink_share * c.nvlink_Bps);
  REQUIRE(hybrid_sm_s(hybrid, k, t, 16) < plateau_s);
  CHECK(ep_kernel_s(hybrid, k, c) == Approx(hybrid.latency_s + plateau_s));
  k.sms = 64;
  CHECK(ep_kernel_s(hybrid, k, c) == Approx(hybrid.latency_s + plateau_s));
  k.sms = 2;  // below the plateau the SMs bind
  REQUIRE(hybrid_sm_s(hybrid, k, t, 2) > plateau_s);
  CHECK(ep_kernel_s(hybrid, k, c) == Approx(hybrid.latency_s + hybrid_sm_s(hybrid, k, t, 2)));
}

// An EP library's bandwidth as its own benchmark counts it: unique (token, node) pairs across
// nodes, unique (token, rank) pairs inside one.
double library_GBps(const EpLibrary& lib, const EpKernel& k, const ClusterSpec& c) {
  const EpTraffic t = ep_traffic(lib, k, c);
  const double pairs = k.ep_size <= c.gpus_per_node ? t.token_ranks : t.token_nodes;
  return pairs * k.bytes_per_token / ep_kernel_s(lib, k, c) / 1e9;
}

TEST_CASE("EP libraries reproduce the published rows their parameters come from", "[validate][ep]") {
  // The rows named in models/ep_comm/ep_comm.cpp (shared/validation/published.json): a change
  // to the traffic model that leaves the parameters as they are shows here first.
  ClusterSpec h800 = *cluster_presets().find("hgx-h800");
  h800.nvlink_Bps = 160e9;  // the rows' stated NVLink rate
  h800.nodes = 1;
  const EpLibrary& normal = *ep_libraries().find("deepep_normal");
  CHECK(library_GBps(normal, {8, 4096, 8, 256, 7392, std::nullopt, 24, false}, h800) == Approx(153).epsilon(0.02));
  h800.nodes = 4;  // the RDMA efficiency: DeepEP normal, EP32 dispatch, node-limited to 4
  CHECK(library_GBps(normal, {32, 4096, 8, 256, 7392, 4, 24, false}, h800) == Approx(58).epsilon(0.02));
  ClusterSpec b200 = *cluster_presets().find("dgx-b200");
  b200.nodes = 1;
  CHECK(library_GBps(*ep_libraries().find("deepep_v2"), {8, 8192, 8, 256, 7392, std::nullopt, 24, false}, b200) ==
        Approx(643).epsilon(0.02));
  // V2's NVLink share: the same, with 64 SMs
  CHECK(library_GBps(*ep_libraries().find("deepep_v2"), {8, 8192, 8, 256, 7392, std::nullopt, 64, false}, b200) ==
        Approx(726).epsilon(0.02));
  ClusterSpec h100 = *cluster_presets().find("dgx-h100");
  h100.nodes = 2;
  CHECK(library_GBps(*ep_libraries().find("hybrid_ep"), {16, 4096, 8, 128, 14336, std::nullopt, 4, true}, h100) ==
        Approx(52).epsilon(0.02));
  // Hybrid-EP's SM rate and per-copy dispatch time: its BF16 and FP8 dispatch rows (EP16, 4 SMs)
  CHECK(library_GBps(*ep_libraries().find("hybrid_ep"), {16, 4096, 8, 128, 14336, std::nullopt, 4, false}, h100) ==
        Approx(44.4).epsilon(0.02));
  CHECK(library_GBps(*ep_libraries().find("hybrid_ep"), {16, 4096, 8, 128, 7392, std::nullopt, 4, false}, h100) ==
        Approx(34.0).epsilon(0.02));
  // Hybrid-EP's NVLink share: EP16 BF16 dispatch with 16 SMs, kernel only
  CHECK(library_GBps(*ep_libraries().find("hybrid_ep"), {16, 4096, 8, 128, 14336, std::nullopt, 16, false}, h100) ==
        Approx(71.71).epsilon(0.02));
}

TEST_CASE("validate: predictors reproduce their closed forms", "[validate]") {
  const auto points = read_validation_dataset(MINI);
  const PredictContext ctx;
  // a 16k cube is compute bound in full waves: the preset's sustained rate, 0.75 x 312 TFLOP/s
  const Prediction gemm = predict(point(points, "gemm-a100-cube"), ctx);
  REQUIRE(gemm.supported);
  CHECK(gemm.metric == Approx(0.75 * 312).epsilon(0.005));
  // all-reduce at 1 GiB on 8 H100 runs NVLS (NCCL's default): 9/8 of the bytes through each
  // port at 0.85 of NVLink's payload rate (0.822 of the port's 450 GB/s), after 25 us
  const Prediction ar = predict(point(points, "allreduce-h100-1g"), ctx);
  REQUIRE(ar.supported);
  const double n = 8, size = 1 << 30;
  CHECK(ar.time_s == Approx(25e-6 + (1 + 1 / n) * size / (0.85 * 0.822 * 450e9)).epsilon(0.01));
  CHECK(ar.metric == Approx(size * 2 * (n - 1) / n / ar.time_s / 1e9));
  // the low-latency dispatch is timed directly
  const Prediction ll = predict(point(points, "ll-dispatch-h800-ep8"), ctx);
  REQUIRE(ll.supported);
  CHECK(ll.metric == Approx(ll.time_s * 1e6));
  // what moesim cannot simulate is said, not skipped
  CHECK_FALSE(predict(point(points, "gemm-tpu"), ctx).supported);
  CHECK_THAT(predict(point(points, "gemm-tpu"), ctx).reason, Contains("TPUv3"));
  CHECK_THAT(predict(point(points, "routing-share"), ctx).reason, Contains("no measured expert counts"));
}

// One all-to-all point on GB200 trays of 4 GPUs (NVL72 racks), in the dataset's layout.
std::string nvl72_alltoall(const std::string& id, int trays, int ranks, const std::string& implementation) {
  return R"({"id": ")" + id + R"(", "family": "nccl_collective", "source": "s", "kind": "measured", "confidence": "medium",
     "cluster": {"gpu": "GB200", "nodes": )" + std::to_string(trays) + R"(, "gpus_per_node": 4,
                 "intra_node": {"kind": "nvl72", "GBps_per_gpu": null}, "nic": {"kind": null, "GBps_per_gpu": null}},
     "op": "alltoall", "params": {"implementation": ")" + implementation + R"(", "ranks": )" + std::to_string(ranks) + R"(,
     "msg_bytes_per_pair": 1048576}, "metric": {"name": "time_us", "value": 100, "unit": "us", "definition": "d"}, "time_us": 100})";
}

TEST_CASE("validate: NVL72 trays form NVLink domains of up to 72 GPUs, 64 per rack beyond", "[validate]") {
  const auto points = parse_validation_dataset(
      R"({"schema": "moesim-validation/1", "points": [)" + nvl72_alltoall("two-trays", 2, 8, "nccl_alltoall") + "," +
          nvl72_alltoall("four-racks", 64, 256, "nccl_alltoall") + "," + nvl72_alltoall("odd", 25, 100, "nccl_alltoall") +
          "," + nvl72_alltoall("custom", 2, 8, "nccl_custom_lsa_simple") + "]}",
      "nvl72.json");
  const ClusterSpec rack = *cluster_presets().find("gb200-nvl72");
  REQUIRE(rack.gpus_per_node == 72);
  // 8 GPUs on two trays share one NVLink domain: the all-to-all never leaves it
  const Prediction two = predict(point(points, "two-trays"), PredictContext{});
  REQUIRE(two.supported);
  const double size = 1048576.0 * 8;
  const CostModel cost(rack, Dtype::BF16);
  CHECK(two.time_s == Approx(cost.nccl_alltoall_s(size, 8, 8)));
  // trays of 4 would have made the 8-GPU case cross the network: 4 peers at its latency and
  // the bytes at the NIC's rate
  CHECK(cost.nccl_alltoall_s(size, 8, 4) > 2 * two.time_s);
  // 256 GPUs: four racks of 64, so the communicator spans NICs: 63 peers over NVLink, 192 over
  // the network, the bytes at the NIC's rate
  const Prediction four = predict(point(points, "four-racks"), PredictContext{});
  REQUIRE(four.supported);
  CHECK(four.time_s == Approx(cost.nccl_alltoall_s(256 * 1048576.0, 256, 64)));
  CHECK(four.time_s > 255 * 1048576.0 / rack.nic_payload_Bps());
  CHECK_THAT(predict(point(points, "odd"), PredictContext{}).reason, Contains("64-GPU racks"));
  CHECK_THAT(predict(point(points, "custom"), PredictContext{}).reason, Contains("nccl_custom_lsa_simple"));
}

// A force-balanced Mixtral-8x7B training step on `nodes` H100 nodes of 8, TP1 PP1, DP over
// every GPU, micro-batch 1.
nlohmann::json mixtral_step_json(const std::string& id, int nodes, int ep, int global_batch) {
  const int gpus = 8 * nodes;
  nlohmann::json point = nlohmann::json::parse(R"({"family": "train_step", "source": "s", "kind": "measured",
     "confidence": "high", "cluster": {"gpu": "H100", "gpus_per_node": 8, "intra_node": {"kind": "nvlink",
     "GBps_per_gpu": null}, "nic": {"kind": null, "GBps_per_gpu": null}}, "op": "train_step",
     "params": {"model": "Mixtral-8x7B", "seq_len": 4096, "micro_batch": 1, "tp": 1, "pp": 1, "precision": "BF16",
     "routing": "force_balanced"}, "metric": {"name": "tokens_per_s_per_gpu", "value": 1000, "unit": "tokens/s/GPU",
     "definition": "d"}, "time_us": null})");
  point["id"] = id;
  point["cluster"]["nodes"] = nodes;
  point["params"].update({{"gpus", gpus}, {"global_batch", global_batch}, {"ep", ep}, {"dp", gpus}});
  return point;
}

ValidationPoint parsed_point(const nlohmann::json& point) {
  const nlohmann::json doc = {{"schema", "moesim-validation/1"}, {"points", {point}}};
  return parse_validation_dataset(doc.dump(), point["id"].get<std::string>() + ".json").front();
}

ValidationPoint mixtral_step_point(const std::string& id, int nodes, int ep, int global_batch) {
  return parsed_point(mixtral_step_json(id, nodes, ep, global_batch));
}

TEST_CASE("validate: a training step whose stated plan moesim rejects is unsupported, with the plan error", "[validate]") {
  // EP 16 on 8 GPUs: the plan's own numbers disagree, so the dataset goes on without it
  const Prediction p = predict(mixtral_step_point("bad-plan", 1, 16, 64), PredictContext{});
  CHECK_FALSE(p.supported);
  CHECK_THAT(p.reason, Contains("not one moesim can run") && Contains("ep"));
}

TEST_CASE("validate: a training step runs on the point's whole cluster, the preset's latencies included", "[validate]") {
  const Prediction p = predict(mixtral_step_point("step", 2, 8, 32), PredictContext{});
  REQUIRE(p.supported);
  // the same step written from the preset: a cluster section that dropped a field (link
  // latencies, efficiencies) would differ
  const Scenario preset = parse_scenario(R"({"cluster": {"preset": "dgx-h100", "nodes": 2},
    "model": {"preset": "mixtral-8x7b", "compute_dtype": "bf16"},
    "plan": {"dp": 16, "tp": 1, "pp": 1, "ep": 8, "micro_batch_size": 1, "micro_batches": 2, "seq_len": 4096,
             "distributed_optimizer": true, "overlap_grad_reduce": true},
    "router": {"policy": "topk", "capacity_factor": null}, "scores": {"source": "dirichlet", "alpha": 1e6, "seed": 0},
    "sim": {"engine": "analytic", "routed_micro_batches": 1}})",
                                         "preset.json");
  CHECK(p.time_s == Approx(simulate_step(preset).result.step_time_s).epsilon(1e-12));
  // the scenario that `--out DIR` writes to DIR/scenarios/step.json reruns the same step
  REQUIRE_FALSE(p.scenario_json.empty());
  CHECK(simulate_step(parse_scenario(p.scenario_json, "step")).result.step_time_s == Approx(p.time_s).epsilon(1e-12));
}

TEST_CASE("validate: Megatron-Bridge runs keep BF16 gradients, and its GPT-OSS-120B run on 64 B200 fits", "[validate]") {
  // Megatron-Bridge's 25.11 GPT-OSS-120B row: 8 DGX B200, EP 8, micro-batch 4, global batch
  // 512. With FP32 gradients (Megatron-LM's default) moesim counts 191 GiB of 168 on a B200;
  // the recipe's BF16 gradients take 31 GiB less, and the run that was measured fits.
  nlohmann::json point = mixtral_step_json("gpt-oss", 8, 8, 512);
  point["cluster"]["gpu"] = "B200";
  point["params"].update({{"model", "GPT-OSS-120B"}, {"micro_batch", 4}});
  const auto scenario_of = [](const Prediction& p) { return parse_scenario(p.scenario_json, "step"); };
  point["params"]["framework"] = "Megatron-Bridge / Megatron-Core (NeMo 25.11)";
  const Prediction bridge = predict(parsed_point(point), PredictContext{});
  point["params"]["framework"] = "Megatron-Core v0.9";
  const Prediction core = predict(parsed_point(point), PredictContext{});
  REQUIRE(bridge.supported);
  REQUIRE(core.supported);
  CHECK(scenario_of(bridge).plan.gradient_dtype == Dtype::BF16);
  CHECK(scenario_of(core).plan.gradient_dtype == Dtype::FP32);
  const StepResult with_bf16 = simulate_step(scenario_of(bridge)).result, with_fp32 = simulate_step(scenario_of(core)).result;
  CHECK(with_bf16.fits_memory);
  CHECK_FALSE(with_fp32.fits_memory);
  CHECK_THAT(core.note, Contains("does NOT fit"));
  CHECK_THAT(bridge.note, !Contains("does NOT fit") && Contains("GiB"));
  CHECK(bridge.fits_memory == true);
  CHECK(core.fits_memory == false);

  // `moesim validate` counts the runs its memory model fits and names the others.
  nlohmann::json core_point = point;
  core_point["id"] = "gpt-oss-core";
  point["id"] = "gpt-oss-bridge";
  point["params"]["framework"] = "Megatron-Bridge / Megatron-Core (NeMo 25.11)";
  const std::string dataset = "/tmp/moesim_test_validate_memory.json";
  std::ofstream(dataset) << nlohmann::json{{"schema", "moesim-validation/1"}, {"points", {point, core_point}}}.dump();
  const auto r = test::run_command(std::string(MOESIM_BINARY) + " validate " + dataset);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Contains("memory: 1 of 2 simulated training steps fit in moesim's memory model; not:\n  gpt-oss-core\n"));
}

TEST_CASE("validate: routing statistics come from routing with the measured source", "[validate][routing]") {
  // OLMoE layer 0 on c4 at capacity 1.0: the share dropped, computed straight from the counts
  // the source is fitted to, against the predictor's routed tokens.
  const auto points = parse_validation_dataset(R"({"schema": "moesim-validation/1", "points": [
    {"id": "olmoe-drop", "family": "routing_stats", "source": "s", "kind": "derived", "confidence": "high", "cluster": null,
     "op": "routing_stats", "params": {"model": "OLMoE-1B-7B", "layer": 0, "dataset": "c4", "statistic":
     "assignment_drop_percent", "capacity_factor": 1.0}, "metric": {"name": "assignment_drop_percent", "value": 9.1,
     "unit": "%", "definition": "top-8 assignments"}, "time_us": null}]})",
                                               "r.json");
  double total = 0, dropped = 0;
  std::vector<double> counts;
  for (const MeasuredCounts& m : measured_counts())
    if (m.model == "olmoe-1b-7b" && m.domain == "c4" && m.layer == 0) counts = m.counts;
  REQUIRE(counts.size() == 64);
  for (double c : counts) total += c;
  for (double c : counts) dropped += std::max(0.0, c - total / 64);
  const Prediction p = predict(points[0], PredictContext{});
  REQUIRE(p.supported);
  CHECK(p.metric == Approx(100 * dropped / total).epsilon(0.05));
}

TEST_CASE("validate: dataset errors name the file and JSON path", "[validate]") {
  CHECK_THROWS_WITH(parse_validation_dataset("{", "d.json"), Contains("d.json") && Contains("not valid JSON"));
  CHECK_THROWS_WITH(parse_validation_dataset(R"({"schema": "x", "points": []})", "d.json"), Contains("/schema"));
  nlohmann::json doc = nlohmann::json::parse(test::read_file(MINI));
  doc["points"][1]["id"] = "gemm-a100-cube";
  CHECK_THROWS_WITH(parse_validation_dataset(doc.dump(), "d.json"), Contains("/points/1/id") && Contains("twice"));
  doc = nlohmann::json::parse(test::read_file(MINI));
  doc["points"][0]["metric"].erase("value");
  CHECK_THROWS_WITH(parse_validation_dataset(doc.dump(), "d.json"), Contains("/points/0/metric/value"));
  doc = nlohmann::json::parse(test::read_file(MINI));
  doc["points"][0]["params"]["m"] = "big";
  const auto points = parse_validation_dataset(doc.dump(), "d.json");
  CHECK_THROWS_WITH(predict(points[0], PredictContext{}), Contains("/points/0/params/m") && Contains("expected a number"));
}

TEST_CASE("moesim validate: table, MAPE without low-confidence points, unsupported listed, validation.json", "[validate][cli]") {
  const std::string bin = MOESIM_BINARY;
  CHECK(test::run_command(bin + " validate").exit_code == 2);
  CHECK(test::run_command(bin + " validate " + MINI + " --op nonsense").exit_code == 2);
  CHECK(test::run_command(bin + " validate /nonexistent.json").exit_code == 1);
  const std::string out = "/tmp/moesim_test_validate";
  const auto r = test::run_command(bin + " validate " + MINI + " --out " + out);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Contains("not simulated (2 points)") && Contains("no GPU preset for TPUv3"));
  const auto rows = nlohmann::json::parse(test::read_file(out + "/validation.json"));
  REQUIRE(rows.size() == 5);
  for (const auto& row : rows) {
    for (const char* key : {"id", "family", "metric", "measured", "predicted", "error_pct", "supported"})
      CHECK(row.contains(key));
    CHECK(row["supported"].get<bool>() == !row.contains("reason"));
  }
  const auto& gemm = rows[0];
  CHECK(gemm["error_pct"].get<double>() ==
        Approx(100 * (gemm["predicted"].get<double>() - 250) / 250));
}

TEST_CASE("moesim validate: each row's bias and median are the mean signed and the median absolute error",
          "[validate][cli]") {
  const std::string out = "/tmp/moesim_test_validate_bias";
  const auto r = test::run_command(std::string(MOESIM_BINARY) + " validate " + MOESIM_SOURCE_DIR +
                                   "/validation/heldout/megatron_bridge_2606_moe.json --out " + out);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::vector<double> errors;
  for (const auto& row : nlohmann::json::parse(test::read_file(out + "/validation.json")))
    errors.push_back(row["error_pct"].get<double>());
  REQUIRE(errors.size() == 13);
  const double bias = std::accumulate(errors.begin(), errors.end(), 0.0) / 13;
  std::vector<double> magnitudes;
  for (double e : errors) magnitudes.push_back(std::fabs(e));
  std::sort(magnitudes.begin(), magnitudes.end());
  // "train_step", points, simulated, in MAPE, MAPE %, bias %, median %: 13 errors, the 7th in size
  const std::string family_row = "\ntrain_step          ";
  REQUIRE(r.output.find(family_row) != std::string::npos);
  std::istringstream fields(r.output.substr(r.output.find(family_row) + 21));
  int points = 0, simulated = 0, in_mean = 0;
  double mape = 0, printed_bias = 0, printed_median = 0;
  fields >> points >> simulated >> in_mean >> mape >> printed_bias >> printed_median;
  CHECK(in_mean == 13);
  CHECK(printed_bias == Approx(bias).margin(0.05));
  CHECK(printed_median == Approx(magnitudes[6]).margin(0.05));
  CHECK(std::fabs(printed_bias) <= mape);
}

TEST_CASE("validate: sizes and counts out of range are input errors naming the key", "[validate]") {
  nlohmann::json doc = nlohmann::json::parse(test::read_file(MINI));
  doc["points"][2]["params"]["experts"] = 1e12;  // would size the routing Monte Carlo
  doc["points"][0]["params"]["k"] = -5;
  doc["points"][1]["params"]["ranks"] = 1;
  const auto points = parse_validation_dataset(doc.dump(), "d.json");
  CHECK_THROWS_WITH(predict(points[2], PredictContext{}), Contains("/points/2/params/experts") && Contains("integer"));
  CHECK_THROWS_WITH(predict(points[0], PredictContext{}), Contains("/points/0/params/k"));
  CHECK_THROWS_WITH(predict(points[1], PredictContext{}), Contains("/points/1/params/ranks"));
}

TEST_CASE("EP routing: an expert count that is not a multiple of the ranks is rounded down to one", "[validate][ep]") {
  // DeepEP's low-latency test: 288 experts on 128 ranks run as 256 (2 per rank)
  const EpKernel odd{128, 128, 8, 288, 7408, std::nullopt, std::nullopt, false};
  const EpKernel even{128, 128, 8, 256, 7408, std::nullopt, std::nullopt, false};
  const DestinationCounts a = destination_counts(odd, 8), b = destination_counts(even, 8);
  CHECK(a.ranks == b.ranks);
  CHECK(a.ranks <= 8);
  CHECK(a.nodes <= 8);
}

TEST_CASE("dense calibration: each fitted GPU's dense Llama runs average out at its preset training_tensor_fraction",
          "[validate][calibration]") {
  // validation/calibration/fit_training_fraction.py sets each GPU's fraction where the geometric
  // mean of predicted / measured tokens per second over its supported dense runs is 1; a model
  // change that moves those runs needs a refit (the fraction printed to 3 digits: within 1 %).
  const auto points = read_validation_dataset(std::string(MOESIM_SOURCE_DIR) +
                                              "/validation/calibration/megatron_bridge_dense_llama.json");
  std::map<std::string, std::pair<double, int>> log_ratio;  // per GPU: sum of log(predicted / measured), points
  int fsdp_runs = 0;
  for (const ValidationPoint& p : points) {
    const Prediction prediction = predict(p, PredictContext{});
    if (!prediction.supported) continue;
    // FSDP runs are checked apart, not fitted (fit_training_fraction.py says why)
    if (p.params.has("fsdp") && p.params.whole("fsdp", 0, 1) > 0) {
      ++fsdp_runs;
      continue;
    }
    auto& [sum, n] = log_ratio[p.cluster.gpu];
    sum += std::log(prediction.metric / p.metric.value), ++n;
  }
  REQUIRE(log_ratio.size() == 4);
  for (const auto& [gpu, sum_n] : log_ratio) {
    INFO(gpu << " over " << sum_n.second << " runs");
    CHECK(std::abs(sum_n.first / sum_n.second) < 0.01);
  }
  // FSDP and context-parallel runs are simulated too
  CHECK(fsdp_runs == 6);
}

TEST_CASE("attention calibration: each GPU's efficiencies fit cuDNN's Llama-shape runs and the other shapes follow",
          "[validate][calibration]") {
  // validation/calibration/fit_attention.py sets each GPU's long-sequence efficiencies, forward
  // and backward, where the geometric mean of predicted / measured over its Llama 3.1 runs (head
  // dim 128, 2k-16k tokens, causal and full masks) is 1, at the tile overhead that fits all of
  // them best, then the backward rate of MLA's 192-wide heads where its DeepSeek-V3 and Kimi
  // shapes' backward (2k-16k tokens) averages out; the other 140 BF16 runs (MLA forward, head
  // dims 64 and 256, 128-key windows, 32k tokens and more, video models' lengths) are held out.
  // FP8 and MXFP8 alike at that tile overhead: their efficiencies per GPU on the Llama runs,
  // then their head-dim rates on the causal MLA runs (192, forward and backward) and on
  // GPT-OSS's windowed backward (head dim 64, the whole causal range computed); 140 held out.
  const auto points =
      read_validation_dataset(std::string(MOESIM_SOURCE_DIR) + "/validation/calibration/cudnn_sdpa_training.json");
  REQUIRE(points.size() == 520);
  std::map<std::string, std::pair<double, int>> log_ratio;  // per fitted group
  std::map<bool, std::pair<double, int>> held_out;          // per precision (FP8 or not): sum |ratio - 1|, count
  for (const ValidationPoint& p : points) {
    const Prediction prediction = predict(p, PredictContext{});
    REQUIRE(prediction.supported);
    const double ratio = prediction.metric / p.metric.value;
    const bool up_to_16k = p.params.number("q_seqlen") <= 16384, backward = p.params.text("direction") == "bwd";
    const std::string dtype = p.params.text("dtype");
    const bool fp8 = dtype != "bf16", causal = p.params.text("mask") == "causal";
    const double head_dim = p.params.number("head_dim_qk");
    const std::string direction = p.params.text("direction");
    std::string group;
    if (p.params.text("model_shape") == "llama3.1" && up_to_16k) group = dtype + " " + p.cluster.gpu + " " + direction;
    if (!fp8 && head_dim == 192 && backward && up_to_16k) group = "MLA backward";
    if (fp8 && head_dim == 192 && causal && up_to_16k) group = "FP8 MLA " + direction;
    const bool windowed = p.params.number("sliding_window") > 0;
    if (fp8 && head_dim == 64 && backward && windowed && up_to_16k) group = "FP8 head dim 64 backward";
    if (group.empty()) {
      auto& [sum, n] = held_out[fp8];
      sum += std::abs(ratio - 1), ++n;
    } else {
      auto& [sum, n] = log_ratio[group];
      sum += std::log(ratio), ++n;
    }
  }
  REQUIRE(log_ratio.size() == 7 + 10 + 3);
  for (const auto& [group, sum_n] : log_ratio) {
    INFO(group << " over " << sum_n.second << " runs");
    CHECK(std::abs(sum_n.first / sum_n.second) < 0.01);
  }
  // held out: BF16 8.7 % when fitted (the constant efficiencies before had 36.5 % on the 172 not
  // in the Llama fit); FP8 10.9 %, most of it GPT-OSS's windowed forward (all fixed time per tile)
  CHECK(held_out[false].second == 140);
  CHECK(held_out[false].first / held_out[false].second < 0.13);
  CHECK(held_out[true].second == 140);
  CHECK(held_out[true].first / held_out[true].second < 0.13);
}

TEST_CASE("validate: Megatron runs dispatch BF16 tokens (DeepSeek-V3's too)", "[validate]") {
  // DeepSeek-V3's preset dispatches FP8, as DeepSeek's own system does; Megatron-Core's
  // dispatchers send BF16 hidden states whatever the GEMM precision (fused_a2a.py:
  // fp8_dispatch = False), so a Megatron run of the model moves twice the preset's bytes.
  nlohmann::json point = mixtral_step_json("dsv3", 2, 16, 16);
  point["params"].update({{"model", "DeepSeekV3"}, {"precision", "FP8"}});
  point["params"]["framework"] = "Megatron-Bridge / Megatron-Core (NeMo 25.11)";
  const Prediction p = predict(parsed_point(point), PredictContext{});
  REQUIRE(p.supported);
  const Scenario s = parse_scenario(p.scenario_json, "step");
  CHECK(s.model.compute_dtype == Dtype::FP8);
  CHECK(s.model.dispatch_dtype == Dtype::BF16);
  CHECK(s.model.dispatch_bytes_per_token() == 2.0 * s.model.d_model);
  CHECK(model_presets().find("deepseek-v3")->dispatch_dtype == Dtype::FP8);
}

TEST_CASE("validate: every held-out published run is simulated and fits in memory", "[validate]") {
  // validation/heldout: rows of newer tables than the shared dataset's (no fit sees them). A
  // plan or model change that leaves one unsupported, or says a run NVIDIA made does not fit,
  // would quietly shrink the held-out check.
  // The archive's rows that shared/validation leaves out are held out too; one of them states a
  // plan its own numbers contradict (25.11's H100 GPT-OSS-120B: GA 2 where GBS 512 over DP 16 at
  // MBS 4 makes 8; the recipe of that release runs MBS 1), and at MBS 4 it does not fit: its fit
  // is not asked.
  int points_checked = 0;
  for (const char* file : {"megatron_bridge_2602_01_moe.json", "megatron_bridge_2604_moe.json", "megatron_bridge_2606_moe.json",
                           "megatron_bridge_archive_moe.json", "megatron_bridge_overlap_ab_moe.json"}) {
    for (const ValidationPoint& p : read_validation_dataset(std::string(MOESIM_SOURCE_DIR) + "/validation/heldout/" + file)) {
      INFO(file << ": " << p.id);
      const Prediction prediction = predict(p, PredictContext{});
      REQUIRE(prediction.supported);
      const PointParams& q = p.params;
      const bool consistent = q.whole("grad_accum", 1, 1 << 20) * q.whole("dp", 1, 1 << 20) * q.whole("micro_batch", 1, 1 << 20) ==
                              q.whole("global_batch", 1, 1 << 30);
      if (consistent) CHECK(prediction.fits_memory.value_or(false));
      CHECK(prediction.metric > 0);
      ++points_checked;
    }
  }
  CHECK(points_checked == 5 + 37 + 13 + 16 + 2);
}

TEST_CASE("validate: a row may state its run's own settings, as NVIDIA's overlap A/B on 16 H100 does", "[validate]") {
  // Megatron-Bridge's skills documentation: Qwen3-30B-A3B BF16 on 16 H100, EP16 HybridEP, graphs
  // of the router and its preprocessing; the all-to-all overlap (combined 1F1B) alone changed
  // the step from 24.71 to 20.99 s (x1.177). Each row states those settings (params.recipe).
  const auto points = read_validation_dataset(std::string(MOESIM_SOURCE_DIR) +
                                              "/validation/heldout/megatron_bridge_overlap_ab_moe.json");
  REQUIRE(points.size() == 2);
  const Prediction off = predict(point(points, "train-mbridge-skill-h100-qwen3-30b-a3b-bf16-ep16-overlap-off"), PredictContext{});
  const Prediction on = predict(point(points, "train-mbridge-skill-h100-qwen3-30b-a3b-bf16-ep16-overlap-on"), PredictContext{});
  REQUIRE((off.supported && on.supported));
  const auto off_s = nlohmann::json::parse(off.scenario_json), on_s = nlohmann::json::parse(on.scenario_json);
  CHECK(off_s["plan"]["cuda_graph_scope"] == nlohmann::json::array({"moe_router", "moe_preprocess"}));
  CHECK(off_s["plan"]["ep_comm_sms"] == 32);
  CHECK(off_s["plan"]["dispatch_copies"] == "per_node");
  CHECK_FALSE(off_s["plan"].contains("overlap_ep_comm"));
  CHECK(on_s["plan"]["overlap_ep_comm"] == true);
  // held out, a regression bound: moesim's gain from the overlap (x1.172 when added) within 5 %
  // of the measured one
  CHECK(on.metric / off.metric == Approx(24.7138 / 20.9920).epsilon(0.05));

  // a stated setting moesim does not know is an input error naming it
  nlohmann::json row = nlohmann::json::parse(test::read_file(std::string(MOESIM_SOURCE_DIR) +
                                                             "/validation/heldout/megatron_bridge_overlap_ab_moe.json"))["points"][0];
  row["params"]["recipe"]["dispatcher"] = "nccl_ep";
  CHECK_THROWS_WITH(predict(parsed_point(row), PredictContext{}),
                    Catch::Contains("/params/recipe/dispatcher: \"nccl_ep\"; expected one of alltoall, hybridep, deepep"));
  row["params"]["recipe"].erase("dispatcher");
  row["params"]["recipe"]["overlap"] = true;
  CHECK_THROWS_WITH(predict(parsed_point(row), PredictContext{}), Catch::Contains("/params/recipe/overlap: unknown key"));
}

TEST_CASE("validate: Megatron-LM's MoE recipes state their runs and the unsupported ones say why", "[validate]") {
  // validation/heldout/megatron_lm_moe_recipes.json (make_megatron_lm_moe_recipes.py): Megatron-LM's
  // examples/moe_recipes, one row per published run with the settings of its YAML.
  const auto points = read_validation_dataset(std::string(MOESIM_SOURCE_DIR) +
                                              "/validation/heldout/megatron_lm_moe_recipes.json");
  REQUIRE(points.size() == 16);
  int supported = 0;
  for (const ValidationPoint& p : points) {
    INFO(p.id);
    const Prediction prediction = predict(p, PredictContext{});
    if (!prediction.supported) {
      // DeepSeek-V4 has no preset; DeepSeek-V3 on GB200 offloads to host memory
      CHECK_THAT(prediction.reason, Catch::Contains("no model preset for DeepSeek-V4") ||
                                        Catch::Contains("offloading (offload_optimizer_states, fine_grained_activation_offloading)"));
      continue;
    }
    CHECK(prediction.fits_memory.value_or(false));
    CHECK(prediction.metric > 0);
    ++supported;
  }
  CHECK(supported == 13);
  const auto scenario_of = [&](const std::string& id) {
    const Prediction prediction = predict(point(points, id), PredictContext{});
    REQUIRE(prediction.supported);
    return nlohmann::json::parse(prediction.scenario_json);
  };
  // Qwen3-30B-A3B BF16 on 16 GB200: no gradient-reduce overlap, NVLink SHARP off, no graphs,
  // HybridEP on its default SMs
  const auto bf16 = scenario_of("train-mlm-moe-recipes-gb200-qwen3-30b-a3b-bf16-16gpu-tp1pp1ep16");
  CHECK(bf16["plan"]["overlap_grad_reduce"] == false);
  CHECK(bf16["cluster"]["nccl_nvls"] == false);
  CHECK(bf16["cluster"]["host_us_per_kernel"] != 0);
  CHECK(bf16["plan"]["ep_comm_sms"] == 32);
  CHECK(bf16["plan"]["dispatch_copies"] == "per_node");
  // the same run in MXFP8 with the whole step graphed (paged stash): no host launches
  CHECK(scenario_of("train-mlm-moe-recipes-gb200-qwen3-30b-a3b-mxfp8-16gpu-tp1pp1ep16-paged-stash")["cluster"]
                   ["host_us_per_kernel"] == 0);
  // Qwen3-235B-A22B on 128 B200: DeepEP on the 20 SMs it states, the all-to-alls overlapped, two
  // layers per virtual stage with the embedding and the loss counted as layers (VPP 12)
  const auto b200 = scenario_of("train-mlm-moe-recipes-b200-qwen3-235b-a22b-mxfp8-128gpu-tp2pp4ep16");
  CHECK(b200["plan"]["ep_comm_sms"] == 20);
  CHECK(b200["plan"]["overlap_ep_comm"] == true);
  CHECK(b200["plan"]["vp"] == 12);
  const auto layout = b200["plan"]["pipeline_layout"].get<std::vector<int>>();
  REQUIRE(layout.size() == 48);
  CHECK((layout.front() == 1 && layout.back() == 1 && layout[1] == 2));
  CHECK(std::accumulate(layout.begin(), layout.end(), 0) == 94);
  // DeepSeek-V3 on 256 B200: "Et*4|(tttt|)*14tmL" over PP 8 (VP 2)
  const auto dsv3 = scenario_of("train-mlm-moe-recipes-b200-deepseek-v3-mxfp8-256gpu-tp1pp8ep32");
  CHECK(dsv3["plan"]["pipeline_layout"].size() == 16);
  CHECK(dsv3["plan"]["pipeline_layout"].back() == 1);
  CHECK(dsv3["plan"]["ep_comm_sms"] == 24);

  // stated settings that are not numbers moesim can use are input errors naming them
  nlohmann::json row = nlohmann::json::parse(test::read_file(std::string(MOESIM_SOURCE_DIR) +
                                                             "/validation/heldout/megatron_lm_moe_recipes.json"))["points"][2];
  row["params"]["pipeline_layout"] = {4, -1};
  CHECK_THROWS_WITH(predict(parsed_point(row), PredictContext{}),
                    Catch::Contains("/params/pipeline_layout: expected a list of whole numbers"));
  row["params"].erase("pipeline_layout");
  row["params"]["recipe"]["dispatcher_sms"] = 0;
  CHECK_THROWS_WITH(predict(parsed_point(row), PredictContext{}), Catch::Contains("/params/recipe/dispatcher_sms"));
}

TEST_CASE("moesim validate: training steps sliced by model and by GPU and by release add up to the family's MAPE",
          "[validate][cli]") {
  const auto r = test::run_command(std::string(MOESIM_BINARY) + " validate " + MOESIM_SOURCE_DIR +
                                   "/validation/heldout/megatron_bridge_2606_moe.json");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // A row: a name padded to 20 characters, points, simulated, in MAPE, MAPE %.
  struct Line {
    int points = 0, in_mean = 0;
    double mape = 0;
  };
  const auto parse = [](const std::string& row) {
    std::istringstream fields(row.substr(20));
    Line l;
    int simulated = 0;
    fields >> l.points >> simulated >> l.in_mean >> l.mape;
    return l;
  };
  // The rows under a table's title line, up to the blank line that ends it.
  const auto table = [&](const std::string& title) {
    std::vector<Line> lines;
    std::istringstream in(r.output.substr(r.output.find(title)));
    std::string row;
    std::getline(in, row);
    while (std::getline(in, row) && !row.empty()) lines.push_back(parse(row));
    return lines;
  };
  const std::string family_row = "\ntrain_step          ";
  REQUIRE(r.output.find(family_row) != std::string::npos);
  const Line family = parse(r.output.substr(r.output.find(family_row) + 1));
  // DeepSeek-V3, GPT-OSS-120B, Qwen3-30B-A3B, Qwen3-235B-A22B; GB200, GB300, B300, H100; one release
  for (const auto& [title, count] : {std::pair{"train_step by model", 4}, std::pair{"train_step by GPU", 4},
                                     std::pair{"train_step by release", 1}}) {
    INFO(title);
    const std::vector<Line> slices = table(title);
    CHECK(slices.size() == size_t(count));
    int points = 0, in_mean = 0;
    double abs_error = 0;
    for (const Line& l : slices) points += l.points, in_mean += l.in_mean, abs_error += l.in_mean * l.mape;
    CHECK(points == 13);
    CHECK(in_mean == family.in_mean);
    // each slice's MAPE is printed to 0.1: the weighted sum may be off by 0.05 per point
    CHECK(abs_error / in_mean == Approx(family.mape).margin(0.05 + 0.05));
  }
  CHECK(r.output.find("\n  NeMo 26.06 ") != std::string::npos);
}

TEST_CASE("validate: Megatron's model FLOP counts match the ones its published runs imply", "[validate]") {
  // Megatron-Bridge's tables publish tokens/s and model TFLOP/s per GPU; their ratio is the
  // FLOPs per token its formula counts (shared/validation/published.json, 4096-token runs):
  // DeepSeek-V3 with one MTP layer 260.0-260.4 G (25.09 and 26.02 rows), without 249.1-249.7 G
  // (25.11's "w/o MTP"), Qwen3-235B-A22B 147.8-148.2 G, Qwen3-30B-A3B 22.9-23.0 G.
  const auto preset = [](const char* name) { return *model_presets().find(name); };
  const ModelSpec dsv3 = preset("deepseek-v3");
  CHECK(megatron_bridge_flops_per_token(dsv3, 4096, 1, 1) / 1e9 == Approx(260.2).epsilon(0.002));
  CHECK(megatron_bridge_flops_per_token(dsv3, 4096, 0, 1) / 1e9 == Approx(249.4).epsilon(0.002));
  CHECK(megatron_bridge_flops_per_token(preset("qwen3-235b-a22b"), 4096, 0, 1) / 1e9 == Approx(148.0).epsilon(0.002));
  CHECK(megatron_bridge_flops_per_token(preset("qwen3-30b-a3b"), 4096, 0, 1) / 1e9 == Approx(23.0).epsilon(0.003));
  // Megatron-LM 0.8/0.9 (Mixtral-8x7B, 4096 tokens): 12 L h^2 ((1 + 8/32 + s/h) + 14336/4096 x 2
  // x 3/2 + 32000 / (2 L h)) per token: attention not halved
  const double h = 4096, layers = 32;
  const double mixtral = 12 * layers * h * h * ((1 + 8.0 / 32 + 4096 / h) + 14336 / h * 2 * 1.5 + 32000 / (2 * layers * h));
  CHECK(megatron_core_2024_flops_per_token(preset("mixtral-8x7b"), 4096).value() == Approx(mixtral));
  CHECK(mixtral / 1e9 == Approx(82.93).epsilon(0.001));
  // DeepSeek-V3's shared expert and MLA are not in the 2024 formula
  CHECK_FALSE(megatron_core_2024_flops_per_token(dsv3, 4096).has_value());
}

TEST_CASE("validate: Megatron-Bridge runs keep their recipes' MTP layer and pipeline layout",
          "[validate]") {
  // The held-out 26.06 rows (validation/heldout): DeepSeek-V3 on 256 GB200 at PP4 VP4 and on
  // 256 B300 at PP8, neither saying how many MTP layers it ran.
  const std::string file = std::string(MOESIM_SOURCE_DIR) + "/validation/heldout/megatron_bridge_2606_moe.json";
  const auto points = read_validation_dataset(file);
  const auto scenario_of = [](const ValidationPoint& p) {
    const Prediction prediction = predict(p, PredictContext{});
    REQUIRE(prediction.supported);
    return nlohmann::json::parse(prediction.scenario_json);
  };
  // 16 virtual stages: 4 layers each, the embedding beside the first four, one layer beside the
  // MTP module and the loss at the end (deepseek_v3.py's layout map); the recipe's one MTP layer
  const auto gb200 = scenario_of(point(points, "train-mbridge-2606-gb200-deepseekv3-mxfp8-pp4-ep64-gbs4096"));
  std::vector<int> sixteen(15, 4);
  sixteen.push_back(1);
  CHECK(gb200["plan"]["pipeline_layout"].get<std::vector<int>>() == sixteen);
  CHECK(gb200["model"]["mtp_layers"] == 1);
  CHECK(gb200["cluster"]["nccl_nvls"] == false);
  // 8 stages: 8 layers each, 5 on the last
  const auto b300 = scenario_of(point(points, "train-mbridge-2606-b300-deepseekv3-mxfp8-pp8-ep8-gbs4096"));
  std::vector<int> eight(7, 8);
  eight.push_back(5);
  CHECK(b300["plan"]["pipeline_layout"].get<std::vector<int>>() == eight);
  // PP2 VP8 is not in the map: an even split
  CHECK_FALSE(scenario_of(point(points, "train-mbridge-2606-gb300-deepseekv3-mxfp8-pp2-ep32-gbs4096"))["plan"].contains("pipeline_layout"));
  // Qwen3-235B-A22B's recipe counts the embedding and the loss as layers: 94 + 2 over PP8 VP3's
  // 24 virtual stages, 4 each, the first and the last one layer fewer
  std::vector<int> qwen(22, 4);
  qwen.insert(qwen.begin(), 3);
  qwen.push_back(3);
  const auto qwen3 = scenario_of(point(points, "train-mbridge-2606-gb200-qwen3235ba22b-mxfp8-pp8-ep32-gbs8192"));
  CHECK(qwen3["plan"]["pipeline_layout"].get<std::vector<int>>() == qwen);
  CHECK(qwen3["model"]["mtp_layers"] == 0);
  // a model without such a recipe keeps the even split
  CHECK_FALSE(scenario_of(point(points, "train-mbridge-2606-b300-qwen330ba3b-mxfp8-pp1-ep8-gbs512"))["plan"].contains("pipeline_layout"));
  // a run that states no MTP runs none
  nlohmann::json stated = nlohmann::json::parse(test::read_file(file))["points"][2];
  REQUIRE(stated["id"] == "train-mbridge-2606-gb200-deepseekv3-mxfp8-pp4-ep64-gbs4096");
  stated["params"]["architecture"]["mtp_layers"] = 0;
  CHECK(scenario_of(parsed_point(stated))["model"]["mtp_layers"] == 0);
  CHECK_FALSE(qwen3["plan"].contains("recompute"));
}

TEST_CASE("validate: a Megatron-Bridge row runs with its own release's recipe", "[validate]") {
  const auto scenario_of = [](const ValidationPoint& p) {
    const Prediction prediction = predict(p, PredictContext{});
    REQUIRE(prediction.supported);
    return nlohmann::json::parse(prediction.scenario_json);
  };
  const std::string dir = std::string(MOESIM_SOURCE_DIR) + "/validation/heldout/";
  const auto release_2606 = read_validation_dataset(dir + "megatron_bridge_2606_moe.json");
  // 26.06 (v0.5.0) GB200 DeepSeek-V3: the whole step in a CUDA graph (no host launches), the
  // all-to-alls overlapped on HybridEP's 32 SMs, MLA's up-projections recomputed
  const auto gb200 = scenario_of(point(release_2606, "train-mbridge-2606-gb200-deepseekv3-mxfp8-pp4-ep64-gbs4096"));
  CHECK(gb200["cluster"]["host_us_per_kernel"] == 0);
  CHECK(gb200["plan"]["overlap_ep_comm"] == true);
  CHECK(gb200["plan"]["ep_comm_sms"] == 32);
  CHECK(gb200["plan"]["recompute"] == "selective");
  CHECK(gb200["plan"]["recompute_modules"] == nlohmann::json::array({"mla_up_proj"}));
  // B300: Transformer Engine graphs of attention and the router, no overlap, host launches left
  const auto b300 = scenario_of(point(release_2606, "train-mbridge-2606-b300-deepseekv3-mxfp8-pp8-ep8-gbs4096"));
  CHECK(b300["plan"]["cuda_graph_scope"] == nlohmann::json::array({"attn", "moe_router", "moe_preprocess"}));
  CHECK_FALSE(b300["plan"].contains("overlap_ep_comm"));
  CHECK(b300["cluster"]["host_us_per_kernel"] != 0);
  // GPT-OSS-120B on GB200 runs its experts' MLP in fused kernels (cutedsl_fused_grouped_mlp):
  // biases and the activation's clamp inside them; on B300 (v0.5.0 without it) as Megatron-Core
  // adds and clamps them, eagerly
  const auto fused = scenario_of(point(release_2606, "train-mbridge-2606-gb200-gptoss120b-mxfp8-pp1-ep64-gbs1280"));
  CHECK(fused["model"]["expert_bias"] == "fused");
  CHECK(fused["model"]["glu_clamp"] == "fused");
  // and one grouped kernel over the local experts, where Transformer Engine's GroupedLinear
  // runs a GEMM per expert
  CHECK(fused["plan"]["expert_gemms"] == "grouped");
  const auto eager = scenario_of(point(release_2606, "train-mbridge-2606-b300-gptoss120b-mxfp8-pp1-ep8-gbs1280"));
  CHECK_FALSE(eager["model"].contains("expert_bias"));  // the preset's: per_expert, eager clamp
  CHECK_FALSE(eager["model"].contains("glu_clamp"));
  CHECK(eager["plan"]["expert_gemms"] == "per_expert");
  // fp8_dot_product_attention in 26.06's GB200 and GB300 GPT-OSS recipes (MXFP8 recipe: MXFP8
  // attention), not in B300's, nor in any recipe before 26.06
  CHECK(fused["model"]["attention_dtype"] == "mxfp8");
  CHECK_FALSE(eager["model"].contains("attention_dtype"));
  CHECK_FALSE(gb200["model"].contains("attention_dtype"));
  // a model without biases is left as it is
  CHECK_FALSE(gb200["model"].contains("expert_bias"));
  // H100 Qwen3-30B-A3B: eager, HybridEP, nothing recomputed
  const auto h100 = scenario_of(point(release_2606, "train-mbridge-2606-h100-qwen330ba3b-fp8-pp1-ep16-gbs1024"));
  CHECK_FALSE(h100["plan"].contains("cuda_graph_scope"));
  CHECK_FALSE(h100["plan"].contains("recompute"));
  // 26.02.01 (v0.3.1) GPT-OSS-120B on B200: eager, NCCL's all-to-all (32 p2p channels, a row
  // per token and expert), the norms and the experts' activation recomputed; on B300 graphs
  // and no recomputation
  const auto release_260201 = read_validation_dataset(dir + "megatron_bridge_2602_01_moe.json");
  const auto gpt_oss = scenario_of(point(release_260201, "train-mbridge-260201-b200-gpt-oss-120b-bf16-ep8"));
  CHECK(gpt_oss["plan"]["recompute_modules"] == nlohmann::json::array({"layernorm", "moe_act"}));
  CHECK(gpt_oss["plan"]["ep_comm_sms"] == 32);
  CHECK(gpt_oss["plan"]["dispatch_copies"] == "per_expert");  // the alltoall dispatcher's permuted rows
  CHECK(gb200["plan"]["dispatch_copies"] == "per_node");      // Hybrid-EP: once per node over RDMA
  CHECK_FALSE(gpt_oss["plan"].contains("cuda_graph_scope"));
  const auto gpt_oss_b300 = scenario_of(point(release_260201, "train-mbridge-260201-b300-gpt-oss-120b-bf16-ep8"));
  CHECK(gpt_oss_b300["plan"]["cuda_graph_scope"] == nlohmann::json::array({"attn", "moe_router", "moe_preprocess"}));
  CHECK_FALSE(gpt_oss_b300["plan"].contains("recompute"));
  // 26.04.01 (v0.4.2) changed some recipes of 26.04 (v0.4.0): B200 DeepSeek-V3 moved to DeepEP
  // with its all-to-alls overlapped; the rest, Qwen3-30B-A3B on GB300 among them, run 26.04's
  const auto release_2604 = read_validation_dataset(dir + "megatron_bridge_2604_moe.json");
  const auto dsv3_b200 = scenario_of(point(release_2604, "train-mbridge-260401-b200-deepseekv3-mxfp8-pp8-ep32-gbs4096"));
  CHECK(dsv3_b200["plan"]["overlap_ep_comm"] == true);
  CHECK(dsv3_b200["plan"]["ep_comm_sms"] == 20);
  CHECK(dsv3_b200["plan"]["recompute_modules"] == nlohmann::json::array({"mla_up_proj", "mlp"}));
  const auto dsv3_b200_2604 = scenario_of(point(release_2604, "train-mbridge-2604-b200-deepseekv3-mxfp8-pp16-ep8-gbs4096"));
  CHECK_FALSE(dsv3_b200_2604["plan"].contains("overlap_ep_comm"));
  CHECK(dsv3_b200_2604["plan"]["ep_comm_sms"] == 32);
  for (const char* id : {"train-mbridge-2604-gb300-qwen3-30b-a3b-mxfp8-pp1-ep8-gbs512",
                         "train-mbridge-260401-gb300-qwen3-30b-a3b-mxfp8-pp1-ep8-gbs512"}) {
    INFO(id);
    CHECK(scenario_of(point(release_2604, id))["plan"]["cuda_graph_scope"] ==
          nlohmann::json::array({"moe_router", "moe_preprocess"}));
  }
  // the same row from a release the table does not hold runs without any recipe setting
  nlohmann::json other = nlohmann::json::parse(test::read_file(dir + "megatron_bridge_2606_moe.json"))["points"][2];
  REQUIRE(other["id"] == "train-mbridge-2606-gb200-deepseekv3-mxfp8-pp4-ep64-gbs4096");
  other["params"]["framework"] = "Megatron-Bridge / Megatron-Core (NeMo 24.01)";
  const auto unknown = scenario_of(parsed_point(other));
  CHECK_FALSE(unknown["plan"].contains("overlap_ep_comm"));
  CHECK_FALSE(unknown["plan"].contains("recompute"));
  CHECK_FALSE(unknown["plan"].contains("ep_comm_sms"));
  CHECK(unknown["cluster"]["host_us_per_kernel"] != 0);
  // the prediction says which recipe it ran
  CHECK(predict(point(release_2606, "train-mbridge-2606-gb200-deepseekv3-mxfp8-pp4-ep64-gbs4096"), PredictContext{})
            .note.find("recipe v0.5.0 DEEPSEEK_V3_PRETRAIN_CONFIG_GB200_FP8_MX_V2: whole step in a CUDA graph") != std::string::npos);
}
