#include "worker/image_pixels_task.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <string>
#include <vector>

#include "tests/testutil/status_matchers.h"

namespace headevo::worker {
namespace {

// `count` 4 x 3 images; image i's pixels are all (i % levels + 0.5) / levels, so at `levels`
// levels every token of a sequence names its image (mod levels).
std::vector<GrayImage> MarkedImages(int count, int levels) {
  std::vector<GrayImage> images;
  for (int i = 0; i < count; ++i) {
    images.push_back({"img" + std::to_string(i), 4, 3,
                      std::vector<float>(12, (static_cast<float>(i % levels) + 0.5f) / levels)});
  }
  return images;
}

std::set<int64_t> Tokens(const torch::Tensor& tokens) {
  std::set<int64_t> out;
  const torch::Tensor flat = tokens.reshape({-1}).contiguous();
  for (int64_t i = 0; i < flat.size(0); ++i) {
    if (flat[i].item<int64_t>() != kIgnoreTarget) out.insert(flat[i].item<int64_t>());
  }
  return out;
}

TEST(ImagePixelsTaskTest, QuantisesIntoLevels) {
  EXPECT_EQ(QuantisePixel(0.0f, 16), 0);
  EXPECT_EQ(QuantisePixel(1.0f / 16 - 1e-4f, 16), 0);
  EXPECT_EQ(QuantisePixel(1.0f / 16 + 1e-4f, 16), 1);
  EXPECT_EQ(QuantisePixel(0.5f, 16), 8);
  EXPECT_EQ(QuantisePixel(1.0f, 16), 15);  // the top value joins the top level
  EXPECT_EQ(QuantisePixel(1.0f, 2), 1);
  EXPECT_EQ(QuantisePixel(-3.0f, 4), 0);   // clipped
  EXPECT_EQ(QuantisePixel(7.0f, 4), 3);
}

TEST(ImagePixelsTaskTest, ValidationSplitIsDeterministicAndIndependentOfOrder) {
  std::vector<std::string> names;
  for (int i = 0; i < 200; ++i) names.push_back("3.json#" + std::to_string(i));
  const std::vector<bool> held = HeldOutImages(names);
  EXPECT_EQ(held, HeldOutImages(names));
  int count = 0;
  for (bool h : held) count += h;
  EXPECT_EQ(count, 20);  // a tenth
  std::vector<std::string> reversed(names.rbegin(), names.rend());
  const std::vector<bool> held_reversed = HeldOutImages(reversed);
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(held[i], held_reversed[names.size() - 1 - i]) << names[i];
  }
  // Two images: one each way.
  const std::vector<bool> two = HeldOutImages({"a", "b"});
  EXPECT_NE(two[0], two[1]);
}

TEST(ImagePixelsTaskTest, SequencesStartAtRowsAndTargetTheNextPixel) {
  std::vector<GrayImage> images = MarkedImages(2, 16);
  for (GrayImage& image : images) {
    for (int p = 0; p < 12; ++p) image.pixels[p] = (p + 0.5f) / 16;  // token = pixel index
  }
  ASSERT_OK_AND_ASSIGN(auto task, ImagePixelsTask::Create(images, 16, 8));
  torch::Generator generator = at::detail::createCPUGenerator(3);
  const Batch batch = task->TrainingBatch(64, generator);
  ASSERT_EQ(batch.inputs.sizes(), (std::vector<int64_t>{64, 8}));
  std::set<int64_t> firsts;
  for (int64_t b = 0; b < 64; ++b) {
    const int64_t first = batch.inputs[b][0].item<int64_t>();
    firsts.insert(first);
    for (int64_t t = 0; t < 8; ++t) {
      EXPECT_EQ(batch.inputs[b][t].item<int64_t>(), first + t);
      const int64_t next = first + t + 1;
      EXPECT_EQ(batch.targets[b][t].item<int64_t>(), next < 12 ? next : kIgnoreTarget);
    }
  }
  // 12 pixels, width 4, 8 per sequence: rows 0 and 1 fit.
  EXPECT_EQ(firsts, (std::set<int64_t>{0, 4}));
}

TEST(ImagePixelsTaskTest, AWholeImageSequencePredictsEveryPixelButTheFirst) {
  ASSERT_OK_AND_ASSIGN(auto task, ImagePixelsTask::Create(MarkedImages(4, 16), 16, 12));
  const std::vector<Batch> validation = task->ValidationBatches(2, 1);
  ASSERT_EQ(validation.size(), 1u);
  const torch::Tensor targets = validation[0].targets;
  EXPECT_EQ(targets.sizes(), (std::vector<int64_t>{2, 12}));
  EXPECT_EQ(targets.select(1, 11).eq(kIgnoreTarget).sum().item<int64_t>(), 2);
  EXPECT_EQ(targets.slice(1, 0, 11).eq(kIgnoreTarget).sum().item<int64_t>(), 0);
}

TEST(ImagePixelsTaskTest, ValidationImagesNeverAppearInTraining) {
  ASSERT_OK_AND_ASSIGN(auto task, ImagePixelsTask::Create(MarkedImages(16, 16), 16, 4));
  EXPECT_EQ(task->validation_images(), 2);  // (16 + 5) / 10
  EXPECT_EQ(task->train_images(), 14);
  torch::Generator generator = at::detail::createCPUGenerator(7);
  std::set<int64_t> train;
  for (int i = 0; i < 20; ++i) {
    const std::set<int64_t> tokens = Tokens(task->TrainingBatch(32, generator).inputs);
    train.insert(tokens.begin(), tokens.end());
  }
  std::set<int64_t> validation;
  for (const Batch& batch : task->ValidationBatches(3, 2)) {
    const std::set<int64_t> tokens = Tokens(batch.inputs);
    validation.insert(tokens.begin(), tokens.end());
  }
  EXPECT_EQ(validation.size(), 2u);
  EXPECT_EQ(train.size(), 14u);
  for (int64_t token : validation) EXPECT_EQ(train.count(token), 0u) << token;
  // The validation set does not depend on any seed.
  const std::vector<Batch> again = task->ValidationBatches(3, 2);
  EXPECT_TRUE(torch::equal(again[1].inputs, task->ValidationBatches(3, 2)[1].inputs));
}

TEST(ImagePixelsTaskTest, RefusesMismatchedImagesAndSizes) {
  std::vector<GrayImage> images = MarkedImages(3, 16);
  images[2].width = 3;
  images[2].height = 4;
  const auto mismatched = ImagePixelsTask::Create(images, 16, 4);
  EXPECT_EQ(mismatched.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(mismatched.status().message().find("img2"), std::string::npos) << mismatched.status();
  EXPECT_FALSE(ImagePixelsTask::Create(MarkedImages(1, 16), 16, 4).ok());
  EXPECT_FALSE(ImagePixelsTask::Create(MarkedImages(3, 16), 16, 13).ok());  // > 12 pixels
  EXPECT_FALSE(ImagePixelsTask::Create(MarkedImages(3, 16), 1, 4).ok());
}

}  // namespace
}  // namespace headevo::worker
