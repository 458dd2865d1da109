// Calibration: benchmark and log readers, the fit, profiles, and `moesim calibrate`.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <set>
#include <nlohmann/json.hpp>

#include "hardware/cluster.hpp"
#include "hardware/input_error.hpp"
#include "hardware/input_file.hpp"
#include "hardware/kernel_profile.hpp"
#include "models/cost_model.hpp"
#include "tests/helpers.hpp"
#include "validation/calibration/kineto_trace.hpp"
#include "validation/calibration/bench_reader.hpp"
#include "validation/calibration/fit.hpp"
#include "validation/calibration/mpi_layer.hpp"
#include "validation/calibration/nccl_tests.hpp"

using namespace moesim;
using namespace moesim::calibration;
using Catch::Matchers::Contains;

namespace {

const std::string FIXTURES = std::string(MOESIM_SOURCE_DIR) + "/tests/fixtures/nccl-tests/";

KernelProfile known_profile() {
  KernelProfile p;
  p.device = "test GPU";
  p.gemm_flops_per_s = 512e12;
  p.gemm_tile_rows = 64;
  p.gemm_tile_cols = 128;
  p.compute_units = 100;
  p.gemm_overhead_s = 4e-6;
  p.memory_Bps = 3000e9;
  p.kernel_overhead_s = 2e-6;
  return p;
}

// Google Benchmark JSON whose times are the model's own predictions under `p`, times a
// deterministic wobble of +-`noise` (relative).
std::string synthetic_bench_json(const KernelProfile& p, const std::string& backend, double noise) {
  nlohmann::json doc = {{"context", {{"host_name", "synthetic"}, {"date", "2026-11-26"}, {"moesim_cuda_sms", std::to_string(p.compute_units)}}}, {"benchmarks", nlohmann::json::array()}};
  int i = 0;
  for (const KernelCase& c : benchmark_cases(backend, true)) {
    const double wobble = 1 + noise * ((i++ % 3) - 1);
    const double t = predicted_s(c, profile_cost_model(p, c.element_bytes)) * wobble;
    nlohmann::json e = {{"name", case_name(c) + "/min_time:0.100/manual_time"}, {"run_type", "iteration"},
                        {"iterations", 10}, {"real_time", t * 1e9}, {"cpu_time", t * 1e9}, {"time_unit", "ns"}};
    for (const auto& [key, value] : case_counters(c)) e[key] = value;
    doc["benchmarks"].push_back(e);
  }
  return doc.dump();
}

double relative(double a, double b) { return std::fabs(a - b) / b; }

}  // namespace

TEST_CASE("calibration recovers the parameters of data the model generated", "[calibration]") {
  const KernelProfile truth = known_profile();
  CalibrationInput in;
  in.runs.push_back(parse_bench_json(synthetic_bench_json(truth, "cuda", 0), "synthetic.json"));
  const Calibration c = calibrate(in);
  CHECK(c.profile.gemm_tile_rows == truth.gemm_tile_rows);
  CHECK(c.profile.gemm_tile_cols == truth.gemm_tile_cols);
  CHECK(c.profile.compute_units == truth.compute_units);
  CHECK(relative(c.profile.gemm_flops_per_s, truth.gemm_flops_per_s) < 1e-3);
  CHECK(relative(c.profile.gemm_overhead_s, truth.gemm_overhead_s) < 1e-2);
  CHECK(relative(c.profile.memory_Bps, truth.memory_Bps) < 1e-6);
  CHECK(relative(c.profile.kernel_overhead_s, truth.kernel_overhead_s) < 1e-6);
  for (const Check& check : c.checks) CHECK(std::fabs(check.error_pct()) < 0.5);
}

