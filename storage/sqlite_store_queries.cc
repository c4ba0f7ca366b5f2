// SqliteStore: the lineage queries, each in one read transaction (one consistent snapshot).
#include "storage/candidate_reader.h"
#include "storage/lineage_queries.h"
#include "storage/sqlite_store.h"

namespace headevo::storage {

absl::StatusOr<std::vector<LineageNode>> SqliteStore::AncestorChain(int64_t candidate_id) {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  return QueryAncestorChain(*db_, candidate_id);
}

absl::StatusOr<std::vector<LineageNode>> SqliteStore::Descendants(int64_t candidate_id,
                                                                  int max_depth) {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  return QueryDescendants(*db_, candidate_id, max_depth);
}

absl::StatusOr<HeadHistory> SqliteStore::GetHeadHistory(int64_t head_id) {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  return QueryHeadHistory(*db_, head_id);
}

absl::StatusOr<std::vector<OffsetSurvival>> SqliteStore::OffsetSurvivalStats(int64_t search_id) {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = RequireSearch(*db_, search_id); !s.ok()) return s;
  return QueryOffsetSurvival(*db_, search_id);
}

absl::StatusOr<std::vector<LineageNode>> SqliteStore::ParetoFront(int64_t search_id) {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = RequireSearch(*db_, search_id); !s.ok()) return s;
  return QueryParetoFront(*db_, search_id);
}

absl::StatusOr<std::vector<LineageNode>> SqliteStore::BestPerGeneration(int64_t search_id) {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = RequireSearch(*db_, search_id); !s.ok()) return s;
  return QueryBestPerGeneration(*db_, search_id);
}

}  // namespace headevo::storage
