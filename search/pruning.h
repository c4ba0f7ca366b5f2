// Chooses which heads of a ranked candidate to drop.
#ifndef HEADEVO_SEARCH_PRUNING_H_
#define HEADEVO_SEARCH_PRUNING_H_

#include <vector>

#include "absl/status/status.h"
#include "search/ranking.h"

namespace headevo::search {

struct PruningOptions {
  // Fraction of all heads dropped per child, rounded to nearest, at least one when > 0.
  double fraction = 0.25;
  // A layer never falls below this many heads.
  int min_heads_per_layer = 1;

  absl::Status Validate() const;
};

// The slots to prune, worst first: the lowest-scored heads, skipping any whose removal would
// take its layer below the minimum.
std::vector<int> SelectHeadsToPrune(const std::vector<HeadScore>& scores,
                                    const PruningOptions& options);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_PRUNING_H_
