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

// The columns ReadNodes reads, in its order, from `candidates c`.
constexpr char kNodeColumns[] =
    "c.id, c.parent_id, c.generation, c.state, c.val_loss, c.connections, "
    "c.mutation_description, c.rung";
// The number of kNodeColumns: a query's own columns after them start here.
constexpr int kNodeColumnCount = 8;
// Every row of `stmt` (kNodeColumns first) as a node; `depth_column` >= 0 fills depth from
// that column.
absl::StatusOr<std::vector<LineageNode>> ReadNodes(Statement& stmt, int depth_column);

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
