#include "worker/trainer.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "worker/head_stats.h"

namespace headevo::worker {

Batch ToDevice(const Batch& batch, const torch::Device& device) {
  return {batch.inputs.to(device), batch.targets.to(device)};
}

TrainerOptions TrainerOptionsFor(const headevo::v1::TrainingSpec& training,
                                 const torch::Device& device) {
  TrainerOptions options;
  options.steps = training.steps();
  options.schedule_steps = training.schedule_steps();
  options.batch_size = training.batch_size();
  options.learning_rate = training.learning_rate();
  options.weight_decay = training.weight_decay();
  options.schedule = training.lr_schedule();
  options.warmup_steps = training.warmup_steps();
  options.final_lr_fraction = training.final_lr_fraction();
  options.max_grad_norm = training.max_grad_norm();
  options.entropy_weight = training.entropy_weight();
  options.device = device;
  return options;
}

double LearningRateAt(const TrainerOptions& options, int64_t step) {
  if (step < options.warmup_steps) {
    return options.learning_rate * static_cast<double>(step + 1) /
           static_cast<double>(options.warmup_steps);
  }
  if (options.schedule != headevo::v1::LEARNING_RATE_SCHEDULE_COSINE) return options.learning_rate;
  const int64_t budget = options.schedule_steps > 0 ? options.schedule_steps : options.steps;
  const int64_t decay_steps = budget - options.warmup_steps;
  const double progress = decay_steps <= 1 ? 1.0
                                           : static_cast<double>(step - options.warmup_steps) /
                                                 static_cast<double>(decay_steps - 1);
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * std::min(progress, 1.0)));
  const double floor = options.final_lr_fraction;
  return options.learning_rate * (floor + (1.0 - floor) * cosine);
}

std::unique_ptr<torch::optim::AdamW> MakeOptimizer(SparseTransformer& model,
                                                   const TrainerOptions& options) {
  return std::make_unique<torch::optim::AdamW>(
      model->TrainableParameters(),
      torch::optim::AdamWOptions(options.learning_rate).weight_decay(options.weight_decay));
}

torch::Tensor MeanAttentionEntropy(SparseTransformer& model, const std::vector<LayerTrace>& trace) {
  torch::Tensor total;
  for (int layer = 0; layer < model->num_layers(); ++layer) {
    const torch::Tensor mean =
        NormalizedEntropy(trace[layer].probs, model->attention(layer)->valid()).mean();
    total = total.defined() ? total + mean : mean;
  }
  return total / model->num_layers();
}

absl::StatusOr<std::vector<double>> Train(SparseTransformer& model, const Task& task,
                                          const TrainerOptions& options,
                                          torch::Generator* generator,
                                          torch::optim::AdamW* optimizer,
                                          int64_t* target_positions) {
  const std::vector<torch::Tensor> parameters = model->TrainableParameters();
  const bool regularised = options.entropy_weight > 0.0;
  model->train();
  std::vector<double> losses;
  losses.reserve(std::max<int64_t>(0, options.steps - options.first_step));
  for (int64_t step = options.first_step; step < options.steps; ++step) {
    if (options.cancelled && options.cancelled()) {
      return absl::CancelledError(
          absl::StrCat("training cancelled before step ", step, " of ", options.steps));
    }
    const Batch batch =
        ToDevice(task.TrainingBatch(options.batch_size, *generator), options.device);
    for (torch::optim::OptimizerParamGroup& group : optimizer->param_groups()) {
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(LearningRateAt(options, step));
    }
    // zero_grad on the model, not the optimiser, so the gates' gradients do not pile up.
    model->zero_grad();
    std::vector<LayerTrace> trace;
    const torch::Tensor logits =
        model->forward(batch.inputs, regularised ? &trace : nullptr, regularised);
    const torch::Tensor task_loss = TokenCrossEntropy(logits, batch.targets);
    const double value = task_loss.item<double>();
    if (!std::isfinite(value)) {
      return absl::InternalError(absl::StrCat(
          "training diverged: ", std::isnan(value) ? "NaN" : "infinite", " loss at step ", step));
    }
    losses.push_back(value);
    if (target_positions != nullptr) {
      *target_positions += batch.targets.ne(kIgnoreTarget).sum().item<int64_t>();
    }
    const torch::Tensor loss =
        regularised ? task_loss + options.entropy_weight * MeanAttentionEntropy(model, trace)
                    : task_loss;
    loss.backward();
    if (options.max_grad_norm > 0.0) {
      torch::nn::utils::clip_grad_norm_(parameters, options.max_grad_norm);
    }
    optimizer->step();
  }
  return losses;
}

double ValidationLoss(SparseTransformer& model, const std::vector<Batch>& batches,
                      const torch::Device& device) {
  torch::NoGradGuard no_grad;
  model->eval();
  double total = 0.0;
  int64_t count = 0;
  for (const Batch& cpu_batch : batches) {
    const Batch batch = ToDevice(cpu_batch, device);
    const torch::Tensor logits = model->forward(batch.inputs);
    const torch::Tensor summed = torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(-1)}), batch.targets.reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions()
            .ignore_index(kIgnoreTarget)
            .reduction(torch::kSum));
    total += summed.to(torch::kDouble).item<double>();
    count += batch.targets.ne(kIgnoreTarget).sum().item<int64_t>();
  }
  return count > 0 ? total / static_cast<double>(count) : std::nan("");
}

}  // namespace headevo::worker
