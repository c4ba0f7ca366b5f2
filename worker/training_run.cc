#include "worker/training_run.h"

#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace headevo::worker {

TrainingRun::TrainingRun(search::Evaluator* evaluator, headevo::v1::EvaluationRequest request)
    : thread_([this, evaluator, request = std::move(request)] { Run(evaluator, request); }) {}

TrainingRun::~TrainingRun() {
  Cancel();
  if (thread_.joinable()) thread_.join();
}

void TrainingRun::Run(search::Evaluator* evaluator,
                      const headevo::v1::EvaluationRequest& request) {
  absl::StatusOr<headevo::v1::EvaluationResult> result;
  // An exception escaping a thread ends the process (std::terminate): stop it here, even from
  // an evaluator that breaks the never-throws contract.
  try {
    result = evaluator->EvaluateCancellable(request, [this] { return cancelled_.load(); });
  } catch (const std::exception& e) {
    result = absl::InternalError(absl::StrCat("evaluating candidate ", request.candidate_id(),
                                              ": the evaluator threw: ", e.what()));
  } catch (...) {
    result = absl::InternalError(absl::StrCat("evaluating candidate ", request.candidate_id(),
                                              ": the evaluator threw an unknown exception"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  result_ = std::move(result);
  done_ = true;
  cv_.notify_all();
}

bool TrainingRun::WaitFor(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return done_; });
}

absl::StatusOr<headevo::v1::EvaluationResult> TrainingRun::Join() {
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  return std::move(result_);
}

}  // namespace headevo::worker
