// The worker side of `headevo worker`: registers with a coordinator, then leases jobs (long
// polls), fetches parent checkpoints it lacks, trains on a thread of its own (worker/
// training_run.h) while the calling thread heartbeats to keep the lease alive, uploads the
// trained checkpoint and reports the result, until told to stop.
//
// Fault tolerance: a coordinator that is down or restarting (UNAVAILABLE, DEADLINE_EXCEEDED),
// or that answers it cannot take the call now (ABORTED; RESOURCE_EXHAUSTED: its disk is full),
// is retried with backoff forever: jobs, checkpoint uploads and reports wait, and the trained
// result is kept and sent again unchanged (a report is idempotent, so a retry after a lost
// reply is safe). A lease the coordinator no longer honours (FAILED_PRECONDITION: it expired
// and the job went elsewhere) makes the worker drop that job. Failures that would recur on any
// worker (bad request, NaN loss, a parent checkpoint damaged at the coordinator: DATA_LOSS)
// are reported as permanent.
//
// Checkpoints a job trains from (its parent_checkpoint_sha256, or the resume_checkpoint_sha256
// of a continued run) are fetched alike: the cached file is checked against its SHA-256 before
// each job; one the disk damaged is discarded and downloaded again, and downloaded bytes that
// do not hash to their name are never cached or trained from. A job whose checkpoint cannot
// be fetched is reported failed, the error naming which ("fetching resume checkpoint: ...").
//
// Stopping: when `stop` returns true the worker hands its running job back (ReleaseJob: it is
// queued again at once, no attempt spent), cancels the training (search::Evaluator::
// EvaluateCancellable; TorchEvaluator stops before its next step) and joins the training
// thread before it returns: no thread of the worker outlives RunRemoteWorker.
//
// Errors never travel as exceptions: RunRemoteWorker returns a Status, and an exception thrown
// by the evaluator is caught on the training thread and reported as the job's failure.
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
  // Where parent and resume checkpoints are cached and trained ones written (the evaluator's
  // checkpoint_dir); files are named <sha256>.ckpt.
  std::string checkpoint_dir;
  int64_t lease_wait_ms = 10'000;   // one long poll
  int64_t rpc_timeout_ms = 30'000;  // every other call's deadline
  int64_t max_backoff_ms = 5'000;   // between retries while the coordinator is unreachable
  int max_jobs = 0;                 // stop after this many jobs; 0: never
  // Stop when no job came for this long (0: never), as `now_ms` measures it; for scripts and
  // tests.
  int64_t exit_when_idle_ms = 0;
  // Polled between calls, while training (about every 100 ms) and while backing off (at
  // least every 100 ms of `now_ms`); true asks the worker to hand back its job and return.
  // Not polled during one long poll (lease_wait_ms).
  std::function<bool()> stop;
  // The clock the worker's waits and decisions read: the backoff between retries, when a
  // heartbeat is due and exit_when_idle_ms. Milliseconds from any fixed origin; empty:
  // std::chrono::steady_clock. RPC deadlines stay gRPC's own (real time).
  std::function<int64_t()> now_ms;
  // Waits `ms` milliseconds of that clock; empty: std::this_thread::sleep_for. Tests give a
  // pair whose sleep moves the fake now_ms, so backoff runs without real sleeps. (The poll
  // while training waits on the training thread, which wakes it when training ends, and
  // stays in real time.)
  std::function<void(int64_t ms)> sleep_ms;
  // One line per event (job leased, reported, retrying), for the CLI to print.
  std::function<void(const std::string&)> log;
  // Called with true when the coordinator answers after silence (registration included) and
  // with false when it stops answering (a call failed as UNAVAILABLE or DEADLINE_EXCEEDED; a
  // coordinator answering RESOURCE_EXHAUSTED is still connected); for readiness probes.
  std::function<void(bool connected)> on_connection;
};

struct RemoteWorkerStats {
  int jobs = 0;         // leased
  int reported = 0;     // results accepted
  int failed = 0;       // failures reported
  int dropped = 0;      // refused as stale (lease lost)
  int handed_back = 0;  // released on stop
};

// Runs until stopped, max_jobs done, or idle for exit_when_idle_ms, on the calling thread;
// every callback in `options` is called from it.
// `evaluator` is borrowed: the caller owns it, and it must outlive this call (it may be
// destroyed as soon as the call returns: every training thread has been joined by then).
// Each job's EvaluateCancellable runs on a training thread of its own, one job at a time, so
// the evaluator is never called concurrently, but not always from the same thread; nothing
// else may use it during this call.
// Errors: InvalidArgument for bad options (no checkpoint_dir, a null evaluator, MakeChannel's);
// Unauthenticated / PermissionDenied / InvalidArgument from the coordinator at registration or
// lease (a wrong token or certificate will not fix itself); the last transient error (e.g.
// Unavailable) when stopped while the coordinator was unreachable. A job that fails is not an
// error of this call: it is reported and counted in `failed`. Never throws, unless a
// callback in `options` does.
absl::StatusOr<RemoteWorkerStats> RunRemoteWorker(const RemoteWorkerOptions& options,
                                                  search::Evaluator* evaluator);

// Whether an evaluation error would recur on any worker: everything but running out of
// memory (ResourceExhausted), transient conditions (Unavailable, DeadlineExceeded, Aborted)
// and a cancelled run (Cancelled).
bool IsPermanentFailure(const absl::Status& status);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_REMOTE_WORKER_H_