TEST_CASE("calibration under measurement noise stays near the truth and predicts held-out points", "[calibration]") {
  const KernelProfile truth = known_profile();
  CalibrationInput in;
  in.runs.push_back(parse_bench_json(synthetic_bench_json(truth, "cuda", 0.03), "noisy.json"));
  in.hold_out_every = 2;
  const Calibration c = calibrate(in);
  CHECK(relative(c.profile.gemm_flops_per_s, truth.gemm_flops_per_s) < 0.05);
  CHECK(relative(c.profile.memory_Bps, truth.memory_Bps) < 0.05);
  int held_out = 0;
  for (const Check& check : c.checks)
    if (!check.in_fit) {
      ++held_out;
      CHECK(std::fabs(check.error_pct()) < 8);  // 3 % noise, plus what the fit absorbed of it
    }
  CHECK(held_out > 10);
}

TEST_CASE("nccl-tests logs: both tables parse and the link fit recovers the generating model", "[calibration]") {
  const NcclTestsLog a2a = read_nccl_tests(FIXTURES + "alltoall_perf.h100x8.log");
  CHECK(a2a.collective == NcclCollective::ALL_TO_ALL);
  CHECK(a2a.ranks == 8);
  CHECK(a2a.nodes == 1);
  CHECK(a2a.device == "NVIDIA H100 80GB HBM3");
  REQUIRE(a2a.rows.size() == 11);
  CHECK(a2a.rows.front().size_bytes == 1024);
  CHECK(a2a.rows.front().out_of_place_s == Approx(30.00e-6));
  CHECK(a2a.rows.front().in_place_s.value() == Approx(30.30e-6));
  const NcclTestsLog ar = read_nccl_tests(FIXTURES + "all_reduce_perf.h100x16.log");
  CHECK(ar.collective == NcclCollective::ALL_REDUCE);
  CHECK(ar.ranks == 16);
  CHECK(ar.nodes == 2);

  CalibrationInput in;
  in.runs.push_back(parse_bench_json(synthetic_bench_json(known_profile(), "cuda", 0), "synthetic.json"));
  in.nccl = {a2a, ar};
  const Calibration c = calibrate(in);
  REQUIRE(c.profile.intra_node);
  REQUIRE(c.profile.inter_node);
  // the logs print 4 significant digits of time: the fit is as good as that
  CHECK(relative(c.profile.intra_node->bandwidth_Bps, 360e9) < 0.01);
  CHECK(relative(c.profile.intra_node->latency_s, 30e-6) < 0.01);
  CHECK(relative(c.profile.inter_node->bandwidth_Bps, 45e9) < 0.01);
  CHECK(relative(c.profile.inter_node->latency_s, 6e-6) < 0.02);
  // the profile's cost model moves bytes at the fitted (payload) rates, and its checks
  // reproduce the logs they were fitted on
  const CostModel cost = profile_cost_model(c.profile, 2);
  CHECK(cost.transfer_s(1e9, LinkScope::INTRA_NODE) ==
        Approx(c.profile.intra_node->latency_s + 1e9 / c.profile.intra_node->bandwidth_Bps));
  CHECK(cost.transfer_s(1e9, LinkScope::INTER_NODE) ==
        Approx(c.profile.inter_node->latency_s + 1e9 / c.profile.inter_node->bandwidth_Bps));
  for (const Check& check : c.checks)
    if (check.kind == "nccl_alltoall" && check.measured_s > 1e-3) CHECK(std::abs(check.predicted_s / check.measured_s - 1) < 0.05);
}

TEST_CASE("nccl-tests: malformed logs are rejected naming the file and line", "[calibration]") {
  const std::string good = test::read_file(FIXTURES + "alltoall_perf.h100x8.log");
  const auto parse = [](const std::string& text) { return parse_nccl_tests(text, NcclCollective::ALL_TO_ALL, "a2a.log"); };
  CHECK_THROWS_WITH(parse("hello\n"), Contains("a2a.log") && Contains("Rank"));
  std::string truncated = good;
  truncated.replace(truncated.find("    30.16"), 9, "");  // a row loses its time column
  CHECK_THROWS_WITH(parse(truncated), Contains("a2a.log:") && Contains("fields"));
  std::string bad_time = good;
  bad_time.replace(bad_time.find("    30.16"), 9, "    fast!");
  CHECK_THROWS_WITH(parse(bad_time), Contains("a2a.log:") && Contains("time"));
  std::string no_rows = good.substr(0, good.find("        1024"));
  CHECK_THROWS_WITH(parse(no_rows), Contains("no rows"));
  CHECK_THROWS_WITH(read_nccl_tests("/nonexistent/perf.log"), Contains("cannot tell the collective"));
  CHECK_THROWS_WITH(read_nccl_tests("broadcast=x.log"), Contains("unknown collective"));
  CHECK_THROWS_WITH(read_nccl_tests("alltoall=/nonexistent/x.log"), Contains("cannot open"));
}

