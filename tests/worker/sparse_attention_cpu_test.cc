// The fused CPU op against the gather formulation (itself checked against a dense masked
// reference in sparse_attention_test.cc), against finite differences, and across thread counts.
#include "worker/sparse_attention_cpu.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>

#include "worker/sparse_attention.h"

namespace headevo::worker {
namespace {

using Offsets = std::vector<std::vector<int32_t>>;

// Ragged unique offsets in [-span, span] (causal: [-span, 0]); some heads may get none.
Offsets RandomOffsets(std::mt19937& rng, int64_t heads, int span, int max_k, bool causal) {
  Offsets offsets(heads);
  for (auto& head : offsets) {
    const int k = std::uniform_int_distribution<int>(0, max_k)(rng);
    std::uniform_int_distribution<int> draw(-span, causal ? 0 : span);
    for (int i = 0; i < k; ++i) {
      const int32_t o = draw(rng);
      if (std::find(head.begin(), head.end(), o) == head.end()) head.push_back(o);
    }
  }
  return offsets;
}

struct Inputs {
  torch::Tensor q, k, v, bias;
};

Inputs RandomInputs(int64_t B, int64_t H, int64_t N, int64_t D, int64_t K, torch::Dtype dtype) {
  auto make = [&](std::vector<int64_t> shape) {
    return torch::randn(shape, dtype).requires_grad_(true);
  };
  return {make({B, H, N, D}), make({B, H, N, D}), make({B, H, N, D}), make({H, K})};
}

// Output, probs and every gradient of the fused op match the gather formulation (fp32,
// rtol 1e-4), for the upstream gradient `upstream`.
void ExpectFusedMatchesGather(const Inputs& in, const AttentionPattern& pattern,
                              const torch::Tensor& upstream) {
  const SparseAttentionOutput fused = SparseAttention(in.q, in.k, in.v, in.bias, pattern);
  const SparseAttentionOutput gathered =
      SparseAttentionByGather(in.q, in.k, in.v, in.bias, pattern);
  const auto fused_grads = torch::autograd::grad({fused.output}, {in.q, in.k, in.v, in.bias},
                                                 {upstream}, false, false, true);
  const auto gathered_grads = torch::autograd::grad({gathered.output}, {in.q, in.k, in.v, in.bias},
                                                    {upstream}, false, false, true);
  EXPECT_TRUE(torch::allclose(fused.output, gathered.output, 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(fused.probs, gathered.probs, 1e-4, 1e-6));
  const char* names[] = {"q", "k", "v", "bias"};
  for (int i = 0; i < 4; ++i) {
    const torch::Tensor expected =
        gathered_grads[i].defined() ? gathered_grads[i] : torch::zeros_like(fused_grads[i]);
    EXPECT_TRUE(torch::allclose(fused_grads[i], expected, 1e-4, 1e-5)) << names[i];
  }
}

TEST(SparseAttentionCpuTest, MatchesTheGatherFormulationOnRaggedShapes) {
  std::mt19937 rng(7);
  torch::manual_seed(7);
  for (int trial = 0; trial < 24; ++trial) {
    const bool causal = trial % 2 == 0;
    const int64_t B = 1 + trial % 2, H = 1 + trial % 5, N = 1 + (trial * 7) % 41,
                  D = 1 + (trial * 5) % 37;  // odd D exercises the vector remainders
    const Offsets offsets = RandomOffsets(rng, H, static_cast<int>(N) + 2, 12, causal);
    const AttentionPattern pattern = AttentionPattern::Build(offsets, N, torch::kCPU);
    const Inputs in = RandomInputs(B, H, N, D, pattern.max_k, torch::kFloat);
    SCOPED_TRACE(::testing::Message() << "trial " << trial << " B=" << B << " H=" << H << " N=" << N
                                      << " D=" << D << " causal=" << causal);
    ExpectFusedMatchesGather(in, pattern, torch::randn({B, H, N, D}));
  }
}

// The head sizes with a compile-time unrolled kernel (8, 16, 32, 64), over more than one query
// tile and with heads of 0 to 20 offsets, some reaching past either end of the sequence.
TEST(SparseAttentionCpuTest, UnrolledHeadSizesMatchTheGatherFormulation) {
  std::mt19937 rng(11);
  torch::manual_seed(11);
  for (int64_t D : {8, 16, 32, 64}) {
    for (int64_t N : {7, 300, 600}) {
      const int64_t B = 2, H = 3;
      const Offsets offsets = RandomOffsets(rng, H, static_cast<int>(N) + 3, 20, N == 300);
      const AttentionPattern pattern = AttentionPattern::Build(offsets, N, torch::kCPU);
      const Inputs in = RandomInputs(B, H, N, D, pattern.max_k, torch::kFloat);
      SCOPED_TRACE(::testing::Message() << "D=" << D << " N=" << N);
      ExpectFusedMatchesGather(in, pattern, torch::randn({B, H, N, D}));
    }
  }
}

// Central differences in float64 on tiny shapes: every element of every input.
TEST(SparseAttentionCpuTest, GradientsMatchFiniteDifferences) {
  std::mt19937 rng(3);
  torch::manual_seed(3);
  for (int trial = 0; trial < 4; ++trial) {
    const bool causal = trial % 2 == 1;
    const int64_t B = 2, H = 2, N = 5, D = 3;
    const Offsets offsets = RandomOffsets(rng, H, 4, 4, causal);
    const AttentionPattern pattern = AttentionPattern::Build(offsets, N, torch::kCPU);
    const Inputs in = RandomInputs(B, H, N, D, pattern.max_k, torch::kDouble);
    const torch::Tensor weights = torch::randn({B, H, N, D}, torch::kDouble);
    const auto loss = [&](const Inputs& x) {
      return (SparseAttentionCpu(x.q, x.k, x.v, x.bias, pattern.offset_table, pattern.counts)[0] *
              weights)
          .sum();
    };
    const auto analytic =
        torch::autograd::grad({loss(in)}, {in.q, in.k, in.v, in.bias}, {}, false, false, true);
    const torch::Tensor* inputs[] = {&in.q, &in.k, &in.v, &in.bias};
    for (int i = 0; i < 4; ++i) {
      const torch::Tensor flat = inputs[i]->detach().reshape({-1});
      torch::Tensor numeric = torch::zeros_like(flat);
      for (int64_t e = 0; e < flat.numel(); ++e) {
        const double eps = 1e-6;
        double values[2];
        for (int side = 0; side < 2; ++side) {
          Inputs moved{in.q.detach(), in.k.detach(), in.v.detach(), in.bias.detach()};
          torch::Tensor* target[] = {&moved.q, &moved.k, &moved.v, &moved.bias};
          *target[i] = target[i]->clone();
          target[i]->view({-1})[e] += side == 0 ? eps : -eps;
          values[side] = loss(moved).item<double>();
        }
        numeric[e] = (values[0] - values[1]) / (2 * eps);
      }
      EXPECT_TRUE(torch::allclose(analytic[i].reshape({-1}), numeric, 1e-5, 1e-7))
          << "input " << i << " trial " << trial;
    }
  }
}

TEST(SparseAttentionCpuTest, ResultsDoNotDependOnTheThreadCount) {
  std::mt19937 rng(5);
  torch::manual_seed(5);
  const Offsets offsets = RandomOffsets(rng, 4, 20, 8, true);
  const AttentionPattern pattern = AttentionPattern::Build(offsets, 64, torch::kCPU);
  const Inputs in = RandomInputs(3, 4, 64, 16, pattern.max_k, torch::kFloat);
  const int threads = at::get_num_threads();
  std::vector<std::vector<torch::Tensor>> runs;
  for (int n : {1, 2}) {
    at::set_num_threads(n);
    const auto out =
        SparseAttentionCpu(in.q, in.k, in.v, in.bias, pattern.offset_table, pattern.counts);
    auto grads = torch::autograd::grad({out[0].sum()}, {in.q, in.k, in.v, in.bias});
    grads.push_back(out[0].detach());
    runs.push_back(grads);
  }
  at::set_num_threads(threads);
  for (size_t i = 0; i < runs[0].size(); ++i) EXPECT_TRUE(torch::equal(runs[0][i], runs[1][i]));
}

TEST(SparseAttentionCpuTest, RefusesInconsistentInputs) {
  const AttentionPattern pattern = AttentionPattern::Build({{-1, -2}}, 4, torch::kCPU);
  const torch::Tensor x = torch::randn({1, 1, 4, 2});
  const torch::Tensor bias = torch::zeros({1, 2});
  EXPECT_THROW(
      SparseAttentionCpu(x, x, x, bias, pattern.offset_table.to(torch::kInt64), pattern.counts),
      c10::Error);
  EXPECT_THROW(
      SparseAttentionCpu(x, x, x, bias, pattern.offset_table, torch::tensor({3}, torch::kInt32)),
      c10::Error);
  EXPECT_THROW(
      SparseAttentionCpu(x, x, x.to(torch::kDouble), bias, pattern.offset_table, pattern.counts),
      c10::Error);
  EXPECT_THROW(
      SparseAttentionCpu(x, x, x, torch::zeros({1, 3}), pattern.offset_table, pattern.counts),
      c10::Error);
}

}  // namespace
}  // namespace headevo::worker
