#include "bench/cluster_sim/cluster.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <queue>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/coordinator/fake_result.h"

namespace headevo::bench_cluster_sim {
namespace {

using RealClock = std::chrono::steady_clock;
constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kExpireEvery = kMinute;  // `headevo serve` expires every second; a minute
                                           // of simulated time changes nothing it would see
constexpr int64_t kProgressEvery = 6 * kHour;  // a line on stderr per simulated quarter day

enum class Kind { kStart, kHeartbeat, kFinish, kHour, kExpire };

struct Event {
  int64_t at_ms = 0;
  uint64_t seq = 0;  // ties in order of scheduling
  Kind kind = Kind::kStart;
  int worker = 0;     // slot
  uint64_t life = 0;  // the slot's life when scheduled: a dead worker's events are dropped
  bool operator>(const Event& o) const { return at_ms != o.at_ms ? at_ms > o.at_ms : seq > o.seq; }
};

struct SimWorker {
  int64_t id = 0;     // the coordinator's worker id
  uint64_t life = 0;  // bumped when the worker dies and a new one takes the slot
  std::optional<storage::Lease> job;
  int64_t done_at = 0;                  // when training ends
  int64_t cut_from = 0, cut_until = 0;  // its link is down in [from, until)
};

class Simulation {
 public:
  Simulation(const Flags& flags, server::Coordinator& coordinator, SimClock& clock)
      : flags_(flags),
        coordinator_(coordinator),
        clock_(clock),
        rng_(flags.seed),
        job_minutes_(std::log(flags.job_median_min), flags.job_sigma),
        lease_ms_(flags.lease_min * kMinute) {}

  absl::StatusOr<SimFigures> Run() {
    const RealClock::time_point real_start = RealClock::now();
    const int64_t start = clock_.now_ms;
    end_ = start + static_cast<int64_t>(flags_.days * 24 * kHour);
    workers_.resize(flags_.workers);
    std::uniform_int_distribution<int64_t> stagger(0, 10 * kMinute);
    for (int i = 0; i < flags_.workers; ++i) {
      if (absl::Status s = Register(i); !s.ok()) return s;
      Schedule(start + stagger(rng_), Kind::kStart, i);
    }
    Schedule(start + kHour, Kind::kHour, -1);
    Schedule(start + kExpireEvery, Kind::kExpire, -1);
    while (!events_.empty()) {
      const Event e = events_.top();
      if (e.at_ms > end_) {
        figures_.reached_end = true;
        break;
      }
      events_.pop();
      clock_.now_ms = e.at_ms;
      if (absl::Status s = Handle(e); !s.ok()) return s;
      if ((++handled_ & 1023) != 0) continue;
      const double real_s = std::chrono::duration<double>(RealClock::now() - real_start).count();
      if (real_s > flags_.max_real_s) break;
      if (clock_.now_ms - start >= next_progress_ms_) {
        next_progress_ms_ += kProgressEvery;
        const double day = static_cast<double>(clock_.now_ms - start) / (24.0 * kHour);
        std::fprintf(stderr,
                     "[bench_cluster_sim] day %.2f of %.2f (%.0f%%), %.0f s real, %lld results "
                     "accepted\n",
                     day, flags_.days, 100.0 * day / flags_.days, real_s,
                     static_cast<long long>(figures_.reports_accepted));
      }
    }
    figures_.sim_ms = clock_.now_ms - start;
    figures_.real_s = std::chrono::duration<double>(RealClock::now() - real_start).count();
    return std::move(figures_);
  }

 private:
  void Schedule(int64_t at, Kind kind, int worker) {
    const uint64_t life = worker >= 0 ? workers_[worker].life : 0;
    events_.push(Event{at, ++seq_, kind, worker, life});
  }

  bool LinkDown(const SimWorker& w, int64_t at) const {
    return at >= w.cut_from && at < w.cut_until;
  }

  absl::Status Register(int slot) {
    storage::WorkerRecord record;
    record.name = absl::StrCat("sim-", slot, "-", workers_[slot].life);
    record.device = "sim";
    ++figures_.calls;
    absl::StatusOr<server::WorkerRegistration> r = coordinator_.RegisterWorker(record);
    if (!r.ok()) return r.status();
    workers_[slot].id = r->worker_id;
    ++figures_.registrations;
    return absl::OkStatus();
  }

  absl::Status Handle(const Event& e) {
    if (e.kind == Kind::kHour) return KillSome();
    if (e.kind == Kind::kExpire) {
      Schedule(e.at_ms + kExpireEvery, Kind::kExpire, -1);
      ++figures_.calls;
      return coordinator_.ExpireLeases();
    }
    SimWorker& w = workers_[e.worker];
    if (e.life != w.life) return absl::OkStatus();  // the worker died meanwhile
    if (e.kind == Kind::kStart) return StartJob(e.worker);
    if (e.kind == Kind::kHeartbeat) return Heartbeat(e.worker);
    return Finish(e.worker);
  }

