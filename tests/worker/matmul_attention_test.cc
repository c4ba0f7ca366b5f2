#include "worker/matmul_attention.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "tests/worker/test_requests.h"
#include "worker/genome_layout.h"
#include "worker/head_stats.h"
#include "worker/model.h"
#include "worker/planted_offsets_task.h"
#include "worker/sparse_attention.h"
#include "worker/trainer.h"

namespace headevo::worker {
namespace {

using Offsets = std::vector<std::vector<int32_t>>;

constexpr double kTolerance = 1e-10;  // in double precision

void ExpectClose(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  ASSERT_TRUE(a.defined() && b.defined()) << what;
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  EXPECT_TRUE(torch::allclose(a, b, kTolerance, kTolerance))
      << what << ": max difference " << (a - b).abs().max().item<double>();
}

// Forward values, probs and the gradients of q, k, v and bias of both formulations, on random
// inputs in double precision, with the given offsets and scale_dim.
void ExpectSameAttention(const Offsets& offsets, int64_t n, int64_t scale_dim) {
  const int64_t B = 2, H = static_cast<int64_t>(offsets.size()), D = 5;
  const AttentionPattern pattern = AttentionPattern::Build(offsets, n, torch::kCPU);
  const MatmulAttentionPlan plan = MatmulAttentionPlan::Build(offsets, pattern, torch::kCPU);
  torch::manual_seed(3);
  const auto options = torch::TensorOptions().dtype(torch::kDouble);
  const torch::Tensor q0 = torch::randn({B, H, n, D}, options), k0 = torch::randn_like(q0),
                      v0 = torch::randn_like(q0), bias0 = torch::randn({H, pattern.max_k}, options),
                      upstream = torch::randn_like(q0);
  // The offset kernel, the tiled products (training: no probs) and the LibTorch-op products
  // (with probs).
  std::vector<torch::Tensor> grads[3];
  SparseAttentionOutput results[3];
  for (int path = 0; path < 3; ++path) {
    torch::Tensor q = q0.clone().requires_grad_(true), k = k0.clone().requires_grad_(true),
                  v = v0.clone().requires_grad_(true), bias = bias0.clone().requires_grad_(true);
    results[path] = path == 0
                        ? SparseAttention(q, k, v, bias, pattern, scale_dim)
                        : MatmulAttention(q, k, v, bias, plan, pattern, scale_dim,
                                          path == 1 ? ProbsWanted::kNone : ProbsWanted::kDetached);
    grads[path] = torch::autograd::grad({results[path].output}, {q, k, v, bias}, {upstream});
  }
  EXPECT_FALSE(results[1].probs.defined());
  ExpectClose(results[0].probs, results[2].probs, "probs");
  const char* names[] = {"dq", "dk", "dv", "dbias"};
  for (int path = 1; path < 3; ++path) {
    SCOPED_TRACE(path == 1 ? "tiled products" : "products from LibTorch ops");
    ExpectClose(results[0].output, results[path].output, "output");
    for (int i = 0; i < 4; ++i) ExpectClose(grads[0][i], grads[path][i], names[i]);
  }
}

TEST(MatmulAttentionTest, MatchesTheOffsetKernelOnDenseCausalAndBidirectional) {
  ExpectSameAttention({DenseOffsets(9, true), DenseOffsets(9, true)}, 9, 0);
  ExpectSameAttention({DenseOffsets(9, false)}, 9, 0);
}

TEST(MatmulAttentionTest, MatchesOnRaggedWideHeadsQueriesWithoutKeysAndAnotherTemperature) {
  // Head 2 reads only +4: queries 7..10 have no key (zero output, zero probs); head 3 none.
  ExpectSameAttention({LocalOffsets(11, false, 6), {-10, -3, 0, 2, 5}, {4}, {}}, 11, 3);
}

// In single precision the fused loops use their own exp: still within float rounding of the
// offset kernel (which uses std::exp). Head widths 8, 16 and 32 have unrolled loops, 5 the
// generic ones; n = 301 leaves a partial vector of keys and an odd query row.
TEST(MatmulAttentionTest, SinglePrecisionMatchesTheOffsetKernel) {
  const int64_t n = 301;
  const Offsets offsets = {DenseOffsets(n, true), LocalOffsets(n, false, 200), {4}};
  const AttentionPattern pattern = AttentionPattern::Build(offsets, n, torch::kCPU);
  const MatmulAttentionPlan plan = MatmulAttentionPlan::Build(offsets, pattern, torch::kCPU);
  for (int64_t d : {8, 16, 32, 5}) {
    SCOPED_TRACE(::testing::Message() << "d_head " << d);
    torch::manual_seed(8);
    const torch::Tensor q0 = torch::randn({2, 3, n, d}) * 2, k0 = torch::randn_like(q0) * 2,
                        v0 = torch::randn_like(q0), bias0 = torch::randn({3, pattern.max_k}),
                        upstream = torch::randn_like(q0);
    std::vector<torch::Tensor> grads[2];
    torch::Tensor outputs[2];
    for (int path = 0; path < 2; ++path) {
      torch::Tensor q = q0.clone().requires_grad_(true), k = k0.clone().requires_grad_(true),
                    v = v0.clone().requires_grad_(true), bias = bias0.clone().requires_grad_(true);
      outputs[path] =
          path == 0 ? SparseAttention(q, k, v, bias, pattern).output
                    : MatmulAttention(q, k, v, bias, plan, pattern, 0, ProbsWanted::kNone).output;
      grads[path] = torch::autograd::grad({outputs[path]}, {q, k, v, bias}, {upstream});
    }
    EXPECT_TRUE(torch::allclose(outputs[0], outputs[1], 1e-5, 1e-5))
        << (outputs[0] - outputs[1]).abs().max().item<float>();
    for (int i = 0; i < 4; ++i) {
      EXPECT_TRUE(torch::allclose(grads[0][i], grads[1][i], 1e-4, 1e-4))
          << i << ": " << (grads[0][i] - grads[1][i]).abs().max().item<float>();
    }
  }
}

// The fused loops split (batch, head) slices over threads and sum the bias gradient in a fixed
// order: bit-identical results on 1 and 3 threads.
TEST(MatmulAttentionTest, TrainingPathResultsDoNotDependOnTheThreadCount) {
  const int64_t n = 67;
  const Offsets offsets = {DenseOffsets(n, true), LocalOffsets(n, false, 20), {-9, 4}};
  const AttentionPattern pattern = AttentionPattern::Build(offsets, n, torch::kCPU);
  const MatmulAttentionPlan plan = MatmulAttentionPlan::Build(offsets, pattern, torch::kCPU);
  torch::manual_seed(9);
  const torch::Tensor q0 = torch::randn({3, 3, n, 8}), k0 = torch::randn_like(q0),
                      v0 = torch::randn_like(q0), bias0 = torch::randn({3, pattern.max_k}),
                      upstream = torch::randn_like(q0);
  const int threads_before = at::get_num_threads();
  std::vector<torch::Tensor> results[2];
  for (int run = 0; run < 2; ++run) {
    at::set_num_threads(run == 0 ? 1 : 3);
    torch::Tensor q = q0.clone().requires_grad_(true), k = k0.clone().requires_grad_(true),
                  v = v0.clone().requires_grad_(true), bias = bias0.clone().requires_grad_(true);
    const torch::Tensor out =
        MatmulAttention(q, k, v, bias, plan, pattern, 0, ProbsWanted::kNone).output;
    results[run] = torch::autograd::grad({out}, {q, k, v, bias}, {upstream});
    results[run].push_back(out.detach());
  }
  at::set_num_threads(threads_before);
  for (size_t i = 0; i < results[0].size(); ++i) {
    EXPECT_TRUE(torch::equal(results[0][i], results[1][i])) << "result " << i;
  }
}

TEST(MatmulAttentionTest, InGraphProbsCarryTheLossGradient) {
  const Offsets offsets = {DenseOffsets(7, true), {-2, 0, 1}};
  const AttentionPattern pattern = AttentionPattern::Build(offsets, 7, torch::kCPU);
  const MatmulAttentionPlan plan = MatmulAttentionPlan::Build(offsets, pattern, torch::kCPU);
  torch::manual_seed(5);
  const auto options = torch::TensorOptions().dtype(torch::kDouble);
  const torch::Tensor q = torch::randn({2, 2, 7, 4}, options).requires_grad_(true),
                      k = torch::randn_like(q), v = torch::randn_like(q),
                      bias = torch::randn({2, pattern.max_k}, options),
                      upstream = torch::randn_like(q);
  const SparseAttentionOutput gather = SparseAttentionByGather(q, k, v, bias, pattern, 0);
  const SparseAttentionOutput matmul =
      MatmulAttention(q, k, v, bias, plan, pattern, 0, ProbsWanted::kInGraph);
  ExpectClose(gather.output, matmul.output, "output");
  ExpectClose(torch::autograd::grad({gather.output}, {gather.probs}, {upstream})[0],
              torch::autograd::grad({matmul.output}, {matmul.probs}, {upstream})[0], "dprobs");
}

TEST(MatmulAttentionTest, RepeatedOffsetsAreRefusedAndLeftToTheOffsetKernel) {
  const Offsets repeated = {{-1, -1, 0}};
  const AttentionPattern pattern = AttentionPattern::Build(repeated, 4, torch::kCPU);
  EXPECT_THROW(MatmulAttentionPlan::Build(repeated, pattern, torch::kCPU), c10::Error);
  EXPECT_FALSE(MatmulAttentionIsCheaper(repeated, 4));
}

TEST(MatmulAttentionTest, TheAutomaticRulePicksProductsForLongDenseAndWideHeadsOnly) {
  EXPECT_TRUE(MatmulAttentionIsCheaper({DenseOffsets(4096, true)}, 4096));
  EXPECT_TRUE(MatmulAttentionIsCheaper({{-1}, LocalOffsets(4096, true, 2048)}, 4096));
  EXPECT_FALSE(MatmulAttentionIsCheaper({LocalOffsets(4096, true, 32)}, 4096));
  EXPECT_FALSE(MatmulAttentionIsCheaper({{-8, -7, -6, -5, -4, -3, -2, -1}}, 4096));
  EXPECT_TRUE(MatmulAttentionIsCheaper({DenseOffsets(784, true)}, 784));
  EXPECT_TRUE(MatmulAttentionIsCheaper({DenseOffsets(256, false)}, 256));
  // Short sequences: both are cheap; the offset kernel keeps them.
  EXPECT_FALSE(MatmulAttentionIsCheaper({DenseOffsets(100, true)}, 100));
}

// --- The whole model through either path -------------------------------------------------

SparseTransformerOptions ModelOptions(const Offsets& layer0, const Offsets& layer1,
                                      AttentionPath path) {
  SparseTransformerOptions options;
  options.vocab_size = 8;
  options.d_model = 12;
  options.d_head = 3;
  options.mlp_ratio = 2;
  options.seq_len = 10;
  options.offsets = {layer0, layer1};
  options.extra_key_width = {{2, 0}, {}};  // a grown head in layer 0: scale_dim != key width
  options.attention_path = path;
  return options;
}

struct Pass {
  torch::Tensor loss;
  std::vector<LayerTrace> trace;
  std::vector<torch::Tensor> grads;  // of every parameter, in parameters() order
};

// Loss and gradients from a pass without a trace (the training path), unless
// differentiable_probs, where they come from the pass with the trace and the regulariser;
// the trace of the same weights either way.
Pass RunModel(const SparseTransformerOptions& options, bool differentiable_probs) {
  torch::manual_seed(11);
  SparseTransformer model(options);
  model->to(torch::kDouble);
  const torch::Tensor tokens = torch::randint(0, 8, {3, 10}, torch::kInt64);
  const torch::Tensor targets = torch::randint(0, 8, {3, 10}, torch::kInt64);
  Pass pass;
  auto loss_of = [&](const torch::Tensor& logits) {
    return torch::nn::functional::cross_entropy(logits.reshape({-1, 8}), targets.reshape(-1));
  };
  if (differentiable_probs) {
    pass.loss = loss_of(model->forward(tokens, &pass.trace, true));
    pass.loss = pass.loss + MeanAttentionEntropy(model, pass.trace);
  } else {
    pass.loss = loss_of(model->forward(tokens));
    torch::NoGradGuard no_grad;
    model->forward(tokens, &pass.trace);
  }
  pass.loss.backward();
  for (const torch::Tensor& parameter : model->parameters()) pass.grads.push_back(parameter.grad());
  return pass;
}

void ExpectSameModel(const Offsets& layer0, const Offsets& layer1, bool differentiable_probs) {
  const Pass offsets =
      RunModel(ModelOptions(layer0, layer1, AttentionPath::kOffsets), differentiable_probs);
  const Pass matmul =
      RunModel(ModelOptions(layer0, layer1, AttentionPath::kMatmul), differentiable_probs);
  ExpectClose(offsets.loss, matmul.loss, "loss");
  for (size_t layer = 0; layer < 2; ++layer) {
    ExpectClose(offsets.trace[layer].probs, matmul.trace[layer].probs, "probs");
    ExpectClose(offsets.trace[layer].head_outputs, matmul.trace[layer].head_outputs, "heads");
  }
  ASSERT_EQ(offsets.grads.size(), matmul.grads.size());
  for (size_t i = 0; i < offsets.grads.size(); ++i) {
    ExpectClose(offsets.grads[i], matmul.grads[i], "gradient of parameter " + std::to_string(i));
  }
}

TEST(MatmulAttentionModelTest, CausalDenseModelMatchesTheOffsetPath) {
  ExpectSameModel({DenseOffsets(10, true), DenseOffsets(10, true)}, {DenseOffsets(10, true)},
                  false);
}

TEST(MatmulAttentionModelTest, BidirectionalWideModelMatchesTheOffsetPath) {
  ExpectSameModel({DenseOffsets(10, false), {-9, -4, 0, 3, 8}}, {LocalOffsets(10, false, 5), {2}},
                  false);
}

TEST(MatmulAttentionModelTest, DifferentiableProbsAndTheEntropyRegulariserMatch) {
  ExpectSameModel({DenseOffsets(10, true), {-6, -1, 0}}, {DenseOffsets(10, true)}, true);
}

TEST(MatmulAttentionModelTest, AutomaticChoiceIsPerLayer) {
  const int n = static_cast<int>(kMatmulMinSeqLen);
  SparseTransformerOptions options =
      ModelOptions({DenseOffsets(n, true)}, {{-1}}, AttentionPath::kAuto);
  options.seq_len = n;
  options.extra_key_width.clear();
  SparseTransformer model(options);
  EXPECT_TRUE(model->attention(0)->uses_matmul());
  EXPECT_FALSE(model->attention(1)->uses_matmul());
  options.attention_path = AttentionPath::kOffsets;
  SparseTransformer forced(options);
  EXPECT_FALSE(forced->attention(0)->uses_matmul());
}

// Training steps through the products give a bit-identical loss from the same seed.
TEST(MatmulAttentionModelTest, TrainingIsDeterministicOnTheCpu) {
  const PlantedOffsetsTask task(8, 10, {-3});
  auto train = [&] {
    torch::manual_seed(21);
    SparseTransformer model(
        ModelOptions({DenseOffsets(10, true)}, {DenseOffsets(10, true)}, AttentionPath::kMatmul));
    TrainerOptions options;
    options.steps = 5;
    options.batch_size = 4;
    options.learning_rate = 1e-2;
    torch::Generator generator = at::detail::createCPUGenerator(5);
    auto optimizer = MakeOptimizer(model, options);
    absl::StatusOr<std::vector<double>> losses =
        Train(model, task, options, &generator, optimizer.get());
    EXPECT_TRUE(losses.ok()) << losses.status();
    return losses.ok() ? *losses : std::vector<double>{};
  };
  const std::vector<double> first = train(), second = train();
  ASSERT_EQ(first.size(), 5u);
  EXPECT_EQ(first, second);
}

// ComputeHeadStats of the same weights through either path: the same entropy, independence,
// weight norm and importance.
TEST(MatmulAttentionModelTest, HeadStatisticsMatch) {
  headevo::v1::EvaluationRequest request = testing::TinyPlantedRequest();
  testing::AddHead(&request, 0, DenseOffsets(16, true));
  testing::AddHead(&request, 0, {-7, -5, -3, -1, 0});
  const headevo::v1::ModelSpec& spec = request.training().model();
  const GenomeLayout layout = MakeGenomeLayout(request.genome(), spec);
  const PlantedOffsetsTask task(spec.vocab_size(), spec.seq_len(), {-3, -7});
  std::vector<headevo::v1::HeadStats> stats[2];
  for (int path = 0; path < 2; ++path) {
    SparseTransformerOptions options = ModelOptionsFor(spec, layout, torch::kCPU);
    options.attention_path = path == 0 ? AttentionPath::kOffsets : AttentionPath::kMatmul;
    torch::manual_seed(4);
    SparseTransformer model(options);
    ASSERT_EQ(model->attention(0)->uses_matmul(), path == 1);
    stats[path] = ComputeHeadStats(model, task.ValidationBatches(8, 2), request.genome(), layout);
  }
  ASSERT_EQ(stats[0].size(), 2u);
  ASSERT_EQ(stats[1].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(::testing::Message() << "head " << i);
    EXPECT_GT(stats[0][i].entropy(), 0.1);  // spread over several keys: a real comparison
    EXPECT_NEAR(stats[0][i].entropy(), stats[1][i].entropy(), 1e-5);
    EXPECT_NEAR(stats[0][i].independence(), stats[1][i].independence(), 1e-4);
    EXPECT_NEAR(stats[0][i].weight_norm(), stats[1][i].weight_norm(), 1e-6);
    EXPECT_NEAR(stats[0][i].importance(), stats[1][i].importance(),
                1e-4 * (1 + stats[0][i].importance()));
  }
}

}  // namespace
}  // namespace headevo::worker
