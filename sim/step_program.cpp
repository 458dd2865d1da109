#include "sim/step_program.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "models/cost_model.hpp"
#include "models/memory_model.hpp"

namespace moesim {

const char* part_name(Part part) {
  static constexpr const char* NAMES[PART_COUNT] = {
      "attention", "dense_ffn", "expert_compute", "straggler_wait", "dispatch",
      "combine",   "tp_comm",   "cp_comm",         "pipeline_bubble", "grad_sync", "optimizer", "host_wait"};
  return NAMES[size_t(part)];
}

namespace {

// Backward passes move gradients in BF16 and cost twice the forward FLOPs.
constexpr double GRADIENT_WIRE_BYTES = 2;
constexpr double BACKWARD_FLOP_FACTOR = 2;
constexpr double WEIGHT_GATHER_BYTES = 2;  // BF16 weights all-gathered after a sharded update
// A ring all-gather or reduce-scatter of b bytes per member moves b (n-1)/n of them, what a ring
// all-reduce of b / 2 moves: such collectives are priced as that all-reduce.
constexpr double GATHER_AS_ALL_REDUCE = 0.5;
// Adam step per parameter: reads FP32 weight, gradient, two moments (16 B); writes FP32
// weight, two moments and the BF16 copy (14 B).
constexpr double OPTIMIZER_HBM_BYTES_PER_PARAM = 30;
// Activations and their gradients travel in BF16 even when GEMMs run in FP8.
constexpr double ACTIVATION_WIRE_BYTES = 2;
constexpr double BF16_BYTES = 2;
// Casting one value to FP8 reads it in BF16 and writes one byte.
constexpr double FP8_CAST_BYTES = 3;
// The router's softmax (or sigmoid) and top-k selection after its gate GEMM.
constexpr int ROUTER_KERNELS = 2;
// What the host launches for a part captured in a CUDA graph, per pass: one replay.
constexpr double GRAPH_REPLAYS = 1;
// The loss over this GPU's logits, as Megatron-Core's fused vocab-parallel cross entropy runs it
// (megatron/core/fusions/fused_cross_entropy.py, three compiled functions forward, one backward):
// forward, the BF16 logits read and written back as FP32 (2 + 4), shifted by their maximum and
// exponentiated (4 + 4), normalised in place into the softmax it keeps (4 + 4): 22 bytes per
// logit in 3 kernels; backward, the softmax scaled by the incoming gradient and cast to BF16
// (4 + 2) in 1. (The all-reduces of each token's maximum and sum over TP are a few bytes per
// token: left out.)
constexpr double LOSS_FORWARD_BYTES_PER_LOGIT = 22, LOSS_BACKWARD_BYTES_PER_LOGIT = 6;
constexpr int LOSS_FORWARD_KERNELS = 3, LOSS_BACKWARD_KERNELS = 1;
// Megatron-Core's per-expert output bias (ModelSpec::expert_bias "per_expert"), bytes per value
// of an expert's output rows. Forward: bias x probability written in FP32 (4), added to the
// BF16 output (read 2 + 4, write 4), concatenated (read and write 4 each), cast back (read 4,
// write 2): 28. Backward: the gradient cast to FP32 (2 + 4), each expert's slice cast to BF16
// (4 + 2) and the slices concatenated (2 + 2), the bias's and the probability's gradients, each
// a product written and read back for a reduction (4 + 4 + 4, twice): 40.
constexpr double EXPERT_BIAS_FORWARD_BYTES = 28, EXPERT_BIAS_BACKWARD_BYTES = 40;
// Eager launches: forward, a multiply and an add per local expert, then the concatenation and the
// cast; backward, per expert the slice's cast, two products, two reductions and the bias
// gradient's cast, then the gradient's cast and two concatenations (output rows, probabilities).
constexpr double EXPERT_BIAS_FORWARD_LAUNCHES_PER_EXPERT = 2, EXPERT_BIAS_BACKWARD_LAUNCHES_PER_EXPERT = 6;
constexpr double EXPERT_BIAS_FORWARD_LAUNCHES = 2, EXPERT_BIAS_BACKWARD_LAUNCHES = 3;
// Megatron-Core's eager clamp of a gated activation's input (ModelSpec::glu_clamp "eager"),
// bytes per hidden value w of an expert row (its input projection's output holds 2 w BF16
// values). Forward: each half clamped (read and write 2 + 2 bytes per value) and the halves
// concatenated (read and write 2 w values): 16 bytes in 3 kernels. Backward (PyTorch's
// clamp_backward: a zero scalar, the comparisons, a where): the gate's half compared once (read
// 2, write a 1-byte mask) and selected (read 1 + 2, write 2), 8 bytes in 3 kernels; the linear
// half compared twice and the masks and-ed (read 2, write 1 each; read 1 + 1, write 1) before
// the where, 14 bytes in 5; the halves' gradients concatenated for the chunk (read and write
// 2 w values), 8 bytes in 1: 30 bytes in 9 kernels. The concatenation's own backward hands out
// views.
constexpr double GLU_CLAMP_FORWARD_BYTES = 16, GLU_CLAMP_BACKWARD_BYTES = 30;
constexpr double GLU_CLAMP_FORWARD_LAUNCHES = 3, GLU_CLAMP_BACKWARD_LAUNCHES = 9;
// ClusterSpec::host_s_per_kernel is per kernel of moesim's fused count; the eager layer it was
// measured on launched 354 kernels where moesim counts 182 (validation/RESULTS.md, "Host time
// per kernel"). Launches of plain eager ops are converted at that ratio.
constexpr double EAGER_LAUNCHES_PER_COUNTED_KERNEL = 354.0 / 182.0;

// Duration and FLOPs of some kernels, and how many kernels the host launches for them.
struct Work {
  double seconds = 0, flops = 0, kernels = 0;
  Work operator*(double f) const { return {seconds * f, flops * f, kernels * f}; }
  Work operator+(const Work& o) const { return {seconds + o.seconds, flops + o.flops, kernels + o.kernels}; }
  Work operator-(const Work& o) const { return {seconds - o.seconds, flops - o.flops, kernels - o.kernels}; }
};

// Kernels of a token-mixing block's forward: its input and output projections and its core
// (softmax(QK^T)V); the backward runs both projections' data and weight gradients and the
// core's backward kernel.
constexpr double MIXING_FORWARD_KERNELS = 3;
constexpr double MIXING_BACKWARD_KERNELS = 5;

// Which group of a stage a collective runs in; the member lists follow the rank order of
// ParallelPlan (attention: tp innermost, then cp, then dp; experts: etp, ep, then edp). DP is
// the group that reduces a dense layer's gradients: dp x cp ranks (Megatron's data-parallel
// group with context parallelism); CP passes attention's keys and values round its ring.
enum class GroupKind { TP, CP, EP, DP, EDP };
constexpr GroupKind GROUP_KINDS[] = {GroupKind::TP, GroupKind::CP, GroupKind::EP, GroupKind::DP, GroupKind::EDP};

class ProgramBuilder {
 public:
  ProgramBuilder(const Scenario& s, const RoutedStep& routed, ProgramScope scope, const std::vector<char>* known_pieces)
      : s_(s), m_(s.model), p_(s.plan), routed_(routed), cost_(CostModel::in_training(s.cluster, s.model.compute_dtype)),
        bf16_cost_(CostModel::in_training(s.cluster, Dtype::BF16)), known_pieces_(known_pieces) {
    tokens_full_ = p_.tokens_per_cp_rank();
    gps_ = p_.gpus_per_stage();
    columns_ = scope == ProgramScope::ALL_GPUS ? gps_ : 1;
    folds_units_ = scope == ProgramScope::STAGE_UNITS;
    order_ = PipelineOrder{p_.pp, p_.vp, p_.micro_batches, p_.overlap_ep_comm};
    if (folds_units_) {
      StepProgram::UnitSchedule& sched = out_.schedule;
      sched.order = order_;
      sched.samples = routed_sample_period();
      sched.unit.assign(size_t(p_.virtual_stages()) * 2 * sched.samples, -1);
      sched.last_backward.assign(size_t(p_.virtual_stages()), -1);
      sched.first_forward.assign(size_t(p_.virtual_stages()), -1);
      // Each layer's units: at most two TP all-reduces, a dispatch and a combine per
      // direction and sample, and the gradient syncs of a layer and of the step.
      if (!known_pieces_ || known_pieces_->empty())
        out_.collectives.reserve(size_t(m_.layers) * (8 * std::min(sched.samples, p_.micro_batches) + 2) + 4 * size_t(p_.pp));
      out_.units.reserve(sched.unit.size() + sched.last_backward.size() + sched.first_forward.size());
      out_.pieces.reserve(size_t(m_.layers + 1) * 2 * std::min(sched.samples, p_.micro_batches));
    }
    out_.ops.resize(p_.world());
    out_.stages = p_.pp;
    out_.gpus_per_stage = gps_;
    for (int stage = 0; stage < p_.pp; ++stage)
      for (int q = 0; q < columns_; ++q) out_.gpus.push_back(stage * gps_ + q);
    for (int layer = 0, moe = 0; layer < m_.layers; ++layer) moe_index_.push_back(moe += m_.is_moe_layer(layer) ? 1 : 0);
    for (size_t& index : moe_index_) --index;  // index among MoE layers (valid for MoE layers)
    for (bool windowed : {false, true}) {
      attention_[windowed] = attention(false, windowed) + block_elementwise(true);
      attention_backward_[windowed] = attention(true, windowed) + block_elementwise(true) * BACKWARD_FLOP_FACTOR;
      attention_core_[windowed] = attention_core(false, windowed);
      attention_core_backward_[windowed] = attention_core(true, windowed);
    }
    dense_ffn_ = ffn(tokens_full_, double(m_.d_ffn_dense) / p_.tp) + block_elementwise(false);
    for (bool token_moe : {false, true}) {
      const Work router = gate(token_moe);
      gate_and_shared_[token_moe] = router + block_elementwise(false) + (overlaps_shared_experts() ? Work{} : shared_experts());
      gate_kernels_[token_moe] = router.kernels;
    }
    // Selective recomputation: the modules' forward run again in each backward. Its and the CUDA
    // graphs' choices are looked up here once, not for every piece.
    recomputes_core_attn_ = p_.recomputes_module("core_attn");
    recomputes_moe_act_ = p_.recomputes_module("moe_act");
    graphs_attn_ = p_.graphs("attn"), graphs_mlp_ = p_.graphs("mlp"), graphs_router_ = p_.graphs("moe_router");
    graphs_layer_ = p_.graphs("layer");
    if (graphs_layer_) require_static_moe_shapes();
    if (p_.recompute == "selective") {
      const auto when = [&](const char* module, auto work) { return p_.recomputes_module(module) ? work() : Work{}; };
      const Work norm = when("layernorm", [&] { return layer_norm(); });
      recomputed_attention_ = norm + when("mla_up_proj", [&] { return mla_up_projections(); });
      recomputed_dense_ffn_ = norm + when("mlp", [&] { return ffn(tokens_full_, double(m_.d_ffn_dense) / p_.tp); });
      recomputed_moe_block_ = norm + when("shared_experts", [&] { return shared_experts(); });
    }
    build_groups();
    build_messages();
  }

