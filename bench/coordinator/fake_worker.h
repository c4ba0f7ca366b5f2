// The fake workers: each registers, then loops LeaseJob -> ReportResult with a result
// synthesized from the job id, no training, until the shared budget (Run) is spent.
#ifndef HEADEVO_BENCH_COORDINATOR_FAKE_WORKER_H_
#define HEADEVO_BENCH_COORDINATOR_FAKE_WORKER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "bench/coordinator/flags.h"

namespace headevo::bench_coordinator {

// What one worker measured.
struct WorkerLog {
  std::vector<double> lease_ms;   // LeaseJob calls that got a job
  std::vector<double> report_ms;  // ReportResult calls
  std::vector<double> done_at_s;  // when each report returned, seconds after the start
  int64_t empty_polls = 0;        // LeaseJob answered has_job = false
  double cpu_s = 0;               // this thread's CPU: the client side of gRPC
};

// Shared by the workers: the job budget, the start signal and the first error.
class Run {
 public:
  Run(const Flags& flags, std::string address)
      : flags_(flags), address_(std::move(address)) {}

  const Flags& flags() const { return flags_; }
  const std::string& address() const { return address_; }

  // Registered workers wait here until every one is ready; the clock starts then.
  void Ready() {
    std::unique_lock<std::mutex> lock(mu_);
    if (++ready_ == flags_.workers) {
      start_ = Clock::now();
      cv_.notify_all();
    }
    cv_.wait(lock, [this] { return ready_ >= flags_.workers; });
  }
  Clock::time_point start() const { return start_; }
  // True while there is budget left (time, jobs, no error); takes one job from the budget.
  bool TakeJob() {
    if (failed_.load() || Seconds(start_) >= flags_.seconds) return false;
    return claimed_.fetch_add(1) < flags_.jobs;
  }
  void GiveBack() { claimed_.fetch_sub(1); }
  void Fail(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (first_error_.ok()) first_error_ = std::move(status);
    failed_ = true;
    ready_ = flags_.workers;  // nobody waits for a worker that failed to register
    cv_.notify_all();
  }
  absl::Status error() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_error_;
  }

 private:
  const Flags flags_;
  const std::string address_;
  std::mutex mu_;
  std::condition_variable cv_;
  int ready_ = 0;
  Clock::time_point start_;
  std::atomic<int64_t> claimed_{0};
  std::atomic<bool> failed_{false};
  absl::Status first_error_;
};

// Register, then LeaseJob -> ReportResult until the budget is spent; what it measured goes
// to `log`, its errors to run.Fail. Runs on its own thread, with its own channel.
void FakeWorker(Run& run, int index, WorkerLog& log);

}  // namespace headevo::bench_coordinator

#endif  // HEADEVO_BENCH_COORDINATOR_FAKE_WORKER_H_
