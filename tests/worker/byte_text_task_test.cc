#include "worker/byte_text_task.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <string>
#include <vector>

#include "tests/testutil/status_matchers.h"

namespace headevo::worker {
namespace {

// Ten documents "d0".."d9"; document i is 40 copies of the letter 'A' + i, so a byte tells
// which document it came from.
std::vector<TextDocument> LetterDocuments() {
  std::vector<TextDocument> documents;
  for (int i = 0; i < 10; ++i) {
    documents.push_back({"d" + std::to_string(i), std::string(40, static_cast<char>('A' + i))});
  }
  return documents;
}

// The letters (document markers) among a tensor of bytes.
std::set<int64_t> Letters(const torch::Tensor& bytes) {
  std::set<int64_t> letters;
  const torch::Tensor flat = bytes.reshape({-1}).contiguous();
  for (int64_t i = 0; i < flat.size(0); ++i) {
    const int64_t byte = flat[i].item<int64_t>();
    if (byte != '\n') letters.insert(byte);
  }
  return letters;
}

TEST(ByteTextTaskTest, TargetsAreTheNextBytes) {
  ASSERT_OK_AND_ASSIGN(auto task, ByteTextTask::Create(LetterDocuments(), 8));
  torch::Generator generator = at::detail::createCPUGenerator(5);
  const Batch batch = task->TrainingBatch(64, generator);
  ASSERT_EQ(batch.inputs.sizes(), (std::vector<int64_t>{64, 8}));
  EXPECT_TRUE(torch::equal(batch.inputs.slice(1, 1), batch.targets.slice(1, 0, 7)));
}

TEST(ByteTextTaskTest, ValidationDocumentsNeverAppearInTraining) {
  ASSERT_OK_AND_ASSIGN(auto task, ByteTextTask::Create(LetterDocuments(), 8));
  torch::Generator generator = at::detail::createCPUGenerator(7);
  std::set<int64_t> train;
  for (int i = 0; i < 20; ++i) {
    const std::set<int64_t> letters = Letters(task->TrainingBatch(32, generator).targets);
    train.insert(letters.begin(), letters.end());
  }
  std::set<int64_t> validation;
  for (const Batch& batch : task->ValidationBatches(4, 3)) {
    const std::set<int64_t> letters = Letters(batch.targets);
    validation.insert(letters.begin(), letters.end());
  }
  EXPECT_EQ(validation.size(), 1u);  // one document in ten held out
  EXPECT_EQ(train.size(), 9u);       // every other document seen in training
  for (int64_t letter : validation) EXPECT_EQ(train.count(letter), 0u) << char(letter);
}

TEST(ByteTextTaskTest, ValidationBatchesAreDeterministicAndIndependentOfDocumentOrder) {
  std::vector<TextDocument> reversed = LetterDocuments();
  std::reverse(reversed.begin(), reversed.end());
  ASSERT_OK_AND_ASSIGN(auto task, ByteTextTask::Create(LetterDocuments(), 8));
  ASSERT_OK_AND_ASSIGN(auto again, ByteTextTask::Create(reversed, 8));
  const std::vector<Batch> a = task->ValidationBatches(2, 2), b = again->ValidationBatches(2, 2);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_TRUE(torch::equal(a[0].inputs, b[0].inputs));
  EXPECT_TRUE(torch::equal(a[1].targets, b[1].targets));
  EXPECT_TRUE(torch::equal(a[1].inputs, task->ValidationBatches(2, 2)[1].inputs));
}

TEST(ByteTextTaskTest, TooFewOrTooShortDocumentsAreInvalidArgument) {
  const auto one = ByteTextTask::Create({{"only", std::string(500, 'x')}}, 8);
  EXPECT_EQ(one.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(one.status().message().find("two documents"), std::string::npos) << one.status();
  const auto short_docs = ByteTextTask::Create({{"a", "abc"}, {"b", "def"}}, 8);
  EXPECT_EQ(short_docs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(short_docs.status().message().find("seq_len"), std::string::npos)
      << short_docs.status();
}

}  // namespace
}  // namespace headevo::worker
