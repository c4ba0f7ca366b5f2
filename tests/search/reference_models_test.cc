#include "search/reference_models.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "search/image_task.h"

namespace headevo::search {
namespace {

SearchOptions WithBaselines(std::vector<headevo::v1::AttentionKind> kinds) {
  SearchOptions options;
  options.training = DefaultTrainingSpec();
  options.baselines = std::move(kinds);
  return options;
}

// A best candidate of 4 heads keeping 24 connections: mean k 6.
headevo::v1::Candidate BestWithMeanK6() {
  headevo::v1::Candidate best;
  for (int i = 0; i < 4; ++i) best.mutable_genome()->add_heads();
  best.mutable_metrics()->set_connections(24);
  return best;
}

TEST(ReferenceModelsTest, StridedTakesTheImageWidthForImageTasksAndSqrtOtherwise) {
  SearchOptions options = WithBaselines({headevo::v1::ATTENTION_KIND_STRIDED});
  options.training.mutable_model()->set_seq_len(100);
  EXPECT_EQ(BaselineReferences(options, nullptr, false)[0].training.model().stride(), 10);

  options.training.mutable_task()->set_kind(headevo::v1::TASK_KIND_IMAGE_PIXELS);
  options.training.mutable_model()->set_seq_len(196);
  EXPECT_EQ(BaselineReferences(options, nullptr, false)[0].training.model().stride(), 28);
  options.training.mutable_task()->set_image_dir("/photos");
  options.training.mutable_task()->set_patch_width(12);
  EXPECT_EQ(BaselineReferences(options, nullptr, false)[0].training.model().stride(), 12);
  options.baseline_stride = 5;  // a configured stride wins
  EXPECT_EQ(BaselineReferences(options, nullptr, false)[0].training.model().stride(), 5);
}

TEST(ReferenceModelsTest, DilatedAndWindowRandomArePlannedWithTheirParameters) {
  SearchOptions options = WithBaselines(
      {headevo::v1::ATTENTION_KIND_DILATED, headevo::v1::ATTENTION_KIND_WINDOW_RANDOM});
  const headevo::v1::Candidate best = BestWithMeanK6();
  std::vector<ReferencePlan> plans = BaselineReferences(options, &best, false);
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].kind, "dilated");
  EXPECT_EQ(plans[0].training.model().attention(), headevo::v1::ATTENTION_KIND_DILATED);
  EXPECT_EQ(plans[1].kind, "window_random");
  // k = 6 split: 3 local, 3 random.
  EXPECT_EQ(plans[1].training.model().window(), 3);
  EXPECT_EQ(plans[1].training.model().random_k(), 3);
  EXPECT_EQ(plans[1].description, "window + random (window 3, 3 random)");
  EXPECT_NE(plans[0].training.seed(), plans[1].training.seed());

  options.baseline_window = 5;
  options.baseline_random_k = 2;
  plans = BaselineReferences(options, &best, false);
  EXPECT_EQ(plans[1].training.model().window(), 5);
  EXPECT_EQ(plans[1].training.model().random_k(), 2);
  // Without a best candidate (k = 1) both parts keep at least one offset.
  options.baseline_window = 0;
  options.baseline_random_k = 0;
  plans = BaselineReferences(options, nullptr, false);
  EXPECT_EQ(plans[1].training.model().window(), 1);
  EXPECT_EQ(plans[1].training.model().random_k(), 1);
}

TEST(ImageTaskTest, ShapeLevelsAndBitsPerPixel) {
  headevo::v1::TaskSpec task;
  task.set_kind(headevo::v1::TASK_KIND_IMAGE_PIXELS);
  EXPECT_EQ(ImageWidth(task), 28);
  EXPECT_EQ(ImageHeight(task), 28);
  EXPECT_EQ(ImageLevels(task), kDefaultImageLevels);
  task.set_image_dir("/x");
  task.set_patch_width(10);
  EXPECT_EQ(ImageWidth(task), 10);
  EXPECT_EQ(ImageHeight(task), kDefaultPatchSide);
  task.set_kind(headevo::v1::TASK_KIND_TEXT_FILES);
  EXPECT_EQ(ImageWidth(task), 0);
  EXPECT_DOUBLE_EQ(BitsPerPixel(std::log(2.0)), 1.0);
  EXPECT_DOUBLE_EQ(BitsPerPixel(std::log(16.0)), 4.0);
}

}  // namespace
}  // namespace headevo::search
