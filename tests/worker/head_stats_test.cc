#include "worker/head_stats.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "tests/worker/test_requests.h"
#include "worker/genome_layout.h"
#include "worker/model.h"
#include "worker/planted_offsets_task.h"

namespace headevo::worker {
namespace {

TEST(NormalizedEntropyTest, UniformIsOneOneHotIsZeroSingleKeyCountsAsZero) {
  // One head, two queries, K = 4. Query 0: 4 valid keys. Query 1: 1 valid key.
  const torch::Tensor valid =
      torch::tensor({1, 1, 1, 1, 1, 0, 0, 0}, torch::kInt64).to(torch::kBool).view({1, 2, 4});
  const torch::Tensor uniform =
      torch::tensor({0.25, 0.25, 0.25, 0.25, 1.0, 0.0, 0.0, 0.0}).view({1, 1, 2, 4});
  const torch::Tensor one_hot =
      torch::tensor({0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0}).view({1, 1, 2, 4});
  // Mean over both queries: (1 + 0) / 2 and (0 + 0) / 2.
  EXPECT_NEAR(NormalizedEntropy(uniform, valid)[0].item<double>(), 0.5, 1e-6);
  EXPECT_NEAR(NormalizedEntropy(one_hot, valid)[0].item<double>(), 0.0, 1e-12);
}

TEST(NormalizedEntropyTest, QueriesWithoutKeysDoNotCount) {
  const torch::Tensor valid =
      torch::tensor({1, 1, 0, 0}, torch::kInt64).to(torch::kBool).view({1, 2, 2});
  const torch::Tensor probs = torch::tensor({0.5, 0.5, 0.0, 0.0}).view({1, 1, 2, 2});
  EXPECT_NEAR(NormalizedEntropy(probs, valid)[0].item<double>(), 1.0, 1e-6);
  const torch::Tensor none = torch::zeros({1, 2, 2}, torch::kBool);
  EXPECT_EQ(NormalizedEntropy(torch::zeros({1, 1, 2, 2}), none)[0].item<double>(), 0.0);
}

TEST(LinearCkaTest, InvariantToRotationAndScaleAndZeroForConstants) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({500, 4}, torch::kDouble);
  const torch::Tensor rotation =
      std::get<0>(torch::linalg_qr(torch::randn({4, 4}, torch::kDouble)));
  EXPECT_NEAR(LinearCka(x, x), 1.0, 1e-9);
  EXPECT_NEAR(LinearCka(x, 3.0 * torch::matmul(x, rotation) + 2.0), 1.0, 1e-9);
  EXPECT_LT(LinearCka(x, torch::randn({500, 4}, torch::kDouble)), 0.1);
  EXPECT_EQ(LinearCka(x, torch::ones({500, 4}, torch::kDouble)), 0.0);
}

TEST(ComputeHeadStatsTest, FollowsGenomeOrderAcrossLayers) {
  headevo::v1::EvaluationRequest request = testing::TinyPlantedRequest();
  request.mutable_training()->mutable_model()->set_num_layers(2);
  testing::AddHead(&request, 1, {-1});
  testing::AddHead(&request, 0, {-2, 0});
  testing::AddHead(&request, 1, {-5, -3});
  const headevo::v1::ModelSpec& spec = request.training().model();
  const GenomeLayout layout = MakeGenomeLayout(request.genome(), spec);
  torch::manual_seed(4);
  SparseTransformer model(ModelOptionsFor(spec, layout, torch::kCPU));
  const PlantedOffsetsTask task(spec.vocab_size(), spec.seq_len(), {-3, -7});

  const std::vector<headevo::v1::HeadStats> stats =
      ComputeHeadStats(model, task.ValidationBatches(8, 2), request.genome(), layout);
  ASSERT_EQ(stats.size(), 3u);
  const int64_t d = spec.d_head();
  const auto block_norm = [&](int layer, int slot) {
    return model->attention(layer)
        ->output_weight()
        .slice(1, slot * d, (slot + 1) * d)
        .norm()
        .item<double>();
  };
  const double layer1_mean = (block_norm(1, 0) + block_norm(1, 1)) / 2;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(::testing::Message() << "head " << i);
    EXPECT_EQ(stats[i].head_id(), 100 + i);
    EXPECT_EQ(stats[i].layer(), request.genome().heads(i).layer());
    EXPECT_GT(stats[i].importance(), 0.0);
  }
  // Normalised within the layer: the layer's mean block norm is 1.
  EXPECT_DOUBLE_EQ(stats[0].weight_norm(), block_norm(1, 0) / layer1_mean);
  EXPECT_DOUBLE_EQ(stats[2].weight_norm(), block_norm(1, 1) / layer1_mean);
  EXPECT_DOUBLE_EQ(stats[1].weight_norm(), 1.0);
  // Head 0 reads one position; heads 1 and 2 spread over two at initialisation.
  EXPECT_EQ(stats[0].entropy(), 0.0);
  EXPECT_GT(stats[1].entropy(), 0.5);
  // Head 1 is alone in layer 0; heads 0 and 2 share layer 1.
  EXPECT_EQ(stats[1].independence(), 1.0);
  EXPECT_LT(stats[0].independence(), 1.0);
  EXPECT_EQ(stats[0].independence(), stats[2].independence());
  // Each names the other as its most similar head; the lone head names none.
  EXPECT_EQ(stats[0].most_similar_head_id(), 102);
  EXPECT_EQ(stats[2].most_similar_head_id(), 100);
  EXPECT_EQ(stats[1].most_similar_head_id(), 0);
}

