// Trace replay: each routed token takes the next token of a recorded routing trace
// (trace_reader.hpp), so that users can bring their own model's routing. Each capacity group
// (step, micro-batch, source GPU) gets the next unused run of trace tokens the first time it
// is asked for, and the same run at every layer; positions wrap around at the end of the
// trace. Model MoE layer i replays trace layer i mod (trace layers). A trace has expert ids,
// not scores: policies that need scores are refused with that reason.
#include <map>
#include <tuple>

#include "hardware/input_error.hpp"
#include "models/scores/score_source.hpp"
#include "models/scores/trace_reader.hpp"

namespace moesim {

namespace {

class TraceSource final : public ScoreSource {
 public:
  TraceSource(const Params& params, const ModelSpec& model)
      : reader_(params.text("path"), model.experts) {
    for (int l = 0; l < model.layers; ++l) moe_index_.push_back(model.is_moe_layer(l) ? moe_layers_++ : -1);
  }

  void top_choices(const ScoreContext& ctx, int tokens, int top_k, bool with_scores, TokenChoices& out,
                   const std::vector<double>* logit_offset) const override {
    if (with_scores || logit_offset) refuse("this router policy (its drop order or bias needs router scores)");
    if (top_k != reader_.shape().top_k)
      throw InputError(reader_.path() + ": the trace chose " + std::to_string(reader_.shape().top_k) +
                       " experts per token; the run asks for top-" + std::to_string(top_k));
    const auto [it, inserted] =
        first_token_.try_emplace({ctx.step, ctx.micro_batch, ctx.source_gpu}, next_token_);
    if (inserted) next_token_ += tokens;
    const long first = it->second;
    const long available = reader_.ensure(first + tokens);
    const int layer = moe_index_.at(ctx.layer) % reader_.shape().layers;
    out.tokens = tokens;
    out.top_k = top_k;
    out.expert.resize(size_t(tokens) * top_k);
    out.score.clear();
    for (int t = 0; t < tokens; ++t)
      for (int c = 0; c < top_k; ++c) out.expert[size_t(t) * top_k + c] = reader_.expert((first + t) % available, layer, c);
  }

  void all_logits(const ScoreContext&, int, std::vector<float>&) const override {
    refuse("this router policy (it reads every expert's logit)");
  }
  void group_top_choices(const ScoreContext&, int, int, int, TokenChoices&) const override {
    refuse("group-limited routing (it ranks experts by score)");
  }

 private:
  [[noreturn]] void refuse(const std::string& who) const {
    throw InputError("scores.source \"trace\" (" + reader_.path() + ") has expert ids but no router scores, which " +
                     who + " needs; use topk with drop_order position, dropless or hash, or a synthetic source");
  }

  mutable TraceReader reader_;
  mutable std::map<std::tuple<int, int, int>, long> first_token_;  // per capacity group
  mutable long next_token_ = 0;
  int moe_layers_ = 0;
  std::vector<int> moe_index_;
};

}  // namespace

std::unique_ptr<ScoreSource> make_trace_source(const Params& params, const ModelSpec& model) {
  return std::make_unique<TraceSource>(params, model);
}

std::vector<ParamSpec> trace_source_params() {
  return {{"path", ParamKind::PATH, std::string(""),
           "JSON Lines routing trace, one sequence per line: {\"exp_ids\": [token][layer][k]}"}};
}

}  // namespace moesim
