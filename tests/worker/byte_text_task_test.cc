#include "worker/byte_text_task.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "tests/testutil/status_matchers.h"

namespace headevo::worker {
namespace {

// 200 bytes whose value at position i is i (so a window's bytes tell where it came from).
std::string Counting(int length) {
  std::string text;
  for (int i = 0; i < length; ++i) text.push_back(static_cast<char>(i));
  return text;
}

TEST(ByteTextTaskTest, TargetsAreTheNextBytesInsideTheTrainingPart) {
  ASSERT_OK_AND_ASSIGN(auto task, ByteTextTask::Create(Counting(200), 8));
  torch::Generator generator = at::detail::createCPUGenerator(5);
  const Batch batch = task->TrainingBatch(64, generator);
  ASSERT_EQ(batch.inputs.sizes(), (std::vector<int64_t>{64, 8}));
  EXPECT_TRUE(torch::equal(batch.targets, batch.inputs + 1));
  EXPECT_TRUE(torch::equal(batch.inputs.slice(1, 1), batch.inputs.slice(1, 0, 7) + 1));
  EXPECT_GE(batch.inputs.min().item<int64_t>(), 0);
  EXPECT_LT(batch.targets.max().item<int64_t>(), 180);  // first 90% = bytes 0..179
}

TEST(ByteTextTaskTest, ValidationWindowsComeFromTheLastTenthDeterministically) {
  ASSERT_OK_AND_ASSIGN(auto task, ByteTextTask::Create(Counting(200), 8));
  const std::vector<Batch> batches = task->ValidationBatches(2, 2);
  ASSERT_EQ(batches.size(), 2u);
  // Starts evenly spaced over [180, 200 - 9]: 180, 183, 187, 191.
  EXPECT_EQ(batches[0].inputs[0][0].item<int64_t>(), 180);
  EXPECT_EQ(batches[1].inputs[1][0].item<int64_t>(), 191);
  EXPECT_EQ(batches[1].targets[1][7].item<int64_t>(), 199);
  EXPECT_TRUE(torch::equal(batches[0].inputs, task->ValidationBatches(2, 2)[0].inputs));
}

TEST(ByteTextTaskTest, TooShortTextIsInvalidArgument) {
  const auto task = ByteTextTask::Create(Counting(50), 8);
  EXPECT_EQ(task.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace headevo::worker
