// Plain records of the job queue: jobs (one evaluation of one candidate, leased to a worker),
// workers, checkpoints and events, as the Store writes and returns them. Times are
// milliseconds since the Unix epoch from the caller's clock: the store never reads a clock.
#ifndef HEADEVO_STORAGE_JOB_TYPES_H_
#define HEADEVO_STORAGE_JOB_TYPES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/genome.pb.h"
#include "headevo/v1/training.pb.h"

namespace headevo::storage {

enum class JobState {
  kQueued,  // waiting for a worker
  kLeased,  // a worker holds it until lease_expires_ms (heartbeats extend it)
  kDone,    // its result is recorded
  kFailed,  // permanently: a failure the worker called permanent, or max_attempts spent
};
absl::string_view JobStateName(JobState state);  // "QUEUED", ...

// The job to create beside a new candidate.
struct NewJob {
  headevo::v1::TrainingSpec training;    // seed included
  std::string parent_checkpoint_sha256;  // weights to start from; "" for none
  int max_attempts = 3;                  // leases before the job fails; >= 1
  // Multi-fidelity: the rung the job trains the candidate to (0: its first training), and for
  // a promotion (rung > 0) the candidate's checkpoint at the rung below, to continue from.
  int rung = 0;
  std::string resume_checkpoint_sha256;
};

struct JobRecord {
  int64_t id = 0;
  int64_t candidate_id = 0;  // the candidate it evaluates; 0 for a reference model's job
  int64_t reference_id = 0;  // the reference model it trains; 0 for a candidate's job
  int rung = 0;              // the rung it trains its candidate to (> 0: a promotion)
  int64_t search_id = 0;
  JobState state = JobState::kQueued;
  int attempt = 0;  // leases handed out so far; the current lease's fencing token
  int max_attempts = 0;
  int64_t worker_id = 0;         // the last worker that leased it; 0 for none
  int64_t lease_expires_ms = 0;  // while LEASED
  int64_t created_ms = 0;
  int64_t finished_ms = 0;  // once DONE or FAILED
  std::string last_error;   // the last failure or expiry, "" for none
  std::string result_digest;  // of the report that completed it (report_digest.h); "" for none
};

// A job handed to a worker: everything it needs to evaluate the candidate.
struct Lease {
  int64_t job_id = 0;
  int attempt = 0;  // quote it back in Heartbeat/CompleteJob/FailJob
  int64_t lease_expires_ms = 0;
  headevo::v1::EvaluationRequest request;
};

struct LeaseOptions {
  int64_t worker_id = 0;  // a registered worker
  int64_t now_ms = 0;
  int64_t lease_ms = 60'000;  // > 0; how long the lease lasts without a heartbeat
  int64_t search_id = 0;      // only this search's jobs; 0 for any RUNNING search
};

// What a report did: the first report of a lease is recorded; the same report again (a retry
// after a lost reply: the same result, by digest) changes nothing and is told so, so the
// caller can answer OK again. A different result for a recorded lease is FailedPrecondition.
enum class ReportOutcome { kRecorded, kAlreadyRecorded };

// A reference model to queue with its job (Store::InsertReferencesWithJobs).
struct NewReference {
  std::string kind;  // "dense", "local", ... (headevo.v1.Reference.kind)
  std::string description;
  std::string role;             // "baseline" or "k_sweep_bar"
  headevo::v1::Genome genome;   // what the worker receives: head counts per layer
  NewJob job;                   // parent_checkpoint_sha256 must be empty
};

struct WorkerRecord {
  int64_t id = 0;
  std::string name;    // host or pod name
  std::string device;  // "cpu", "cuda:0"
  int64_t memory_bytes = 0;
  int64_t registered_ms = 0;
  int64_t last_seen_ms = 0;
};

struct CheckpointRecord {
  std::string sha256;
  int64_t candidate_id = 0;  // the candidate whose result named it
  int64_t created_ms = 0;
};

struct EventRecord {
  int64_t id = 0;
  int64_t search_id = 0;  // 0 for an event of the whole coordinator
  int64_t time_ms = 0;
  std::string kind;  // "search_started", "generation_done", "new_best", ...
  std::string message;
};

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_JOB_TYPES_H_
