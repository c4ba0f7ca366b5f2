#include "search/pruning.h"

#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"

namespace headevo::search {

absl::Status PruningOptions::Validate() const {
  if (!(fraction >= 0.0 && fraction < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("pruning fraction must be in [0, 1), got ", fraction));
  }
  if (min_heads_per_layer < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_heads_per_layer must be >= 1, got ", min_heads_per_layer));
  }
  return absl::OkStatus();
}

std::vector<int> SelectHeadsToPrune(const std::vector<HeadScore>& scores,
                                    const PruningOptions& options) {
  if (options.fraction <= 0.0 || scores.empty()) return {};
  int budget = static_cast<int>(std::lround(options.fraction * scores.size()));
  if (budget < 1) budget = 1;

  std::map<int, int> remaining_in_layer;
  for (const auto& s : scores) ++remaining_in_layer[s.layer];

  std::vector<int> pruned;
  for (int slot : WorstFirst(scores)) {
    if (static_cast<int>(pruned.size()) == budget) break;
    int& remaining = remaining_in_layer[scores[slot].layer];
    if (remaining <= options.min_heads_per_layer) continue;
    --remaining;
    pruned.push_back(slot);
  }
  return pruned;
}

}  // namespace headevo::search
