#include "storage/sqlite_store.h"

#include <sqlite3.h>

#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "storage/candidate_reader.h"
#include "storage/candidate_writer.h"
#include "storage/job_rows.h"
#include "storage/local_filesystem.h"
#include "storage/result_writer.h"
#include "storage/row_codec.h"
#include "storage/schema.h"

namespace headevo::storage {
namespace {

using headevo::v1::Candidate;

constexpr char kMemoryPath[] = ":memory:";
// 64 MiB of page cache (SQLite's default is 2 MiB): a generation's inserts touch index pages
// all over a large file, and lineage queries walk many. Allocated only as pages are used.
constexpr char kCacheSize[] = "PRAGMA cache_size = -65536";

// The same error with `context` in front of its message.
absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

absl::Status CheckState(headevo::v1::SearchState state) {
  if (state != headevo::v1::SEARCH_STATE_UNSPECIFIED && headevo::v1::SearchState_IsValid(state)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("search state ", static_cast<int>(state), " is not a valid state"));
}

// WAL, FULL (or NORMAL) sync and foreign keys for a connection that may write.
absl::Status ConfigureWritable(Database& db, StoreOptions::Durability durability) {
  absl::StatusOr<std::string> mode = db.QueryText("PRAGMA journal_mode = WAL");
  if (!mode.ok()) return mode.status();
  const std::string expected = db.path() == kMemoryPath ? "memory" : "wal";
  if (*mode != expected) {
    return absl::FailedPreconditionError(
        absl::StrCat("could not put database ", db.path(), " in WAL mode (journal_mode is ", *mode,
                     "); WAL needs a local filesystem with shared-memory support"));
  }
  // kGroup: no fsync per commit; GroupSync makes commits durable before anyone is told.
  const char* synchronous = durability == StoreOptions::Durability::kFull
                                ? "PRAGMA synchronous = FULL"
                                : "PRAGMA synchronous = NORMAL";
  if (absl::Status s = db.Exec(synchronous, "setting synchronous"); !s.ok()) {
    return s;
  }
  if (absl::Status s = db.Exec(kCacheSize, "sizing the page cache"); !s.ok()) return s;
  return db.Exec("PRAGMA foreign_keys = ON", "enabling foreign keys");
}

// A read-only connection cannot migrate, so it needs the file at exactly this code's version.
absl::Status CheckReadableAsIs(const Database& db, int version) {
  if (version == LatestSchemaVersion()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("database ", db.path(), " has schema version ", version, ", this headevo needs ",
                   LatestSchemaVersion(), "; open it once without read_only to upgrade it"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                               const StoreOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  if (path.empty()) return absl::InvalidArgumentError("storage: database path is empty");
  std::error_code ec;
  if (options.read_only && path != kMemoryPath && !std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat("database ", path, " does not exist"));
  }
  std::unique_ptr<WriterLock> lock;
  if (!options.read_only && path != kMemoryPath) {
    if (absl::Status s = RequireLocalFilesystem(path); !s.ok()) return s;
    absl::StatusOr<std::unique_ptr<WriterLock>> acquired = WriterLock::Acquire(path);
    if (!acquired.ok()) return acquired.status();
    lock = *std::move(acquired);
  }
  const int flags =
      options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  absl::StatusOr<std::unique_ptr<Database>> db =
      Database::Open(path, flags, options.busy_timeout_ms);
  if (!db.ok()) return db.status();
  // Check the version before anything writes to the file: a newer file stays untouched.
  absl::StatusOr<int> version = ReadSchemaVersion(**db);
  if (!version.ok()) return version.status();
  if (absl::Status s = CheckNotNewer(**db, *version); !s.ok()) return s;
  if (options.read_only) {
    if (absl::Status s = CheckReadableAsIs(**db, *version); !s.ok()) return s;
    if (absl::Status s = (*db)->Exec(kCacheSize, "sizing the page cache"); !s.ok()) return s;
    if (absl::Status s = (*db)->Exec("PRAGMA foreign_keys = ON", "enabling foreign keys");
        !s.ok()) {
      return s;
    }
  } else {
    if (absl::Status s = ConfigureWritable(**db, options.durability); !s.ok()) return s;
    if (*version < LatestSchemaVersion()) {
      if (absl::Status s = Migrate(**db); !s.ok()) return s;
    }
  }
  std::unique_ptr<GroupSync> group_sync;
  if (options.durability == StoreOptions::Durability::kGroup && !options.read_only &&
      path != kMemoryPath) {
    group_sync = std::make_unique<GroupSync>(path + "-wal");
  }
  return std::unique_ptr<SqliteStore>(
      new SqliteStore(std::move(lock), *std::move(db), options, std::move(group_sync)));
}

uint64_t SqliteStore::CommitTicket() {
  if (group_sync_ == nullptr) return 0;
  // Rows changed since the last ticket mean frames appended to the WAL (schema changes happen
  // only in Open, before any ticket; the first sync covers them).
  const int64_t changes = db_->TotalChanges();
  const bool changed = changes != changes_at_last_ticket_;
  changes_at_last_ticket_ = changes;
  return group_sync_->Mark(changed);
}

absl::Status SqliteStore::WaitDurable(uint64_t ticket) {
  if (group_sync_ == nullptr) return absl::OkStatus();
  return group_sync_->WaitDurable(ticket);
}

absl::StatusOr<Transaction> SqliteStore::BeginWrite() {
  if (options_.read_only) {
    return absl::FailedPreconditionError(absl::StrCat("store ", db_->path(), " is open read-only"));
  }
  return Transaction::Begin(*db_, Transaction::Mode::kWrite);
}

absl::StatusOr<Transaction> SqliteStore::BeginRead() {
  return Transaction::Begin(*db_, Transaction::Mode::kRead);
}

absl::StatusOr<int64_t> SqliteStore::CreateSearch(const SearchRecord& search) {
  if (absl::Status s = CheckState(search.state); !s.ok()) return s;
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  absl::StatusOr<Statement> stmt =
      db_->Prepare("INSERT INTO searches(name, config_toml, seed, state, created_ms) "
                   "VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!stmt.ok()) return stmt.status();
  absl::Status status = stmt->BindAll(search.name, search.config_toml,
                                      static_cast<int64_t>(search.seed), ToText(search.state),
                                      search.created_ms)
                            .Run();
  if (!status.ok()) return status;
  const int64_t id = db_->LastInsertRowId();
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return id;
}

absl::StatusOr<SearchRecord> SqliteStore::GetSearch(int64_t search_id) {
  absl::StatusOr<Statement> stmt =
      db_->Prepare("SELECT name, config_toml, seed, state, created_ms FROM searches WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Bind(1, search_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("search ", search_id, " not found"));
  SearchRecord search;
  search.id = search_id;
  search.name = stmt->ColumnText(0);
  search.config_toml = stmt->ColumnText(1);
  search.seed = static_cast<uint64_t>(stmt->ColumnInt64(2));
  absl::StatusOr<headevo::v1::SearchState> state =
      SearchStateFromText(stmt->ColumnText(3), "searches.state");
  if (!state.ok()) return state.status();
  search.state = *state;
  search.created_ms = stmt->ColumnInt64(4);
  return search;
}

absl::Status SqliteStore::SetSearchState(int64_t search_id, headevo::v1::SearchState state) {
  if (absl::Status s = CheckState(state); !s.ok()) return s;
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = RequireSearch(*db_, search_id); !s.ok()) return s;
  absl::StatusOr<Statement> stmt = db_->Prepare("UPDATE searches SET state = ?2 WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = stmt->BindAll(search_id, ToText(state)).Run(); !s.ok()) return s;
  return txn->Commit();
}

absl::StatusOr<std::vector<Candidate>> SqliteStore::InsertCandidates(
    const std::vector<Candidate>& candidates) {
  return WriteCandidates(candidates, nullptr, 0, nullptr);
}

absl::StatusOr<std::vector<Candidate>> SqliteStore::WriteCandidates(
    const std::vector<Candidate>& candidates, const std::vector<NewJob>* jobs, int64_t now_ms,
    const headevo::v1::StrategyState* strategy_state) {
  if (jobs != nullptr && jobs->size() != candidates.size()) {
    return absl::InvalidArgumentError(absl::StrCat(candidates.size(), " candidates but ",
                                                   jobs->size(), " jobs; give one job each"));
  }
  // InsertCandidate checks every reference it writes (candidate_writer.h); SQLite's foreign
  // key enforcement would look each one up again, about 27 B-tree searches per child (a tenth
  // of the insert time). Switched off around this transaction only, before BEGIN, and only
  // for a large batch: switching makes SQLite re-prepare every statement of the connection
  // (about 80 us in all, as much as the lookups of a dozen children).
  std::optional<ForeignKeysOff> foreign_keys_off;
  if (candidates.size() >= kBatchWithoutForeignKeys) {
    foreign_keys_off.emplace(*db_);
    if (!foreign_keys_off->status().ok()) return foreign_keys_off->status();
  }
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  LineageCache cache;
  std::vector<Candidate> written;
  written.reserve(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    absl::StatusOr<Candidate> candidate = InsertCandidate(*db_, candidates[i], cache);
    if (!candidate.ok()) {
      return Annotate(candidate.status(), absl::StrCat("candidates[", i, "]"));
    }
    if (jobs != nullptr) {
      absl::Status s = InsertJob(*db_, candidate->id(), candidate->search_id(), (*jobs)[i], now_ms);
      if (!s.ok()) return Annotate(s, absl::StrCat("jobs[", i, "]"));
    }
    written.push_back(*std::move(candidate));
  }
  if (strategy_state != nullptr && !candidates.empty()) {
    if (absl::Status s = WriteStrategyState(candidates.front().search_id(), *strategy_state);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return written;
}

absl::Status SqliteStore::RecordResult(const headevo::v1::EvaluationResult& result) {
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = WriteResult(*db_, result, std::nullopt); !s.ok()) return s;
  return txn->Commit();
}

absl::Status SqliteStore::RecordFailure(int64_t candidate_id, const std::string& error) {
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = WriteFailure(*db_, candidate_id, error, std::nullopt); !s.ok()) return s;
  return txn->Commit();
}

absl::StatusOr<Candidate> SqliteStore::GetCandidate(int64_t candidate_id) {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  return LoadCandidate(*db_, candidate_id);
}

absl::StatusOr<std::vector<Candidate>> SqliteStore::LoadCandidates(
    const std::vector<int64_t>& ids) {
  std::vector<Candidate> candidates;
  candidates.reserve(ids.size());
  for (int64_t id : ids) {
    absl::StatusOr<Candidate> candidate = LoadCandidate(*db_, id);
    if (!candidate.ok()) return candidate.status();
    candidates.push_back(*std::move(candidate));
  }
  return candidates;
}

absl::StatusOr<std::vector<Candidate>> SqliteStore::ListCandidates(int64_t search_id) {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = RequireSearch(*db_, search_id); !s.ok()) return s;
  absl::StatusOr<std::vector<int64_t>> ids = CandidateIdsOfSearch(*db_, search_id);
  if (!ids.ok()) return ids.status();
  return LoadCandidates(*ids);
}

absl::StatusOr<std::vector<CandidateHeadRow>> SqliteStore::ListCandidateHeads(int64_t search_id) {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = RequireSearch(*db_, search_id); !s.ok()) return s;
  absl::StatusOr<Statement> stmt = db_->Prepare(
      "SELECT ch.candidate_id, ch.head_id, ch.slot, ch.origin "
      "FROM candidate_heads ch JOIN candidates c ON c.id = ch.candidate_id "
      "WHERE c.search_id = ?1 ORDER BY ch.candidate_id, ch.slot");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, search_id);
  std::vector<CandidateHeadRow> rows;
  absl::Status status = stmt->ForEachRow([&](const Statement& row) -> absl::Status {
    absl::StatusOr<headevo::v1::HeadOrigin> origin =
        HeadOriginFromText(row.ColumnText(3), "candidate_heads.origin");
    if (!origin.ok()) return origin.status();
    rows.push_back({row.ColumnInt64(0), row.ColumnInt64(1), row.ColumnInt(2), *origin});
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return rows;
}

absl::StatusOr<headevo::v1::Head> SqliteStore::GetHead(int64_t head_id) {
  absl::StatusOr<StoredHead> stored = LoadHead(*db_, head_id);
  if (!stored.ok()) return stored.status();
  return std::move(stored->head);
}

absl::StatusOr<std::vector<Candidate>> SqliteStore::Ancestors(int64_t candidate_id) {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  absl::StatusOr<std::vector<int64_t>> ids = AncestorIds(*db_, candidate_id);
  if (!ids.ok()) return ids.status();
  return LoadCandidates(*ids);
}

}  // namespace headevo::storage