  StepProgram run() {
    for (int stage = 0; stage < p_.pp; ++stage) build_stage(stage);
    return std::move(out_);
  }

 private:
  // ---- groups and messages ------------------------------------------------------------
  int group_size(GroupKind kind) const {
    switch (kind) {
      case GroupKind::TP: return p_.tp;
      case GroupKind::CP: return p_.cp;
      case GroupKind::EP: return p_.ep_group_gpus();
      case GroupKind::DP: return p_.dense_replicas();
      case GroupKind::EDP: return p_.edp();
    }
    return 1;
  }
  // Stage-local index of member `i` of group `g` of the given kind.
  int member_local(GroupKind kind, int g, int i) const {
    const int ep_gpus = p_.ep_group_gpus();
    switch (kind) {
      case GroupKind::TP: return g * p_.tp + i;
      case GroupKind::CP: return g % p_.tp + p_.tp * (i + p_.cp * (g / p_.tp));
      case GroupKind::EP: return g * ep_gpus + i;
      case GroupKind::DP: return g + p_.tp * i;
      case GroupKind::EDP: return g + ep_gpus * i;
    }
    return 0;
  }
  // Which group of that kind holds stage-local index q.
  int group_of_local(GroupKind kind, int q) const {
    switch (kind) {
      case GroupKind::TP: return q / p_.tp;
      case GroupKind::CP: return q % p_.tp + p_.tp * (q / (p_.tp * p_.cp));
      case GroupKind::EP: return q / p_.ep_group_gpus();
      case GroupKind::DP: return q % p_.tp;
      case GroupKind::EDP: return q % p_.ep_group_gpus();
    }
    return 0;
  }

  void build_groups() {
    for (GroupKind kind : GROUP_KINDS) {
      if (kind == GroupKind::CP && p_.cp == 1) continue;  // no ring without context parallelism
      // Outside ALL_GPUS a stage's collectives all run in its first group of each kind.
      const int n = group_size(kind), count = columns_ == gps_ ? gps_ / n : 1;
      for (int stage = 0; stage < p_.pp; ++stage) {
        first_group_[size_t(kind)].push_back(int(out_.groups.size()));
        for (int g = 0; g < count; ++g) {
          // Members are evenly spaced in every kind of group.
          const int first = stage * gps_ + member_local(kind, g, 0), stride = member_local(kind, g, 1) - member_local(kind, g, 0);
          std::vector<int> members(static_cast<size_t>(n));
          for (int i = 0; i < n; ++i) members[size_t(i)] = first + stride * i;
          out_.groups.push_back(std::move(members));
        }
      }
    }
  }

  // Message (direction, virtual-stage boundary, micro-batch, stage-local index q < columns_):
  // activations go forward from virtual stage j to j+1, gradients backward from j+1 to j.
  // Virtual stage j runs on pipeline stage j % pp, so with interleaving the last stage
  // sends to the first. STAGE_UNITS keeps one message per direction and boundary, the same
  // for every micro-batch.
  int message_micro_batches() const { return folds_units_ ? 1 : p_.micro_batches; }
  int message_index(bool backward, int boundary, int micro_batch, int q) const {
    const int boundaries = std::max(p_.virtual_stages() - 1, 1);
    return ((int(backward) * boundaries + boundary) * message_micro_batches() + micro_batch) * columns_ + q;
  }

  void build_messages() {
    if (p_.pp == 1) return;
    // Each TP rank sends its 1/tp share of the activations (Megatron's scatter-gather).
    const double bytes = tokens_full_ * m_.d_model * ACTIVATION_WIRE_BYTES / p_.tp;
    out_.messages.resize(size_t(2) * (p_.virtual_stages() - 1) * message_micro_batches() * columns_);
    for (int backward = 0; backward < 2; ++backward)
      for (int boundary = 0; boundary + 1 < p_.virtual_stages(); ++boundary)
        for (int mb = 0; mb < message_micro_batches(); ++mb)
          for (int q = 0; q < columns_; ++q) {
            const int low = (boundary % p_.pp) * gps_ + q, high = ((boundary + 1) % p_.pp) * gps_ + q;
            out_.messages[message_index(backward, boundary, mb, q)] =
                backward ? Message{high, low, bytes} : Message{low, high, bytes};
          }
    if (folds_units_)
      for (int boundary = 0; boundary + 1 < p_.virtual_stages(); ++boundary) {
        out_.schedule.forward_message.push_back(message_index(false, boundary, 0, 0));
        out_.schedule.backward_message.push_back(message_index(true, boundary, 0, 0));
      }
    // q is innermost, so the messages of one EP group of a stage are consecutive; every
    // message built has its sender in the program.
    const int batch_size = std::min(p_.ep_group_gpus(), columns_);
    out_.batch_of_message.resize(out_.messages.size());
    for (int first = 0; first < int(out_.messages.size()); first += batch_size) {
      for (int i = first; i < first + batch_size; ++i) out_.batch_of_message[i] = int(out_.batches.size());
      out_.batches.push_back(MessageBatch{first, batch_size, batch_size});
    }
  }

  // ---- per-stage op sequences ---------------------------------------------------------
  void build_stage(int stage) {
    start_param_gathers(stage);
    if (folds_units_) {
      build_stage_units(stage);
    } else {
      for (int i = 0; i < order_.units_per_stage(); ++i) {
        const PipelineOrder::Unit u = order_.at(stage, i);
        if (order_.starts_pair(stage, i)) {
          combined(stage, u, order_.at(stage, ++i));
        } else {
          u.backward ? backward(stage, u) : forward(stage, u);
        }
      }
    }
    step_end(stage);
  }

  void forward(int stage, const PipelineOrder::Unit& u) {
    const int j = u.virtual_stage;
    if (j > 0) message_op(OpKind::RECV, stage, u.micro_batch, false, j - 1);
    forward_body(stage, j, u.micro_batch);
    if (j < p_.virtual_stages() - 1) message_op(OpKind::SEND, stage, u.micro_batch, false, j);
  }

  void backward(int stage, const PipelineOrder::Unit& u) {
    const int j = u.virtual_stage;
    if (j < p_.virtual_stages() - 1) message_op(OpKind::RECV, stage, u.micro_batch, true, j);
    backward_body(stage, j, u.micro_batch, u.micro_batch == p_.micro_batches - 1);
    if (j > 0) message_op(OpKind::SEND, stage, u.micro_batch, true, j - 1);
  }

  // A forward and a backward run as one unit (combined order): both inputs first, the two
  // bodies merged, both outputs last.
  void combined(int stage, const PipelineOrder::Unit& a, const PipelineOrder::Unit& b) {
    const auto [f, bk] = forward_and_backward(a, b);
    const int last = p_.virtual_stages() - 1;
    if (bk.virtual_stage < last) message_op(OpKind::RECV, stage, bk.micro_batch, true, bk.virtual_stage);
    if (f.virtual_stage > 0) message_op(OpKind::RECV, stage, f.micro_batch, false, f.virtual_stage - 1);
    combined_body(stage, f, bk);
    if (f.virtual_stage < last) message_op(OpKind::SEND, stage, f.micro_batch, false, f.virtual_stage);
    if (bk.virtual_stage > 0) message_op(OpKind::SEND, stage, bk.micro_batch, true, bk.virtual_stage - 1);
  }

  static std::pair<PipelineOrder::Unit, PipelineOrder::Unit> forward_and_backward(const PipelineOrder::Unit& a,
                                                                                  const PipelineOrder::Unit& b) {
    return a.backward ? std::pair{b, a} : std::pair{a, b};
  }

  void combined_body(int stage, const PipelineOrder::Unit& f, const PipelineOrder::Unit& bk) {
    std::vector<std::vector<Op>> fwd = ops_of_columns(stage, [&] { forward_body(stage, f.virtual_stage, f.micro_batch); });
    std::vector<std::vector<Op>> bwd = ops_of_columns(stage, [&] {
      backward_body(stage, bk.virtual_stage, bk.micro_batch, bk.micro_batch == p_.micro_batches - 1);
    });
    for_each_gpu(stage, [&](int gpu, int q) { merge_overlapped(fwd[size_t(q)], bwd[size_t(q)], out_.ops[gpu]); });
  }

