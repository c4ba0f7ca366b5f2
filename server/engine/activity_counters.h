// What the coordinator has seen happen since it started, for its metrics: results recorded
// (and their rate over a sliding window), failures reported, leases expired, and which workers
// were heard from lately. Not thread-safe: the coordinator calls it under its own lock. Times
// are the caller's clock (milliseconds), so tests drive it with a fake one.
#ifndef HEADEVO_SERVER_ENGINE_ACTIVITY_COUNTERS_H_
#define HEADEVO_SERVER_ENGINE_ACTIVITY_COUNTERS_H_

#include <cstdint>
#include <deque>
#include <map>

namespace headevo::server {

class ActivityCounters {
 public:
  // Rates are averaged over the last `rate_window_ms`.
  explicit ActivityCounters(int64_t rate_window_ms = 60'000);

  // Any call from the worker: registration, a lease poll, a heartbeat, a report.
  void WorkerSeen(int64_t worker_id, int64_t now_ms);
  void ResultRecorded(int64_t now_ms);
  void FailureReported() { ++failures_total_; }
  void LeasesExpired(int64_t count) { lease_expiries_total_ += count; }

  int64_t results_total() const { return results_total_; }
  int64_t failures_total() const { return failures_total_; }
  int64_t lease_expiries_total() const { return lease_expiries_total_; }
  // Results recorded in (now - window, now], per second of the window. Forgets older ones.
  double ResultsPerSecond(int64_t now_ms);
  // Workers heard from in (now - within_ms, now]. Forgets workers silent for longer.
  int64_t LiveWorkers(int64_t now_ms, int64_t within_ms);

 private:
  int64_t rate_window_ms_;
  int64_t results_total_ = 0;
  int64_t failures_total_ = 0;
  int64_t lease_expiries_total_ = 0;
  std::deque<int64_t> recent_results_ms_;    // ascending, inside the window
  std::map<int64_t, int64_t> last_seen_ms_;  // worker id -> last call
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_ENGINE_ACTIVITY_COUNTERS_H_
