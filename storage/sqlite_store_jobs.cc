// SqliteStore: jobs, workers, checkpoints and events. Each method is one transaction around
// the row functions of job_rows.h.
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/candidate_reader.h"
#include "storage/job_rows.h"
#include "storage/reference_rows.h"
#include "storage/sqlite_store.h"

namespace headevo::storage {

absl::StatusOr<std::vector<headevo::v1::Candidate>> SqliteStore::InsertCandidatesWithJobs(
    const std::vector<headevo::v1::Candidate>& candidates, const std::vector<NewJob>& jobs,
    int64_t now_ms, const headevo::v1::StrategyState* strategy_state) {
  return WriteCandidates(candidates, &jobs, now_ms, strategy_state);
}

absl::StatusOr<std::vector<headevo::v1::Reference>> SqliteStore::InsertReferencesWithJobs(
    int64_t search_id, const std::vector<NewReference>& references, int64_t now_ms) {
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = RequireSearch(*db_, search_id); !s.ok()) return s;
  std::vector<int64_t> ids;
  for (const NewReference& reference : references) {
    if (!reference.job.parent_checkpoint_sha256.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "reference model '", reference.description, "' starts from no checkpoint"));
    }
    absl::StatusOr<int64_t> id = InsertReference(*db_, search_id, reference);
    if (!id.ok()) return id.status();
    if (absl::Status s = InsertJobOf(*db_, JobSubject{0, *id}, search_id, reference.job, now_ms);
        !s.ok()) {
      return s;
    }
    ids.push_back(*id);
  }
  std::vector<headevo::v1::Reference> stored;
  for (int64_t id : ids) {
    absl::StatusOr<headevo::v1::Reference> reference = LoadReference(*db_, id);
    if (!reference.ok()) return reference.status();
    stored.push_back(*std::move(reference));
  }
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return stored;
}

absl::StatusOr<std::vector<headevo::v1::Reference>> SqliteStore::ListReferences(
    int64_t search_id) {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = RequireSearch(*db_, search_id); !s.ok()) return s;
  return LoadReferencesOfSearch(*db_, search_id);
}

absl::StatusOr<int64_t> SqliteStore::RegisterWorker(const WorkerRecord& worker, int64_t now_ms) {
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  absl::StatusOr<int64_t> id = InsertWorker(*db_, worker, now_ms);
  if (!id.ok()) return id.status();
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return id;
}

absl::StatusOr<WorkerRecord> SqliteStore::GetWorker(int64_t worker_id) {
  return LoadWorker(*db_, worker_id);
}

absl::StatusOr<std::optional<Lease>> SqliteStore::LeaseJob(const LeaseOptions& options) {
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  absl::StatusOr<std::optional<Lease>> lease = LeaseNextJob(*db_, options);
  if (!lease.ok()) return lease.status();
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return lease;
}

absl::Status SqliteStore::Heartbeat(int64_t job_id, int attempt, int64_t worker_id, int64_t now_ms,
                                    int64_t lease_ms) {
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = RenewLease(*db_, job_id, attempt, worker_id, now_ms, lease_ms); !s.ok()) {
    return s;
  }
  return txn->Commit();
}

absl::StatusOr<ReportOutcome> SqliteStore::CompleteJob(int64_t job_id, int attempt,
                                                       const headevo::v1::EvaluationResult& result,
                                                       int64_t now_ms) {
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  absl::StatusOr<ReportOutcome> outcome = CompleteLeasedJob(*db_, job_id, attempt, result, now_ms);
  if (!outcome.ok()) return outcome.status();
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return outcome;
}

absl::StatusOr<JobState> SqliteStore::FailJob(int64_t job_id, int attempt, const std::string& error,
                                              bool permanent, int64_t now_ms) {
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  absl::StatusOr<JobState> state = FailLeasedJob(*db_, job_id, attempt, error, permanent, now_ms);
  if (!state.ok()) return state.status();
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return state;
}

absl::StatusOr<std::vector<JobRecord>> SqliteStore::ExpireLeases(int64_t now_ms) {
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  absl::StatusOr<std::vector<JobRecord>> expired = ExpireLeasedJobs(*db_, now_ms);
  if (!expired.ok()) return expired.status();
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return expired;
}

absl::Status SqliteStore::ReleaseJob(int64_t job_id, int attempt, int64_t worker_id,
                                     const std::string& reason, int64_t now_ms) {
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = ReleaseLeasedJob(*db_, job_id, attempt, worker_id, reason, now_ms);
      !s.ok()) {
    return s;
  }
  return txn->Commit();
}

absl::StatusOr<std::vector<std::string>> SqliteStore::OpenJobParentCheckpoints() {
  absl::StatusOr<Statement> stmt = db_->Prepare(
      "SELECT parent_checkpoint_sha256 FROM jobs "
      "WHERE state IN ('QUEUED', 'LEASED') AND parent_checkpoint_sha256 IS NOT NULL "
      "UNION SELECT resume_checkpoint_sha256 FROM jobs "
      "WHERE state IN ('QUEUED', 'LEASED') AND resume_checkpoint_sha256 IS NOT NULL");
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> shas;
  absl::Status status =
      stmt->ForEachRow([&](const Statement& row) { shas.push_back(row.ColumnText(0)); });
  if (!status.ok()) return status;
  return shas;
}

