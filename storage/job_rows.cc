#include "storage/job_rows.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/candidate_reader.h"
#include "storage/reference_rows.h"
#include "storage/report_digest.h"
#include "storage/result_writer.h"
#include "storage/row_codec.h"

namespace headevo::storage {
namespace {

constexpr char kJobColumns[] =
    "SELECT id, candidate_id, search_id, state, attempt, max_attempts, worker_id, "
    "lease_expires_ms, created_ms, finished_ms, last_error, reference_id, result_digest, rung "
    "FROM jobs ";

absl::StatusOr<JobState> JobStateFromText(absl::string_view text) {
  for (JobState state :
       {JobState::kQueued, JobState::kLeased, JobState::kDone, JobState::kFailed}) {
    if (text == JobStateName(state)) return state;
  }
  return absl::DataLossError(
      absl::StrCat("storage: jobs.state holds '", text, "', which is not a job state"));
}

absl::StatusOr<JobRecord> ReadJob(const Statement& stmt) {
  JobRecord job;
  job.id = stmt.ColumnInt64(0);
  job.candidate_id = stmt.ColumnInt64(1);
  job.search_id = stmt.ColumnInt64(2);
  absl::StatusOr<JobState> state = JobStateFromText(stmt.ColumnText(3));
  if (!state.ok()) return state.status();
  job.state = *state;
  job.attempt = stmt.ColumnInt(4);
  job.max_attempts = stmt.ColumnInt(5);
  job.worker_id = stmt.ColumnIdOrZero(6);
  job.lease_expires_ms = stmt.ColumnInt64(7);
  job.created_ms = stmt.ColumnInt64(8);
  job.finished_ms = stmt.ColumnInt64(9);
  job.last_error = stmt.ColumnText(10);
  job.reference_id = stmt.ColumnIdOrZero(11);
  job.result_digest = stmt.ColumnText(12);
  job.rung = stmt.ColumnInt(13);
  return job;
}

// Every row of `stmt` (a kJobColumns query) as jobs.
absl::StatusOr<std::vector<JobRecord>> ReadJobs(Statement& stmt) {
  std::vector<JobRecord> jobs;
  absl::Status status = stmt.ForEachRow([&](const Statement& row) -> absl::Status {
    absl::StatusOr<JobRecord> job = ReadJob(row);
    if (!job.ok()) return job.status();
    jobs.push_back(*std::move(job));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return jobs;
}

// The job `sql` (kJobColumns and a WHERE on ?1) finds for `key`; NotFound `not_found` if none.
absl::StatusOr<JobRecord> LoadOneJob(Database& db, const std::string& sql, int64_t key,
                                     const std::string& not_found) {
  absl::StatusOr<Statement> stmt = db.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Bind(1, key).Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(not_found);
  return ReadJob(*stmt);
}

absl::Status SetCandidateState(Database& db, int64_t candidate_id,
                               headevo::v1::CandidateState state) {
  absl::StatusOr<Statement> stmt =
      db.Prepare("UPDATE candidates SET state = ?2 WHERE id = ?1 AND state <> 'DONE'");
  if (!stmt.ok()) return stmt.status();
  return stmt->BindAll(candidate_id, ToText(state)).Run();
}

// The state of what the job evaluates: its candidate, or its reference model.
absl::Status SetSubjectState(Database& db, const JobRecord& job,
                             headevo::v1::CandidateState state) {
  if (job.reference_id != 0) return SetReferenceState(db, job.reference_id, state);
  return SetCandidateState(db, job.candidate_id, state);
}

// OK when (job, attempt) holds the current lease; FailedPrecondition saying why not otherwise.
absl::Status RequireLease(const JobRecord& job, int attempt) {
  if (job.state == JobState::kLeased && job.attempt == attempt) return absl::OkStatus();
  if (job.state == JobState::kLeased || job.state == JobState::kQueued) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job.id, " attempt ", attempt, " no longer holds a lease (the job is ",
                     JobStateName(job.state), " at attempt ", job.attempt, "); drop it"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("job ", job.id, " attempt ", attempt, " no longer holds a lease (the job is ",
                   JobStateName(job.state), " since attempt ", job.attempt, "); drop it"));
}

absl::Status TouchWorker(Database& db, int64_t worker_id, int64_t now_ms) {
  absl::StatusOr<Statement> stmt =
      db.Prepare("UPDATE workers SET last_seen_ms = MAX(last_seen_ms, ?2) WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  return stmt->BindAll(worker_id, now_ms).Run();
}

// Marks a job DONE: a reference model's or a promotion's (a candidate's first job ends in
// WriteResult, with its result).
absl::Status FinishJob(Database& db, int64_t job_id, int64_t now_ms) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      "UPDATE jobs SET state = 'DONE', finished_ms = ?2, lease_expires_ms = NULL, "
      "last_error = NULL WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  return stmt->BindAll(job_id, now_ms).Run();
}

// Puts a job back in the queue, or fails it when its attempts are spent or `permanent`.
absl::StatusOr<JobState> EndAttempt(Database& db, const JobRecord& job, const std::string& error,
                                    bool permanent, int64_t now_ms) {
  const bool give_up = permanent || job.attempt >= job.max_attempts;
  const JobState next = give_up ? JobState::kFailed : JobState::kQueued;
  absl::StatusOr<Statement> stmt = db.Prepare(
      "UPDATE jobs SET state = ?2, lease_expires_ms = NULL, last_error = ?3, "
      "finished_ms = CASE WHEN ?2 = 'FAILED' THEN ?4 END WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  absl::Status status = stmt->BindAll(job.id, std::string(JobStateName(next)), error, now_ms).Run();
  if (!status.ok()) return status;
  if (!give_up) {
    if (absl::Status s = SetSubjectState(db, job, headevo::v1::CANDIDATE_STATE_PENDING); !s.ok()) {
      return s;
    }
    return next;
  }
  // A failed promotion ends only the job: the candidate keeps the rungs it finished.
  if (job.rung > 0) return next;
  const std::string why =
      permanent ? error
                : absl::StrCat(error, " (attempt ", job.attempt, " of ", job.max_attempts, ")");
  if (job.reference_id != 0) {
    if (absl::Status s = FailReference(db, job.reference_id, why); !s.ok()) return s;
    return next;
  }
  absl::StatusOr<Statement> candidate =
      db.Prepare("UPDATE candidates SET state = 'FAILED', error = ?2 WHERE id = ?1");
  if (!candidate.ok()) return candidate.status();
  if (absl::Status s = candidate->BindAll(job.candidate_id, why).Run(); !s.ok()) return s;
  return next;
}

}  // namespace

absl::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "QUEUED";
    case JobState::kLeased:
      return "LEASED";
    case JobState::kDone:
      return "DONE";
    case JobState::kFailed:
      return "FAILED";
  }
  return "?";
}

absl::Status InsertJob(Database& db, int64_t candidate_id, int64_t search_id, const NewJob& job,
                       int64_t now_ms) {
  return InsertJobOf(db, JobSubject{candidate_id, 0}, search_id, job, now_ms);
}

absl::Status InsertJobOf(Database& db, JobSubject subject, int64_t search_id, const NewJob& job,
                         int64_t now_ms) {
  if (job.max_attempts < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("job max_attempts is ", job.max_attempts, ", must be >= 1"));
  }
  if (job.rung < 0 || (job.rung > 0) != !job.resume_checkpoint_sha256.empty() ||
      (job.rung > 0 && subject.candidate_id == 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "job at rung ", job.rung, " with resume checkpoint \"", job.resume_checkpoint_sha256,
        "\": a promotion (rung > 0) of a candidate continues from a checkpoint, a first "
        "training (rung 0) from none"));
  }
  absl::StatusOr<Statement> stmt = db.Prepare(
      "INSERT INTO jobs(candidate_id, search_id, state, training, parent_checkpoint_sha256, "
      "max_attempts, created_ms, reference_id, rung, resume_checkpoint_sha256) "
      "VALUES (?1, ?2, 'QUEUED', ?3, NULLIF(?4, ''), ?5, ?6, ?7, ?8, NULLIF(?9, ''))");
  if (!stmt.ok()) return stmt.status();
  stmt->BindIdOrNull(1, subject.candidate_id)
      .Bind(2, search_id)
      .BindBlob(3, job.training.SerializeAsString());
  return stmt->Bind(4, job.parent_checkpoint_sha256)
      .Bind(5, job.max_attempts)
      .Bind(6, now_ms)
      .BindIdOrNull(7, subject.reference_id)
      .Bind(8, job.rung)
      .Bind(9, job.resume_checkpoint_sha256)
      .Run();
}

