// The coordinator's periodic chores, run by `headevo serve` on a thread of their own: beat the
// health endpoint (so a liveness probe sees the process is not stuck), queue again the jobs of
// dead workers (Coordinator::ExpireLeases) every expire_every_ms, and delete the checkpoints
// nothing needs (Coordinator::CheckpointsToKeep, CheckpointStore::Collect) every gc_every_ms.
//
// Time comes from options.now_ms, and one round is RunOnce(now_ms): a test drives the rounds
// with a fake clock instead of starting the thread.
//
// Thread safety: Start() and Stop() from one owning thread. Drive RunOnce() yourself or Start()
// the thread, never both at once.
#ifndef HEADEVO_SERVER_OPS_HOUSEKEEPING_H_
#define HEADEVO_SERVER_OPS_HOUSEKEEPING_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace headevo::server {

class CheckpointStore;
class Coordinator;
class HealthEndpoint;

// What one round did, for the owner to log.
struct HousekeepingRound {
  absl::Status leases;  // ExpireLeases()'s status
  // Set when checkpoints were due this round: how many files were deleted, or why not.
  std::optional<absl::StatusOr<int>> collected;
};

struct HousekeepingOptions {
  // How often rounds run on the thread (each expires leases and beats the health endpoint).
  int64_t expire_every_ms = 1'000;
  // How often checkpoints are collected; the first round collects.
  int64_t gc_every_ms = 60'000;
  // A checkpoint file younger than this is kept even if nothing needs it yet: it may belong to
  // a result not reported yet. `headevo serve` uses two leases.
  int64_t checkpoint_min_age_ms = 120'000;
  // Milliseconds on a monotonic clock; decides when checkpoints are due. Empty: steady_clock.
  std::function<int64_t()> now_ms;
  // Called on the thread after each round; may be empty.
  std::function<void(const HousekeepingRound&)> on_round;
};

class Housekeeping {
 public:
  // `coordinator` and `checkpoints` must outlive this object; `health` may be null (no probes)
  // and, if not, must outlive it too.
  Housekeeping(Coordinator* coordinator, CheckpointStore* checkpoints, HealthEndpoint* health,
               HousekeepingOptions options);
  // Stops the thread if it runs.
  ~Housekeeping();
  Housekeeping(const Housekeeping&) = delete;
  Housekeeping& operator=(const Housekeeping&) = delete;

  // One round at `now_ms`: beat, expire leases, and collect checkpoints when gc_every_ms has
  // passed since the last collection (or none has run yet).
  HousekeepingRound RunOnce(int64_t now_ms);

  // Starts the thread: a round at once, then one every expire_every_ms until Stop(). Does
  // nothing while the thread already runs.
  void Start();
  // Wakes the thread and joins it: returns as soon as a round in progress ends. Idempotent.
  void Stop();

 private:
  void Loop();

  Coordinator* coordinator_;
  CheckpointStore* checkpoints_;
  HealthEndpoint* health_;
  HousekeepingOptions options_;
  std::optional<int64_t> next_gc_ms_;  // touched only by whoever runs the rounds

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_OPS_HOUSEKEEPING_H_