absl::StatusOr<int64_t> SqliteStore::QueuePromotion(int64_t candidate_id, const NewJob& job,
                                                    int64_t now_ms) {
  if (job.rung < 1 || job.resume_checkpoint_sha256.empty() ||
      !job.parent_checkpoint_sha256.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "promotion of candidate ", candidate_id, " to rung ", job.rung,
        ": a promotion goes to rung >= 1 and continues from a resume checkpoint, with no parent "
        "checkpoint"));
  }
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  absl::StatusOr<Statement> stmt = db_->Prepare(
      "SELECT search_id, state, rung, "
      "EXISTS (SELECT 1 FROM jobs WHERE candidate_id = ?1 AND rung = ?2) "
      "FROM candidates WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->BindAll(candidate_id, job.rung).Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("candidate ", candidate_id, " not found"));
  const int64_t search_id = stmt->ColumnInt64(0);
  if (stmt->ColumnText(1) != "DONE" || stmt->ColumnInt(2) != job.rung - 1 ||
      stmt->ColumnInt(3) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "candidate ", candidate_id, " is ", stmt->ColumnText(1), " at rung ", stmt->ColumnInt(2),
        stmt->ColumnInt(3) != 0 ? absl::StrCat(" and already has a rung-", job.rung, " job") : "",
        "; a promotion to rung ", job.rung, " needs it DONE at rung ", job.rung - 1,
        " with no job there yet"));
  }
  if (absl::Status s = InsertJobOf(*db_, JobSubject{candidate_id, 0}, search_id, job, now_ms);
      !s.ok()) {
    return s;
  }
  const int64_t job_id = db_->LastInsertRowId();
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return job_id;
}

absl::StatusOr<JobRecord> SqliteStore::GetJob(int64_t job_id) { return LoadJob(*db_, job_id); }

absl::StatusOr<JobRecord> SqliteStore::GetJobOfCandidate(int64_t candidate_id) {
  return LoadJobOfCandidate(*db_, candidate_id);
}

absl::StatusOr<std::vector<JobRecord>> SqliteStore::ListJobs(int64_t search_id) {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = RequireSearch(*db_, search_id); !s.ok()) return s;
  return LoadJobsOfSearch(*db_, search_id);
}

absl::StatusOr<std::vector<CheckpointRecord>> SqliteStore::ListCheckpoints(int64_t search_id) {
  absl::StatusOr<Transaction> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  if (absl::Status s = RequireSearch(*db_, search_id); !s.ok()) return s;
  absl::StatusOr<Statement> stmt = db_->Prepare(
      "SELECT k.sha256, k.candidate_id, k.created_ms FROM checkpoints k "
      "JOIN candidates c ON c.id = k.candidate_id WHERE c.search_id = ?1 "
      "ORDER BY k.candidate_id, k.sha256");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, search_id);
  std::vector<CheckpointRecord> checkpoints;
  absl::Status status = stmt->ForEachRow([&](const Statement& row) {
    checkpoints.push_back({row.ColumnText(0), row.ColumnInt64(1), row.ColumnInt64(2)});
  });
  if (!status.ok()) return status;
  return checkpoints;
}

absl::StatusOr<int64_t> SqliteStore::AppendEvent(const EventRecord& event) {
  if (event.kind.empty()) return absl::InvalidArgumentError("event kind is empty");
  absl::StatusOr<Transaction> txn = BeginWrite();
  if (!txn.ok()) return txn.status();
  if (event.search_id != 0) {
    if (absl::Status s = RequireSearch(*db_, event.search_id); !s.ok()) return s;
  }
  absl::StatusOr<Statement> stmt =
      db_->Prepare("INSERT INTO events(search_id, time_ms, kind, message) VALUES (?1, ?2, ?3, ?4)");
  if (!stmt.ok()) return stmt.status();
  stmt->BindIdOrNull(1, event.search_id);
  if (absl::Status s =
          stmt->Bind(2, event.time_ms).Bind(3, event.kind).Bind(4, event.message).Run();
      !s.ok()) {
    return s;
  }
  const int64_t id = db_->LastInsertRowId();
  if (absl::Status s = txn->Commit(); !s.ok()) return s;
  return id;
}

absl::StatusOr<std::vector<EventRecord>> SqliteStore::ListEvents(int64_t search_id,
                                                                 int64_t after_id, int limit) {
  if (limit <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("event limit is ", limit, ", must be positive"));
  }
  // `search_id IS ?1` matches NULL for 0 as well as a real id.
  absl::StatusOr<Statement> stmt = db_->Prepare(
      "SELECT id, time_ms, kind, message FROM events "
      "WHERE search_id IS NULLIF(?1, 0) AND id > ?2 ORDER BY id LIMIT ?3");
  if (!stmt.ok()) return stmt.status();
  stmt->BindAll(search_id, after_id, limit);
  std::vector<EventRecord> events;
  absl::Status status = stmt->ForEachRow([&](const Statement& row) {
    events.push_back({row.ColumnInt64(0), search_id, row.ColumnInt64(1), row.ColumnText(2),
                      row.ColumnText(3)});
  });
  if (!status.ok()) return status;
  return events;
}

}  // namespace headevo::storage
