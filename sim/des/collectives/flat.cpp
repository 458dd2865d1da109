// Flat all-to-all (NCCL's default): every member sends straight to every other member.
#include "sim/des/collectives.hpp"

namespace moesim {

std::vector<Phase> flat_all_to_all(const std::vector<int>& members, const std::vector<double>& bytes, const ClusterSpec&) {
  const size_t n = members.size();
  Phase phase;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j)
      if (i != j && bytes[i * n + j] > 0) phase.transfers.push_back({members[i], members[j], bytes[i * n + j]});
  return {phase};
}

}  // namespace moesim
