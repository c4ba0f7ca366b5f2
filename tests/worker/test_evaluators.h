// Evaluators for tests of the code that runs them (the remote worker, TrainingRun): one that
// trains until cancelled, one that throws.
#ifndef HEADEVO_TESTS_WORKER_TEST_EVALUATORS_H_
#define HEADEVO_TESTS_WORKER_TEST_EVALUATORS_H_

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "search/evaluator.h"

namespace headevo::worker::testing {

// Never finishes on its own: it "trains" until `cancelled` says stop, then returns Cancelled.
// The counters tell a test whether a call is still running.
class BlockingEvaluator : public search::Evaluator {
 public:
  static constexpr int kWindDownYields = 200'000;

  absl::StatusOr<headevo::v1::EvaluationResult> Evaluate(
      const headevo::v1::EvaluationRequest& request) override {
    return EvaluateCancellable(request, nullptr);
  }
  absl::StatusOr<headevo::v1::EvaluationResult> EvaluateCancellable(
      const headevo::v1::EvaluationRequest&, const search::CancelCheck& cancelled) override {
    ++calls;
    ++running;
    started = true;
    while (!(cancelled && cancelled())) std::this_thread::yield();  // one "step" per check
    saw_cancel = true;
    // Winding down takes a while, as a real step does, so a caller that returned without
    // joining would find this call still running.
    for (int i = 0; i < kWindDownYields; ++i) std::this_thread::yield();
    --running;
    return absl::CancelledError("training cancelled");
  }

  std::atomic<int> calls{0};
  std::atomic<int> running{0};  // calls not yet returned
  std::atomic<bool> started{false};
  std::atomic<bool> saw_cancel{false};
};

// Breaks the never-throws contract, as a buggy evaluator might.
class ThrowingEvaluator : public search::Evaluator {
 public:
  explicit ThrowingEvaluator(std::string what) : what_(std::move(what)) {}
  absl::StatusOr<headevo::v1::EvaluationResult> Evaluate(
      const headevo::v1::EvaluationRequest&) override {
    throw std::runtime_error(what_);
  }

 private:
  std::string what_;
};

}  // namespace headevo::worker::testing

#endif  // HEADEVO_TESTS_WORKER_TEST_EVALUATORS_H_