TEST_CASE("benchmark JSON: errors name the file and JSON path", "[calibration]") {
  CHECK_THROWS_WITH(parse_bench_json("{", "b.json"), Contains("b.json") && Contains("not valid JSON"));
  CHECK_THROWS_WITH(parse_bench_json("{}", "b.json"), Contains("/benchmarks"));
  CHECK_THROWS_WITH(parse_bench_json(R"({"benchmarks": [{"name": "cuda/gemm/m=1", "run_type": "iteration",
                                        "real_time": 5, "time_unit": "us", "m": 1, "n": 2, "element_bytes": 2}]})",
                                     "b.json"),
                    Contains("/benchmarks/0") && Contains("\"k\""));
  CHECK_THROWS_WITH(parse_bench_json(R"({"benchmarks": [{"name": "cuda/copy/bytes=1", "real_time": 5,
                                        "time_unit": "fortnights", "bytes": 1, "element_bytes": 2}]})",
                                     "b.json"),
                    Contains("/benchmarks/0/time_unit"));
  // entries of other benchmarks and entries that failed are counted, not fitted
  const BenchRun run = parse_bench_json(R"({"benchmarks": [{"name": "BM_Other", "real_time": 1, "time_unit": "ns"},
      {"name": "cuda/copy/bytes=1", "error_occurred": true, "real_time": 0, "time_unit": "ns"}]})",
                                        "b.json");
  CHECK(run.foreign == 1);
  CHECK(run.skipped == 1);
  CHECK(run.measurements.empty());
}

TEST_CASE("repeated benchmark entries reduce to their median", "[calibration]") {
  const std::string entry = R"({"name": "cuda/copy/bytes=64", "run_type": "iteration", "time_unit": "us",
                                "bytes": 64, "element_bytes": 2, "real_time": )";
  const BenchRun run = parse_bench_json(R"({"benchmarks": [)" + entry + "3}," + entry + "9}," + entry + "4}," +
                                            R"({"name": "cuda/copy/bytes=64", "run_type": "aggregate", "real_time": 100, "time_unit": "us"}]})",
                                        "b.json");
  REQUIRE(run.measurements.size() == 1);
  CHECK(run.measurements[0].time_s == Approx(4e-6));
}

