#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "hardware/registry.hpp"
#include "models/model.hpp"
#include "models/params.hpp"

namespace moesim {

// Each token's top-k expert choices with their router scores, best first.
// Layout: [token * top_k + choice]. Scores of one layer are comparable across tokens; they
// are left empty when the router does not use them.
struct TokenChoices {
  int tokens = 0;
  int top_k = 0;
  std::vector<int32_t> expert;
  std::vector<float> score;
};

// Which tokens are asked for: those of one source GPU in one micro-batch of one layer.
struct ScoreContext {
  int layer = 0;
  int micro_batch = 0;
  int source_gpu = 0;
  int step = 0;
};

// Where router scores come from: a synthetic skew model or (later) a replayed trace.
class ScoreSource {
 public:
  virtual ~ScoreSource() = default;
  // with_scores = false skips drawing scores (most of the cost) and must not change the
  // experts chosen, so that routers with and without score-based decisions see the same
  // choices for the same seed.
  // logit_offset (one per expert, may be null) is added to every token's logits before the
  // top-k is taken; the returned scores are the logits without it (loss-free balancing
  // selects with a bias but gates without).
  virtual void top_choices(const ScoreContext& context, int tokens, int top_k, bool with_scores,
                           TokenChoices& out, const std::vector<double>* logit_offset = nullptr) const = 0;
  // Every expert's logit for every token, [token * experts + expert], for policies that look
  // beyond each token's top-k (expert choice, balanced assignment, group-limited routing).
  // A source without scores (a replayed trace) throws InputError naming the policy's need.
  virtual void all_logits(const ScoreContext& context, int tokens, std::vector<float>& out) const = 0;
  // For group-limited routers: each token's best `per_group` experts of each of `groups`
  // equal, contiguous expert ranges, with their logits (as all_logits gives them), best first:
  // entry [(token * groups + group) * per_group + i]; out.top_k = groups * per_group. The
  // default takes them from all_logits; a source may draw them directly.
  virtual void group_top_choices(const ScoreContext& context, int tokens, int groups, int per_group,
                                 TokenChoices& out) const;
};

using ScoreSourceFactory = std::function<std::unique_ptr<ScoreSource>(const Params&, const ModelSpec&)>;
const Registry<Component<ScoreSourceFactory>>& score_sources();

}  // namespace moesim
