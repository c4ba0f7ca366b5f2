// Offset attention computed as masked scaled dot-product attention through batched matrix
// products: scores = q k^T / sqrt(scale_dim) + B, where B[h, t, s] is the learned bias of
// offset s - t when that offset is in head h's set and -inf otherwise; softmax over s; output
// = probs v. It computes exactly what SparseAttention (sparse_attention.h) computes for the
// same offsets and bias, up to floating-point rounding. Training on the CPU runs fused loops
// with a written-out backward (matmul_attention_cpu.h); passes that want probs, and other
// devices, use LibTorch ops and autograd.
//
// Why two paths: the fused offset kernel does O(N K D) work, a head's offsets one at a time;
// the products O(N S D) work for a head spanning S offsets (its lowest to its highest), in
// dense vectorised rows that never materialise the N x N probs when training. For dense
// attention (K = N - 1 or N) the products win; for K in the tens the kernel does. See
// MatmulAttentionIsCheaper for the rule and bench/attention_step.cc for the measurement behind it.
//
// Errors: tensor ops that throw c10::Error, like sparse_attention.h (not a Status boundary).
#ifndef HEADEVO_WORKER_MATMUL_ATTENTION_H_
#define HEADEVO_WORKER_MATMUL_ATTENTION_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "worker/sparse_attention.h"

namespace headevo::worker {

// Which formulation a layer's offset attention runs through.
enum class AttentionPath {
  kAuto,     // MatmulAttentionIsCheaper decides per layer
  kOffsets,  // the fused offset kernel (the gather formulation off the CPU)
  kMatmul,   // MatmulAttention
};

const char* AttentionPathName(AttentionPath path);

// The automatic rule: the products are used when the sequence has at least kMatmulMinSeqLen
// positions and the widest head of a layer has at least seq_len / kMatmulWidthDivisor
// offsets, provided that no head repeats an offset (the products count each (query, key)
// pair once). Measured with bench_attention --steps-only and with single-threaded training
// steps (CPU time, which a shared machine disturbs less) at d_head 8: dense heads train 2.5x
// faster through the products at n = 256 and 6.5x at n = 784 (single thread; the offset
// kernel 394 ms, the products 61 ms a step). Local 32 heads train about 1.3x faster through
// the products at n = 784 (they visit only a head's window, rounded out to whole vectors of
// 16 keys) and k = 8 heads spread over 64 positions 1.2x slower; both stay with the kernel,
// whose traced passes (head statistics, growth) are O(N K) where the products' are O(N^2),
// and which needs no O(H N^2) plan.
constexpr int64_t kMatmulWidthDivisor = 2;
constexpr int64_t kMatmulMinSeqLen = 256;
bool MatmulAttentionIsCheaper(const std::vector<std::vector<int32_t>>& offsets, int64_t seq_len);

// The bias-matrix plan of one layer at one sequence length, built once (O(H N^2) memory).
struct MatmulAttentionPlan {
  // Requires distinct offsets within each head (throws c10::Error otherwise); `pattern` is
  // AttentionPattern::Build of the same offsets (its max_k is the bias's K).
  static MatmulAttentionPlan Build(const std::vector<std::vector<int32_t>>& offsets,
                                   const AttentionPattern& pattern, const torch::Device& device);

  // [H*N*N] int32: index into the bias flattened to [H*K] with one 0 appended: entry
  // (h, t, s) picks the bias of offset s - t of head h, or the appended 0 where h lacks it.
  torch::Tensor bias_index;
  // [H, N, N] bool: scores that become -inf (the pair is not in the head's set, and the query
  // has at least one key).
  torch::Tensor blocked;
  // [H, N, 1] bool: queries with no key at all (their probs and output are zeroed, as the
  // offset kernel does); undefined when every query has a key.
  torch::Tensor empty_rows;
  // [H*(2N-1)] int64: the same index along the diagonals, entry (h, o + N - 1) for offset o
  // (the training path's bias, matmul_attention_cpu.h).
  torch::Tensor diagonal_index;
  // [H, 2N - 1] bool: offsets a head lacks (their scores become -inf).
  torch::Tensor diagonal_blocked;
};

// What MatmulAttention returns as probs.
enum class ProbsWanted {
  kNone,      // probs left undefined (training without a trace)
  kDetached,  // [B, H, N, K] in the offset layout of SparseAttention, out of the graph
  kInGraph,   // the same, in the graph, and the output computed through them (so that the
              // loss has a gradient with respect to these very probs, as growth needs)
};

// q, k, v: [B, H, N, D]; bias [H, K] as in SparseAttention; scale_dim 0 means D. probs in the
// offset layout are 0 on invalid entries, like SparseAttention's.
SparseAttentionOutput MatmulAttention(const torch::Tensor& q, const torch::Tensor& k,
                                      const torch::Tensor& v, const torch::Tensor& bias,
                                      const MatmulAttentionPlan& plan,
                                      const AttentionPattern& pattern, int64_t scale_dim,
                                      ProbsWanted wanted);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_MATMUL_ATTENTION_H_