TEST_CASE("profiles round-trip through JSON and apply to a cluster of their GPU only", "[calibration]") {
  KernelProfile p = known_profile();
  p.gpu_preset = "h100-sxm";
  p.gemm_flops_per_s = 700e12;
  p.intra_node = LinkFit{370e9, 3e-6, 5};
  const std::string path = "/tmp/moesim_test_profile.json";
  std::ofstream(path) << kernel_profile_json(p);
  const KernelProfile back = read_kernel_profile(path);
  CHECK(back.gemm_flops_per_s == Approx(p.gemm_flops_per_s));
  CHECK(back.gemm_tile_rows == 64);
  CHECK(back.intra_node->bandwidth_Bps == Approx(370e9));
  CHECK_FALSE(back.inter_node);

  const ClusterSpec h100 = *cluster_presets().find("dgx-h100");
  const ClusterSpec applied = apply_profile(h100, back, path);
  CHECK(applied.gemm_efficiency == Approx(700e12 / h100.gpu.peak_bf16_flops));
  CHECK(applied.fp8_gemm_efficiency == h100.fp8_gemm_efficiency);  // a BF16 profile says nothing of FP8
  CHECK(applied.hbm_efficiency == Approx(3000e9 / h100.gpu.hbm_Bps));
  // a fitted link rate is a payload rate: it replaces line rate and efficiency together,
  // and a link the profile did not fit keeps the preset's line rate and efficiency
  CHECK(applied.nvlink_payload_Bps() == Approx(370e9));
  CHECK(applied.nvlink_efficiency == 1);
  CHECK(applied.nic_Bps == h100.nic_Bps);
  CHECK(applied.nic_payload_Bps() == Approx(h100.nic_Bps * h100.nic_efficiency));
  CHECK(applied.gemm_overhead_s == Approx(4e-6));
  // fitted latencies are per ring step: an all-reduce is priced as the fit priced it, not by
  // NCCL's protocol table
  CHECK(h100.nccl_latencies);
  CHECK_FALSE(applied.nccl_latencies);
  CHECK(CostModel(applied, Dtype::BF16).ring_allreduce_s(1e6, 8, 1) == Approx(14 * 3e-6 + 2.0 * 7 / 8 * 1e6 / 370e9));

  ClusterSpec b200 = *cluster_presets().find("dgx-b200");
  CHECK_THROWS_WITH(apply_profile(b200, back, path), Contains(path) && Contains("h100-sxm") && Contains("b200"));
  KernelProfile too_fast = back;
  too_fast.memory_Bps = 5000e9;
  CHECK_THROWS_WITH(apply_profile(h100, too_fast, path), Contains("/compute/memory_GBps"));
}

TEST_CASE("profile files: errors name the file and JSON path", "[calibration]") {
  const std::string path = "/tmp/moesim_test_bad_profile.json";
  const auto with = [&](const std::string& text) {
    std::ofstream(path) << text;
    return path;
  };
  CHECK_THROWS_WITH(read_kernel_profile(with("[")), Contains(path) && Contains("not valid JSON"));
  CHECK_THROWS_WITH(read_kernel_profile(with(R"({"schema": "other"})")), Contains("/schema"));
  KernelProfile p = known_profile();
  nlohmann::json doc = nlohmann::json::parse(kernel_profile_json(p));
  doc["compute"]["gemm_TFLOPS"] = -1;
  CHECK_THROWS_WITH(read_kernel_profile(with(doc.dump())), Contains("/compute/gemm_TFLOPS") && Contains("> 0"));
  doc = nlohmann::json::parse(kernel_profile_json(p));
  doc["compute"].erase("memory_GBps");
  CHECK_THROWS_WITH(read_kernel_profile(with(doc.dump())), Contains("/compute/memory_GBps") && Contains("missing"));
  CHECK_THROWS_WITH(read_kernel_profile("/nonexistent/p.json"), Contains("cannot open"));
}

TEST_CASE("moesim calibrate: usage errors exit 2, unreadable inputs exit 1, a fit writes a profile", "[calibration][cli]") {
  const std::string bin = MOESIM_BINARY;
  CHECK(test::run_command(bin + " calibrate").exit_code == 2);
  CHECK(test::run_command(bin + " calibrate --bench x.json").exit_code == 2);  // no -o
  CHECK(test::run_command(bin + " calibrate --bench x.json -o p.json --hold-out 1").exit_code == 2);
  const auto missing = test::run_command(bin + " calibrate --bench /nonexistent.json -o /tmp/p.json");
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.output, Contains("/nonexistent.json"));

  const std::string bench = "/tmp/moesim_test_synthetic_bench.json", profile = "/tmp/moesim_test_fitted.json";
  std::ofstream(bench) << synthetic_bench_json(known_profile(), "cuda", 0);
  const auto fit = test::run_command(bin + " calibrate --bench " + bench + " --nccl-tests " + FIXTURES +
                                     "alltoall_perf.h100x8.log --hold-out 3 -o " + profile);
  INFO(fit.output);
  REQUIRE(fit.exit_code == 0);
  CHECK_THAT(fit.output, Contains("expert_gemms") && Contains("nccl_alltoall") && Contains("wrote " + profile));
  CHECK(read_kernel_profile(profile).gemm_tile_rows == 64);
}