  // Two units' ops on one GPU, each all-to-all of one started on the communication stream
  // while the other's computation up to its next all-to-all runs, then waited for: per layer,
  // the backward's combine beside the forward's attention, the forward's dispatch beside the
  // backward's experts, the backward's dispatch beside the forward's experts, the forward's
  // combine beside the backward's attention. Compute beside an all-to-all runs on the SMs it
  // leaves while it runs (slowed_beside). The slowest expert's lag (members outside the
  // program) is not hidden: that GPU runs the other unit's computation as late, so the
  // program's GPU takes it on its own clock before the start.
  void merge_overlapped(const std::vector<Op>& fwd, const std::vector<Op>& bwd, std::vector<Op>& out) {
    struct Thread {
      const std::vector<Op>& ops;
      size_t next = 0;
      bool done() const { return next == ops.size(); }
    };
    Thread f{fwd}, b{bwd};
    const auto next_is_all_to_all = [&](const Thread& t) {
      if (t.done() || t.ops[t.next].kind != OpKind::COLLECTIVE) return false;
      return out_.collectives[size_t(t.ops[t.next].ref)].kind == CollectiveKind::ALL_TO_ALL;
    };
    // held_s: how long the all-to-all started beside still holds its SMs (0: none runs).
    const auto compute_until_all_to_all = [&](Thread& t, double held_s) {
      for (; !t.done() && !next_is_all_to_all(t); ++t.next) {
        Op op = t.ops[t.next];
        if (op.kind == OpKind::COMPUTE) op.seconds = slowed_beside(op.seconds, held_s);
        out.push_back(op);
      }
    };
    while (!f.done() || !b.done()) {
      Thread* comm = next_is_all_to_all(b) ? &b : next_is_all_to_all(f) ? &f : nullptr;
      if (!comm) {
        compute_until_all_to_all(f.done() ? b : f, 0.0);
        continue;
      }
      Op start = comm->ops[comm->next++];
      start.kind = OpKind::COLLECTIVE_START;
      Collective& c = out_.collectives[size_t(start.ref)];
      if (c.absent_lag_s > 0) {
        out.push_back(Op{OpKind::COMPUTE, Part::STRAGGLER_WAIT, start.backward, start.layer, start.micro_batch, -1, c.absent_lag_s, 0});
        c.absent_lag_s = 0;
      }
      out.push_back(start);
      compute_until_all_to_all(comm == &b ? f : b, all_to_all_closed_form_s(c));
      out.push_back(Op{OpKind::COLLECTIVE_WAIT, start.part, start.backward, start.layer, -1, start.ref, 0, 0});
    }
  }

  // A unit's pieces in the order it runs them: its layers, then the output layer after the
  // last virtual stage's forward (layer -1); backward in reverse.
  template <class F>
  void for_each_piece(int j, bool bwd, F f) const {
    const bool output = j == p_.virtual_stages() - 1;
    if (bwd) {
      if (output) f(-1);
      for (int layer = first_layer(j + 1) - 1; layer >= first_layer(j); --layer) f(layer);
    } else {
      for (int layer = first_layer(j); layer < first_layer(j + 1); ++layer) f(layer);
      if (output) f(-1);
    }
  }

  void piece_ops(int stage, int layer, int mb, bool bwd) {
    host_.kernels = host_.compute_s = 0;
    host_.column_s.assign(size_t(columns_), 0.0);
    fsdp_around(stage, layer, mb, bwd, [&] {
      if (layer >= 0) {
        layer_ops(stage, layer, mb, bwd);
      } else {
        output_ops(stage, mb, bwd);
      }
    });
    if (graphs_layer_ && layer >= 0) host_.kernels = GRAPH_REPLAYS;  // the whole layer, one replay
    host_wait(stage, layer, mb, bwd);
  }
  // A graph replays the shapes it captured: a MoE layer's expert GEMMs and all-to-alls may
  // only be captured where every expert's rows are padded to its capacity (Megatron-Core's
  // drop-and-pad; its dropless dispatcher copies the token counts to the host instead).
  void require_static_moe_shapes() const {
    for (const LayerLoad& l : routed_.layers)
      for (const MicroBatchLoad& mb : l.micro_batches)
        if (!mb.padded)
          throw InputError(s_.source + ": plan.cuda_graph_scope: \"layer\" captures whole layers, and MoE layer " +
                           std::to_string(l.layer) + "'s shapes change with its routing; set router.pad_to_capacity "
                           "(with router.capacity_factor) or capture parts (attn, moe_router)");
  }

  // The output layer, then each multi-token-prediction module: its projection of the normed
  // hidden states and next-token embeddings (2 d_model -> d_model), a layer like the model's
  // last (routed as that layer is), and the output layer once more. Backward in reverse.
  void output_ops(int stage, int mb, bool bwd) {
    const double f = bwd ? BACKWARD_FLOP_FACTOR : 1;
    const auto head = [&] { compute(stage, Part::DENSE_FFN, -1, mb, bwd, output_layer() * f + loss(bwd)); };
    const auto mtp_module = [&] {
      const Work projection = gemm(tokens_full_, double(m_.d_model) / p_.tp, 2.0 * m_.d_model) + block_elementwise(false);
      if (bwd) {
        head();
        layer_ops(stage, m_.layers - 1, mb, bwd);
        compute(stage, Part::DENSE_FFN, -1, mb, bwd, projection * f);
      } else {
        compute(stage, Part::DENSE_FFN, -1, mb, bwd, projection);
        layer_ops(stage, m_.layers - 1, mb, bwd);
        head();
      }
    };
    if (!bwd) head();
    for (int k = 0; k < m_.mtp_layers; ++k) mtp_module();
    if (bwd) head();
  }

  // ---- fully sharded data parallelism ---------------------------------------------------
  // Around a piece (a layer, or the output layer) under FSDP: the first piece of a unit
  // gathers its own weights before it runs (nothing ran to hide it); every piece starts the
  // gather of the next piece's weights and, in backward, the reduce-scatter of the previous
  // piece's gradients, and waits for them when it is done; the last backward piece of a unit
  // reduce-scatters its own gradients after it. (The prefetch of one piece ahead that
  // Megatron-FSDP runs, each transfer hidden by the piece beside it.)
  template <class Body>
  void fsdp_around(int stage, int layer, int mb, bool bwd, Body body) {
    if (!p_.fsdp) return body();
    const auto [previous, next] = unit_neighbours(layer, bwd);
    if (!previous) fsdp_transfer(stage, layer, mb, bwd, false, OpKind::COLLECTIVE);
    const FsdpTransfer gather = next ? fsdp_transfer(stage, *next, mb, bwd, false, OpKind::COLLECTIVE_START) : FsdpTransfer{};
    const FsdpTransfer scatter =
        bwd && previous ? fsdp_transfer(stage, *previous, mb, bwd, true, OpKind::COLLECTIVE_START) : FsdpTransfer{};
    body();
    for (const FsdpTransfer& t : {gather, scatter}) {
      if (t.dense >= 0) wait_ops(stage, t.dense, GroupKind::DP);
      if (t.expert >= 0) wait_ops(stage, t.expert, GroupKind::EDP);
    }
    if (bwd && !next) fsdp_transfer(stage, layer, mb, bwd, true, OpKind::COLLECTIVE);
  }
  // The first collectives of one transfer over the dense and the expert shards' groups (-1: none).
  struct FsdpTransfer {
    int dense = -1, expert = -1;
  };
  // A piece's weights gathered (BF16) or its gradients reduce-scattered (the gradient dtype)
  // over each shard group that has more than one member.
  FsdpTransfer fsdp_transfer(int stage, int layer, int mb, bool bwd, bool gradients, OpKind kind) {
    const double per_param = (gradients ? bytes_per_element(p_.gradient_dtype) : WEIGHT_GATHER_BYTES) * GATHER_AS_ALL_REDUCE;
    const auto one = [&](GroupKind group, double params) {
      return params <= 0 || group_size(group) == 1 ? -1 : shard_sync(stage, group, layer, mb, bwd, params, per_param, kind);
    };
    const bool output = layer < 0;
    return {one(GroupKind::DP, output ? output_layer_params() : layer_dense_params_per_gpu(m_, p_, layer)),
            one(GroupKind::EDP, output ? 0 : layer_expert_params_per_gpu(m_, p_, layer))};
  }
  // The pieces before and after `layer` (-1: the output layer) in its unit's order.
  std::pair<std::optional<int>, std::optional<int>> unit_neighbours(int layer, bool bwd) const {
    const int j = layer >= 0 ? p_.chunk_of_layer(layer, m_.layers) : p_.virtual_stages() - 1;
    std::vector<int> order;
    for_each_piece(j, bwd, [&](int l) { order.push_back(l); });
    const size_t at = size_t(std::find(order.begin(), order.end(), layer) - order.begin());
    return {at > 0 ? std::optional<int>(order[at - 1]) : std::nullopt,
            at + 1 < order.size() ? std::optional<int>(order[at + 1]) : std::nullopt};
  }
  double output_layer_params() const { return m_.embedding_params() / 2 / p_.tp; }

  // The host launches a piece's kernels one after another while the GPU runs those launched
  // before; a GPU whose kernels take less time than their launches waits for the host at the
  // end of the piece. The host runs ahead across communication, so only the piece's compute
  // counts as hiding it (a piece whose all-to-alls take long is charged a wait it may hide).
  struct HostTally {
    double kernels = 0, compute_s = 0;
    std::vector<double> column_s;  // per GPU in the program: its EP group's slowest expert GEMMs
  };
  void host_wait(int stage, int layer, int mb, bool bwd) {
    const double launch_s = host_.kernels * s_.cluster.host_s_per_kernel;
    for_each_gpu(stage, [&](int gpu, int q) {
      const double wait_s = launch_s - host_.compute_s - host_.column_s[size_t(q)];
      if (wait_s > 0) out_.ops[gpu].push_back(Op{OpKind::COMPUTE, Part::HOST_WAIT, bwd, int16_t(layer), mb, -1, wait_s, 0});
    });
  }

  void forward_body(int stage, int j, int mb) {
    for_each_piece(j, false, [&](int layer) {
      if (mb == 0) wait_param_gather(stage, layer);
      piece_ops(stage, layer, mb, false);
    });
  }

  // With overlap, each layer's gradients leave once the step's last backward through it is done.
  void backward_body(int stage, int j, int mb, bool last_of_step) {
    for_each_piece(j, true, [&](int layer) {
      piece_ops(stage, layer, mb, true);
      if (layer >= 0 && last_of_step && overlaps_grad_reduce()) start_layer_sync(stage, layer);
    });
  }

