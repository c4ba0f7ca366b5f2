#include "server/ops/housekeeping.h"

#include <chrono>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "server/engine/checkpoint_store.h"
#include "server/engine/coordinator.h"
#include "server/ops/health_endpoint.h"

namespace headevo::server {

Housekeeping::Housekeeping(Coordinator* coordinator, CheckpointStore* checkpoints,
                           HealthEndpoint* health, HousekeepingOptions options)
    : coordinator_(coordinator),
      checkpoints_(checkpoints),
      health_(health),
      options_(std::move(options)) {
  if (!options_.now_ms) options_.now_ms = SteadyClockMs;
}

Housekeeping::~Housekeeping() { Stop(); }

HousekeepingRound Housekeeping::RunOnce(int64_t now_ms) {
  HousekeepingRound round;
  // A coordinator stuck on its lock stops beating, and a liveness probe restarts it.
  if (health_ != nullptr) health_->Beat();
  round.leases = coordinator_->ExpireLeases();
  if (next_gc_ms_.has_value() && now_ms < *next_gc_ms_) return round;
  next_gc_ms_ = now_ms + options_.gc_every_ms;
  absl::StatusOr<std::vector<std::string>> keep = coordinator_->CheckpointsToKeep();
  if (!keep.ok()) {
    round.collected = keep.status();
    return round;
  }
  round.collected = checkpoints_->Collect(std::set<std::string>(keep->begin(), keep->end()),
                                          options_.checkpoint_min_age_ms);
  return round;
}

void Housekeeping::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void Housekeeping::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Housekeeping::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    const HousekeepingRound round = RunOnce(options_.now_ms());
    if (options_.on_round) options_.on_round(round);
    lock.lock();
    // The real wait between rounds; Stop() cuts it short.
    wake_.wait_for(lock, std::chrono::milliseconds(options_.expire_every_ms),
                   [this] { return stopping_; });
  }
}

}  // namespace headevo::server
