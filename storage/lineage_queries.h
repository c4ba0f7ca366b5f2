// The lineage questions researchers ask, each answered by a few indexed queries on one
// connection. Every function runs inside the caller's read Transaction (so its queries agree)
// and opens none. Contracts: see the Store methods of the same names.
#ifndef HEADEVO_STORAGE_LINEAGE_QUERIES_H_
#define HEADEVO_STORAGE_LINEAGE_QUERIES_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/lineage_types.h"
#include "storage/sqlite_db.h"

namespace headevo::storage {

absl::StatusOr<std::vector<LineageNode>> QueryAncestorChain(Database& db, int64_t candidate_id);
absl::StatusOr<std::vector<LineageNode>> QueryDescendants(Database& db, int64_t candidate_id,
                                                          int max_depth);
absl::StatusOr<HeadHistory> QueryHeadHistory(Database& db, int64_t head_id);
// The search is not checked by these three.
absl::StatusOr<std::vector<OffsetSurvival>> QueryOffsetSurvival(Database& db, int64_t search_id);
absl::StatusOr<std::vector<LineageNode>> QueryParetoFront(Database& db, int64_t search_id);
absl::StatusOr<std::vector<LineageNode>> QueryBestPerGeneration(Database& db, int64_t search_id);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_LINEAGE_QUERIES_H_
