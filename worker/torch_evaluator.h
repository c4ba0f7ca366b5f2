// The in-process LibTorch implementation of search::Evaluator: builds the candidate's
// sparse-attention transformer, trains it on the requested task and measures its heads.
//
// This is worker/'s boundary for everything that trains: Create and Evaluate return a Status
// and never throw. Every LibTorch (c10::Error), allocation and other exception raised while
// evaluating is caught here and named (the candidate, the device, what LibTorch said); the
// helpers it calls (trainer.h, growth.h, head_stats.h, model.h, SerializeCheckpoint) may
// throw and are meant to be called only from inside this boundary.
#ifndef HEADEVO_WORKER_TORCH_EVALUATOR_H_
#define HEADEVO_WORKER_TORCH_EVALUATOR_H_

#include <c10/core/Device.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "search/evaluator.h"
#include "worker/gray_image.h"
#include "worker/text_documents.h"

namespace torch::optim {
class AdamW;
}  // namespace torch::optim

namespace headevo::worker {

class Task;
class Checkpoint;
struct GenomeLayout;
class SparseTransformer;
struct TrainingProgress;

struct TorchEvaluatorOptions {
  // Where models train: "cpu", "cuda" or "cuda:N" (any string torch::Device parses).
  std::string device = "cpu";
  // Intra-op CPU threads, set process-wide with torch::set_num_threads; 0 leaves LibTorch's
  // default (one thread in Debian's build). The models of a search are small enough that
  // more threads often cost more in synchronisation than they gain.
  int num_threads = 0;
  // Where checkpoints live, named <sha256>.ckpt (created when missing). When set, every
  // evaluation saves its trained model there and reports the digest, and a request naming a
  // parent_checkpoint_sha256 starts from that checkpoint's heads (see InheritWeights), one
  // naming a resume_checkpoint_sha256 continues that checkpoint's run (worker/resume.h). Empty:
  // no checkpoints, and such requests fail.
  std::string checkpoint_dir;
};

class TorchEvaluator : public search::Evaluator {
 public:
  // Errors: InvalidArgument for a device string torch cannot parse, a negative num_threads,
  // a CUDA device when torch::cuda::is_available() is false, or a checkpoint_dir that cannot
  // be created.
  static absl::StatusOr<std::unique_ptr<TorchEvaluator>> Create(
      const TorchEvaluatorOptions& options);

  // See search::Evaluator. Seeds torch's global generator with training.seed (weight init)
  // and a private CPU generator for the training data; the validation data does not depend
  // on the seed. Given the same request it returns bit-identical results on the CPU.
  // Trains steps [0, training.steps), or with resume_checkpoint_sha256 steps [the checkpoint's
  // trained_steps, training.steps) from the checkpoint's weights, AdamW state and data-stream
  // position (no inheritance, growth or head initialisation then: the result has no growth
  // records). The learning rate follows the schedule over training.schedule_steps. Metrics:
  // steps = training.steps and tokens = target positions trained on, both counting the
  // resumed checkpoint's; train_loss = the mean task loss of the run's last max(1, steps / 10)
  // steps (of this job's steps if it took fewer); train_seconds = this call's wall time. The
  // checkpoint saved (checkpoint_sha256) records the progress, so it is the one to continue
  // from; a run stopped at S and continued to N gives the bits of one trained straight to N.
  // Errors: InvalidArgument from ValidateRequest; NotFound when the Brown corpus, a text path
  // or the parent or resume checkpoint is missing; DataLoss for a damaged one;
  // FailedPrecondition when the parent does not fit the child, when the resume checkpoint
  // cannot continue this request (CheckResumable), or no checkpoint_dir is set;
  // Internal for a non-finite loss or any LibTorch error, naming the candidate and the device;
  // ResourceExhausted when the device (or the host) runs out of memory, which
  // worker::IsPermanentFailure treats as worth retrying elsewhere. Never throws. Not
  // thread-safe (it also reseeds torch's process-wide generator): one caller at a time, on
  // any one thread.
  absl::StatusOr<headevo::v1::EvaluationResult> Evaluate(
      const headevo::v1::EvaluationRequest& request) override;

  // Evaluate that asks `cancelled` before every training step (from the calling thread) and
  // returns Cancelled, saving no checkpoint, once it says true. An exception thrown by
  // `cancelled` is caught like LibTorch's (Internal).
  absl::StatusOr<headevo::v1::EvaluationResult> EvaluateCancellable(
      const headevo::v1::EvaluationRequest& request, const search::CancelCheck& cancelled) override;

 private:
  TorchEvaluator(c10::Device device, std::string checkpoint_dir)
      : device_(device), checkpoint_dir_(std::move(checkpoint_dir)) {}

  // Throws c10::Error / std::exception from LibTorch; EvaluateCancellable converts them.
  absl::StatusOr<headevo::v1::EvaluationResult> EvaluateOrThrow(
      const headevo::v1::EvaluationRequest& request, const search::CancelCheck& cancelled);
  absl::StatusOr<std::unique_ptr<Task>> MakeTask(const headevo::v1::TrainingSpec& training);
  absl::StatusOr<std::unique_ptr<Task>> MakeImageTask(const headevo::v1::TrainingSpec& training);
  // Loads the request's parent checkpoint, copies its heads into `model`, sets up the new
  // heads and grows the grown ones (worker/growth.h); returns what growth did, in genome order.
  absl::StatusOr<std::vector<headevo::v1::HeadGrowth>> InheritFromParent(
      const headevo::v1::EvaluationRequest& request, const Task& task, const GenomeLayout& layout,
      SparseTransformer& model);
  // The checkpoint named `sha256` in checkpoint_dir_, checked against its name: the one place
  // parent and resume checkpoints are read. `use` says what the request does with it, for
  // the error when no checkpoint_dir_ is set (FailedPrecondition); else Checkpoint::Load's.
  absl::StatusOr<Checkpoint> LoadStoredCheckpoint(const std::string& sha256, const char* use) const;
  // Saves the trained model, optimiser and progress into checkpoint_dir_; returns the file's
  // SHA-256.
  absl::StatusOr<std::string> SaveCheckpoint(const headevo::v1::EvaluationRequest& request,
                                             SparseTransformer& model,
                                             torch::optim::AdamW& optimizer,
                                             const TrainingProgress& progress);

  c10::Device device_;
  std::string checkpoint_dir_;
  // Documents of each byte-level corpus ("brown:<dir>" or "text:<path>"), read once per
  // lifetime of this object.
  std::map<std::string, std::shared_ptr<const std::vector<TextDocument>>> corpora_;
  // Images of each image data set ("mnist:<dir>" or "patches:<dir>:<w>x<h>"), read likewise.
  std::map<std::string, std::shared_ptr<const std::vector<GrayImage>>> image_sets_;
};

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_TORCH_EVALUATOR_H_
