#include "worker/growth.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/testutil/status_matchers.h"
#include "tests/worker/built_model.h"
#include "tests/worker/test_requests.h"
#include "worker/checkpoint.h"
#include "worker/model.h"
#include "worker/planted_offsets_task.h"
#include "worker/trainer.h"

namespace headevo::worker {
namespace {

using testing::AddHead;

using ModelRun = testing::BuiltModel;

ModelRun Build(const headevo::v1::EvaluationRequest& request, uint64_t init_seed) {
  return testing::BuildModel(request, init_seed);
}

PlantedOffsetsTask Task() { return PlantedOffsetsTask(8, 16, {-3, -7}); }

// One layer: head 100 {-3, -1}, head 101 {-7, -2, 0}; trained for 30 steps.
struct Parent {
  ModelRun run;
  Checkpoint checkpoint;
};

Parent TrainedParent() {
  headevo::v1::EvaluationRequest request = testing::TinyPlantedRequest();
  AddHead(&request, 0, {-3, -1});
  AddHead(&request, 0, {-7, -2, 0});
  ModelRun run = Build(request, 1);
  TrainerOptions options = TrainerOptionsFor(request.training(), torch::kCPU);
  options.steps = 30;
  auto optimizer = MakeOptimizer(run.model, options);
  torch::Generator data = at::detail::createCPUGenerator(2);
  EXPECT_OK(Train(run.model, Task(), options, &data, optimizer.get()).status());
  absl::StatusOr<Checkpoint> checkpoint = Checkpoint::Parse(
      SerializeCheckpoint(run.model, request.training().model(), request.genome(), nullptr),
      "parent");
  EXPECT_TRUE(checkpoint.ok()) << checkpoint.status();
  return Parent{std::move(run), *std::move(checkpoint)};
}

// The parent's genome with head 101 grown by `width` columns (as head 200) and, when
// new_head is set, a new head 300 {-7, -3} in layer 0.
headevo::v1::EvaluationRequest ChildRequest(const Parent& parent, int width, bool new_head) {
  headevo::v1::EvaluationRequest child = parent.run.request;
  headevo::v1::Head* grown = child.mutable_genome()->mutable_heads(1);
  grown->set_id(200);
  grown->set_origin(headevo::v1::HEAD_ORIGIN_GROWN);
  grown->set_source_head_id(101);
  grown->set_extra_key_width(width);
  if (new_head) {
    AddHead(&child, 0, {-7, -3});
    child.mutable_genome()->mutable_heads(2)->set_id(300);
  }
  return child;
}

ModelRun InheritedChild(const Parent& parent, int width, bool new_head,
                        InheritanceReport* report = nullptr) {
  ModelRun child = Build(ChildRequest(parent, width, new_head), 42);
  absl::StatusOr<InheritanceReport> inherited =
      InheritWeights(parent.checkpoint, child.request.training().model(), child.request.genome(),
                     child.layout, child.model, RandomHeadInitializer(5));
  EXPECT_TRUE(inherited.ok()) << inherited.status();
  if (report != nullptr && inherited.ok()) *report = *inherited;
  return child;
}

torch::Tensor Logits(ModelRun& run, const torch::Tensor& inputs) {
  torch::NoGradGuard no_grad;
  run.model->eval();
  return run.model->forward(inputs);
}

TEST(GrowthTest, GrownHeadWithZeroScaleComputesExactlyWhatItsParentDid) {
  Parent parent = TrainedParent();
  InheritanceReport report;
  ModelRun child = InheritedChild(parent, 4, /*new_head=*/false, &report);
  ASSERT_EQ(report.grown.size(), 1u);
  EXPECT_EQ(report.grown[0].slot, 1);
  EXPECT_EQ(report.grown[0].first_new_column, 8);  // d_head, the source had no extra columns
  EXPECT_EQ(child.model->attention(0)->key_width(1), 12);

  const torch::Tensor inputs = Task().ValidationBatches(16, 1)[0].inputs;
  const torch::Tensor before = Logits(parent.run, inputs);
  EXPECT_TRUE(torch::equal(Logits(child, inputs), before));

  const GrowthBatches batches = DrawGrowthBatches(Task(), 16, 2, 3);
  ASSERT_OK_AND_ASSIGN(const KeyGrowthDirection direction,
                       ComputeKeyGrowth(child.model, 0, 1, 8, 4, batches.gradient, {}));
  EXPECT_LT(direction.slope, 0.0);
  ApplyKeyGrowth(child.model, direction, 0.0);
  EXPECT_TRUE(torch::equal(Logits(child, inputs), before));
  // The new columns do reach the scores once the step is not zero.
  ApplyKeyGrowth(child.model, direction, 1.0);
  EXPECT_FALSE(torch::equal(Logits(child, inputs), before));
}

// Measured loss change of a small step against slope * step, in float64 so that rounding
// does not swamp a change of order 1e-6.
void ExpectFirstOrderAgreement(const std::function<void(double)>& apply, double slope,
                               SparseTransformer& model, const std::vector<Batch>& batches) {
  const double step = 1e-3;
  apply(0.0);
  const double before = GrowthLoss(model, batches, {});
  apply(step);
  const double measured = GrowthLoss(model, batches, {}) - before;
  const double predicted = step * slope;
  EXPECT_LT(predicted, 0.0);
  EXPECT_NEAR(measured, predicted, 0.02 * std::abs(predicted))
      << "measured " << measured << ", predicted " << predicted;
}

TEST(GrowthTest, PredictedFirstOrderChangeMatchesTheMeasuredOneForASmallStep) {
  Parent parent = TrainedParent();
  ModelRun child = InheritedChild(parent, 4, /*new_head=*/true);
  child.model->to(torch::kDouble);
  const std::vector<Batch> batches = DrawGrowthBatches(Task(), 16, 2, 3).gradient;

  ASSERT_OK_AND_ASSIGN(const KeyGrowthDirection keys,
                       ComputeKeyGrowth(child.model, 0, 1, 8, 4, batches, {}));
  ExpectFirstOrderAgreement([&](double s) { ApplyKeyGrowth(child.model, keys, s); }, keys.slope,
                            child.model, batches);
  ApplyKeyGrowth(child.model, keys, 0.0);

  // The new head's values and outputs, from silence.
  SilenceHead(*child.model->attention(0), 2);
  ASSERT_OK_AND_ASSIGN(const ValueOutputDirection values,
                       ComputeValueOutputGrowth(child.model, 0, 2, batches, {}));
  ExpectFirstOrderAgreement([&](double s) { ApplyValueOutputGrowth(child.model, values, s); },
                            values.slope, child.model, batches);
}

TEST(GrowthTest, LineSearchedGrowthLowersTheLossOnBatchesItWasNotFittedTo) {
  Parent parent = TrainedParent();
  InheritanceReport report;
  ModelRun child = InheritedChild(parent, 4, /*new_head=*/false, &report);
  ASSERT_EQ(report.grown.size(), 1u);
  const GrowthBatches batches = DrawGrowthBatches(Task(), 16, 4, 3);
  const double before = GrowthLoss(child.model, batches.line_search, {});
  ASSERT_OK_AND_ASSIGN(const headevo::v1::HeadGrowth record,
                       GrowHead(child.model, report.grown[0], batches, {}));
  EXPECT_EQ(record.head_id(), 200);
  EXPECT_EQ(record.source_head_id(), 101);
  EXPECT_EQ(record.kind(), headevo::v1::GROWTH_KIND_WIDEN);
  EXPECT_EQ(record.added_key_width(), 4);
  EXPECT_GT(record.scale(), 0.0);
  EXPECT_LT(record.predicted_loss_change(), 0.0);
  EXPECT_LT(record.measured_loss_change(), 0.0);
  const double after = GrowthLoss(child.model, batches.line_search, {});
  EXPECT_LT(after, before);
  EXPECT_NEAR(after - before, record.measured_loss_change(), 1e-9);
}

TEST(GrowthTest, LineSearchKeepsZeroWhenEveryStepHurts) {
  double applied = -1.0;
  const LineSearchResult result = LineSearch([&](double s) { applied = s; },
                                             [&] { return 1.0 + applied * applied; }, {0.5, 1.0});
  EXPECT_EQ(result.scale, 0.0);
  EXPECT_EQ(applied, 0.0);
  EXPECT_EQ(result.loss_after, result.loss_before);
}

TEST(GrowthTest, GradientInitializerStartsANewHeadLowerThanSilence) {
  Parent parent = TrainedParent();
  ModelRun child = Build(ChildRequest(parent, 0, /*new_head=*/true), 42);
  // Head 101 stays as it was (extra width 0 is no growth): only head 300 is new.
  child.request.mutable_genome()->mutable_heads(1)->set_id(101);
  const GrowthBatches batches = DrawGrowthBatches(Task(), 16, 4, 3);
  ASSERT_OK_AND_ASSIGN(
      const InheritanceReport report,
      InheritWeights(parent.checkpoint, child.request.training().model(), child.request.genome(),
                     child.layout, child.model, GradientHeadInitializer(5, &batches, {})));
  EXPECT_EQ(report.inherited_heads, 2);
  EXPECT_EQ(report.new_heads, 1);
  ASSERT_EQ(report.growth.size(), 1u);
  const headevo::v1::HeadGrowth& record = report.growth[0];
  EXPECT_EQ(record.head_id(), 300);
  EXPECT_EQ(record.kind(), headevo::v1::GROWTH_KIND_NEW_HEAD);
  EXPECT_EQ(record.added_key_width(), 8);
  EXPECT_GT(record.scale(), 0.0);
  EXPECT_LT(record.measured_loss_change(), 0.0);
  // The head is live: values, outputs and queries are no longer zero.
  SparseSelfAttentionImpl& attention = *child.model->attention(0);
  EXPECT_GT(attention.output_weight().slice(1, 16, 24).abs().sum().item<double>(), 0.0);
  EXPECT_GT(attention.qkv_weight().slice(0, 16, 24).abs().sum().item<double>(), 0.0);
}

TEST(GrowthTest, RefusesColumnsTheHeadDoesNotHave) {
  Parent parent = TrainedParent();
  const std::vector<Batch> batches = DrawGrowthBatches(Task(), 4, 1, 3).gradient;
  const auto status = ComputeKeyGrowth(parent.run.model, 0, 1, 8, 4, batches, {});
  EXPECT_EQ(status.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.status().message().find("[0, 8)"), std::string::npos) << status.status();
  EXPECT_EQ(ComputeKeyGrowth(parent.run.model, 0, 5, 0, 4, batches, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace headevo::worker
