#include "storage/search_deletion.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace headevo::storage {
namespace {

// The checkpoints the search's rows name: its candidates' results, its checkpoint rows and
// its jobs' parents. ?1 is the search id.
constexpr char kSearchShas[] =
    "SELECT checkpoint_sha256 FROM candidates "
    "WHERE search_id = ?1 AND checkpoint_sha256 IS NOT NULL AND checkpoint_sha256 <> '' "
    "UNION SELECT k.sha256 FROM checkpoints k JOIN candidates c ON c.id = k.candidate_id "
    "WHERE c.search_id = ?1 "
    "UNION SELECT parent_checkpoint_sha256 FROM jobs "
    "WHERE search_id = ?1 AND parent_checkpoint_sha256 IS NOT NULL "
    "AND parent_checkpoint_sha256 <> ''";

// The search's candidates, for the tables keyed by candidate.
constexpr char kSearchCandidates[] = "(SELECT id FROM candidates WHERE search_id = ?1)";

absl::StatusOr<std::set<std::string>> Texts(Database& db, const std::string& sql,
                                            int64_t search_id) {
  absl::StatusOr<Statement> stmt = db.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, search_id);
  std::set<std::string> texts;
  absl::Status status =
      stmt->ForEachRow([&](const Statement& row) { texts.insert(row.ColumnText(0)); });
  if (!status.ok()) return status;
  return texts;
}

absl::StatusOr<int64_t> Count(Database& db, const std::string& sql, int64_t search_id) {
  absl::StatusOr<Statement> stmt = db.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Bind(1, search_id).Step();
  if (!row.ok()) return row.status();
  return *row ? stmt->ColumnInt64(0) : 0;
}

absl::Status Run(Database& db, const std::string& sql, int64_t search_id) {
  absl::StatusOr<Statement> stmt = db.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  return stmt->Bind(1, search_id).Run();
}