absl::StatusOr<JobRecord> LoadJob(Database& db, int64_t job_id) {
  static const std::string sql = absl::StrCat(kJobColumns, "WHERE id = ?1");
  return LoadOneJob(db, sql, job_id, absl::StrCat("job ", job_id, " not found"));
}

absl::StatusOr<JobRecord> LoadJobOfCandidate(Database& db, int64_t candidate_id) {
  static const std::string sql =
      absl::StrCat(kJobColumns, "WHERE candidate_id = ?1 ORDER BY rung DESC LIMIT 1");
  return LoadOneJob(db, sql, candidate_id, absl::StrCat("candidate ", candidate_id, " has no job"));
}

absl::StatusOr<std::vector<JobRecord>> LoadJobsOfSearch(Database& db, int64_t search_id) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      absl::StrCat(kJobColumns,
"WHERE search_id = ?1 ORDER BY id"));
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, search_id);
  return ReadJobs(*stmt);
}

absl::StatusOr<std::optional<Lease>> LeaseNextJob(Database& db, const LeaseOptions& options) {
  if (options.lease_ms <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("lease_ms is ", options.lease_ms, ", must be positive"));
  }
  if (absl::Status s = LoadWorker(db, options.worker_id).status(); !s.ok()) return s;
  Lease lease;
  {
    // The partial index jobs_queued holds only waiting jobs, so this stays cheap however many
    // finished jobs the file holds. The cursor is closed before the job is updated.
    absl::StatusOr<Statement> pick = db.Prepare(
        "SELECT j.id, j.training, j.parent_checkpoint_sha256, j.resume_checkpoint_sha256 "
        "FROM jobs j "
        "JOIN searches s ON s.id = j.search_id "
        "WHERE j.state = 'QUEUED' AND s.state = 'RUNNING' AND (?1 = 0 OR j.search_id = ?1) "
        "ORDER BY j.id LIMIT 1");
    if (!pick.ok()) return pick.status();
    absl::StatusOr<bool> row = pick->Bind(1, options.search_id).Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<Lease>();
    lease.job_id = pick->ColumnInt64(0);
    if (!lease.request.mutable_training()->ParseFromString(pick->ColumnBlob(1))) {
      return absl::DataLossError(
          absl::StrCat("storage: job ", lease.job_id, " has a training spec that does not parse"));
    }
    lease.request.set_parent_checkpoint_sha256(pick->ColumnText(2));
    lease.request.set_resume_checkpoint_sha256(pick->ColumnText(3));
  }
  const int64_t job_id = lease.job_id;
  lease.lease_expires_ms = options.now_ms + options.lease_ms;

  absl::StatusOr<Statement> take = db.Prepare(
      "UPDATE jobs SET state = 'LEASED', attempt = attempt + 1, worker_id = ?2, "
      "lease_expires_ms = ?3 WHERE id = ?1 RETURNING attempt, candidate_id, reference_id");
  if (!take.ok()) return take.status();
  absl::StatusOr<bool> row =
      take->BindAll(job_id, options.worker_id, lease.lease_expires_ms).Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(absl::StrCat("storage: job ", job_id, " vanished"));
  lease.attempt = take->ColumnInt(0);
  JobRecord subject;
  subject.candidate_id = take->ColumnIdOrZero(1);
  subject.reference_id = take->ColumnIdOrZero(2);
  if (absl::Status s = take->Run(); !s.ok()) return s;

  if (subject.reference_id != 0) {
    absl::StatusOr<headevo::v1::Genome> genome = LoadReferenceGenome(db, subject.reference_id);
    if (!genome.ok()) return genome.status();
    lease.request.set_reference_id(subject.reference_id);
    *lease.request.mutable_genome() = *std::move(genome);
  } else {
    absl::StatusOr<headevo::v1::Candidate> candidate = LoadCandidate(db, subject.candidate_id);
    if (!candidate.ok()) return candidate.status();
    lease.request.set_candidate_id(subject.candidate_id);
    *lease.request.mutable_genome() = candidate->genome();
  }
  if (absl::Status s = SetSubjectState(db, subject, headevo::v1::CANDIDATE_STATE_RUNNING);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = TouchWorker(db, options.worker_id, options.now_ms); !s.ok()) return s;
  return std::optional<Lease>(std::move(lease));
}