TEST_CASE("a scenario's profile key applies the profile, relative to the scenario file", "[calibration][scenario]") {
  const std::string dir = "/tmp/moesim_test_profile_dir";
  std::filesystem::create_directories(dir + "/profiles");
  KernelProfile p = known_profile();
  p.gpu_preset = "h100-sxm";
  std::ofstream(dir + "/profiles/h100.json") << kernel_profile_json(p);
  const std::string scenario = test::scenario_json();
  std::ofstream(dir + "/s.json") << R"({"profile": "profiles/h100.json", )" + scenario.substr(1);
  const Scenario s = load_scenario_file(dir + "/s.json");
  CHECK(s.profile == dir + "/profiles/h100.json");
  CHECK(s.cluster.gemm_efficiency == Approx(512e12 / s.cluster.gpu.peak_bf16_flops));
  CHECK(s.cluster.gemm_tile_rows == 64);
  // and changes the estimate: a slower GEMM rate than the preset's 0.75 of peak
  const Scenario plain = test::scenario(scenario);
  CHECK(s.cluster.gemm_efficiency < plain.cluster.gemm_efficiency);

  std::ofstream(dir + "/bad.json") << R"({"profile": 7, )" + scenario.substr(1);
  CHECK_THROWS_WITH(load_scenario_file(dir + "/bad.json"), Contains("/profile"));
  std::ofstream(dir + "/missing.json") << R"({"profile": "nope.json", )" + scenario.substr(1);
  CHECK_THROWS_WITH(load_scenario_file(dir + "/missing.json"), Contains(dir + "/nope.json") && Contains("cannot open"));
}

// Hidden from the default run: CMakeLists.txt registers it on its own, RUN_SERIAL, so that no
// other test shares the cores while it times kernels.
TEST_CASE("bench round trip: quick CPU set, calibrate on half, predict the other half", "[.bench]") {
  const std::string bench = "/tmp/moesim_roundtrip_bench.json", checks = "/tmp/moesim_roundtrip_checks.csv";
  const auto run = test::run_command(std::string(MOESIM_BENCH_BINARY) + " --quick --backend cpu --benchmark_out=" + bench +
                                     " --benchmark_out_format=json");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  const auto fit = test::run_command(std::string(MOESIM_BINARY) + " calibrate --bench " + bench +
                                     " --hold-out 2 -o /tmp/moesim_roundtrip_profile.json --checks " + checks);
  INFO(fit.output);
  REQUIRE(fit.exit_code == 0);
  const KernelProfile p = read_kernel_profile("/tmp/moesim_roundtrip_profile.json");
  CHECK(p.dtype == "fp32");
  CHECK(p.gemm_flops_per_s > 1e9);  // any CPU core does a GFLOP/s in fp32
  CHECK(p.memory_Bps > 1e9);

  // Held-out GEMMs: a noisy shared machine, so a loose bound; the figures of a quiet run are
  // in BENCHMARKS.md.
  std::istringstream csv(test::read_file(checks));
  std::string line;
  double abs_error = 0;
  int held_out = 0, kinds_seen = 0;
  std::set<std::string> kinds;
  while (std::getline(csv, line)) {
    std::vector<std::string> f;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) f.push_back(cell);
    if (f.size() != 6 || f[0] == "name") continue;
    kinds.insert(f[1]);
    if (f[1] == "gemm" && f[2] == "held_out") abs_error += std::fabs(std::stod(f[5])), ++held_out;
  }
  kinds_seen = int(kinds.size());
  CHECK(kinds_seen == 5);  // gemm, copy, permute, gate, expert_layer
  REQUIRE(held_out >= 8);
  CHECK(abs_error / held_out < 40);
}

