// The in-process LibTorch implementation of search::Evaluator: builds the candidate's
// sparse-attention transformer, trains it on the requested task and measures its heads.
#ifndef HEADEVO_WORKER_TORCH_EVALUATOR_H_
#define HEADEVO_WORKER_TORCH_EVALUATOR_H_

#include <c10/core/Device.h>

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "search/evaluator.h"

namespace headevo::worker {

class Task;

struct TorchEvaluatorOptions {
  // Where models train: "cpu", "cuda" or "cuda:N" (any string torch::Device parses).
  std::string device = "cpu";
  // Intra-op CPU threads, set process-wide with torch::set_num_threads; 0 leaves torch's
  // default (one per core).
  int num_threads = 0;
};

class TorchEvaluator : public search::Evaluator {
 public:
  // Errors: InvalidArgument for a device string torch cannot parse, a negative num_threads,
  // or a CUDA device when torch::cuda::is_available() is false.
  static absl::StatusOr<std::unique_ptr<TorchEvaluator>> Create(
      const TorchEvaluatorOptions& options);

  // See search::Evaluator. Seeds torch's global generator with training.seed (weight init)
  // and a private CPU generator for the training data; the validation data does not depend
  // on the seed. Given the same request it returns bit-identical results on the CPU.
  // Errors: InvalidArgument from ValidateRequest; NotFound when the Brown corpus is missing;
  // Internal for a non-finite loss or any LibTorch error; ResourceExhausted when the device
  // runs out of memory. Not thread-safe (it also reseeds torch's process-wide generator).
  absl::StatusOr<headevo::v1::EvaluationResult> Evaluate(
      const headevo::v1::EvaluationRequest& request) override;

 private:
  explicit TorchEvaluator(c10::Device device) : device_(device) {}

  // Throws c10::Error / std::exception from LibTorch; Evaluate converts them.
  absl::StatusOr<headevo::v1::EvaluationResult> EvaluateOrThrow(
      const headevo::v1::EvaluationRequest& request);
  absl::StatusOr<std::unique_ptr<Task>> MakeTask(const headevo::v1::TrainingSpec& training);

  c10::Device device_;
  // Stripped Brown corpus text by directory, read once per process lifetime of this object.
  std::map<std::string, std::shared_ptr<const std::string>> corpora_;
};

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_TORCH_EVALUATOR_H_
