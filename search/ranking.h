// Ranks the heads of one candidate: each signal z-scored within its layer, combined with
// configured weights (the sign says which direction is good), minus a cost per connection.
#ifndef HEADEVO_SEARCH_RANKING_H_
#define HEADEVO_SEARCH_RANKING_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/genome.pb.h"

namespace headevo::search {

struct RankingOptions {
  // Negative: a concentrated head (low entropy) ranks higher, as seed 001 asks.
  double entropy_weight = -1.0;
  // Positive: a head unlike the others in its layer ranks higher (near-copies go first).
  double independence_weight = 1.0;
  // Positive: a head whose output projection carries more weight ranks higher.
  double weight_norm_weight = 1.0;
  // Positive: a head the loss depends on (gate gradient) ranks higher.
  double importance_weight = 1.0;
  // Subtracted per offset: with equal signals the cheaper head ranks higher.
  double cost_per_connection = 0.0;

  absl::Status Validate() const;
};

struct HeadScore {
  int slot = 0;  // index in the genome
  int64_t head_id = 0;
  int layer = 0;
  int k = 0;
  double score = 0.0;
};

// One score per genome head, in genome order. `stats` must hold one entry per genome head
// (matched by head id, any order); InvalidArgument names a head without statistics.
// A signal that is constant within a layer contributes 0 to that layer (its z-score is 0).
absl::StatusOr<std::vector<HeadScore>> ScoreHeads(
    const headevo::v1::Genome& genome,
    const google::protobuf::RepeatedPtrField<headevo::v1::HeadStats>& stats,
    const RankingOptions& options);

// Slots ordered from worst to best score; ties broken by slot so the order is stable.
std::vector<int> WorstFirst(const std::vector<HeadScore>& scores);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_RANKING_H_
