// Evaluators for tests of the code that runs them (the remote worker, TrainingRun): one that
// trains until cancelled, one that throws, one that returns a fixed result at once.
#ifndef HEADEVO_TESTS_WORKER_TEST_EVALUATORS_H_
#define HEADEVO_TESTS_WORKER_TEST_EVALUATORS_H_

#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "search/evaluator.h"
#include "worker/checkpoint.h"

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

// Returns val_loss 1.5 at once. With a checkpoint directory it treats checkpoints as
// TorchEvaluator does: it reads the parent's or resume checkpoint's file from there
// (recording whether its bytes hashed to its name, so a test sees that nothing trains from
// damaged bytes) and writes the
// trained one, `checkpoint_bytes` as <sha256>.ckpt, whose sha256 it reports.
class FixedResultEvaluator : public search::Evaluator {
 public:
  FixedResultEvaluator() = default;
  FixedResultEvaluator(std::string checkpoint_dir, std::string checkpoint_bytes)
      : dir_(std::move(checkpoint_dir)), bytes_(std::move(checkpoint_bytes)) {}

  absl::StatusOr<headevo::v1::EvaluationResult> Evaluate(
      const headevo::v1::EvaluationRequest& request) override {
    ++calls;
    const std::string& parent = request.parent_checkpoint_sha256();
    if (!parent.empty()) {
      const absl::StatusOr<std::string> sha = Sha256HexOfFile(PathOf(parent));
      parent_intact = sha.ok() && *sha == parent;
    }
    const std::string& resume = request.resume_checkpoint_sha256();
    if (!resume.empty()) {
      const absl::StatusOr<std::string> sha = Sha256HexOfFile(PathOf(resume));
      resume_intact = sha.ok() && *sha == resume;
    }
    headevo::v1::EvaluationResult result;
    result.set_candidate_id(request.candidate_id());
    result.mutable_metrics()->set_val_loss(1.5);
    result.mutable_metrics()->set_train_loss(1.75);
    if (!bytes_.empty()) {
      const std::string sha = Sha256Hex(bytes_);
      std::filesystem::create_directories(dir_);
      if (absl::Status s = WriteFileAtomically(PathOf(sha), bytes_); !s.ok()) return s;
      result.set_checkpoint_sha256(sha);
    }
    return result;
  }

  std::atomic<int> calls{0};
  std::atomic<bool> parent_intact{false};  // as of the last call with a parent
  std::atomic<bool> resume_intact{false};  // as of the last call with a resume checkpoint

 private:
  std::string PathOf(const std::string& sha256) const {
    return (std::filesystem::path(dir_) / (sha256 + ".ckpt")).string();
  }
  std::string dir_;
  std::string bytes_;
};

}  // namespace headevo::worker::testing

#endif  // HEADEVO_TESTS_WORKER_TEST_EVALUATORS_H_
