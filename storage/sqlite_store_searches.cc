// SqliteStore: what a coordinator reads and writes about whole searches: the list, the counts
// behind a status line, the strategy state a resumed search continues from, and pages of
// candidate summaries.
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/candidate_reader.h"
#include "storage/lineage_queries.h"
#include "storage/row_codec.h"
#include "storage/sqlite_store.h"

namespace headevo::storage {

absl::StatusOr<std::vector<SearchRecord>> SqliteStore::ListSearches() {
  absl::StatusOr<Statement> stmt = db_->Prepare(
      "SELECT id, name, config_toml, seed, state, created_ms FROM searches ORDER BY id");
  if (!stmt.ok()) return stmt.status();
  std::vector<SearchRecord> searches;
  absl::Status status = stmt->ForEachRow([&](const Statement& row) -> absl::Status {
    SearchRecord& search = searches.emplace_back();
    search.id = row.ColumnInt64(0);
    search.name = row.ColumnText(1);
    search.config_toml = row.ColumnText(2);
    search.seed = static_cast<uint64_t>(row.ColumnInt64(3));
    absl::StatusOr<headevo::v1::SearchState> state =
        SearchStateFromText(row.ColumnText(4), "searches.state");
    if (!state.ok()) return state.status();
    search.state = *state;
    search.created_ms = row.ColumnInt64(5);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return searches;
}

absl::StatusOr<SearchCounts> SqliteStore::CountSearch(int64_t search_id) {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = RequireSearch(*db_, search_id); !s.ok()) return s;
  SearchCounts counts;
  absl::StatusOr<Statement> candidates = db_->Prepare(
      "SELECT COUNT(*), COALESCE(SUM(state = 'DONE'), 0), COALESCE(SUM(state = 'FAILED'), 0), "
      "COALESCE(MAX(generation), -1) FROM candidates WHERE search_id = ?1");
  if (!candidates.ok()) return candidates.status();
  absl::StatusOr<bool> row = candidates->Bind(1, search_id).Step();
  if (!row.ok()) return row.status();
  counts.candidates = candidates->ColumnInt64(0);
  counts.done = candidates->ColumnInt64(1);
  counts.failed = candidates->ColumnInt64(2);
  counts.max_generation = candidates->ColumnInt(3);
  // Only unfinished jobs are counted, so the partial index jobs_open bounds the work.
  absl::StatusOr<Statement> jobs = db_->Prepare(
      "SELECT COALESCE(SUM(state = 'QUEUED'), 0), COALESCE(SUM(state = 'LEASED'), 0) "
      "FROM jobs WHERE state IN ('QUEUED', 'LEASED') AND search_id = ?1");
  if (!jobs.ok()) return jobs.status();
  row = jobs->Bind(1, search_id).Step();
  if (!row.ok()) return row.status();
  counts.queued = jobs->ColumnInt64(0);
  counts.leased = jobs->ColumnInt64(1);
  return counts;
}

absl::StatusOr<std::optional<headevo::v1::StrategyState>> SqliteStore::LoadStrategyState(
    int64_t search_id) {
  absl::StatusOr<Statement> stmt =
      db_->Prepare("SELECT strategy_state FROM searches WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Bind(1, search_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("search ", search_id, " not found"));
  if (stmt->ColumnIsNull(0)) return std::optional<headevo::v1::StrategyState>();
  headevo::v1::StrategyState state;
  if (!state.ParseFromString(stmt->ColumnBlob(0))) {
    return absl::DataLossError(absl::StrCat("search ", search_id,
                                            ": the stored strategy state does not parse"));
  }
  return std::optional<headevo::v1::StrategyState>(std::move(state));
}

absl::Status SqliteStore::SaveStrategyState(int64_t search_id,
                                            const headevo::v1::StrategyState& state) {
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = WriteStrategyState(search_id, state); !s.ok()) return s;
  return txn->Commit();
}

absl::Status SqliteStore::WriteStrategyState(int64_t search_id,
                                             const headevo::v1::StrategyState& state) {
  if (absl::Status s = RequireSearch(*db_, search_id); !s.ok()) return s;
  absl::StatusOr<Statement> stmt =
      db_->Prepare("UPDATE searches SET strategy_state = ?2 WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, search_id);
  stmt->BindBlob(2, state.SerializeAsString());
  return stmt->Run();
}

absl::StatusOr<CandidatePage> SqliteStore::ListCandidateSummaries(const CandidateFilter& filter) {
  if (filter.limit <= 0 || filter.offset < 0) {
    return absl::InvalidArgumentError(absl::StrCat("candidate page: limit ", filter.limit,
                                                   " and offset ", filter.offset,
                                                   " must be > 0 and >= 0"));
  }
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = RequireSearch(*db_, filter.search_id); !s.ok()) return s;
  // ?2: state text or NULL for any; ?3/?4: generation range (?4 < 0: open).
  const std::string where =
      "WHERE c.search_id = ?1 AND (?2 IS NULL OR c.state = ?2) AND c.generation >= ?3 "
      "AND (?4 < 0 OR c.generation <= ?4)";
  auto bind = [&](Statement& stmt) {
    stmt.Bind(1, filter.search_id);
    if (filter.state == headevo::v1::CANDIDATE_STATE_UNSPECIFIED) {
      stmt.BindNull(2);
    } else {
      stmt.Bind(2, ToText(filter.state));
    }
    stmt.Bind(3, filter.min_generation).Bind(4, filter.max_generation);
  };
  CandidatePage page;
  absl::StatusOr<Statement> count =
      db_->Prepare(absl::StrCat("SELECT COUNT(*) FROM candidates c ", where));
  if (!count.ok()) return count.status();
  bind(*count);
  absl::StatusOr<bool> row = count->Step();
  if (!row.ok()) return row.status();
  page.total = count->ColumnInt64(0);

  const char* order = filter.order_by_val_loss
                          ? "ORDER BY c.val_loss IS NULL, c.rung DESC, c.val_loss, c.id"
                          : "ORDER BY c.id";
  absl::StatusOr<Statement> stmt = db_->Prepare(absl::StrCat(
      "SELECT ", kNodeColumns, " FROM candidates c ", where, " ", order, " LIMIT ?5 OFFSET ?6"));
  if (!stmt.ok()) return stmt.status();
  bind(*stmt);
  stmt->Bind(5, filter.limit).Bind(6, filter.offset);
  absl::StatusOr<std::vector<LineageNode>> nodes = ReadNodes(*stmt, -1);
  if (!nodes.ok()) return nodes.status();
  page.candidates = *std::move(nodes);
  return page;
}

absl::StatusOr<std::vector<LineageNode>> SqliteStore::BestCandidates(int64_t search_id,
                                                                     int limit) {
  if (limit <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("best candidates: limit ", limit, " <= 0"));
  }
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = RequireSearch(*db_, search_id); !s.ok()) return s;
  // A higher rung first (multi-fidelity; one rung otherwise), then the loss: the partial
  // index candidates_by_rung holds exactly these rows in this order.
  absl::StatusOr<Statement> stmt = db_->Prepare(absl::StrCat(
      "SELECT ", kNodeColumns, " FROM candidates c WHERE c.search_id = ?1 AND c.state = 'DONE' "
      "AND c.val_loss IS NOT NULL ORDER BY c.rung DESC, c.val_loss, c.id LIMIT ?2"));
  if (!stmt.ok()) return stmt.status();
  stmt->BindAll(search_id, limit);
  return ReadNodes(*stmt, -1);
}

}  // namespace headevo::storage