// Built cases: heads 0 and 1 of layer 0 are exact copies (same offsets, same Q/K/V rows); head
// 2's W_O block is zeroed.
TEST(ComputeHeadStatsTest, IdenticalHeadsAreNotIndependentAndAZeroedOutputHasNormZero) {
  headevo::v1::EvaluationRequest request = testing::TinyPlantedRequest();
  testing::AddHead(&request, 0, {-3, -1, 0});
  testing::AddHead(&request, 0, {-3, -1, 0});
  testing::AddHead(&request, 0, {-7, -2});
  const headevo::v1::ModelSpec& spec = request.training().model();
  const GenomeLayout layout = MakeGenomeLayout(request.genome(), spec);
  torch::manual_seed(5);
  SparseTransformer model(ModelOptionsFor(spec, layout, torch::kCPU));
  const int64_t d = spec.d_head(), heads = 3;
  {
    torch::NoGradGuard no_grad;
    SparseSelfAttention& attention = model->attention(0);
    for (int64_t part = 0; part < 3; ++part) {
      const int64_t from = part * heads * d, to = (part * heads + 1) * d;
      attention->qkv_weight()
          .slice(0, to, to + d)
          .copy_(attention->qkv_weight().slice(0, from, from + d));
      attention->qkv_bias()
          .slice(0, to, to + d)
          .copy_(attention->qkv_bias().slice(0, from, from + d));
    }
    attention->output_weight().slice(1, 2 * d, 3 * d).zero_();
  }
  const PlantedOffsetsTask task(spec.vocab_size(), spec.seq_len(), {-3, -7});
  const std::vector<headevo::v1::HeadStats> stats =
      ComputeHeadStats(model, task.ValidationBatches(8, 2), request.genome(), layout);
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_NEAR(stats[0].independence(), 0.0, 1e-9);
  EXPECT_NEAR(stats[1].independence(), 0.0, 1e-9);
  EXPECT_GT(stats[2].independence(), 0.01);
  // The copies name each other, whatever head 2 resembles.
  EXPECT_EQ(stats[0].most_similar_head_id(), request.genome().heads(1).id());
  EXPECT_EQ(stats[1].most_similar_head_id(), request.genome().heads(0).id());
  EXPECT_EQ(stats[2].weight_norm(), 0.0);
  EXPECT_GT(stats[0].weight_norm(), 0.0);
  EXPECT_NEAR(stats[0].entropy(), stats[1].entropy(), 1e-6);
}

}  // namespace
}  // namespace headevo::worker
