// The planted-offsets task: random tokens, and the target at position t is the token at
// t + planted[x_t mod m], so that a model needs heads covering every planted offset to solve
// it.
#ifndef HEADEVO_WORKER_PLANTED_OFFSETS_TASK_H_
#define HEADEVO_WORKER_PLANTED_OFFSETS_TASK_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "worker/task.h"

namespace headevo::worker {

// targets[b, t] = inputs[b, t + p] with p = planted[inputs[b, t] mod m] (m = planted.size()),
// or kIgnoreTarget where t + p falls outside [0, N). inputs: [B, N] int64, non-negative;
// planted non-empty.
torch::Tensor PlantedTargets(const torch::Tensor& inputs, const std::vector<int32_t>& planted);

class PlantedOffsetsTask : public Task {
 public:
  // Requires vocab_size >= 1, seq_len >= 1 and a non-empty `planted`.
  PlantedOffsetsTask(int64_t vocab_size, int64_t seq_len, std::vector<int32_t> planted);

  // Tokens uniform in [0, vocab_size).
  Batch TrainingBatch(int64_t batch_size, torch::Generator& generator) const override;

  // Drawn from a generator seeded with a fixed constant mixed with vocab_size, seq_len and
  // the planted offsets, so it is the same for every candidate of a search.
  std::vector<Batch> ValidationBatches(int64_t batch_size, int64_t num_batches) const override;

 private:
  Batch Draw(int64_t batch_size, torch::Generator& generator) const;

  int64_t vocab_size_;
  int64_t seq_len_;
  std::vector<int32_t> planted_;
};

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_PLANTED_OFFSETS_TASK_H_