  // STAGE_UNITS: each distinct unit of the stage's chunks once (per direction and routed
  // sample, and the last backward apart when it starts gradient syncs), then one SCHEDULE op.
  void build_stage_units(int stage) {
    StepProgram::UnitSchedule& sched = out_.schedule;
    std::vector<char> first_forward_paired;
    const std::vector<char> last_backward_paired =
        order_.combined ? build_pair_units(stage, first_forward_paired) : std::vector<char>();
    for (int chunk = 0; chunk < p_.vp; ++chunk) {
      const int j = chunk * p_.pp + stage;
      for (int mb = 0; mb < std::min(sched.samples, p_.micro_batches); ++mb)
        for (bool bwd : {false, true}) {
          StepProgram::Unit unit;
          for_each_piece(j, bwd, [&](int layer) { unit.pieces.push_back(piece(stage, layer, mb, bwd)); });
          sched.unit[size_t((j * 2 + int(bwd)) * sched.samples + mb)] = int(out_.units.size());
          out_.units.push_back(std::move(unit));
        }
      // (unless it runs in a pair: its weights' all-gathers are waited for there)
      if (gathers_params() && (first_forward_paired.empty() || !first_forward_paired[size_t(j)]))
        sched.first_forward[size_t(j)] = first_forward_unit(stage, out_.units[sched.unit[size_t(j * 2 * sched.samples)]].pieces);
      // (unless it runs in a pair: its gradient syncs start there, once)
      if (overlaps_grad_reduce() && (last_backward_paired.empty() || !last_backward_paired[size_t(j)])) {
        sched.last_backward[size_t(j)] = int(out_.units.size());
        out_.units.push_back({{}, ops_of(stage, [&] { backward_body(stage, j, p_.micro_batches - 1, true); })});
      }
    }
    for_each_gpu(stage, [&](int gpu, int) { out_.ops[gpu].push_back(Op{OpKind::SCHEDULE, Part::PIPELINE_BUBBLE, false, -1, -1, stage, 0, 0}); });
  }

  // The step's first forward through a virtual stage: the pieces of its micro-batch 0 (those
  // of routed sample 0's forward unit), each layer's waiting first for its weights'
  // all-gathers (as forward_body emits them).
  int first_forward_unit(int stage, std::vector<int> pieces) {
    StepProgram::Unit unit;
    for (size_t k = 0; k < pieces.size(); ++k)
      for (const Op& wait : ops_of(stage, [&] { wait_param_gather(stage, out_.pieces[size_t(pieces[k])].layer); }))
        unit.waits.emplace_back(int(k), wait);
    unit.pieces = std::move(pieces);
    out_.units.push_back(std::move(unit));
    return int(out_.units.size()) - 1;
  }

  // Combined order: each distinct pair of a forward and a backward the stage runs together,
  // as a unit of merged ops. Returns, per virtual stage, whether the step's last backward
  // through it runs in a pair (its gradient syncs start there); first_forward_paired says the
  // same of the step's first forward (it waits for the weights' all-gathers).
  std::vector<char> build_pair_units(int stage, std::vector<char>& first_forward_paired) {
    StepProgram::UnitSchedule& sched = out_.schedule;
    const int virtual_stages = p_.virtual_stages();
    sched.pair_unit.resize(size_t(virtual_stages) * virtual_stages * sched.samples * sched.samples * 4, -1);
    std::vector<char> last_backward_paired(size_t(virtual_stages), 0);
    first_forward_paired.assign(size_t(virtual_stages), 0);
    for (int i = 0; i + 1 < order_.units_per_stage(); ++i) {
      if (!order_.starts_pair(stage, i)) continue;
      const auto [f, bk] = forward_and_backward(order_.at(stage, i), order_.at(stage, i + 1));
      ++i;
      if (bk.micro_batch == p_.micro_batches - 1) last_backward_paired[size_t(bk.virtual_stage)] = 1;
      if (f.micro_batch == 0) first_forward_paired[size_t(f.virtual_stage)] = 1;
      int& unit = sched.pair_unit[size_t(sched.pair_key(f, bk))];
      if (unit >= 0) continue;
      unit = int(out_.units.size());
      out_.units.push_back({{}, ops_of(stage, [&] { combined_body(stage, f, bk); })});
    }
    return last_backward_paired;
  }

  // A new piece, with its ops unless the caller knows its times; returns its index.
  int piece(int stage, int layer, int mb, bool bwd) {
    StepProgram::Piece p{layer, bwd, mb, false, {}};
    const int key = out_.schedule.piece_key(layer, bwd, mb);
    p.known = known_pieces_ && size_t(key) < known_pieces_->size() && (*known_pieces_)[size_t(key)];
    if (!p.known) p.ops = ops_of(stage, [&] { piece_ops(stage, layer, mb, bwd); });
    out_.pieces.push_back(std::move(p));
    return int(out_.pieces.size()) - 1;
  }

  // The ops `emit` adds to the lists of the stage's GPUs in the program, taken out of them.
  template <class Emit>
  std::vector<std::vector<Op>> ops_of_columns(int stage, Emit emit) {
    std::vector<std::vector<Op>> emitted(static_cast<size_t>(columns_));
    for_each_gpu(stage, [&](int gpu, int q) { std::swap(emitted[size_t(q)], out_.ops[gpu]); });
    emit();
    for_each_gpu(stage, [&](int gpu, int q) { std::swap(emitted[size_t(q)], out_.ops[gpu]); });
    return emitted;
  }
  // STAGE_UNITS (one GPU per stage): the ops `emit` adds to the stage's list.
  template <class Emit>
  std::vector<Op> ops_of(int stage, Emit emit) {
    return std::move(ops_of_columns(stage, emit).front());
  }

  // Units are shared by the micro-batches whose loads are the same routed samples in every
  // MoE layer: mb mod the least common multiple of the layers' sample counts.
  int routed_sample_period() const {
    int period = 1;
    for (const LayerLoad& l : routed_.layers) period = std::lcm(period, std::max(int(l.micro_batches.size()), 1));
    return period;
  }

  // One layer for one micro-batch; backward runs the forward sequence in reverse. With shared
  // experts overlapped, each all-to-all starts on the communication stream, a part of the
  // shared experts runs, then the all-to-all is waited for.
  enum class Step : uint8_t { ATTENTION, TP_ALLREDUCE, DENSE_FFN, GATE_AND_SHARED, DISPATCH, EXPERTS, COMBINE };

  void layer_ops(int stage, int layer, int mb, bool bwd) {
    Step steps[8];
    int n = 0;
    if (m_.has_mixing_block(layer)) {
      steps[n++] = Step::ATTENTION;
      if (p_.tp > 1) steps[n++] = Step::TP_ALLREDUCE;
    }
    if (m_.is_moe_layer(layer)) {
      for (Step step : {Step::GATE_AND_SHARED, Step::DISPATCH, Step::EXPERTS, Step::COMBINE}) steps[n++] = step;
    } else {
      steps[n++] = Step::DENSE_FFN;
    }
    if (p_.tp > 1) steps[n++] = Step::TP_ALLREDUCE;
    if (bwd) std::reverse(steps, steps + n);
    // With TP overlap, an attention or dense FFN block's collective (after it in the forward's
    // order, before it in the backward's) runs beside the block instead; the MoE block's stays
    // in the sequence.
    const int paired = bwd ? -1 : 1;  // where a block's own collective sits
    for (int i = 0; i < n; ++i) {
      if (steps[i] == Step::TP_ALLREDUCE && hides_tp_comm(steps, n, i - paired)) continue;
      if (hides_tp_comm(steps, n, i) && i + paired >= 0 && i + paired < n && steps[i + paired] == Step::TP_ALLREDUCE) {
        const int first = tp_allreduce(stage, layer, mb, bwd, OpKind::COLLECTIVE_START);
        run_step(steps[i], stage, layer, mb, bwd);
        wait_ops(stage, first, GroupKind::TP);
        continue;
      }
      run_step(steps[i], stage, layer, mb, bwd);
    }
  }
  // Whether steps[i] is an attention or dense FFN block that hides its TP collective.
  bool hides_tp_comm(const Step* steps, int n, int i) const {
    if (!p_.tp_comm_overlap || p_.tp == 1 || i < 0 || i >= n) return false;
    return steps[i] == Step::ATTENTION || steps[i] == Step::DENSE_FFN;
  }

  // Backward costs twice the forward FLOPs, once more with full recomputation.
  double backward_factor(int layer) const { return BACKWARD_FLOP_FACTOR + (recomputes(layer) ? 1 : 0); }
  bool recomputes(int layer) const { return p_.recomputes_layer(layer, m_.layers); }
  // Whether the backward runs the attention kernel forward again (full, or selective core_attn).
  bool recomputes_core(int layer) const { return recomputes(layer) || recomputes_core_attn_; }
  Work attention_forward(int layer) const { return attention_[m_.attention.is_windowed(layer)]; }
  Work attention_backward(int layer) const {
    const bool windowed = m_.attention.is_windowed(layer);
    if (recomputes(layer)) return attention_backward_[windowed] + attention_[windowed];
    return attention_backward_[windowed] + recomputed_attention_ +
           (recomputes_core(layer) ? attention_core_[windowed] : Work{});
  }

  void run_step(Step step, int stage, int layer, int mb, bool bwd) {
    const double f = bwd ? backward_factor(layer) : 1;
    switch (step) {
      case Step::ATTENTION: return attention_step(stage, layer, mb, bwd);
      case Step::TP_ALLREDUCE: return (void)tp_allreduce(stage, layer, mb, bwd);
      case Step::DENSE_FFN:
        return compute(stage, Part::DENSE_FFN, layer, mb, bwd,
                       graphed(graphs_mlp_, dense_ffn_ * f + (bwd ? recomputed_dense_ffn_ : Work{})));
      case Step::GATE_AND_SHARED: {
        const bool token_moe = m_.is_token_moe_layer(layer);
        Work block = gate_and_shared_[token_moe] * f + (bwd ? recomputed_moe_block_ : Work{});
        if (graphs_router_) block.kernels += GRAPH_REPLAYS - gate_kernels_[token_moe] * f;
        return compute(stage, Part::DENSE_FFN, layer, mb, bwd, block);
      }
      // Dispatch moves tokens to experts; its backward moves their gradients back. Combine
      // returns expert outputs; its backward sends output gradients to the experts again.
      case Step::DISPATCH:
        return all_to_all_beside(stage, layer, mb, bwd, Part::DISPATCH, bwd, ffn_in(tokens_full_, shared_width()) * f);
      case Step::EXPERTS: return expert_compute(stage, layer, mb, bwd);
      case Step::COMBINE:
        return all_to_all_beside(stage, layer, mb, bwd, Part::COMBINE, !bwd, ffn_out(tokens_full_, shared_width()) * f);
    }
  }

