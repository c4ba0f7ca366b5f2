// A training task: an endless stream of training batches and a fixed validation set of
// token sequences with next-token style targets.
#ifndef HEADEVO_WORKER_TASK_H_
#define HEADEVO_WORKER_TASK_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace headevo::worker {

// A target the loss skips (torch's default cross-entropy ignore_index).
inline constexpr int64_t kIgnoreTarget = -100;

struct Batch {
  torch::Tensor inputs;   // [B, N] int64 tokens in [0, vocab)
  torch::Tensor targets;  // [B, N] int64 in [0, vocab), or kIgnoreTarget
};

// Implementations are immutable after construction; the const methods may be called from
// any thread. Batches are made on the CPU; the caller moves them to its device.
class Task {
 public:
  virtual ~Task() = default;

  // batch_size training sequences, drawn with `generator` (a CPU generator) so that the
  // stream is a function of the generator's seed alone.
  virtual Batch TrainingBatch(int64_t batch_size, torch::Generator& generator) const = 0;

  // num_batches batches of batch_size sequences that do not depend on any training seed:
  // every candidate of a search is validated on the same data.
  virtual std::vector<Batch> ValidationBatches(int64_t batch_size, int64_t num_batches) const = 0;
};

// Mean cross-entropy of logits [B, N, V] against batch targets, skipping kIgnoreTarget.
inline torch::Tensor TokenCrossEntropy(const torch::Tensor& logits, const torch::Tensor& targets) {
  return torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(kIgnoreTarget));
}

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_TASK_H_
