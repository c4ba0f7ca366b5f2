// Continuing a training run from the checkpoint it stopped at: the worker side of
// multi-fidelity promotion (issue 21).
//
// A job may stop before its candidate's budget (TrainingSpec.steps < schedule_steps) and a later
// job continue it (EvaluationRequest.resume_checkpoint_sha256). The checkpoint the first job
// wrote holds everything the rest of the run depends on: the weights, AdamW's moments and step
// counts, the steps taken and target positions trained on, and the position of the training
// data stream (TrainingProgress, worker/checkpoint.h). The learning rate is a function of the
// step and schedule_steps alone (LearningRateAt), the validation batches depend on nothing the
// run does, and growth and the gradient head initialiser run only at step 0. So, on one device
// with one thread count, a run stopped at S and continued to N ends with the bits of one that
// trained to N without stopping: the same weights, losses, Metrics and checkpoint bytes.
//
// The data stream's encoding (CheckpointHeader.data_stream_state): kDataStreamTag followed by
// the state of the CPU generator the training batches are drawn from (at::Generator::
// get_state(): LibTorch's Mersenne Twister state and its cached normal samples). Every task
// draws its batches from that generator alone (worker/task.h), one batch per step.
#ifndef HEADEVO_WORKER_RESUME_H_
#define HEADEVO_WORKER_RESUME_H_

#include <torch/torch.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "worker/checkpoint.h"
#include "worker/model.h"

namespace headevo::worker {

inline constexpr char kDataStreamTag[] = "torch-cpu-generator/1:";

// The encoded state of the training data generator `generator` (a CPU generator).
std::string EncodeDataStream(const torch::Generator& generator);

// Puts `generator` (a CPU generator) where EncodeDataStream left it.
// Errors: DataLoss naming `checkpoint_name` when `encoded` is not such a state (another tag,
// or a size this LibTorch's generator does not have). Never throws.
absl::Status RestoreDataStream(const std::string& encoded, const std::string& checkpoint_name,
                               torch::Generator* generator);

// Whether `checkpoint` can continue the training `request` asks for. Errors, each
// FailedPrecondition naming the checkpoint and the problem: its model spec or genome differs
// from the request's (naming the first difference); it holds no optimiser state; it records no
// progress (written before runs could be continued); it trained as far as the job goes or
// further ("nothing to train: checkpoint at step X, job stops at Y"). Never throws.
absl::Status CheckResumable(const Checkpoint& checkpoint,
                            const headevo::v1::EvaluationRequest& request);

// CheckResumable, then copies the checkpoint's weights into `model`, its AdamW state into
// `optimizer` (MakeOptimizer's for this model) and its data-stream position into `data`.
// Returns the checkpoint's progress: training continues at progress.trained_steps.
// Errors: CheckResumable's; Checkpoint::Restore's; RestoreDataStream's. May throw c10::Error
// from LibTorch (Restore's copies): call it inside TorchEvaluator's catching boundary.
absl::StatusOr<TrainingProgress> ResumeTraining(const Checkpoint& checkpoint,
                                                const headevo::v1::EvaluationRequest& request,
                                                SparseTransformer& model,
                                                torch::optim::AdamW& optimizer,
                                                torch::Generator* data);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_RESUME_H_
