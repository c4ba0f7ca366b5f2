// Chooses which heads of a ranked candidate to drop. Four rules, applied in this order, each
// pruning what it says and none taking a layer below min_heads_per_layer:
//   1. a layer above max_heads_per_layer loses its lowest-ranked heads down to the maximum;
//   2. near-duplicate offsets: of two heads of a layer whose offset sets have Jaccard index
//      >= duplicate_jaccard, the lower-ranked one goes;
//   3. near-duplicate outputs: a head whose output similarity with its most similar head
//      (1 - independence, as the worker measured it) is >= duplicate_similarity goes when that
//      head ranks higher and is kept;
//   4. low rank: the round(fraction * heads) lowest-ranked heads (at least one when fraction
//      > 0) go, counting any that an earlier rule already pruned.
#ifndef HEADEVO_SEARCH_PRUNING_H_
#define HEADEVO_SEARCH_PRUNING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "headevo/v1/genome.pb.h"
#include "search/ranking.h"

namespace headevo::search {

struct PruningOptions {
  // Rule 4: fraction of all heads dropped for their rank.
  double fraction = 0.25;
  // A layer never falls below this many heads.
  int min_heads_per_layer = 1;
  // Rule 1; 0 means no maximum.
  int max_heads_per_layer = 0;
  // Rule 2: Jaccard threshold in (0, 1]; 0 turns the rule off.
  double duplicate_jaccard = 0.0;
  // Rule 3: similarity threshold in (0, 1]; 0 turns the rule off.
  double duplicate_similarity = 0.0;

  absl::Status Validate() const;
};

enum class PruneReason { kOverLayerMaximum, kDuplicateOffsets, kDuplicateOutput, kLowRank };

struct PrunedHead {
  int slot = 0;
  int64_t head_id = 0;
  PruneReason reason = PruneReason::kLowRank;
  // For the duplicate rules: the higher-ranked head this one duplicates.
  int64_t duplicate_of = 0;
};

// Jaccard index |a ∩ b| / |a ∪ b| of two offset sets (1 for two empty sets).
double Jaccard(const headevo::v1::OffsetSet& a, const headevo::v1::OffsetSet& b);

// The heads to prune, in the order the rules chose them. `scores` are ScoreHeads(genome, ...).
std::vector<PrunedHead> SelectHeadsToPrune(const headevo::v1::Genome& genome,
                                           const std::vector<HeadScore>& scores,
                                           const PruningOptions& options);

// "17 (rank), 12 (duplicate of 9)": for the mutation description.
std::string DescribePruned(const std::vector<PrunedHead>& pruned);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_PRUNING_H_
