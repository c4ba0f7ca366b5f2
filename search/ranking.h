// Ranks the heads of one candidate: each signal normalised within its layer (z-score or rank),
// combined with configured weights (the sign says which direction is good), minus a cost per
// connection.
#ifndef HEADEVO_SEARCH_RANKING_H_
#define HEADEVO_SEARCH_RANKING_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/genome.pb.h"

namespace headevo::search {

// How a signal is made comparable across the heads of a layer.
enum class Normalization {
  kZScore,  // (x - layer mean) / layer stddev: magnitudes matter, an outlier dominates
  kRank,    // the head's rank in the layer mapped to [-1, 1] (ties share their mean rank):
            // robust to outliers and to signals on different scales
};

absl::StatusOr<Normalization> ParseNormalization(std::string_view name);  // "zscore", "rank"

struct RankingOptions {
  Normalization normalization = Normalization::kZScore;
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
  // Copied from the head's statistics for the pruning rules: 1 - independence, the output
  // similarity with the most similar head of the layer, and that head's id (0: none).
  double output_similarity = 0.0;
  int64_t most_similar_head_id = 0;
};

// One score per genome head, in genome order. `stats` must hold one entry per genome head
// (matched by head id, any order); InvalidArgument names a head without statistics.
// A signal that is constant within a layer contributes 0 to that layer.
absl::StatusOr<std::vector<HeadScore>> ScoreHeads(
    const headevo::v1::Genome& genome,
    const google::protobuf::RepeatedPtrField<headevo::v1::HeadStats>& stats,
    const RankingOptions& options);

// Slots ordered from worst to best score; ties broken by slot so the order is stable.
std::vector<int> WorstFirst(const std::vector<HeadScore>& scores);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_RANKING_H_
