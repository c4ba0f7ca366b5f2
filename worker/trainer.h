// The training loop and the validation loss of one candidate model.
#ifndef HEADEVO_WORKER_TRAINER_H_
#define HEADEVO_WORKER_TRAINER_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/model.h"
#include "worker/task.h"

namespace headevo::worker {

struct TrainerOptions {
  int64_t steps = 0;                   // optimiser steps, each on one fresh training batch
  int64_t batch_size = 0;              // sequences per batch
  double learning_rate = 0;            // AdamW learning rate, constant
  double weight_decay = 0;             // AdamW decoupled weight decay
  double max_grad_norm = 1.0;          // gradients are clipped to this global L2 norm
  torch::Device device = torch::kCPU;  // where the model lives; batches are moved here
};

// Trains `model` with AdamW on its TrainableParameters() (the gates stay at 1), drawing
// batches from task.TrainingBatch(batch_size, *generator). Returns the loss of every step.
// Errors: Internal("... NaN loss at step S") when a loss is not finite. Throws c10::Error
// from LibTorch.
absl::StatusOr<std::vector<double>> Train(SparseTransformer& model, const Task& task,
                                          const TrainerOptions& options,
                                          torch::Generator* generator);

// Mean token cross-entropy over all non-ignored targets of `batches` (on the CPU; moved to
// `device`), in eval mode without gradients. Returns NaN when no target counts.
double ValidationLoss(SparseTransformer& model, const std::vector<Batch>& batches,
                      const torch::Device& device);

// Moves a batch to `device`.
Batch ToDevice(const Batch& batch, const torch::Device& device);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_TRAINER_H_
