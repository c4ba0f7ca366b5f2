// One evaluation on a thread of its own, so the thread that started it can keep the lease alive
// (heartbeats) and notice a stop meanwhile. A TrainingRun can be cancelled, and it always
// joins its thread: no evaluation outlives the TrainingRun that started it, so the evaluator
// may be destroyed as soon as the run is.
#ifndef HEADEVO_WORKER_TRAINING_RUN_H_
#define HEADEVO_WORKER_TRAINING_RUN_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "search/evaluator.h"

namespace headevo::worker {

class TrainingRun {
 public:
  // Starts evaluator->EvaluateCancellable(request, <this run's cancel flag>) on a new thread.
  // `evaluator` is borrowed and must outlive this object; nothing else may use it until this
  // object is destroyed (or Join returned).
  TrainingRun(search::Evaluator* evaluator, headevo::v1::EvaluationRequest request);
  // Cancels the evaluation and joins its thread (waiting for it to notice: an evaluator that
  // ignores cancellation runs to its end first).
  ~TrainingRun();

  TrainingRun(const TrainingRun&) = delete;
  TrainingRun& operator=(const TrainingRun&) = delete;

  // Asks the evaluation to stop at its next check. Thread-safe; returns at once.
  void Cancel() { cancelled_.store(true); }

  // Waits up to `timeout` (real time: it waits on the training thread, and wakes at once when
  // the evaluation ends); returns whether the evaluation has ended.
  bool WaitFor(std::chrono::milliseconds timeout);

  // Waits for the evaluation to end, joins the thread and returns the outcome: the
  // evaluator's, or Internal naming the candidate and the exception when the evaluator threw
  // (the exception stops here). Call at most once, from the thread that made this object.
  absl::StatusOr<headevo::v1::EvaluationResult> Join();

 private:
  void Run(search::Evaluator* evaluator, const headevo::v1::EvaluationRequest& request);

  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;  // guarded by mu_
  absl::StatusOr<headevo::v1::EvaluationResult> result_ =
      absl::UnknownError("training has not ended");  // guarded by mu_ until done_
  std::thread thread_;  // last, so it starts once every member above exists
};

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_TRAINING_RUN_H_