absl::Status RenewLease(Database& db, int64_t job_id, int attempt, int64_t worker_id,
                        int64_t now_ms, int64_t lease_ms) {
  if (lease_ms <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("lease_ms is ", lease_ms, ", must be positive"));
  }
  absl::StatusOr<JobRecord> job = LoadJob(db, job_id);
  if (!job.ok()) return job.status();
  if (absl::Status s = RequireLease(*job, attempt); !s.ok()) return s;
  if (job->worker_id != worker_id) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " attempt ", attempt,
                                                      " is leased to worker ", job->worker_id,
                                                      ", not worker ", worker_id));
  }
  absl::StatusOr<Statement> stmt =
      db.Prepare("UPDATE jobs SET lease_expires_ms = ?2 WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = stmt->BindAll(job_id, now_ms + lease_ms).Run(); !s.ok()) return s;
  return TouchWorker(db, worker_id, now_ms);
}

absl::StatusOr<ReportOutcome> CompleteLeasedJob(Database& db, int64_t job_id, int attempt,
                                                const headevo::v1::EvaluationResult& result,
                                                int64_t now_ms) {
  absl::StatusOr<JobRecord> job = LoadJob(db, job_id);
  if (!job.ok()) return job.status();
  if (result.candidate_id() != 0 && result.candidate_id() != job->candidate_id) {
    return absl::InvalidArgumentError(
        job->reference_id != 0
            ? absl::StrCat("job ", job_id, " trains reference model ", job->reference_id,
                           ", the result is for candidate ", result.candidate_id())
            : absl::StrCat("job ", job_id, " evaluates candidate ", job->candidate_id,
                           ", the result is for ", result.candidate_id()));
  }
  const std::string digest = ReportDigest(result);
  if (job->state == JobState::kDone && job->attempt == attempt) {
    // The same report again (its reply was lost) changes nothing and is told so; another
    // result for the same lease is not the one recorded, and must not be told it was kept.
    if (job->result_digest.empty() || job->result_digest == digest) {
      return ReportOutcome::kAlreadyRecorded;
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", job_id, " attempt ", attempt,
        " was already recorded with a different result; this report changes nothing"));
  }
  if (absl::Status s = RequireLease(*job, attempt); !s.ok()) return s;
  if (job->reference_id != 0) {
    if (absl::Status s = WriteReferenceResult(db, job->reference_id, result.metrics()); !s.ok()) {
      return s;
    }
    if (absl::Status s = FinishJob(db, job_id, now_ms); !s.ok()) return s;
  } else {
    headevo::v1::EvaluationResult stamped = result;
    stamped.set_candidate_id(job->candidate_id);
    if (job->rung > 0) {
      if (absl::Status s = WritePromotionResult(db, stamped, job->rung, now_ms); !s.ok()) return s;
      if (absl::Status s = FinishJob(db, job_id, now_ms); !s.ok()) return s;
    } else if (absl::Status s = WriteResult(db, stamped, now_ms); !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<Statement> keep = db.Prepare("UPDATE jobs SET result_digest = ?2 WHERE id = ?1");
  if (!keep.ok()) return keep.status();
  if (absl::Status s = keep->BindAll(job_id, digest).Run(); !s.ok()) return s;
  if (job->worker_id != 0) {
    if (absl::Status s = TouchWorker(db, job->worker_id, now_ms); !s.ok()) return s;
  }
  return ReportOutcome::kRecorded;
}

absl::StatusOr<JobState> FailLeasedJob(Database& db, int64_t job_id, int attempt,
                                       const std::string& error, bool permanent, int64_t now_ms) {
  absl::StatusOr<JobRecord> job = LoadJob(db, job_id);
  if (!job.ok()) return job.status();
  // A repeated report of this attempt's failure finds the job where that report left it.
  const bool repeat = job->attempt == attempt && job->last_error == error &&
                      (job->state == JobState::kQueued || job->state == JobState::kFailed);
  if (repeat) return job->state;
  if (absl::Status s = RequireLease(*job, attempt); !s.ok()) return s;
  return EndAttempt(db, *job, error, permanent, now_ms);
}

absl::Status ReleaseLeasedJob(Database& db, int64_t job_id, int attempt, int64_t worker_id,
                              const std::string& reason, int64_t now_ms) {
  absl::StatusOr<JobRecord> job = LoadJob(db, job_id);
  if (!job.ok()) return job.status();
  const std::string error = absl::StrCat("handed back by worker ", worker_id, ": ", reason);
  if (job->state == JobState::kQueued && job->attempt == attempt && job->last_error == error) {
    return absl::OkStatus();  // a retry of a release that was applied
  }
  if (absl::Status s = RequireLease(*job, attempt); !s.ok()) return s;
  if (job->worker_id != worker_id) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " attempt ", attempt,
                                                      " is leased to worker ", job->worker_id,
                                                      ", not worker ", worker_id));
  }
  // The attempt it held is given back by raising the limit: the attempt number itself must
  // keep growing, since it is the fencing token of the next lease.
  absl::StatusOr<Statement> stmt = db.Prepare(
      "UPDATE jobs SET state = 'QUEUED', lease_expires_ms = NULL, last_error = ?2, "
      "max_attempts = max_attempts + 1 WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  if (absl::Status s = stmt->BindAll(job_id, error).Run(); !s.ok()) return s;
  if (absl::Status s = SetSubjectState(db, *job, headevo::v1::CANDIDATE_STATE_PENDING); !s.ok()) {
    return s;
  }
  return TouchWorker(db, worker_id, now_ms);
}

