#include "worker/trainer.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace headevo::worker {

Batch ToDevice(const Batch& batch, const torch::Device& device) {
  return {batch.inputs.to(device), batch.targets.to(device)};
}

absl::StatusOr<std::vector<double>> Train(SparseTransformer& model, const Task& task,
                                          const TrainerOptions& options,
                                          torch::Generator* generator) {
  const std::vector<torch::Tensor> parameters = model->TrainableParameters();
  torch::optim::AdamW optimizer(
      parameters,
      torch::optim::AdamWOptions(options.learning_rate).weight_decay(options.weight_decay));
  model->train();
  std::vector<double> losses;
  losses.reserve(options.steps);
  for (int64_t step = 0; step < options.steps; ++step) {
    const Batch batch =
        ToDevice(task.TrainingBatch(options.batch_size, *generator), options.device);
    // zero_grad on the model, not the optimiser, so the gates' gradients do not pile up.
    model->zero_grad();
    const torch::Tensor loss = TokenCrossEntropy(model->forward(batch.inputs), batch.targets);
    const double value = loss.item<double>();
    if (!std::isfinite(value)) {
      return absl::InternalError(absl::StrCat(
          "training diverged: ", std::isnan(value) ? "NaN" : "infinite", " loss at step ", step));
    }
    losses.push_back(value);
    loss.backward();
    torch::nn::utils::clip_grad_norm_(parameters, options.max_grad_norm);
    optimizer.step();
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