  // Attention; with context parallelism its core runs once per ring step on the keys and
  // values that arrived while the ring passes the next ones on (Megatron-Core's p2p context
  // parallelism): the ring is hidden where the core takes longer. The projections run apart.
  void attention_step(int stage, int layer, int mb, bool bwd) {
    const Work block = graphed(graphs_attn_, bwd ? attention_backward(layer) : attention_forward(layer));
    if (p_.cp == 1) return compute(stage, Part::ATTENTION, layer, mb, bwd, block);
    const bool windowed = m_.attention.is_windowed(layer);
    Work core = bwd ? attention_core_backward_[windowed] + (recomputes_core(layer) ? attention_core_[windowed] : Work{})
                    : attention_core_[windowed];
    if (graphs_attn_) core.kernels = 0;  // in the block's one replay
    compute(stage, Part::ATTENTION, layer, mb, bwd, block - core);
    const int first = collective_op(stage, GroupKind::CP, Part::CP_COMM, layer, mb, bwd, [&](Collective& c, int) {
      c.kind = CollectiveKind::ALL_REDUCE;
      c.bytes = cp_ring_bytes(layer, bwd);
    }, OpKind::COLLECTIVE_START);
    compute(stage, Part::ATTENTION, layer, mb, bwd, core);
    wait_ops(stage, first, GroupKind::CP);
  }
  // The ring passes each rank's keys and values on cp - 1 times: a ring all-gather of the
  // group's chunks. Backward passes the keys and values again and their gradients beside them; a
  // recomputed forward passes them once more. Keys and values travel in BF16, each TP rank
  // its own heads.
  double cp_ring_bytes(int layer, bool bwd) const {
    const double kv_heads_per_rank = std::max(double(m_.attention.kv_heads) / p_.tp, 1.0);
    const double values_per_token = m_.attention.kind == AttentionKind::MLA
                                        ? m_.attention.heads / double(p_.tp) * (m_.attention.qk_head_dim() + m_.attention.value_head_dim())
                                        : kv_heads_per_rank * 2 * m_.attention.head_dim;
    const double chunk_bytes = tokens_full_ * values_per_token * BF16_BYTES;
    const double passes = bwd ? 2 + (recomputes_core(layer) ? 1 : 0) : 1;
    return passes * chunk_bytes * p_.cp * GATHER_AS_ALL_REDUCE;
  }

  // An all-to-all, with `beside` (a part of the shared experts) run during it when they overlap.
  void all_to_all_beside(int stage, int layer, int mb, bool bwd, Part part, bool reverse, Work beside) {
    if (!overlaps_shared_experts()) return (void)all_to_all(stage, layer, mb, bwd, part, reverse, OpKind::COLLECTIVE);
    const int first = all_to_all(stage, layer, mb, bwd, part, reverse, OpKind::COLLECTIVE_START);
    double held_s = all_to_all_closed_form_s(out_.collectives[size_t(first)]);
    compute(stage, Part::DENSE_FFN, layer, mb, bwd, Work{slowed_beside(beside.seconds, held_s), beside.flops, beside.kernels});
    wait_ops(stage, first, GroupKind::EP);
  }

  // Ring traffic per parameter of the gradient sync, as an all-reduce of that many bytes: the
  // plan's gradient bytes g; under a sharded optimizer the reduce-scatter of the gradients and
  // the all-gather of the BF16 weights w, (g + w) / 2; with the gather run apart beside the
  // next forward (start_param_gathers), g / 2.
  double sync_bytes_per_param(bool gather_hidden) const {
    const double gradient_bytes = bytes_per_element(p_.gradient_dtype);
    if (!p_.shards_optimizer()) return gradient_bytes;
    return (gradient_bytes + (gather_hidden ? 0 : WEIGHT_GATHER_BYTES)) * GATHER_AS_ALL_REDUCE;
  }

  // One ring collective of a layer's parameters over the dense (DP) or expert (EDP) group, as an
  // all-reduce of bytes_per_param per parameter: gradient syncs, weight gathers, FSDP transfers.
  int shard_sync(int stage, GroupKind group, int layer, int mb, bool bwd, double params, double bytes_per_param, OpKind kind) {
    return collective_op(stage, group, Part::GRAD_SYNC, layer, mb, bwd, [&](Collective& c, int) {
      c.kind = CollectiveKind::ALL_REDUCE;
      c.bytes = params * bytes_per_param;
    }, kind);
  }

  void grad_sync(int stage, double dense, double expert, OpKind kind, int layer) {
    const bool overlapped = kind == OpKind::COLLECTIVE_START;
    const double per_param = sync_bytes_per_param(overlapped);
    const auto sync = [&](GroupKind group, double params) {
      return shard_sync(stage, group, layer, -1, overlapped, params, per_param, kind);
    };
    // Layers without experts have nothing to reduce over the expert-data-parallel group.
    const int first_dense = sync(GroupKind::DP, dense), first_expert = expert > 0 ? sync(GroupKind::EDP, expert) : -1;
    if (overlapped) started_syncs_[stage].push_back({first_dense, first_expert});
  }

  // The distributed optimizer's all-gather of the updated BF16 weights, overlapped with the
  // next step's forward (Megatron's --overlap-param-gather): each layer's gathers start on the
  // communication stream at the step's beginning, one after another, and the first
  // micro-batch's forward through a layer waits for its own; later micro-batches find the
  // weights there.
  bool gathers_params() const { return p_.distributed_optimizer && overlaps_grad_reduce(); }
  // FSDP reduces every backward's gradients itself (fsdp_around), so the per-layer sync of
  // --overlap-grad-reduce and the step-end weight gathers are not there.
  bool overlaps_grad_reduce() const { return p_.overlap_grad_reduce && !p_.fsdp; }
  void start_param_gathers(int stage) {
    if (!gathers_params()) return;
    p_.for_each_stage_layer(stage, m_.layers, [&](int layer) {
      const auto gather = [&](GroupKind group, double params) {
        return shard_sync(stage, group, layer, -1, false, params, WEIGHT_GATHER_BYTES * GATHER_AS_ALL_REDUCE,
                          OpKind::COLLECTIVE_START);
      };
      const double expert = layer_expert_params_per_gpu(m_, p_, layer);
      const int first_dense = gather(GroupKind::DP, layer_dense_params_per_gpu(m_, p_, layer));
      param_gathers_[stage].emplace(layer, std::pair{first_dense, expert > 0 ? gather(GroupKind::EDP, expert) : -1});
    });
  }
  void wait_param_gather(int stage, int layer) {
    const auto it = param_gathers_[stage].find(layer);
    if (it == param_gathers_[stage].end()) return;
    wait_ops(stage, it->second.first, GroupKind::DP);
    if (it->second.second >= 0) wait_ops(stage, it->second.second, GroupKind::EDP);
  }

  void start_layer_sync(int stage, int layer) {
    grad_sync(stage, layer_dense_params_per_gpu(m_, p_, layer), layer_expert_params_per_gpu(m_, p_, layer),
              OpKind::COLLECTIVE_START, layer);
  }

  // The stage's parameters that no layer's own sync covers, dense and expert: the input
  // embedding on the first stage, the output layer and the MTP modules on the last.
  std::pair<double, double> params_outside_layers(int stage) const {
    const bool last = stage == p_.pp - 1;
    const double dense = (stage == 0 ? output_layer_params() : 0) +
                         (last ? output_layer_params() + mtp_dense_params_per_gpu(m_, p_) : 0);
    return {dense, last ? mtp_expert_params_per_gpu(m_, p_) : 0};
  }

  void step_end(int stage) {
    const double expert = stage_expert_params_per_gpu(m_, p_, stage);
    const double dense = stage_params_per_gpu(m_, p_, stage) - expert;
    const auto [outside_dense, outside_expert] = params_outside_layers(stage);
    if (p_.fsdp) {
      // The layers and the output layer reduced their gradients in each backward; the input
      // embedding's and the MTP modules' are reduce-scattered, and their weights gathered, here.
      const double rest = outside_dense - (stage == p_.pp - 1 ? output_layer_params() : 0);
      if (rest > 0 || outside_expert > 0) grad_sync(stage, rest, outside_expert, OpKind::COLLECTIVE, -1);
    } else if (overlaps_grad_reduce()) {
      // Wait for the layers' syncs; the embedding, output layer and MTP modules follow in one
      // blocking sync.
      for (const auto& [first_dense, first_expert] : started_syncs_[stage]) {
        wait_ops(stage, first_dense, GroupKind::DP);
        if (first_expert >= 0) wait_ops(stage, first_expert, GroupKind::EDP);
      }
      if (outside_dense > 0 || outside_expert > 0) grad_sync(stage, outside_dense, outside_expert, OpKind::COLLECTIVE, -1);
    } else {
      grad_sync(stage, dense, expert, OpKind::COLLECTIVE, -1);
    }
    // The optimizer updates this GPU's shard only under ZeRO-1.
    const double updated = p_.shards_optimizer() ? dense / p_.dense_replicas() + expert / p_.edp() : dense + expert;
    const double hbm_bytes = updated * OPTIMIZER_HBM_BYTES_PER_PARAM;
    for_each_gpu(stage, [&](int gpu, int) {
      Op op{OpKind::COMPUTE, Part::OPTIMIZER, false, -1, -1, -1, cost_.memory_bound_s(hbm_bytes), hbm_bytes};
      out_.ops[gpu].push_back(op);
    });
  }