  absl::Status StartJob(int slot) {
    SimWorker& w = workers_[slot];
    const RealClock::time_point t = RealClock::now();
    ++figures_.calls;
    absl::StatusOr<std::optional<storage::Lease>> lease = coordinator_.LeaseJob(w.id);
    const double ms = std::chrono::duration<double, std::milli>(RealClock::now() - t).count();
    if (!lease.ok()) return lease.status();
    if (!lease->has_value()) {  // nothing to do now: poll again in a minute
      Schedule(clock_.now_ms + kMinute, Kind::kStart, slot);
      return absl::OkStatus();
    }
    figures_.lease_ms.push_back(ms);
    w.job = **lease;
    const double minutes = std::clamp(job_minutes_(rng_), flags_.job_min_min, flags_.job_max_min);
    w.done_at = clock_.now_ms + static_cast<int64_t>(minutes * kMinute);
    w.cut_from = w.cut_until = 0;
    int64_t report_at = w.done_at;
    if (std::bernoulli_distribution(flags_.cut_share)(rng_)) {
      // Cut somewhere in the job for longer than the lease; the report waits for the link.
      ++figures_.cuts;
      w.cut_from = std::uniform_int_distribution<int64_t>(clock_.now_ms, w.done_at)(rng_);
      w.cut_until =
          w.cut_from + lease_ms_ + std::uniform_int_distribution<int64_t>(kMinute, lease_ms_)(rng_);
      report_at = std::max(report_at, w.cut_until);
    }
    const int64_t beat = clock_.now_ms + lease_ms_ / 3;
    if (beat < w.done_at) Schedule(beat, Kind::kHeartbeat, slot);
    Schedule(report_at, Kind::kFinish, slot);
    return absl::OkStatus();
  }

  absl::Status Heartbeat(int slot) {
    SimWorker& w = workers_[slot];
    if (!w.job.has_value()) return absl::OkStatus();
    const int64_t next = clock_.now_ms + lease_ms_ / 3;
    if (!LinkDown(w, clock_.now_ms)) {
      ++figures_.heartbeats;
      ++figures_.calls;
      absl::StatusOr<int64_t> beat =
          coordinator_.Heartbeat(w.id, w.job->job_id, w.job->attempt, 0, 0);
      if (!beat.ok()) {
        if (beat.status().code() != absl::StatusCode::kFailedPrecondition) return beat.status();
        // The lease moved on while the link was down: drop the job, take another.
        ++figures_.heartbeats_refused;
        w.job.reset();
        ++w.life;  // cancels its pending finish
        return StartJob(slot);
      }
    }
    if (next < w.done_at) Schedule(next, Kind::kHeartbeat, slot);
    return absl::OkStatus();
  }

  absl::Status Finish(int slot) {
    SimWorker& w = workers_[slot];
    const storage::Lease lease = *w.job;
    w.job.reset();
    ++figures_.calls;
    absl::StatusOr<server::JobReport> report =
        coordinator_.ReportResult(w.id, lease.job_id, lease.attempt,
                                  bench_coordinator::FakeResult(lease.job_id, lease.request));
    if (report.ok()) {
      if (!report->already_recorded) {
        ++figures_.reports_accepted;
        figures_.accepted_candidates.push_back(lease.request.candidate_id());
      }
    } else if (report.status().code() == absl::StatusCode::kFailedPrecondition) {
      ++figures_.reports_refused;  // a late report of a lease that had expired: never counted
    } else {
      return report.status();
    }
    return StartJob(slot);
  }

  // 1 % (flags.deaths_per_hour) of the workers die: their jobs are abandoned mid-lease, and a
  // new worker registers in each slot and starts at once.
  absl::Status KillSome() {
    Schedule(clock_.now_ms + kHour, Kind::kHour, -1);
    const int deaths = static_cast<int>(std::lround(flags_.deaths_per_hour * flags_.workers));
    std::uniform_int_distribution<int> pick(0, flags_.workers - 1);
    for (int i = 0; i < deaths; ++i) {
      const int slot = pick(rng_);
      SimWorker& w = workers_[slot];
      ++w.life;
      w.job.reset();
      ++figures_.deaths;
      if (absl::Status s = Register(slot); !s.ok()) return s;
      Schedule(clock_.now_ms, Kind::kStart, slot);
    }
    return absl::OkStatus();
  }

  const Flags& flags_;
  server::Coordinator& coordinator_;
  SimClock& clock_;
  std::mt19937_64 rng_;
  std::lognormal_distribution<double> job_minutes_;
  const int64_t lease_ms_;
  int64_t end_ = 0;
  std::vector<SimWorker> workers_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  uint64_t seq_ = 0;
  uint64_t handled_ = 0;
  int64_t next_progress_ms_ = kProgressEvery;  // simulated time since the start
  SimFigures figures_;
};

}  // namespace

absl::StatusOr<SimFigures> Simulate(const Flags& flags, server::Coordinator& coordinator,
                                    SimClock& clock) {
  return Simulation(flags, coordinator, clock).Run();
}

}  // namespace headevo::bench_cluster_sim
