// The fused CPU loops behind MatmulAttention's training path (matmul_attention.h): masked
// scaled dot-product attention with a per-offset bias, FlashAttention-style. The N x N scores
// and probs are never stored: the forward keeps one row of scores (in L1) and the row's
// logsumexp; the backward recomputes each row's probs from it. A query row visits only the
// keys between its head's lowest and highest offset (a causal head: the keys up to the
// diagonal), vectorised across keys with the row's D values broadcast, two rows per pass.
// Scores are kept in base 2 so that their exponentials are a polynomial and an exponent.
//
// The bias depends only on the offset s - t, so it comes as one vector per head along the
// diagonals, and its gradient goes back the same way (the sum of each diagonal over rows and
// batch), exact, without an N x N matrix.
//
// Work is split over (batch, head) slices on OpenMP threads; each slice is computed by one
// thread in a fixed order and the bias gradient is summed over the batch in a fixed order
// afterwards, so results are bit-identical whatever the thread count or scheduling.
//
// Contract (CPU tensors of one floating type; any strides):
//   q, k, v        [B, H, N, D]
//   diagonal_bias  [H, 2N - 1]  added to score (t, s) at index s - t + N - 1; -inf where head
//                               h does not attend offset s - t. A query none of whose keys
//                               are attended gets zero output (and zero gradients).
//   scale          scores = q.k * scale + bias
// Forward returns {output [B, H, N, D], logsumexp [B, H, N]}: each row's log-sum-exp of its
// scores in base 2 (log2 of the sum of exp; +inf for a query without keys), for the backward;
// backward, given those and the output's gradient, returns
// {dq, dk, dv [B, H, N, D], d_diagonal_bias [H, 2N - 1]}.
// Errors: c10::Error on shape mismatches (not a Status boundary, like sparse_attention.h).
#ifndef HEADEVO_WORKER_MATMUL_ATTENTION_CPU_H_
#define HEADEVO_WORKER_MATMUL_ATTENTION_CPU_H_

#include <torch/torch.h>

#include <vector>

namespace headevo::worker {

std::vector<torch::Tensor> DenseAttentionCpuForward(const torch::Tensor& q, const torch::Tensor& k,
                                                    const torch::Tensor& v,
                                                    const torch::Tensor& diagonal_bias,
                                                    double scale);

std::vector<torch::Tensor> DenseAttentionCpuBackward(
    const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
    const torch::Tensor& diagonal_bias, const torch::Tensor& output, const torch::Tensor& logsumexp,
    const torch::Tensor& grad_output, double scale);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_MATMUL_ATTENTION_CPU_H_