  // Each GPU of the stage waits for its group's collective among those from `first` on.
  void wait_ops(int stage, int first, GroupKind kind) {
    const bool all = columns_ == gps_;
    for_each_gpu(stage, [&](int gpu, int q) {
      const int index = first + (all ? group_of_local(kind, q) : 0);
      const Collective& c = out_.collectives[index];
      out_.ops[gpu].push_back(Op{OpKind::COLLECTIVE_WAIT, c.part, c.backward, c.layer, -1, index, 0, 0});
    });
  }

  // ---- op emitters --------------------------------------------------------------------
  template <class F>
  void for_each_gpu(int stage, F f) {
    for (int q = 0; q < columns_; ++q) f(stage * gps_ + q, q);
  }

  void compute(int stage, Part part, int layer, int mb, bool bwd, Work work) {
    host_.kernels += work.kernels;
    host_.compute_s += work.seconds;
    for_each_gpu(stage, [&](int gpu, int) {
      out_.ops[gpu].push_back(Op{OpKind::COMPUTE, part, bwd, int16_t(layer), mb, -1, work.seconds, work.flops});
    });
  }

  void message_op(OpKind kind, int stage, int mb, bool bwd, int boundary) {
    for_each_gpu(stage, [&](int gpu, int q) {
      const int index = message_index(bwd, boundary, mb, q);
      out_.ops[gpu].push_back(Op{kind, Part::PIPELINE_BUBBLE, bwd, -1, mb, index, 0, out_.messages[index].bytes});
    });
  }

  // One collective per group of the stage that has GPUs in the program; `fill` sets its
  // kind and sizes. Returns the index of the first; op_kind COLLECTIVE_START puts it on the
  // communication stream.
  template <class Fill>
  int collective_op(int stage, GroupKind kind, Part part, int layer, int mb, bool bwd, Fill fill,
                    OpKind op_kind = OpKind::COLLECTIVE) {
    const bool all = columns_ == gps_;
    const int count = all ? gps_ / group_size(kind) : 1;
    const int first_collective = int(out_.collectives.size());
    for (int i = 0; i < count; ++i) {
      const int g = all ? i : group_of_local(kind, 0);
      Collective c;
      c.part = part, c.backward = bwd, c.layer = int16_t(layer), c.micro_batch = mb;
      c.group = first_group_[size_t(kind)][stage] + g;
      c.participants = all ? group_size(kind) : 1;  // the program holds every GPU or the first of the stage
      fill(c, g);
      if (kind == GroupKind::EP && g == 0) take_pending_lag(stage, c);
      out_.collectives.push_back(c);
    }
    for_each_gpu(stage, [&](int gpu, int q) {
      const int index = first_collective + (all ? group_of_local(kind, q) : 0);
      out_.ops[gpu].push_back(Op{op_kind, part, bwd, int16_t(layer), mb, index, 0, 0});
    });
    return first_collective;
  }

  int tp_allreduce(int stage, int layer, int mb, bool bwd, OpKind kind = OpKind::COLLECTIVE) {
    return collective_op(stage, GroupKind::TP, Part::TP_COMM, layer, mb, bwd, [&](Collective& c, int) {
      c.kind = CollectiveKind::ALL_REDUCE;
      c.bytes = tokens_full_ * m_.d_model * ACTIVATION_WIRE_BYTES;
    }, kind);
  }

  int all_to_all(int stage, int layer, int mb, bool bwd, Part part, bool reverse, OpKind kind) {
    // Per copy of an item of item_width values (a token: d_model).
    const double token_bytes = bwd ? GRADIENT_WIRE_BYTES * m_.d_model
                                   : (part == Part::DISPATCH ? m_.dispatch_bytes_per_token() : m_.combine_bytes_per_token());
    const double bytes = token_bytes * m_.expert_shape(layer).item_width / m_.d_model;
    return collective_op(stage, GroupKind::EP, part, layer, mb, bwd, [&](Collective& c, int replica) {
      c.kind = CollectiveKind::ALL_TO_ALL;
      c.load = &load(layer, mb, replica);
      c.bytes_per_copy = bytes * c.load->row_fraction;
      c.reverse = reverse;
    }, kind);
  }

  void expert_compute(int stage, int layer, int mb, bool bwd) {
    // A GPU's expert GEMMs cost its experts' tile-padded rows times the tensor-core time of
    // one row: the load keeps padded rows per rank, not per expert, so launch overheads and
    // the operand-streaming bound of an expert with few rows are left out here.
    const ModelSpec::ExpertShape e = m_.expert_shape(layer);
    const double width = double(e.hidden) / p_.etp;
    const Work row = Work{cost_.gemm_row_s(width, e.item_width), 2.0 * width * e.item_width} * e.matrices;
    const double local_experts = std::max(1.0, double(m_.experts) / p_.ep);
    // Permute before and unpermute after the expert GEMMs (read and write each row), and the
    // activation and FP8 casts of each row.
    const int passes = permute_passes(local_experts);
    const double permute_row_s = cost_.memory_bound_s(passes * 2 * e.item_width * bytes_per_element(Dtype::BF16)) +
                                 ffn_row_elementwise_s(e.item_width, width, e.matrices);
    // Per layer: one grouped GEMM launch per matrix, the permute and unpermute kernels and the
    // row-wise ones (launch overheads only: their bytes are in the rows).
    const double launches_s = e.matrices * s_.cluster.gemm_overhead_s +
                              (passes + row_kernels()) * s_.cluster.kernel_overhead_s;
    const double f = bwd ? backward_factor(layer) : 1;
    // The host launches each local expert's GEMMs apart (as Transformer Engine's GroupedLinear
    // does), the GPU runs them back to back.
    const RowPass extra = expert_row_extras(local_experts, e, width, bwd);
    host_.kernels += f * (local_experts * e.matrices + passes + row_kernels()) + extra.counted_kernels;
    const auto seconds_of = [&](const MicroBatchLoad& l, int rank) {
      return f * (launches_s + l.rank_rows[rank] * permute_row_s) + expert_gemms_s(l, rank, local_experts, width, e, row.seconds, bwd, f) +
             extra.launches * s_.cluster.kernel_overhead_s + l.rank_rows[rank] * extra.row_s;
    };
    // Without extra passes, and with one grouped kernel (per-expert GEMMs have their own shapes
    // each way), the times scale with f alike in both directions: one spread serves both.
    const bool scales_with_f = extra.launches == 0 && extra.row_s == 0 && p_.expert_gemms != "per_expert";
    const SpreadKey key{nullptr, scales_with_f ? 0 : f};
    if (columns_ < p_.ep_group_gpus()) note_absent_lag(stage, load(layer, mb, 0), f, key, seconds_of);
    const MicroBatchLoad* group_load = nullptr;  // the EP group's load, looked up once per group
    double group_slowest_s = 0;
    for_each_gpu(stage, [&](int gpu, int q) {
      const MicroBatchLoad& l = load(layer, mb, q / p_.ep_group_gpus());
      const int rank = (q % p_.ep_group_gpus()) / p_.etp;
      const double seconds = seconds_of(l, rank);
      // The group's combine waits for its slowest member, so every member's host has had
      // that long to launch.
      if (&l != group_load) group_load = &l, group_slowest_s = f * spread_of(l, f, key, seconds_of).slowest;
      host_.column_s[size_t(q)] += group_slowest_s;
      out_.ops[gpu].push_back(
          Op{OpKind::COMPUTE, Part::EXPERT_COMPUTE, bwd, int16_t(layer), mb, -1, seconds, f * l.rank_rows[rank] * row.flops});
    });
  }

  // A rank's expert GEMMs in one direction (f: the backward factor, 1 forward): its experts'
  // tile-padded rows at the tensor-core time of a row, f times (one grouped kernel), or one GEMM
  // per local expert over its share of the rank's rows, each tile- and wave-quantized at its own
  // shape (ParallelPlan::expert_gemms "per_expert"): forward the input projection (both halves
  // of a gated one in one GEMM) and the output one; backward each one's data gradient and weight
  // gradient (the rows as the inner dimension), and a forward again where the layer recomputes.
  // The launch overhead stays one per matrix: the library issues the experts' GEMMs over
  // several streams.
  double expert_gemms_s(const MicroBatchLoad& l, int rank, double local_experts, double width,
                        const ModelSpec::ExpertShape& e, double row_s, bool bwd, double f) const {
    if (p_.expert_gemms != "per_expert") return f * l.rank_padded_rows[rank] * row_s;
    const double rows = l.rank_rows[rank] / local_experts;
    if (rows <= 0) return 0;
    const double h = e.item_width, in = width * (e.matrices - 1);  // the input projection's outputs
    const auto gemm = [&](double m, double n, double k) { return cost_.gemm_s(m, n, k) - s_.cluster.gemm_overhead_s; };
    const double forward = gemm(rows, in, h) + gemm(rows, h, width);
    const double backward = gemm(rows, h, in) + gemm(in, h, rows) + gemm(rows, width, h) + gemm(h, width, rows);
    return local_experts * (bwd ? backward + (f - BACKWARD_FLOP_FACTOR) * forward : forward);
  }

  // What a spread of expert times is cached by: the load, and the backward factor where the
  // times do not scale with it alike.
  struct SpreadKey {
    const MicroBatchLoad* load;
    double f;
    bool operator==(const SpreadKey& o) const { return load == o.load && f == o.f; }
  };
  struct SpreadKeyHash {
    size_t operator()(const SpreadKey& k) const {
      return std::hash<const MicroBatchLoad*>()(k.load) ^ (std::hash<double>()(k.f) << 1);
    }
  };

  // The first EP group of a stage has members outside the program: how far behind its
  // first member the slowest one finishes its expert GEMMs (computed once per routed
  // sample and backward factor).
  struct Spread {
    double slowest = -1, mean = 0, first = 0;
    int slowest_member = 0;
  };

