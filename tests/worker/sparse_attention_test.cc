#include "worker/sparse_attention.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <vector>

#include "worker/genome_layout.h"

namespace headevo::worker {
namespace {

using Offsets = std::vector<std::vector<int32_t>>;

// Full [N, N] attention with a large negative score outside each head's offsets (plus the
// bias inside), softmax, and rows with no valid key zeroed.
torch::Tensor DenseReference(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& bias, const Offsets& offsets) {
  const int64_t H = q.size(1), N = q.size(2), D = q.size(3);
  std::vector<int64_t> hs, ts, ss, js;
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t t = 0; t < N; ++t) {
      for (size_t j = 0; j < offsets[h].size(); ++j) {
        const int64_t s = t + offsets[h][j];
        if (s < 0 || s >= N) continue;
        hs.push_back(h), ts.push_back(t), ss.push_back(s), js.push_back(static_cast<int64_t>(j));
      }
    }
  }
  auto as_tensor = [](const std::vector<int64_t>& x) { return torch::tensor(x, torch::kInt64); };
  torch::Tensor additive = torch::full({H, N, N}, -1e9, q.options());
  torch::Tensor has_key = torch::zeros({H, N, 1}, q.options());
  if (!hs.empty()) {
    const torch::Tensor h = as_tensor(hs), t = as_tensor(ts), s = as_tensor(ss), j = as_tensor(js);
    additive = additive.index_put({h, t, s}, bias.index({h, j}));
    has_key = has_key.index_put({h, t}, torch::ones({1}, q.options()));
  }
  const torch::Tensor scores =
      torch::matmul(q, k.transpose(2, 3)) / std::sqrt(static_cast<double>(D));
  const torch::Tensor probs = torch::softmax(scores + additive, -1) * has_key;
  return torch::matmul(probs, v);
}

Offsets RandomOffsets(std::mt19937& rng, int64_t heads, int64_t n, bool causal) {
  const std::vector<int32_t> allowed = DenseOffsets(static_cast<int>(n), causal);
  Offsets offsets(heads);
  for (auto& head : offsets) {
    const int k = std::uniform_int_distribution<int>(0, 5)(rng);
    for (int32_t offset : allowed) {
      if (std::uniform_int_distribution<int>(0, static_cast<int>(allowed.size()) - 1)(rng) < k) {
        head.push_back(offset);
      }
    }
  }
  return offsets;
}

TEST(SparseAttentionTest, MatchesDenseMaskedReferenceForwardAndBackward) {
  std::mt19937 rng(12345);
  torch::manual_seed(0);
  for (int trial = 0; trial < 16; ++trial) {
    // Trials 2, 3 (mod 4) in float32, the training dtype; the others in float64.
    const torch::Dtype dtype = trial % 4 < 2 ? torch::kDouble : torch::kFloat;
    const double atol = dtype == torch::kDouble ? 1e-8 : 1e-5;
    const bool causal = trial % 2 == 0;
    const int64_t B = 1 + trial % 3, H = 1 + trial % 4, N = 1 + (trial * 5) % 12,
                  D = 1 + (trial * 3) % 8;
    const Offsets offsets = RandomOffsets(rng, H, N, causal);
    const AttentionPattern pattern = AttentionPattern::Build(offsets, N, torch::kCPU);
    auto input = [&](std::vector<int64_t> shape) {
      return torch::randn(shape, dtype).requires_grad_(true);
    };
    const torch::Tensor q = input({B, H, N, D}), k = input({B, H, N, D}), v = input({B, H, N, D}),
                        bias = input({H, pattern.max_k});
    const torch::Tensor upstream = torch::randn({B, H, N, D}, dtype);

    const SparseAttentionOutput sparse = SparseAttention(q, k, v, bias, pattern);
    const std::vector<torch::Tensor> sparse_grads =
        torch::autograd::grad({sparse.output}, {q, k, v, bias}, {upstream}, false, false, true);
    const torch::Tensor dense = DenseReference(q, k, v, bias, offsets);
    const std::vector<torch::Tensor> dense_grads =
        torch::autograd::grad({dense}, {q, k, v, bias}, {upstream}, false, false, true);

    SCOPED_TRACE(::testing::Message() << "trial " << trial << " B=" << B << " H=" << H << " N=" << N
                                      << " D=" << D << " causal=" << causal);
    EXPECT_TRUE(torch::allclose(sparse.output, dense, 1e-4, atol));
    const char* names[] = {"q", "k", "v", "bias"};
    for (int i = 0; i < 4; ++i) {
      const torch::Tensor expected =
          dense_grads[i].defined() ? dense_grads[i] : torch::zeros_like(sparse_grads[i]);
      EXPECT_TRUE(torch::allclose(sparse_grads[i], expected, 1e-4, atol)) << names[i];
    }
    // Probabilities: zero where invalid, each query's valid entries sum to 1 (or 0 if none).
    EXPECT_EQ(sparse.probs.sizes(), (std::vector<int64_t>{B, H, N, pattern.max_k}));
    EXPECT_EQ(sparse.probs.masked_select(pattern.valid.logical_not()).abs().sum().item<double>(),
              0.0);
    const torch::Tensor row_sums = sparse.probs.sum(-1);
    const torch::Tensor has_key = pattern.valid.any(-1).to(dtype).expand_as(row_sums);
    EXPECT_TRUE(torch::allclose(row_sums, has_key, 1e-5, 1e-5));
  }
}

TEST(SparseAttentionTest, QueryWithoutValidKeyGivesZeroAndNoNaN) {
  // Causal offsets {-3}: queries 0, 1 and 2 have no key inside the window.
  const AttentionPattern pattern = AttentionPattern::Build({{-3}, {-1, 0}}, 5, torch::kCPU);
  torch::manual_seed(1);
  const torch::Tensor q = torch::randn({2, 2, 5, 4}).requires_grad_(true);
  const torch::Tensor k = torch::randn({2, 2, 5, 4}).requires_grad_(true);
  const torch::Tensor v = torch::randn({2, 2, 5, 4}).requires_grad_(true);
  const torch::Tensor bias = torch::zeros({2, 2}).requires_grad_(true);
  const SparseAttentionOutput out = SparseAttention(q, k, v, bias, pattern);
  out.output.sum().backward();

  const torch::Tensor empty_queries = out.output.select(1, 0).slice(1, 0, 3);
  EXPECT_EQ(empty_queries.abs().sum().item<float>(), 0.0f);
  // Query 3 of head 0 reads only position 0, so it returns v there.
  EXPECT_TRUE(torch::allclose(out.output.select(1, 0).select(1, 3), v.select(1, 0).select(1, 0)));
  for (const torch::Tensor& t :
       {out.output, out.probs, q.grad(), k.grad(), v.grad(), bias.grad()}) {
    EXPECT_FALSE(torch::isnan(t).any().item<bool>());
  }
}

TEST(SparseAttentionTest, PatternMarksOutOfWindowAndPaddedEntries) {
  const AttentionPattern pattern = AttentionPattern::Build({{-1, 1}, {0}}, 3, torch::kCPU);
  EXPECT_EQ(pattern.max_k, 2);
  // Head 0: t=0 has only +1; t=2 has only -1. Head 1: entry 1 is padding.
  const std::vector<int64_t> expected = {0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0};
  const torch::Tensor valid = pattern.valid.to(torch::kInt64).reshape({-1});
  EXPECT_TRUE(torch::equal(valid, torch::tensor(expected, torch::kInt64)));
  EXPECT_EQ(pattern.gather.size(0), 2 * 3 * 2);
}

}  // namespace
}  // namespace headevo::worker