// NotFound for an unknown search; FailedPrecondition while it may still change.
absl::Status RequireFinished(Database& db, int64_t search_id) {
  absl::StatusOr<Statement> stmt = db.Prepare("SELECT state FROM searches WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Bind(1, search_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("search ", search_id, " not found"));
  const std::string state = stmt->ColumnText(0);
  if (state == "RUNNING" || state == "PAUSED") {
    return absl::FailedPreconditionError(
        absl::StrCat("search ", search_id, " is ", state == "RUNNING" ? "running" : "paused",
                     ": stop it first (`headevo stop ", search_id, "`), then delete it"));
  }
  return absl::OkStatus();
}

// Checkpoint rows of the search whose sha256 a candidate of another search names too (two
// searches that trained identical weights): they move to the oldest such candidate.
absl::Status HandOverSharedCheckpoints(Database& db, int64_t search_id) {
  absl::StatusOr<Statement> shared =
      db.Prepare(absl::StrCat("SELECT o.checkpoint_sha256, MIN(o.id) FROM candidates o "
                              "WHERE o.search_id <> ?1 AND o.checkpoint_sha256 IN "
                              "(SELECT k.sha256 FROM checkpoints k WHERE k.candidate_id IN ",
                              kSearchCandidates, ") GROUP BY o.checkpoint_sha256"));
  if (!shared.ok()) return shared.status();
  shared->Bind(1, search_id);
  std::vector<std::pair<std::string, int64_t>> moves;
  absl::Status status = shared->ForEachRow(
      [&](const Statement& row) { moves.emplace_back(row.ColumnText(0), row.ColumnInt64(1)); });
  if (!status.ok()) return status;
  for (const auto& [sha, candidate_id] : moves) {
    absl::StatusOr<Statement> move =
        db.Prepare("UPDATE checkpoints SET candidate_id = ?2 WHERE sha256 = ?1");
    if (!move.ok()) return move.status();
    if (absl::Status s = move->BindAll(sha, candidate_id).Run(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// OK when every foreign key of the file resolves; else FailedPrecondition naming the first
// rows that do not (rows outside the search that named one of its rows).
absl::Status CheckForeignKeys(Database& db, int64_t search_id) {
  absl::StatusOr<Statement> check = db.Prepare("PRAGMA foreign_key_check");
  if (!check.ok()) return check.status();
  std::vector<std::string> dangling;
  int64_t total = 0;
  absl::Status status = check->ForEachRow([&](const Statement& row) {
    if (++total <= 3) {
      dangling.push_back(
          absl::StrCat(row.ColumnText(0), " row ", row.ColumnInt64(1), " -> ", row.ColumnText(2)));
    }
  });
  if (!status.ok()) return status;
  if (total == 0) return absl::OkStatus();
  std::string rows;
  for (const std::string& d : dangling) absl::StrAppend(&rows, rows.empty() ? "" : "; ", d);
  return absl::FailedPreconditionError(absl::StrCat(
      "cannot delete search ", search_id, ": ", total,
      " row(s) outside it would name rows that go with it (", rows, "); nothing was deleted"));
}

}  // namespace

absl::StatusOr<DeletedSearch> DeleteSearchRows(Database& db, int64_t search_id) {
  if (absl::Status s = RequireFinished(db, search_id); !s.ok()) return s;
  DeletedSearch deleted;
  absl::StatusOr<std::set<std::string>> named = Texts(db, kSearchShas, search_id);
  if (!named.ok()) return named.status();
  // What other searches name of those, before their rows go.
  absl::StatusOr<std::set<std::string>> kept = Texts(
      db,
      absl::StrCat("SELECT checkpoint_sha256 FROM candidates WHERE search_id <> ?1 AND "
                   "checkpoint_sha256 IN (",
                   kSearchShas,
                   ") UNION SELECT parent_checkpoint_sha256 FROM jobs WHERE search_id <> ?1 AND "
                   "parent_checkpoint_sha256 IN (",
                   kSearchShas,
                   ") UNION SELECT k.sha256 FROM checkpoints k JOIN candidates c ON "
                   "c.id = k.candidate_id WHERE c.search_id <> ?1 AND k.sha256 IN (",
                   kSearchShas, ")"),
      search_id);
  if (!kept.ok()) return kept.status();
  std::set_difference(named->begin(), named->end(), kept->begin(), kept->end(),
                      std::back_inserter(deleted.dropped_checkpoints));

  absl::StatusOr<int64_t> candidates =
      Count(db, "SELECT COUNT(*) FROM candidates WHERE search_id = ?1", search_id);
  if (!candidates.ok()) return candidates.status();
  deleted.candidates = *candidates;
  absl::StatusOr<int64_t> references =
      Count(db, "SELECT COUNT(*) FROM reference_models WHERE search_id = ?1", search_id);
  if (!references.ok()) return references.status();
  deleted.reference_models = *references;

  if (absl::Status s = HandOverSharedCheckpoints(db, search_id); !s.ok()) return s;
  // Rows keyed by candidate first, then what they point at.
  for (const char* table :
       {"head_growth", "head_stats", "pruned_heads", "candidate_heads", "checkpoints",
        "rung_results"}) {
    const std::string sql =
        absl::StrCat("DELETE FROM ", table, " WHERE candidate_id IN ", kSearchCandidates);
    if (absl::Status s = Run(db, sql, search_id); !s.ok()) return s;
  }
  for (const char* sql :
       {"DELETE FROM jobs WHERE search_id = ?1", "DELETE FROM heads WHERE search_id = ?1",
        "DELETE FROM reference_models WHERE search_id = ?1",
        "DELETE FROM candidates WHERE search_id = ?1", "DELETE FROM events WHERE search_id = ?1",
        "DELETE FROM searches WHERE id = ?1"}) {
    if (absl::Status s = Run(db, sql, search_id); !s.ok()) return s;
  }
  if (absl::Status s = CheckForeignKeys(db, search_id); !s.ok()) return s;
  return deleted;
}

}  // namespace headevo::storage
