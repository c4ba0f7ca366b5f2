// Multi-head attention in which each head attends to its own set of relative positions
// ("offsets"): query t of head h reads keys t + o for o in the head's offset set.
// Dense attention is the special case where every head's set is DenseOffsets().
//
// Errors: these are tensor ops and, like LibTorch's own, throw c10::Error (mismatched shapes,
// out of memory); they are not a Status boundary. Training reaches them only inside
// TorchEvaluator's catching boundary (worker/torch_evaluator.h); bench/ calls them directly,
// as kernels, and lets an exception end the benchmark.
#ifndef HEADEVO_WORKER_SPARSE_ATTENTION_H_
#define HEADEVO_WORKER_SPARSE_ATTENTION_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace headevo::worker {

// The gather plan of one layer's heads at one sequence length, built once and reused for
// every batch. Offset sets are ragged (k differs per head); they are padded to max_k, and
// padded or out-of-window entries (t + o outside [0, seq_len)) are marked invalid.
struct AttentionPattern {
  // offsets[h] holds the offsets of head h; each head may have any number (even zero) of
  // offsets. Tensors live on `device`.
  static AttentionPattern Build(const std::vector<std::vector<int32_t>>& offsets, int64_t seq_len,
                                const torch::Device& device);

  int64_t num_heads = 0;
  int64_t seq_len = 0;
  int64_t max_k = 0;  // at least 1, so that tensors are never empty
  // [H*N*K] int64: for (h, t, j), the row h*N + s of a [B, H*N, D] view of the keys, where
  // s = t + offsets[h][j] when valid and t otherwise (any in-range row; it is masked).
  torch::Tensor gather;
  // [H, N, K] bool: entry j of query t of head h is a real key inside the window.
  torch::Tensor valid;
  // [H, N, K] bool: invalid entries of queries that have at least one valid entry; these
  // scores become -inf. Queries with no valid entry are zeroed after the softmax instead, so
  // they give a zero output and no NaN.
  torch::Tensor masked;
  // The fused CPU op's view of the same plan (always on the CPU): [H, K] int32 offsets padded
  // with 0, and [H] int32 real offsets per head.
  torch::Tensor offset_table;
  torch::Tensor counts;
};

struct SparseAttentionOutput {
  torch::Tensor output;  // [B, H, N, D]
  torch::Tensor probs;   // [B, H, N, K]: attention weights, 0 on invalid entries
};

// q, k, v: [B, H, N, D] with H == pattern.num_heads and N == pattern.seq_len; bias: [H, K]
// with K == pattern.max_k, added to the score of entry j of every query of head h.
// scores = q.k / sqrt(scale_dim) + bias (scale_dim 0 means D); softmax over the valid entries;
// output = sum_j p_j v_j.
// On the CPU this runs the fused op (sparse_attention_cpu.h); elsewhere the gather
// formulation below. Throws c10::Error on mismatched shapes.
SparseAttentionOutput SparseAttention(const torch::Tensor& q, const torch::Tensor& k,
                                      const torch::Tensor& v, const torch::Tensor& bias,
                                      const AttentionPattern& pattern, int64_t scale_dim = 0);

// The same attention from plain LibTorch ops (gather into [B, H, N, K, D], batched matmul,
// softmax); autograd gives the backward. Any device; memory-bound on the CPU.
SparseAttentionOutput SparseAttentionByGather(const torch::Tensor& q, const torch::Tensor& k,
                                              const torch::Tensor& v, const torch::Tensor& bias,
                                              const AttentionPattern& pattern,
                                              int64_t scale_dim = 0);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_SPARSE_ATTENTION_H_
