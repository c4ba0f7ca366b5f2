#include "worker/planted_offsets_task.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

namespace headevo::worker {
namespace {

torch::Tensor Row(const std::vector<int64_t>& values) {
  return torch::tensor(values, torch::kInt64).unsqueeze(0);
}

TEST(PlantedTargetsTest, HandCheckedCase) {
  // planted = {-1, -2}: even tokens look 1 back, odd tokens 2 back.
  //   t=0 x=3 (odd)  -> t-2 = -2 outside       -> ignore
  //   t=1 x=4 (even) -> t-1 = 0                -> x_0 = 3
  //   t=2 x=5 (odd)  -> t-2 = 0                -> 3
  //   t=3 x=6 (even) -> t-1 = 2                -> 5
  //   t=4 x=1 (odd)  -> t-2 = 2                -> 5
  const torch::Tensor targets = PlantedTargets(Row({3, 4, 5, 6, 1}), {-1, -2});
  EXPECT_TRUE(torch::equal(targets, Row({kIgnoreTarget, 3, 3, 5, 5})));
}

TEST(PlantedTargetsTest, PositiveOffsetsLookAheadAndIgnorePastTheEnd) {
  const torch::Tensor targets = PlantedTargets(Row({2, 7, 1}), {1});
  EXPECT_TRUE(torch::equal(targets, Row({7, 1, kIgnoreTarget})));
}

TEST(PlantedOffsetsTaskTest, TrainingBatchesFollowTheDefinitionAndTheGenerator) {
  const PlantedOffsetsTask task(16, 32, {-2, -5, -11});
  torch::Generator a = at::detail::createCPUGenerator(1);
  torch::Generator b = at::detail::createCPUGenerator(1);
  torch::Generator c = at::detail::createCPUGenerator(2);
  const Batch batch = task.TrainingBatch(4, a);
  ASSERT_EQ(batch.inputs.sizes(), (std::vector<int64_t>{4, 32}));
  EXPECT_GE(batch.inputs.min().item<int64_t>(), 0);
  EXPECT_LT(batch.inputs.max().item<int64_t>(), 16);
  EXPECT_TRUE(torch::equal(batch.targets, PlantedTargets(batch.inputs, {-2, -5, -11})));
  EXPECT_TRUE(torch::equal(batch.inputs, task.TrainingBatch(4, b).inputs));
  EXPECT_FALSE(torch::equal(batch.inputs, task.TrainingBatch(4, c).inputs));
}

TEST(PlantedOffsetsTaskTest, ValidationSetIgnoresTheTrainingSeed) {
  // Two candidates with different TrainingSpec seeds: each consumes its own training stream,
  // and both must see the same validation set.
  const PlantedOffsetsTask first(16, 32, {-2, -5, -11});
  const PlantedOffsetsTask second(16, 32, {-2, -5, -11});
  torch::Generator seed1 = at::detail::createCPUGenerator(1);
  torch::Generator seed2 = at::detail::createCPUGenerator(2);
  first.TrainingBatch(8, seed1);
  second.TrainingBatch(8, seed2);
  torch::manual_seed(3);
  const std::vector<Batch> a = first.ValidationBatches(8, 3);
  torch::manual_seed(4);
  const std::vector<Batch> b = second.ValidationBatches(8, 3);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i].inputs, b[i].inputs));
    EXPECT_TRUE(torch::equal(a[i].targets, b[i].targets));
  }
  EXPECT_FALSE(torch::equal(a[0].inputs, a[1].inputs));
  // A different task gets a different validation set.
  const PlantedOffsetsTask other(16, 32, {-2, -5, -12});
  EXPECT_FALSE(torch::equal(a[0].inputs, other.ValidationBatches(8, 1)[0].inputs));
}

}  // namespace
}  // namespace headevo::worker