  // The spread of a load's expert times (per unit of the backward factor f), computed once per
  // load and key.f: f where passes that do not scale with it (expert_row_extras) make the
  // directions differ, else 0.
  template <class SecondsOf>
  const Spread& spread_of(const MicroBatchLoad& l, double f, SpreadKey key, SecondsOf seconds_of) {
    key.load = &l;
    auto [it, inserted] = spread_of_load_.try_emplace(key);
    Spread& spread = it->second;
    if (inserted) {
      // The etp members of an expert rank take the same time: one pass over the ranks (no
      // division in the loop: this runs for every MoE layer of every plan ranked).
      const int ranks = p_.ep_group_gpus() / p_.etp;
      double sum = 0;
      for (int rank = 0; rank < ranks; ++rank) {
        const double t = seconds_of(l, rank);
        sum += t;
        if (t > spread.slowest) spread.slowest = t, spread.slowest_member = rank * p_.etp;
      }
      spread.slowest /= f;
      spread.mean = sum / ranks / f;
      spread.first = seconds_of(l, 0) / f;
    }
    return spread;
  }

  template <class SecondsOf>
  void note_absent_lag(int stage, const MicroBatchLoad& l, double f, SpreadKey key, SecondsOf seconds_of) {
    const Spread& spread = spread_of(l, f, key, seconds_of);
    Collective& lag = pending_lag_[stage];
    lag.absent_lag_s = f * (spread.slowest - spread.first);
    lag.absent_straggler_gpu = stage * gps_ + spread.slowest_member;
    lag.absent_straggler_lateness_s = f * (spread.slowest - spread.mean);
    has_pending_lag_[stage] = true;
  }

  void take_pending_lag(int stage, Collective& c) {
    if (!has_pending_lag_[stage]) return;
    c.absent_lag_s = pending_lag_[stage].absent_lag_s;
    c.absent_straggler_gpu = pending_lag_[stage].absent_straggler_gpu;
    c.absent_straggler_lateness_s = pending_lag_[stage].absent_straggler_lateness_s;
    has_pending_lag_[stage] = false;
  }

  // ---- sizes --------------------------------------------------------------------------
  const MicroBatchLoad& load(int layer, int mb, int replica) const {
    const LayerLoad& l = routed_.layers[moe_index(layer)];
    return l.micro_batches[StepProgram::routed_sample(mb, replica, int(l.micro_batches.size()))];
  }
  size_t moe_index(int layer) const { return moe_index_[layer]; }
  int first_layer(int virtual_stage) const { return p_.first_layer(virtual_stage, m_.layers); }
  Work gemm(double m, double n, double k) const { return gemm(m, n, k, cost_); }
  Work gemm(double m, double n, double k, const CostModel& cost) const { return {cost.gemm_s(m, n, k), 2.0 * m * n * k, 1}; }
  // The projections run at the model's compute dtype; the core (softmax(QK^T)V) in the
  // model's attention dtype: BF16 even in FP8 recipes (Transformer Engine's default, and
  // DeepSeek-V3's), unless the recipe turns FP8 attention on.
  // The backward does twice the projections' FLOPs; the core's is priced by its own kernel.
  // Windowed: a layer whose queries see only the model's sliding window of keys.
  Work attention(bool backward, bool windowed) const {
    // Every layer that has a token-mixing block has the same one (the first layer's), up to
    // its window.
    const double projections = m_.mixing_projection_flops_per_token(0) * tokens_full_ / p_.tp;
    const double f = backward ? BACKWARD_FLOP_FACTOR : 1;
    const double projection_kernels = (backward ? MIXING_BACKWARD_KERNELS : MIXING_FORWARD_KERNELS) - 1;
    return Work{f * cost_.flops_s(projections), f * projections, projection_kernels} + attention_core(backward, windowed);
  }
  // The core on this GPU's rows: its queries (a CP rank's share of each sequence, load-balanced
  // so that every rank's causal work is the same) against the keys they see. With context
  // parallelism the kernel runs once per ring step and the partial outputs are merged: 2 (cp-1)
  // more launches.
  Work attention_core(bool backward, bool windowed) const {
    if (m_.mixing_core_flops_per_token(0, p_.seq_len) <= 0) return Work{0, 0, 1};
    const double core = m_.attention_core_flops_per_token(p_.seq_len, windowed) * tokens_full_ / p_.tp;
    const double f = backward ? BACKWARD_FLOP_FACTOR : 1;
    if (windowed && !CostModel::attention_skips_window(backward, m_.attention_dtype)) {
      const double causal_core = m_.attention_core_flops_per_token(p_.seq_len, false) * tokens_full_ / p_.tp;
      return Work{core_s(causal_core, true, key_blocks(false)), f * core, 1.0} + launches(2 * (p_.cp - 1));
    }
    const double computed_core = windowed ? core * window_block_waste() : core;
    return Work{core_s(computed_core, backward, key_blocks(windowed)), f * core, 1.0} + launches(2 * (p_.cp - 1));
  }
  double core_s(double computed_core, bool backward, double key_blocks) const {
    return cost_.attention_core_s(computed_core, backward, m_.attention.qk_head_dim(), m_.attention.value_head_dim(),
                                  key_blocks, m_.attention_dtype);
  }
  // Blocks of keys a tile of queries computes in one kernel, on average (what its fixed time
  // per tile is spread over): context parallelism splits them over the ring's cp kernels.
  double key_blocks(bool windowed) const { return computed_keys(windowed) / ATTENTION_KEY_BLOCK / p_.cp; }
  // A fused attention kernel computes whole blocks of keys: 128 for head dims up to 128 under
  // causal and local masks (FlashAttention-3's hopper/tile_size.h). Within a window of w keys
  // a block of queries touches the blocks of its window and the diagonal one, w + 128 keys
  // per query where w - w^2 / (2 s) count: twice the work for GPT-OSS's 128-token window. (The
  // full causal mask's diagonal blocks add 64 keys to s/2, 1.6 % at 4k tokens: left out.)
  double window_block_waste() const {
    const double s = p_.seq_len, w = m_.attention.sliding_window;
    if (w <= 0 || w >= s) return 1;
    return computed_keys(true) / (w - w * w / (2 * s));
  }
  double computed_keys(bool windowed) const {
    return CostModel::causal_computed_keys(p_.seq_len, windowed ? m_.attention.sliding_window : 0);
  }
  // Element-wise kernels around the GEMMs, forward; their backward reads the saved input and
  // the incoming gradient and writes the outgoing one: taken as twice the bytes and launches.
  // Per block (attention, or FFN/MoE) on this GPU's rows after the sequence split: the layer
  // norm (read and write h BF16 values per token) and the residual add (read two, write one);
  // with FP8, the attention block also casts its two GEMM inputs (read 2 B, write 1 B each).
  Work block_elementwise(bool attention_block) const {
    const bool cast = attention_block && fp8();
    const double bytes = tokens_full_ / p_.tp * m_.d_model * (3 * BF16_BYTES + (cast ? 2 * FP8_CAST_BYTES : 0));
    return layer_norm() + launches(1 + (cast ? 2 : 0)) + Work{cost_.memory_bound_s(bytes), 0} +
           (attention_block ? qk_norm() : Work{});
  }
  // ModelSpec attention.qk_norm: one RMSNorm kernel over this GPU's query heads and one over its
  // key heads, each reading and writing its values in BF16 (Megatron-Core's qk_layernorm).
  Work qk_norm() const {
    if (!m_.attention.qk_norm) return {};
    const auto& a = m_.attention;
    const double values = tokens_full_ * (a.heads + a.kv_heads) * double(a.qk_head_dim()) / p_.tp;
    return launches(2) + Work{cost_.memory_bound_s(values * 2 * BF16_BYTES), 0};
  }
  Work launches(int kernels) const { return {kernels * s_.cluster.kernel_overhead_s, 0, double(kernels)}; }
  // Per FFN row of `input` values and hidden width `width`: the activation (SwiGLU reads 2
  // width values and writes width; GELU reads and writes width), and with FP8 the casts of the
  // row's input and hidden values. Bytes only: row_kernels() launches run them for all rows.
  double ffn_row_elementwise_s(double input, double width, int matrices) const {
    const double casts = fp8() ? (input + width) * FP8_CAST_BYTES : 0;
    return cost_.memory_bound_s(activation_bytes(width, matrices) + casts);
  }
  static double activation_bytes(double width, int matrices) { return (matrices == 3 ? 3 : 2) * width * BF16_BYTES; }
  // One layer norm over this GPU's rows (a block's, or recomputed): read and write h BF16 values
  // per row, one kernel.
  Work layer_norm() const {
    return launches(1) + Work{cost_.memory_bound_s(tokens_full_ / p_.tp * m_.d_model * 2 * BF16_BYTES), 0};
  }
  // MLA's query and key-value up-projections, forward (1 GEMM each; 0 for other attention).
  Work mla_up_projections() const {
    const double flops = 2 * m_.mla_up_projection_params() * tokens_full_ / p_.tp;
    return flops > 0 ? Work{cost_.flops_s(flops), flops, 2} : Work{};
  }
  int row_kernels() const { return 1 + (fp8() ? 2 : 0); }
  // Passes over the expert rows that reorder them: the permute before the dispatch and the
  // unpermute after the combine; Megatron-Core's alltoall dispatcher (dispatch_copies
  // "per_expert") receives its rows grouped by source rank and, with several local experts,
  // sorts them by expert after the dispatch and back before the combine
  // (megatron/core/transformer/moe/token_dispatcher.py, MoEAlltoAllTokenDispatcher
  // dispatch_postprocess "Permutation 2" and combine_preprocess "Unpermutation 2").
  int permute_passes(double local_experts) const {
    return 2 + (p_.dispatch_copies == "per_expert" && local_experts > 1 ? 2 : 0);
  }
  // A part captured in a CUDA graph (ParallelPlan::cuda_graph_scope): its kernels launched as
  // one replay.
  static Work graphed(bool captured, Work work) {
    if (captured) work.kernels = GRAPH_REPLAYS;
    return work;
  }
  // Passes over the expert rows that do not scale with the backward factor: their memory time
  // per row, their launches (GPU side) and what those count for on the host.
  struct RowPass {
    double row_s = 0, launches = 0, counted_kernels = 0;
    RowPass& operator+=(const RowPass& o) {
      row_s += o.row_s, launches += o.launches, counted_kernels += o.counted_kernels;
      return *this;
    }
  };
  // The output bias added expert by expert (each direction), the eager clamp of the activation's
  // input (each direction), and in backward the activation run again when moe_act is
  // recomputed (one fused kernel over all rows, after its eager clamp).
  RowPass expert_row_extras(double local_experts, const ModelSpec::ExpertShape& e, double width, bool bwd) const {
    RowPass pass = per_expert_bias(local_experts, e.item_width, bwd);
    pass += eager_glu_clamp(width, bwd);
    if (bwd && recomputes_moe_act_) {
      pass.row_s += cost_.memory_bound_s(activation_bytes(width, e.matrices));
      pass.launches += 1, pass.counted_kernels += 1;
      pass += eager_glu_clamp(width, false);
    }
    return pass;
  }
  // Megatron-Core's eager clamp of the gated activation's input (ModelSpec::glu_clamp "eager").
  RowPass eager_glu_clamp(double width, bool bwd) const {
    if (!m_.clamps_glu_eagerly()) return {};
    const double launches = bwd ? GLU_CLAMP_BACKWARD_LAUNCHES : GLU_CLAMP_FORWARD_LAUNCHES;
    const double bytes = (bwd ? GLU_CLAMP_BACKWARD_BYTES : GLU_CLAMP_FORWARD_BYTES) * width;
    return {cost_.memory_bound_s(bytes), launches, launches / EAGER_LAUNCHES_PER_COUNTED_KERNEL};
  }
  // The experts' output bias added expert by expert (ModelSpec::expert_bias "per_expert") in one
  // pass (forward, or backward: it is not recomputed).
  RowPass per_expert_bias(double local_experts, double item_width, bool bwd) const {
    if (!m_.adds_expert_bias_per_expert()) return {};
    const double launches = bwd ? EXPERT_BIAS_BACKWARD_LAUNCHES_PER_EXPERT * local_experts + EXPERT_BIAS_BACKWARD_LAUNCHES
                                : EXPERT_BIAS_FORWARD_LAUNCHES_PER_EXPERT * local_experts + EXPERT_BIAS_FORWARD_LAUNCHES;
    const double bytes = (bwd ? EXPERT_BIAS_BACKWARD_BYTES : EXPERT_BIAS_FORWARD_BYTES) * item_width;
    return {cost_.memory_bound_s(bytes), launches, launches / EAGER_LAUNCHES_PER_COUNTED_KERNEL};
  }
  bool fp8() const { return m_.compute_dtype == Dtype::FP8; }
  // An FFN's GEMMs and the element-wise work of its rows (none for an FFN of no width).
  Work ffn(double rows, double width) const { return ffn_in(rows, width) + ffn_out(rows, width); }
  // Up to the hidden activations (the input projections and the element-wise work), and the
  // output projection.
  Work ffn_in(double rows, double width) const {
    if (width <= 0) return {};
    return gemm(rows, width, m_.d_model) * (m_.ffn_matrices() - 1) + launches(row_kernels()) +
           Work{rows * ffn_row_elementwise_s(m_.d_model, width, m_.ffn_matrices()), 0};
  }
  Work ffn_out(double rows, double width) const { return width <= 0 ? Work{} : gemm(rows, width, m_.d_model); }
  // The gate runs on this GPU's items after the TP split (with the router's extra mixing
  // GEMMs, Soft MoE's); shared experts on the full micro-batch, split over TP like a dense FFN.
  // A token-mixing MoE layer (Sparse-MLP) gates channel vectors, between its re-represent
  // layers (d_model -> token_moe_channels -> d_model per token).
  Work gate(bool token_moe) const {
    const RouterCost& rc = routed_.router_cost;
    const int layer = token_moe ? first_token_moe_layer() : 0;
    if (layer < 0) return {};
    const ModelSpec::ExpertShape e = m_.expert_shape(layer);
    const double items = p_.tokens_per_gpu() * e.items_per_token;
    const Work logits = gemm(items, rc.gate_columns > 0 ? rc.gate_columns : m_.experts, e.item_width);
    const Work re_represent = token_moe ? gemm(p_.tokens_per_gpu(), m_.token_moe_channels, m_.d_model) * 2 : Work{};
    return logits * (1.0 + rc.mixing_gemms) + re_represent + launches(ROUTER_KERNELS);
  }
  int first_token_moe_layer() const {
    for (int l = 0; l < m_.layers; ++l)
      if (m_.is_token_moe_layer(l)) return l;
    return -1;
  }
  double shared_width() const { return double(m_.shared_experts) * m_.d_ffn_expert / p_.tp; }
  Work shared_experts() const { return ffn(tokens_full_, shared_width()); }
  // Shared experts beside the all-to-alls (Megatron's --moe-shared-expert-overlap): the input
  // projections during dispatch, the output projection during combine, on the SMs the
  // all-to-all kernels leave (plan.ep_comm_sms of the GPU's).
  bool overlaps_shared_experts() const { return p_.overlap_shared_experts && m_.shared_experts > 0; }
  double beside_comm_factor() const {
    const int sms = s_.cluster.gpu.sms;
    return p_.ep_comm_sms > 0 && sms > p_.ep_comm_sms ? double(sms) / (sms - p_.ep_comm_sms) : 1.0;
  }
  // The wall time of `seconds` of compute started beside an all-to-all that holds its SMs
  // for held_s more: slower by beside_comm_factor() until the all-to-all ends, at full speed
  // after; held_s is left at what remains. The all-to-all's time is its closed form (the
  // analytic engine's), so both engines run the same program.
  double slowed_beside(double seconds, double& held_s) const {
    const double factor = beside_comm_factor();
    if (factor == 1.0 || held_s <= 0) return seconds;
    const double slowed_s = std::min(seconds * factor, held_s);
    held_s -= slowed_s;
    return slowed_s + (seconds - slowed_s / factor);
  }
  double all_to_all_closed_form_s(const Collective& c) const {
    return (c.reverse ? c.load->to_owners : c.load->to_experts).time_s(c.bytes_per_copy, s_.cluster);
  }
  // The output layer (LM head) multiplies in BF16 whatever the model's compute dtype:
  // Megatron-Core's is a plain ColumnParallelLinear outside Transformer Engine's FP8 autocast
  // (megatron/core/models/gpt/gpt_model.py; an MXFP8 LM head is opt-in since May 2026,
  // fp8_output_proj), and DeepSeek-V3 keeps its output head in BF16 (V3 report, Sec. 3.3.1).
  Work output_layer() const { return gemm(tokens_full_, double(m_.vocab) / p_.tp, m_.d_model, bf16_cost_); }
  // The cross entropy over the output layer's logits (this GPU's share of the vocabulary).
  Work loss(bool bwd) const {
    const double logits = tokens_full_ * m_.vocab / p_.tp;
    const double bytes = logits * (bwd ? LOSS_BACKWARD_BYTES_PER_LOGIT : LOSS_FORWARD_BYTES_PER_LOGIT);
    return launches(bwd ? LOSS_BACKWARD_KERNELS : LOSS_FORWARD_KERNELS) + Work{cost_.memory_bound_s(bytes), 0};
  }