absl::StatusOr<std::vector<JobRecord>> ExpireLeasedJobs(Database& db, int64_t now_ms) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      absl::StrCat(kJobColumns, "WHERE state = 'LEASED' AND lease_expires_ms < ?1 ORDER BY id"));
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, now_ms);
  absl::StatusOr<std::vector<JobRecord>> expired = ReadJobs(*stmt);
  if (!expired.ok()) return expired.status();
  for (JobRecord& job : *expired) {
    const std::string error =
        absl::StrCat("lease expired: worker ", job.worker_id, " sent no heartbeat");
    absl::StatusOr<JobState> state = EndAttempt(db, job, error, /*permanent=*/false, now_ms);
    if (!state.ok()) return state.status();
    absl::StatusOr<JobRecord> updated = LoadJob(db, job.id);
    if (!updated.ok()) return updated.status();
    job = *std::move(updated);
  }
  return expired;
}

absl::StatusOr<int64_t> InsertWorker(Database& db, const WorkerRecord& worker, int64_t now_ms) {
  if (worker.device.empty()) return absl::InvalidArgumentError("worker device is empty");
  absl::StatusOr<Statement> stmt = db.Prepare(
      "INSERT INTO workers(name, device, memory_bytes, registered_ms, last_seen_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?4)");
  if (!stmt.ok()) return stmt.status();
  absl::Status status =
      stmt->BindAll(worker.name, worker.device, worker.memory_bytes, now_ms).Run();
  if (!status.ok()) return status;
  return db.LastInsertRowId();
}

absl::StatusOr<WorkerRecord> LoadWorker(Database& db, int64_t worker_id) {
  absl::StatusOr<Statement> stmt = db.Prepare(
      "SELECT name, device, memory_bytes, registered_ms, last_seen_ms FROM workers WHERE id = ?1");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Bind(1, worker_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("worker ", worker_id, " not found"));
  WorkerRecord worker;
  worker.id = worker_id;
  worker.name = stmt->ColumnText(0);
  worker.device = stmt->ColumnText(1);
  worker.memory_bytes = stmt->ColumnInt64(2);
  worker.registered_ms = stmt->ColumnInt64(3);
  worker.last_seen_ms = stmt->ColumnInt64(4);
  return worker;
}

}  // namespace headevo::storage
