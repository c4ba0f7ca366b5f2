#include "worker/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "tests/testutil/status_matchers.h"
#include "tests/worker/test_requests.h"
#include "worker/planted_offsets_task.h"

namespace headevo::worker {
namespace {

using testing::AddHead;

TEST(LearningRateTest, WarmsUpLinearlyThenFollowsTheSchedule) {
  TrainerOptions options;
  options.steps = 110;
  options.learning_rate = 1.0;
  options.warmup_steps = 10;
  options.final_lr_fraction = 0.1;
  options.schedule = headevo::v1::LEARNING_RATE_SCHEDULE_CONSTANT;
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 0), 0.1);
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 4), 0.5);
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 9), 1.0);
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 109), 1.0);

  options.schedule = headevo::v1::LEARNING_RATE_SCHEDULE_COSINE;
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 10), 1.0);    // peak right after warm-up
  EXPECT_NEAR(LearningRateAt(options, 59), 0.55, 0.01);  // halfway: (1 + 0.1) / 2
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 109), 0.1);   // the floor at the last step
  for (int64_t step = 11; step < 110; ++step) {
    EXPECT_LT(LearningRateAt(options, step), LearningRateAt(options, step - 1)) << step;
  }
  options.warmup_steps = 0;
  EXPECT_DOUBLE_EQ(LearningRateAt(options, 0), 1.0);
}

// A one-layer model with four wide heads on the planted task.
struct WideHeadsRun {
  headevo::v1::EvaluationRequest request = testing::TinyPlantedRequest();
  SparseTransformer model{nullptr};
  TrainerOptions options;

  explicit WideHeadsRun(double entropy_weight) {
    for (int i = 0; i < 4; ++i) AddHead(&request, 0, {-9, -7, -5, -3, -2, -1, 0});
    request.mutable_training()->set_entropy_weight(entropy_weight);
    request.mutable_training()->set_steps(60);
    torch::manual_seed(3);
    const GenomeLayout layout = MakeGenomeLayout(request.genome(), request.training().model());
    model = SparseTransformer(ModelOptionsFor(request.training().model(), layout, torch::kCPU));
    options = TrainerOptionsFor(request.training(), torch::kCPU);
  }

  PlantedOffsetsTask Task() const { return PlantedOffsetsTask(8, 16, {-3, -7}); }

  std::vector<double> TrainAll() {
    torch::Generator data = at::detail::createCPUGenerator(4);
    auto optimizer = MakeOptimizer(model, options);
    auto losses = Train(model, Task(), options, &data, optimizer.get());
    EXPECT_TRUE(losses.ok()) << losses.status();
    lr_after = optimizer->param_groups()[0].options().get_lr();
    return losses.ok() ? *losses : std::vector<double>{};
  }

  double AttentionEntropy() {
    torch::NoGradGuard no_grad;
    model->eval();
    std::vector<LayerTrace> trace;
    model->forward(Task().ValidationBatches(16, 1)[0].inputs, &trace);
    return MeanAttentionEntropy(model, trace).item<double>();
  }

  double lr_after = 0;
};

TEST(TrainerTest, TheLearningRateDependsOnTheScheduleBudgetNotWhereTheJobStops) {
  TrainerOptions whole;
  whole.learning_rate = 1.0;
  whole.schedule = headevo::v1::LEARNING_RATE_SCHEDULE_COSINE;
  whole.warmup_steps = 10;
  whole.final_lr_fraction = 0.1;
  whole.steps = 110;
  TrainerOptions rung = whole;  // a job stopping at 30 of the same budget, continued from 20
  rung.steps = 30;
  rung.first_step = 20;
  rung.schedule_steps = 110;
  for (int64_t step = 0; step < 110; ++step) {
    EXPECT_EQ(LearningRateAt(rung, step), LearningRateAt(whole, step)) << step;
  }
  rung.schedule_steps = 0;  // 0: the job's own steps are the budget
  EXPECT_DOUBLE_EQ(LearningRateAt(rung, 29), 0.1);
}

TEST(TrainerTest, ConcentrationRegulariserLowersAttentionEntropy) {
  WideHeadsRun plain(0.0), concentrated(1.0);
  const std::vector<double> plain_losses = plain.TrainAll();
  const std::vector<double> concentrated_losses = concentrated.TrainAll();
  ASSERT_EQ(plain_losses.size(), 60u);
  // Same seed and data: the first step's task loss is the same, the regulariser only adds.
  EXPECT_DOUBLE_EQ(plain_losses[0], concentrated_losses[0]);
  EXPECT_LT(concentrated.AttentionEntropy(), plain.AttentionEntropy() - 0.05);
}

TEST(TrainerTest, TheScheduleSetsTheOptimiserLearningRate) {
  WideHeadsRun setup(0.0);
  setup.options.schedule = headevo::v1::LEARNING_RATE_SCHEDULE_COSINE;
  setup.options.warmup_steps = 5;
  setup.options.final_lr_fraction = 0.25;
  setup.TrainAll();
  EXPECT_DOUBLE_EQ(setup.lr_after, setup.options.learning_rate * 0.25);
}

TEST(TrainerTest, ClippingScalesTheGradientsTheOptimiserSees) {
  WideHeadsRun setup(0.0);
  setup.options.steps = 1;
  setup.options.max_grad_norm = 1e-3;
  setup.TrainAll();
  double squared = 0.0;
  for (const torch::Tensor& p : setup.model->TrainableParameters()) {
    if (p.grad().defined()) squared += p.grad().pow(2).sum().item<double>();
  }
  EXPECT_NEAR(std::sqrt(squared), 1e-3, 1e-6);
}

}  // namespace
}  // namespace headevo::worker
