// The event stream: events stored for people and streamed live to watchers, and whether a
// search will change no more (server/engine/coordinator.h).
#include <algorithm>
#include <chrono>
#include <utility>

#include "server/engine/active_search.h"
#include "server/engine/coordinator.h"

namespace headevo::server {
namespace {

// Live events kept for watchers that fall behind; older ones are only in the database (or, for
// candidate events, gone: they are progress, not history).
constexpr size_t kMaxLiveEvents = 10'000;

// The longest a waiter sleeps before it reads the wait clock again.
constexpr int64_t kWaitSliceMs = 200;

}  // namespace

void Coordinator::Publish(int64_t search_id, const std::string& kind, const std::string& message,
                          bool persist) {
  LiveEvent live;
  live.event.set_search_id(search_id);
  live.event.set_time_ms(options_.clock());
  live.event.set_kind(kind);
  live.event.set_message(message);
  if (persist) {
    storage::EventRecord record;
    record.search_id = search_id;
    record.time_ms = live.event.time_ms();
    record.kind = kind;
    record.message = message;
    // Events are for people: a failure to store one must not undo what it describes.
    absl::StatusOr<int64_t> id = store_->AppendEvent(record);
    if (id.ok()) live.event.set_id(*id);
  }
  live.seq = ++live_seq_;
  live_events_.push_back(std::move(live));
  if (live_events_.size() > kMaxLiveEvents) live_events_.pop_front();
  event_cv_.notify_all();
}

absl::StatusOr<std::vector<headevo::v1::SearchEvent>> Coordinator::NextEvents(
    int64_t search_id, EventCursor& cursor, int64_t wait_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  std::vector<headevo::v1::SearchEvent> events;
  if (!cursor.replayed) {
    // The stored history first; live events from this instant on. Both under the lock, so
    // no event falls between them.
    absl::StatusOr<storage::SearchRecord> record = store_->GetSearch(search_id);
    if (!record.ok()) return record.status();
    absl::StatusOr<std::vector<storage::EventRecord>> stored =
        store_->ListEvents(search_id, cursor.stored_after, 100'000);
    if (!stored.ok()) return stored.status();
    for (const storage::EventRecord& r : *stored) {
      headevo::v1::SearchEvent& e = events.emplace_back();
      e.set_id(r.id);
      e.set_search_id(search_id);
      e.set_time_ms(r.time_ms);
      e.set_kind(r.kind);
      e.set_message(r.message);
      cursor.stored_after = r.id;
    }
    cursor.live_after = live_seq_;
    cursor.replayed = true;
    if (!events.empty()) return events;
  }
  const int64_t deadline = options_.wait_clock() + wait_ms;
  while (true) {
    for (const LiveEvent& live : live_events_) {
      if (live.seq <= cursor.live_after) continue;
      cursor.live_after = live.seq;
      if (live.event.search_id() != search_id) continue;
      events.push_back(live.event);
      if (live.event.id() > 0) cursor.stored_after = live.event.id();
    }
    if (!events.empty() || shutting_down_) return events;
    const int64_t left = deadline - options_.wait_clock();
    if (left <= 0) return events;
    event_cv_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(left, kWaitSliceMs)));
  }
}

absl::StatusOr<bool> Coordinator::Finished(int64_t search_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Find(search_id) != nullptr) return false;
  absl::StatusOr<storage::SearchCounts> counts = store_->CountSearch(search_id);
  if (!counts.ok()) return counts.status();
  return counts->leased == 0;
}

}  // namespace headevo::server
