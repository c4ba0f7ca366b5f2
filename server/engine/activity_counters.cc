#include "server/engine/activity_counters.h"

#include <algorithm>

namespace headevo::server {

ActivityCounters::ActivityCounters(int64_t rate_window_ms)
    : rate_window_ms_(std::max<int64_t>(1, rate_window_ms)) {}

void ActivityCounters::WorkerSeen(int64_t worker_id, int64_t now_ms) {
  int64_t& last = last_seen_ms_[worker_id];
  last = std::max(last, now_ms);
}

void ActivityCounters::ResultRecorded(int64_t now_ms) {
  ++results_total_;
  // Clocks may step back; keep the deque sorted so the window can be trimmed from the front.
  recent_results_ms_.push_back(recent_results_ms_.empty()
                                   ? now_ms
                                   : std::max(now_ms, recent_results_ms_.back()));
  ResultsPerSecond(now_ms);  // trims, bounding memory at one window of results
}

double ActivityCounters::ResultsPerSecond(int64_t now_ms) {
  while (!recent_results_ms_.empty() && recent_results_ms_.front() <= now_ms - rate_window_ms_) {
    recent_results_ms_.pop_front();
  }
  return static_cast<double>(recent_results_ms_.size()) * 1000.0 /
         static_cast<double>(rate_window_ms_);
}

int64_t ActivityCounters::LiveWorkers(int64_t now_ms, int64_t within_ms) {
  for (auto it = last_seen_ms_.begin(); it != last_seen_ms_.end();) {
    it = it->second <= now_ms - within_ms ? last_seen_ms_.erase(it) : std::next(it);
  }
  return static_cast<int64_t>(last_seen_ms_.size());
}

}  // namespace headevo::server
