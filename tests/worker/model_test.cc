#include "worker/model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "tests/testutil/status_matchers.h"
#include "worker/planted_offsets_task.h"
#include "worker/trainer.h"

namespace headevo::worker {
namespace {

SparseTransformerOptions TwoLayerOptions() {
  SparseTransformerOptions options;
  options.vocab_size = 8;
  options.d_model = 16;
  options.d_head = 4;
  options.mlp_ratio = 2;
  options.seq_len = 12;
  options.offsets = {{{-1, 0}, {-3}, {-6, -5, -4}}, {{-2}}};
  return options;
}

TEST(SparseTransformerTest, ShapesPerLayerHeadCountsAndTrace) {
  torch::manual_seed(0);
  SparseTransformer model(TwoLayerOptions());
  ASSERT_EQ(model->num_layers(), 2);
  EXPECT_EQ(model->attention(0)->num_heads(), 3);
  EXPECT_EQ(model->attention(1)->num_heads(), 1);
  EXPECT_EQ(model->attention(0)->output_weight().sizes(), (std::vector<int64_t>{16, 12}));

  const torch::Tensor tokens = torch::randint(0, 8, {5, 12}, torch::kInt64);
  std::vector<LayerTrace> trace;
  const torch::Tensor logits = model->forward(tokens, &trace);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{5, 12, 8}));
  ASSERT_EQ(trace.size(), 2u);
  EXPECT_EQ(trace[0].head_outputs.sizes(), (std::vector<int64_t>{5, 3, 12, 4}));
  EXPECT_EQ(trace[0].probs.sizes(), (std::vector<int64_t>{5, 3, 12, 3}));
  EXPECT_EQ(trace[1].probs.sizes(), (std::vector<int64_t>{5, 1, 12, 1}));
  EXPECT_TRUE(torch::equal(model->forward(tokens), logits));
}

TEST(SparseTransformerTest, CausalOffsetsNeverReadTheFuture) {
  torch::manual_seed(1);
  SparseTransformer model(TwoLayerOptions());
  const torch::Tensor tokens = torch::randint(0, 8, {2, 12}, torch::kInt64);
  torch::Tensor changed = tokens.clone();
  changed.select(1, 7).copy_(tokens.select(1, 7).add(1).remainder(8));
  const torch::Tensor a = model->forward(tokens), b = model->forward(changed);
  EXPECT_TRUE(torch::equal(a.slice(1, 0, 7), b.slice(1, 0, 7)));
  EXPECT_FALSE(torch::equal(a.slice(1, 7), b.slice(1, 7)));
}

TEST(SparseTransformerTest, GatesAreLeftOutOfTrainingButGetGradients) {
  torch::manual_seed(2);
  SparseTransformer model(TwoLayerOptions());
  EXPECT_EQ(model->TrainableParameters().size(), model->parameters().size() - 2);
  for (const torch::Tensor& p : model->TrainableParameters()) {
    EXPECT_FALSE(p.is_same(model->attention(0)->gate()));
    EXPECT_FALSE(p.is_same(model->attention(1)->gate()));
  }
  const PlantedOffsetsTask task(8, 12, {-3, -5});
  torch::Generator generator = at::detail::createCPUGenerator(3);
  TrainerOptions options;
  options.steps = 5;
  options.batch_size = 4;
  options.learning_rate = 1e-2;
  auto optimizer = MakeOptimizer(model, options);
  ASSERT_OK_AND_ASSIGN(const std::vector<double> losses,
                       Train(model, task, options, &generator, optimizer.get()));
  EXPECT_EQ(losses.size(), 5u);
  EXPECT_TRUE(torch::equal(model->attention(0)->gate(), torch::ones({3})));
  EXPECT_TRUE(model->attention(0)->gate().requires_grad());

  const Batch batch = task.TrainingBatch(4, generator);
  model->zero_grad();
  TokenCrossEntropy(model->forward(batch.inputs), batch.targets).backward();
  ASSERT_TRUE(model->attention(0)->gate().grad().defined());
  EXPECT_GT(model->attention(0)->gate().grad().abs().sum().item<double>(), 0.0);
}

TEST(SparseTransformerTest, DifferentiableProbsMatchTheFusedPathAndCarryGradients) {
  torch::manual_seed(5);
  SparseTransformer model(TwoLayerOptions());
  const torch::Tensor tokens = torch::randint(0, 8, {3, 12}, torch::kInt64);
  std::vector<LayerTrace> fused, differentiable;
  const torch::Tensor a = model->forward(tokens, &fused);
  const torch::Tensor b = model->forward(tokens, &differentiable, /*differentiable_probs=*/true);
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5));
  EXPECT_FALSE(fused[0].probs.requires_grad());
  ASSERT_TRUE(differentiable[0].probs.requires_grad());
  EXPECT_TRUE(torch::allclose(fused[0].probs, differentiable[0].probs, 1e-4, 1e-6));
  differentiable[0].probs.pow(2).sum().backward();
  EXPECT_GT(model->attention(0)->offset_bias().grad().abs().sum().item<double>(), 0.0);
}

TEST(SparseTransformerTest, LinformerProjectsKeysAndValuesToTheRank) {
  SparseTransformerOptions options = TwoLayerOptions();
  options.linformer_rank = 5;
  torch::manual_seed(6);
  SparseTransformer model(options);
  EXPECT_TRUE(model->attention(0)->is_linformer());
  EXPECT_FALSE(model->attention(0)->offset_bias().defined());
  const torch::Tensor tokens = torch::randint(0, 8, {2, 12}, torch::kInt64);
  std::vector<LayerTrace> trace;
  const torch::Tensor logits = model->forward(tokens, &trace);
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 12, 8}));
  EXPECT_EQ(trace[0].probs.sizes(), (std::vector<int64_t>{2, 3, 12, 5}));
  EXPECT_TRUE(torch::allclose(trace[0].probs.sum(-1), torch::ones({2, 3, 12})));
  EXPECT_EQ(model->attention(0)->valid().sizes(), (std::vector<int64_t>{3, 12, 5}));
  // Every position feeds every projected key: changing the last token changes the first
  // position's output (Linformer is bidirectional).
  torch::Tensor changed = tokens.clone();
  changed.select(1, 11).copy_(tokens.select(1, 11).add(1).remainder(8));
  EXPECT_FALSE(torch::equal(model->forward(changed).select(1, 0), logits.select(1, 0)));
  logits.sum().backward();
  const auto parameters = model->named_parameters();
  EXPECT_GT(parameters["block0.attention.linformer_keys"].grad().abs().sum().item<double>(), 0.0);
  EXPECT_GT(parameters["block0.attention.linformer_values"].grad().abs().sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace headevo::worker
