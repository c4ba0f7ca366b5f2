// The training loop and the validation loss of one candidate model.
#ifndef HEADEVO_WORKER_TRAINER_H_
#define HEADEVO_WORKER_TRAINER_H_

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "headevo/v1/training.pb.h"
#include "worker/model.h"
#include "worker/task.h"

namespace headevo::worker {

struct TrainerOptions {
  // Training runs steps [first_step, steps): each an optimiser step on one fresh training
  // batch. first_step > 0 continues a run a checkpoint stopped (worker/resume.h); the
  // optimiser and the data generator must then hold that run's state.
  int64_t steps = 0;
  int64_t first_step = 0;
  // The budget the schedule (warm-up and cosine) is defined over, so that a run stopped at
  // `steps` and continued later follows the learning rates of one run of schedule_steps
  // steps. 0 means `steps`.
  int64_t schedule_steps = 0;
  int64_t batch_size = 0;    // sequences per batch
  double learning_rate = 0;  // AdamW peak learning rate
  double weight_decay = 0;   // AdamW decoupled weight decay
  headevo::v1::LearningRateSchedule schedule = headevo::v1::LEARNING_RATE_SCHEDULE_CONSTANT;
  int64_t warmup_steps = 0;        // linear warm-up from learning_rate / warmup_steps
  double final_lr_fraction = 0.0;  // where the cosine schedule ends, times learning_rate
  double max_grad_norm = 1.0;      // global L2 gradient clipping; 0 turns it off
  // > 0 adds entropy_weight * the mean normalised attention entropy (see NormalizedEntropy)
  // of every head to the loss (the concentration regulariser). It trains the attention
  // through differentiable probs, which on the CPU costs the gather formulation.
  double entropy_weight = 0.0;
  torch::Device device = torch::kCPU;  // where the model lives; batches are moved here
  // Asked before every step (on the training thread); true stops training with Cancelled.
  // Empty: never cancelled. See search::CancelCheck.
  std::function<bool()> cancelled;
};

// The options a request's training spec asks for.
TrainerOptions TrainerOptionsFor(const headevo::v1::TrainingSpec& training,
                                 const torch::Device& device);

// The learning rate of step `step` (0-based), a function of the step and the schedule's budget
// (schedule_steps, or steps when 0) alone, never of first_step: learning_rate * (step + 1) /
// warmup_steps during warm-up, then constant, or cosine from learning_rate down to
// learning_rate * final_lr_fraction at the budget's last step.
double LearningRateAt(const TrainerOptions& options, int64_t step);

// AdamW over the model's TrainableParameters() (the gates stay at 1).
std::unique_ptr<torch::optim::AdamW> MakeOptimizer(SparseTransformer& model,
                                                   const TrainerOptions& options);

// Trains `model` from step options.first_step up to options.steps with `optimizer` (from
// MakeOptimizer for this model; its state carries over between calls), drawing one batch per
// step from task.TrainingBatch(batch_size, *generator). Returns the task loss (cross-entropy,
// without the regulariser) of every step it took. When `target_positions` is non-null, adds
// to it the number of targets trained on (those not kIgnoreTarget), batches of every step.
// Errors: Internal("... NaN loss at step S") when a loss is not finite; Cancelled("...
// cancelled before step S of N") once options.cancelled returns true. Throws c10::Error from
// LibTorch (and whatever options.cancelled throws): an internal helper, called only inside
// TorchEvaluator's catching boundary.
absl::StatusOr<std::vector<double>> Train(SparseTransformer& model, const Task& task,
                                          const TrainerOptions& options,
                                          torch::Generator* generator,
                                          torch::optim::AdamW* optimizer,
                                          int64_t* target_positions = nullptr);

// The concentration regulariser's term: the mean over layers and heads of NormalizedEntropy of
// a forward pass's trace (made with differentiable probs for it to train anything).
torch::Tensor MeanAttentionEntropy(SparseTransformer& model, const std::vector<LayerTrace>& trace);

// Mean token cross-entropy over all non-ignored targets of `batches` (on the CPU; moved to
// `device`), in eval mode without gradients. Returns NaN when no target counts.
double ValidationLoss(SparseTransformer& model, const std::vector<Batch>& batches,
                      const torch::Device& device);

// Moves a batch to `device`.
Batch ToDevice(const Batch& batch, const torch::Device& device);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_TRAINER_H_
