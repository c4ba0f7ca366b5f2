// The worker of `headevo run`: this process leases the search's jobs from the coordinator,
// trains them with an Evaluator and reports, through the same Coordinator calls the gRPC
// WorkerService makes for a remote worker. It decides nothing about the search: the dense
// model, the baselines and the k-sweep's steps are jobs the coordinator queues like any other.
//
// Failures: an evaluation error is reported as a permanent failure (this process is the only
// worker: what failed here fails anywhere), and so is a result the coordinator refuses as
// malformed (e.g. a non-finite loss, the one rule the coordinator checks). Errors of the
// coordinator or its store end the loop and are returned.
//
// Threads: runs in the caller's thread; the evaluator is called there, one job at a time.
#ifndef HEADEVO_SERVER_EMBEDDED_LOCAL_WORKER_H_
#define HEADEVO_SERVER_EMBEDDED_LOCAL_WORKER_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "search/evaluator.h"
#include "server/engine/coordinator.h"
#include "storage/job_types.h"

namespace headevo::server {

struct LocalWorkerOptions {
  int64_t search_id = 0;  // lease only this search's jobs
  // Called before a job is trained and after it is recorded (either may be empty).
  std::function<void(const storage::Lease&)> on_leased;
  std::function<void(const JobReport&)> on_recorded;
};

// Works until the search has no job left and will change no more (Coordinator::Finished).
// InternalError when no job can be leased but the search is not finished (nothing else would
// ever make progress); the coordinator's errors as they are.
absl::Status RunLocalWorker(Coordinator& coordinator, search::Evaluator& evaluator,
                            const LocalWorkerOptions& options);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_EMBEDDED_LOCAL_WORKER_H_
