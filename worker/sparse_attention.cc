#include "worker/sparse_attention.h"

#include "worker/sparse_attention_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace headevo::worker {

AttentionPattern AttentionPattern::Build(const std::vector<std::vector<int32_t>>& offsets,
                                         int64_t seq_len, const torch::Device& device) {
  AttentionPattern pattern;
  pattern.num_heads = static_cast<int64_t>(offsets.size());
  pattern.seq_len = seq_len;
  pattern.max_k = 1;
  for (const auto& head : offsets) {
    pattern.max_k = std::max<int64_t>(pattern.max_k, static_cast<int64_t>(head.size()));
  }
  const int64_t H = pattern.num_heads, N = seq_len, K = pattern.max_k;
  std::vector<int32_t> table(H * K, 0), counts(H, 0);
  for (int64_t h = 0; h < H; ++h) {
    counts[h] = static_cast<int32_t>(offsets[h].size());
    std::copy(offsets[h].begin(), offsets[h].end(), table.begin() + h * K);
  }
  pattern.offset_table = torch::tensor(table, torch::kInt32).view({H, K});
  pattern.counts = torch::tensor(counts, torch::kInt32);
  std::vector<int64_t> gather(H * N * K);
  std::vector<uint8_t> valid(H * N * K, 0);
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t t = 0; t < N; ++t) {
      for (int64_t j = 0; j < K; ++j) {
        const int64_t at = (h * N + t) * K + j;
        const bool real = j < static_cast<int64_t>(offsets[h].size());
        const int64_t s = real ? t + offsets[h][j] : -1;
        const bool ok = real && s >= 0 && s < N;
        valid[at] = ok ? 1 : 0;
        gather[at] = h * N + (ok ? s : t);
      }
    }
  }
  pattern.gather = torch::tensor(gather, torch::kInt64).to(device);
  pattern.valid = torch::tensor(valid, torch::kUInt8).to(torch::kBool).view({H, N, K}).to(device);
  pattern.masked = pattern.valid.logical_not().logical_and(pattern.valid.any(-1, true));
  return pattern;
}

SparseAttentionOutput SparseAttention(const torch::Tensor& q, const torch::Tensor& k,
                                      const torch::Tensor& v, const torch::Tensor& bias,
                                      const AttentionPattern& pattern, int64_t scale_dim) {
  if (!q.device().is_cpu()) return SparseAttentionByGather(q, k, v, bias, pattern, scale_dim);
  TORCH_CHECK(q.size(1) == pattern.num_heads && q.size(2) == pattern.seq_len,
              "SparseAttention: q has ", q.size(1), " heads x ", q.size(2),
              " positions, the pattern ", pattern.num_heads, " x ", pattern.seq_len);
  std::vector<torch::Tensor> result =
      SparseAttentionCpu(q, k, v, bias, pattern.offset_table, pattern.counts, scale_dim);
  return {result[0], result[1]};
}

SparseAttentionOutput SparseAttentionByGather(const torch::Tensor& q, const torch::Tensor& k,
                                              const torch::Tensor& v, const torch::Tensor& bias,
                                              const AttentionPattern& pattern, int64_t scale_dim) {
  TORCH_CHECK(q.dim() == 4 && q.sizes() == k.sizes() && q.sizes() == v.sizes(),
              "SparseAttention: q, k, v must share a [B, H, N, D] shape");
  const int64_t B = q.size(0), H = q.size(1), N = q.size(2), D = q.size(3);
  const int64_t K = pattern.max_k;
  TORCH_CHECK(H == pattern.num_heads && N == pattern.seq_len, "SparseAttention: q has ", H,
              " heads x ", N, " positions, the pattern ", pattern.num_heads, " x ",
              pattern.seq_len);
  TORCH_CHECK(bias.dim() == 2 && bias.size(0) == H && bias.size(1) == K,
              "SparseAttention: bias must be [", H, ", ", K, "]");
  // [B, H*N, D] rows -> [B, H, N, K, D] gathered keys and values.
  const torch::Tensor keys =
      k.reshape({B, H * N, D}).index_select(1, pattern.gather).view({B, H, N, K, D});
  const torch::Tensor values =
      v.reshape({B, H * N, D}).index_select(1, pattern.gather).view({B, H, N, K, D});
  torch::Tensor scores = torch::matmul(q.unsqueeze(3), keys.transpose(3, 4)).squeeze(3) /
                         std::sqrt(static_cast<double>(scale_dim > 0 ? scale_dim : D));
  scores = (scores + bias.view({1, H, 1, K}))
               .masked_fill(pattern.masked, -std::numeric_limits<double>::infinity());
  const torch::Tensor probs =
      torch::softmax(scores, -1).masked_fill(pattern.valid.logical_not(), 0.0);
  const torch::Tensor output = torch::matmul(probs.unsqueeze(3), values).squeeze(3);
  return {output, probs};
}

}  // namespace headevo::worker
