// Queries that rebuild protos from the lineage tables. Callers that need several of these to
// agree with each other run them inside one Transaction (Mode::kRead); these functions open
// none themselves.
#ifndef HEADEVO_STORAGE_CANDIDATE_READER_H_
#define HEADEVO_STORAGE_CANDIDATE_READER_H_

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/genome.pb.h"
#include "storage/sqlite_db.h"

namespace headevo::storage {

// NotFound "search N not found" unless the search exists.
absl::Status RequireSearch(Database& db, int64_t search_id);

// Fills `stats` (all but head_id) from the columns layer, entropy, independence,
// weight_norm, importance, most_similar_head_id of head_stats, starting at `first_column`.
void ReadHeadStatsColumns(const Statement& stmt, int first_column, headevo::v1::HeadStats& stats);

// The columns ReadGrowthColumns reads, in its order, from `head_growth g`.
constexpr char kGrowthColumns[] =
    "g.head_id, g.source_head_id, g.layer, g.kind, g.added_key_width, g.scale, "
    "g.predicted_loss_change, g.measured_loss_change";
// One growth record from kGrowthColumns starting at `first_column`; DataLoss for an unknown kind.
absl::StatusOr<headevo::v1::HeadGrowth> ReadGrowthColumns(const Statement& stmt, int first_column);

// A head as first written, with the columns lineage checks need.
struct StoredHead {
  headevo::v1::Head head;  // origin as created: INITIAL, SAMPLED or GROWN
  int64_t search_id = 0;
  int64_t created_candidate_id = 0;
};
// NotFound "head N not found".
absl::StatusOr<StoredHead> LoadHead(Database& db, int64_t head_id);
// The heads a candidate carries, as first written, by head id (an unknown candidate has none).
absl::StatusOr<std::unordered_map<int64_t, StoredHead>> LoadHeadsOfCandidate(Database& db,
                                                                             int64_t candidate_id);

// The candidate as stored: genome heads in slot order with their origin in this candidate,
// mutation (pruned ids in the order written, added_head_slots = slots of heads this candidate
// created), metrics only once a result is recorded, head_stats and growth in slot order.
// NotFound "candidate N not found".
absl::StatusOr<headevo::v1::Candidate> LoadCandidate(Database& db, int64_t candidate_id);

// Ids of the search's candidates, ascending. The search is not checked.
absl::StatusOr<std::vector<int64_t>> CandidateIdsOfSearch(Database& db, int64_t search_id);

// `candidate_id` and its ancestors up to the root, child first. NotFound for an unknown id.
absl::StatusOr<std::vector<int64_t>> AncestorIds(Database& db, int64_t candidate_id);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_CANDIDATE_READER_H_