  const Scenario& s_;
  const ModelSpec& m_;
  const ParallelPlan& p_;
  const RoutedStep& routed_;
  CostModel cost_;
  CostModel bf16_cost_;  // the GEMMs that stay in BF16 in FP8 recipes (the output layer)
  double tokens_full_ = 0;  // a micro-batch's tokens on this GPU's CP rank, before the TP split
  int gps_ = 1;
  int columns_ = 1;  // GPUs of each stage in the program: the first columns_ of it
  const std::vector<char>* known_pieces_;  // STAGE_UNITS: pieces not to build (see build_step_program)
  PipelineOrder order_;
  bool folds_units_ = false;  // STAGE_UNITS
  std::unordered_map<SpreadKey, Spread, SpreadKeyHash> spread_of_load_;
  std::vector<size_t> moe_index_;  // per layer: its index among the MoE layers
  HostTally host_;                 // the piece being built
  Work attention_[2], dense_ffn_;                  // per layer and micro-batch, forward (attention_[windowed])
  Work gate_and_shared_[2];                       // of channel- and token-mixing MoE layers
  double gate_kernels_[2] = {0, 0};               // the router's within them (forward)
  bool recomputes_core_attn_ = false, recomputes_moe_act_ = false;  // ParallelPlan::recompute_modules
  bool graphs_attn_ = false, graphs_mlp_ = false, graphs_router_ = false, graphs_layer_ = false;  // ParallelPlan::cuda_graph_scope
  // Selective recomputation's extra forward work in each backward (ParallelPlan::recompute_modules),
  // beside the attention kernel's: attention block, dense FFN block, MoE block.
  Work recomputed_attention_, recomputed_dense_ffn_, recomputed_moe_block_;
  Work attention_backward_[2];                   // without recomputation
  Work attention_core_[2], attention_core_backward_[2];  // the cores within the two above
  std::array<std::vector<int>, std::size(GROUP_KINDS)> first_group_;  // per GroupKind, per stage: first group index
  std::vector<Collective> pending_lag_ = std::vector<Collective>(p_.pp);  // per stage, for the next EP collective
  std::vector<char> has_pending_lag_ = std::vector<char>(p_.pp, 0);
  // Per stage: the first DP and EDP collectives of each layer's overlapped gradient sync.
  std::vector<std::vector<std::pair<int, int>>> started_syncs_ = std::vector<std::vector<std::pair<int, int>>>(p_.pp);
  // Per stage, per layer: the first DP and EDP collectives of its weights' all-gather.
  std::vector<std::unordered_map<int, std::pair<int, int>>> param_gathers_ =
      std::vector<std::unordered_map<int, std::pair<int, int>>>(p_.pp);
  StepProgram out_;
};

}  // namespace

StepProgram build_step_program(const Scenario& scenario, const RoutedStep& routed, ProgramScope scope,
                               const std::vector<char>* known_pieces) {
  return ProgramBuilder(scenario, routed, scope, known_pieces).run();
}

}  // namespace moesim
