// The worker side of `headevo worker`: registers with a coordinator, then leases jobs (long
// polls), fetches parent checkpoints it lacks, trains while a heartbeat thread keeps the lease
// alive, uploads the trained checkpoint and reports the result, until told to stop.
//
// Fault tolerance: a coordinator that is down or restarting (UNAVAILABLE) is retried with
// backoff forever (jobs and reports wait; a report is idempotent, so a retry after a lost
// reply is safe); a lease the coordinator no longer honours (FAILED_PRECONDITION: it expired
// and the job went elsewhere) makes the worker drop that job. Failures that would recur on any
// worker (bad request, NaN loss) are reported as permanent.
//
// Stopping: when `stop` returns true the worker hands its running job back (ReleaseJob: it is
// queued again at once, no attempt spent) and returns without waiting for training.
#ifndef HEADEVO_WORKER_REMOTE_WORKER_H_
#define HEADEVO_WORKER_REMOTE_WORKER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "search/evaluator.h"
#include "worker/coordinator_channel.h"

namespace headevo::worker {

struct RemoteWorkerOptions {
  ChannelOptions channel;
  std::string device = "cpu";  // reported at registration
  std::string name;            // host or pod name; empty: the host name
  int64_t memory_bytes = 0;
  // Where parent checkpoints are cached and trained ones written (the evaluator's
  // checkpoint_dir); files are named <sha256>.ckpt.
  std::string checkpoint_dir;
  int64_t lease_wait_ms = 10'000;   // one long poll
  int64_t rpc_timeout_ms = 30'000;  // every other call's deadline
  int64_t max_backoff_ms = 5'000;   // between retries while the coordinator is unreachable
  int max_jobs = 0;                 // stop after this many jobs; 0: never
  // Stop when no job came for this long (0: never); for scripts and tests.
  int64_t exit_when_idle_ms = 0;
  // Polled about every 100 ms; true asks the worker to hand back its job and return.
  std::function<bool()> stop;
  // One line per event (job leased, reported, retrying), for the CLI to print.
  std::function<void(const std::string&)> log;
  // Called with true when the coordinator answers after silence (registration included) and
  // with false when it stops answering (a call failed as unreachable); for readiness probes.
  std::function<void(bool connected)> on_connection;
};

struct RemoteWorkerStats {
  int jobs = 0;         // leased
  int reported = 0;     // results accepted
  int failed = 0;       // failures reported
  int dropped = 0;      // refused as stale (lease lost)
  int handed_back = 0;  // released on stop
};

// Runs until stopped, max_jobs done, or idle for exit_when_idle_ms. `evaluator` is used from a
// training thread, one job at a time. Errors: InvalidArgument for bad options, and
// Unauthenticated / PermissionDenied / InvalidArgument from the coordinator at registration
// (a wrong token or certificate will not fix itself).
absl::StatusOr<RemoteWorkerStats> RunRemoteWorker(const RemoteWorkerOptions& options,
                                                  search::Evaluator* evaluator);

// Whether an evaluation error would recur on any worker: everything but running out of
// memory and transient conditions.
bool IsPermanentFailure(const absl::Status& status);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_REMOTE_WORKER_H_
