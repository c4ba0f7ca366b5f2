#include "worker/planted_offsets_task.h"

#include <ATen/CPUGeneratorImpl.h>

#include <utility>

namespace headevo::worker {
namespace {

// Seeds the validation set; any change to it changes every validation loss.
constexpr uint64_t kValidationSeed = 0x6865616465766f31ULL;  // "headevo1"

uint64_t Mix(uint64_t hash, uint64_t value) {
  // splitmix64 finaliser over hash ^ value: cheap and well spread.
  uint64_t z = hash ^ (value + 0x9e3779b97f4a7c15ULL + (hash << 6) + (hash >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

torch::Tensor PlantedTargets(const torch::Tensor& inputs, const std::vector<int32_t>& planted) {
  const int64_t n = inputs.size(1);
  const torch::Tensor offsets =
      torch::tensor(std::vector<int64_t>(planted.begin(), planted.end()), torch::kInt64)
          .to(inputs.device());
  const torch::Tensor chosen =
      offsets.index_select(0, inputs.remainder(static_cast<int64_t>(planted.size())).reshape({-1}));
  const torch::Tensor positions =
      torch::arange(n, inputs.options()).unsqueeze(0) + chosen.view(inputs.sizes());
  const torch::Tensor inside = positions.ge(0).logical_and(positions.lt(n));
  return inputs.gather(1, positions.clamp(0, n - 1))
      .masked_fill(inside.logical_not(), kIgnoreTarget);
}

PlantedOffsetsTask::PlantedOffsetsTask(int64_t vocab_size, int64_t seq_len,
                                       std::vector<int32_t> planted)
    : vocab_size_(vocab_size), seq_len_(seq_len), planted_(std::move(planted)) {}

Batch PlantedOffsetsTask::Draw(int64_t batch_size, torch::Generator& generator) const {
  Batch batch;
  batch.inputs = torch::randint(0, vocab_size_, {batch_size, seq_len_}, generator,
                                torch::TensorOptions().dtype(torch::kInt64));
  batch.targets = PlantedTargets(batch.inputs, planted_);
  return batch;
}

Batch PlantedOffsetsTask::TrainingBatch(int64_t batch_size, torch::Generator& generator) const {
  return Draw(batch_size, generator);
}

std::vector<Batch> PlantedOffsetsTask::ValidationBatches(int64_t batch_size,
                                                         int64_t num_batches) const {
  uint64_t seed = Mix(Mix(kValidationSeed, vocab_size_), seq_len_);
  for (int32_t offset : planted_) seed = Mix(seed, static_cast<uint64_t>(offset));
  torch::Generator generator = at::detail::createCPUGenerator(seed);
  std::vector<Batch> batches;
  for (int64_t i = 0; i < num_batches; ++i) batches.push_back(Draw(batch_size, generator));
  return batches;
}

}  // namespace headevo::worker