TEST_CASE("MPI layer plan: copies are kept or dropped, rows sent are rows computed, capacity holds", "[calibration][mpi]") {
  MpiLayerCase c;
  c.load = {8, 2, 1024, 64, 128, 3, 0.3, 7};
  c.ranks = 4;
  c.capacity_factor = 1.0;
  const MpiLayerPlan p = plan_mpi_layer(c);
  CHECK(p.routed == 4 * 1024 * 2);
  double kept = 0, sent = 0, computed = 0;
  for (const auto& copies : p.kept)
    for (int32_t e : copies) kept += e >= 0;
  for (const auto& row : p.rows_to)
    for (double v : row) sent += v;
  for (const auto& rows : p.expert_rows)
    for (int v : rows) computed += v;
  CHECK(kept + p.dropped == p.routed);
  CHECK(sent == kept);
  CHECK(computed == kept);
  CHECK(p.dropped > 0);  // alpha 0.3 at capacity 1.0 overflows the popular experts
  // local capacity: no source rank sends more than ceil(1.0 x 1024 x 2 / 8) = 256 rows to an expert
  for (const auto& copies : p.kept) {
    std::vector<int> per_expert(8, 0);
    for (int32_t e : copies)
      if (e >= 0) ++per_expert[e];
    for (int n : per_expert) CHECK(n <= 256);
  }
  c.capacity_factor.reset();
  CHECK(plan_mpi_layer(c).dropped == 0);
}

// Hidden from the default run; registered on its own, RUN_SERIAL (CMakeLists.txt).
TEST_CASE("MPI round trip: all-to-all sweep, calibrate, a 2-rank layer beside its prediction", "[.mpi]") {
  const std::string dir = std::string(MOESIM_BENCH_BINARY).substr(0, std::string(MOESIM_BENCH_BINARY).rfind('/'));
  const std::string env = "OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ";
  const std::string mpirun = env + "mpirun -np 2 --oversubscribe --bind-to none " + dir + "/moesim-mpi-bench ";
  const auto a2a = test::run_command(mpirun + "alltoall --max-bytes 4194304 > /tmp/moesim_mpi_a2a.log");
  REQUIRE(a2a.exit_code == 0);
  const NcclTestsLog log = read_nccl_tests("alltoall=/tmp/moesim_mpi_a2a.log");
  CHECK(log.ranks == 2);
  CHECK(log.rows.size() == 7);  // 1 KiB .. 4 MiB by 4
  const auto bench = test::run_command(env + MOESIM_BENCH_BINARY +
                                       " --quick --backend cpu --benchmark_out=/tmp/moesim_mpi_bench.json --benchmark_out_format=json");
  REQUIRE(bench.exit_code == 0);
  const auto fit = test::run_command(std::string(MOESIM_BINARY) + " calibrate --bench /tmp/moesim_mpi_bench.json" +
                                     " --nccl-tests alltoall=/tmp/moesim_mpi_a2a.log -o /tmp/moesim_mpi_profile.json");
  INFO(fit.output);
  REQUIRE(fit.exit_code == 0);
  CHECK(read_kernel_profile("/tmp/moesim_mpi_profile.json").intra_node.has_value());
  std::filesystem::remove("/tmp/moesim_mpi_layers.jsonl");
  const auto layer = test::run_command(mpirun +
                                       "layer --experts 8 --top-k 2 --tokens 256 --d-model 256 --d-ffn 512 --alpha 0.3 "
                                       "--capacity-factor 1.0 --iterations 3 --profile /tmp/moesim_mpi_profile.json "
                                       "--json /tmp/moesim_mpi_layers.jsonl");
  INFO(layer.output);
  REQUIRE(layer.exit_code == 0);
  const auto row = nlohmann::json::parse(test::read_file("/tmp/moesim_mpi_layers.jsonl"));
  MpiLayerCase c;
  c.load = {8, 2, 256, 256, 512, 3, 0.3, 0};
  c.capacity_factor = 1.0;
  const MpiLayerPlan plan = plan_mpi_layer(c);
  CHECK(row["drop_rate"].get<double>() == Approx(plan.dropped / plan.routed));
  CHECK(row["measured_s"]["total"].get<double>() > 0);
  CHECK(row["predicted_s"]["total"].get<double>() > 0);
  CHECK(std::isfinite(row["error_pct"].get<double>()));
}

