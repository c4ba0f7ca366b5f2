// Reads and writes of the job queue (jobs, workers, events) on one connection. Every function
// runs inside the caller's Transaction and opens none; on error the caller rolls back.
// The state machine of a job:
//
//   QUEUED --LeaseNextJob--> LEASED --CompleteLeasedJob--> DONE
//     ^                        |  \--FailLeasedJob(permanent, or attempts spent)--> FAILED
//     +--FailLeasedJob / ExpireLeasedJobs (attempts left)--+
//
// `attempt` rises by one at each lease and is the fencing token: a report or heartbeat naming
// any other attempt, or arriving when the job is no longer LEASED, is refused.
#ifndef HEADEVO_STORAGE_JOB_ROWS_H_
#define HEADEVO_STORAGE_JOB_ROWS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "storage/job_types.h"
#include "storage/sqlite_db.h"

namespace headevo::storage {

// What a job evaluates: a candidate or a reference model (exactly one id is not 0).
struct JobSubject {
  int64_t candidate_id = 0;
  int64_t reference_id = 0;
};

// InvalidArgument for max_attempts < 1. The candidate is not checked (the caller just wrote
// it).
absl::Status InsertJob(Database& db, int64_t candidate_id, int64_t search_id, const NewJob& job,
                       int64_t now_ms);
// InsertJob for a candidate or a reference model.
absl::Status InsertJobOf(Database& db, JobSubject subject, int64_t search_id, const NewJob& job,
                         int64_t now_ms);

// NotFound "job N not found".
absl::StatusOr<JobRecord> LoadJob(Database& db, int64_t job_id);
// NotFound "candidate N has no job".
absl::StatusOr<JobRecord> LoadJobOfCandidate(Database& db, int64_t candidate_id);
// The search's jobs by id (the search is not checked).
absl::StatusOr<std::vector<JobRecord>> LoadJobsOfSearch(Database& db, int64_t search_id);

// As Store::LeaseJob.
absl::StatusOr<std::optional<Lease>> LeaseNextJob(Database& db, const LeaseOptions& options);
// As Store::Heartbeat.
absl::Status RenewLease(Database& db, int64_t job_id, int attempt, int64_t worker_id,
                        int64_t now_ms, int64_t lease_ms);
// As Store::CompleteJob.
absl::StatusOr<ReportOutcome> CompleteLeasedJob(Database& db, int64_t job_id, int attempt,
                                                const headevo::v1::EvaluationResult& result,
                                                int64_t now_ms);
// As Store::FailJob.
absl::StatusOr<JobState> FailLeasedJob(Database& db, int64_t job_id, int attempt,
                                       const std::string& error, bool permanent, int64_t now_ms);
// As Store::ExpireLeases.
// Store::ReleaseJob's row changes.
absl::Status ReleaseLeasedJob(Database& db, int64_t job_id, int attempt, int64_t worker_id,
                              const std::string& reason, int64_t now_ms);
absl::StatusOr<std::vector<JobRecord>> ExpireLeasedJobs(Database& db, int64_t now_ms);

// Workers. InsertWorker: InvalidArgument for an empty device. LoadWorker: NotFound.
absl::StatusOr<int64_t> InsertWorker(Database& db, const WorkerRecord& worker, int64_t now_ms);
absl::StatusOr<WorkerRecord> LoadWorker(Database& db, int64_t worker_id);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_JOB_ROWS_H_