TEST_CASE("input files above the size limit are refused, not loaded", "[calibration]") {
  const std::string path = "/tmp/moesim_test_big_input.json";
  std::ofstream(path) << std::string(4096, ' ') << "{}";
  CHECK_THROWS_WITH(read_input_file(path, "benchmark output", 1024), Contains(path) && Contains("refused"));
  CHECK(read_input_file(path, "benchmark output").size() == 4098);
}

TEST_CASE("moesim import nccl-tests: the table as read, the fitted links, errors per row", "[calibration][cli]") {
  const std::string bin = MOESIM_BINARY;
  const auto r = test::run_command(bin + " import nccl-tests " + FIXTURES + "alltoall_perf.h100x8.log " + FIXTURES +
                                   "all_reduce_perf.h100x16.log");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Contains("alltoall, 8 ranks on 1 node, NVIDIA H100 80GB HBM3") &&
                           Contains("all_reduce, 16 ranks on 2 nodes") && Contains("intra-node link: 360.0 GB/s") &&
                           Contains("inter-node link: 45.0 GB/s"));
  CHECK(test::run_command(bin + " import").exit_code == 2);
  CHECK(test::run_command(bin + " import nccl-tests").exit_code == 2);
  const auto bad = test::run_command(bin + " import nccl-tests alltoall=/nonexistent.log");
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.output, Contains("/nonexistent.log"));
}

TEST_CASE("a Kineto trace fixture yields the kernel durations it contains", "[calibration][kineto]") {
  using namespace moesim::calibration;
  const KinetoTrace trace = read_kineto_trace(std::string(MOESIM_SOURCE_DIR) + "/tests/fixtures/kineto/moe_layer.json");
  // Seven complete kernel events; the CPU ops, runtime calls, the marker and the memcpy are not kernels.
  REQUIRE(trace.kernels.size() == 7);
  std::vector<double> a2a, grouped;
  for (const auto& k : trace.kernels) {
    if (k.kind == KernelClass::ALL_TO_ALL) a2a.push_back(k.duration_s * 1e6);
    if (k.kind == KernelClass::GROUPED_GEMM) grouped.push_back(k.duration_s * 1e6);
  }
  REQUIRE(a2a.size() == 2);
  REQUIRE(grouped.size() == 2);
  CHECK(a2a[0] == Approx(187.0));
  CHECK(a2a[1] == Approx(192.5));
  CHECK(grouped[0] == Approx(305.75));
  CHECK(grouped[1] == Approx(151.0));
  CHECK(trace.kernels[0].duration_s == Approx(21.5e-6));
  CHECK(trace.kernels[0].kind == KernelClass::OTHER);
  CHECK(classify_kernel("deep_ep::intranode::dispatch<8, 768>") == KernelClass::ALL_TO_ALL);
  CHECK(classify_kernel("deep_gemm::fp8_gemm_kernel m_grouped") == KernelClass::GROUPED_GEMM);
  const auto r = test::run_command(std::string(MOESIM_BINARY) + " import kineto " + MOESIM_SOURCE_DIR +
                                   "/tests/fixtures/kineto/moe_layer.json");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("all_to_all") && Catch::Contains("189.75") && Catch::Contains("grouped_gemm"));
  CHECK_THROWS_WITH(parse_kineto_trace(R"({"traceEvents": [{"ph": "X", "cat": "kernel", "name": "k", "ts": 1}]})", "t.json"),
                    Catch::Contains("t.json: /traceEvents/0/dur: expected a number of microseconds"));
  CHECK_THROWS_WITH(parse_kineto_trace(R"({"events": []})", "t.json"), Catch::Contains("/traceEvents"));
}
