// The fused CPU loops behind MatmulAttention's training path (matmul_attention.h): masked
// scaled dot-product attention over all N keys with a bias matrix, one (batch, head) slice at a
// time and one query row at a time, so that a row's scores stay in L1 from the q.k products,
// through the softmax, to the probs.v products, and neither LibTorch's bmm (slow for the
// [N, d_head] x [d_head, N] shapes of small heads) nor BLAS threads (which fight LibTorch's
// OpenMP threads when many small products alternate with elementwise ops) are involved.
// Work is split over slices (forward) and heads (backward), at::get_num_threads() threads; each
// task
// writes only its own slices, so results do not depend on the number of threads.
//
// Contract (CPU tensors of one floating type, contiguous or made so):
//   q, k, v      [B, H, N, D]
//   bias_matrix  [H, N, N]   added to the scores; -inf where a pair is not attended
//   empty_rows   [H, N, 1] bool, or empty (numel 0): queries with no key (zero probs, output)
//   scale        scores = q.k * scale + bias_matrix
// Forward returns {output [B, H, N, D], probs [B, H, N, N]}; backward, given those and the
// output's gradient, returns {dq, dk, dv, dbias_matrix [H, N, N]}.
#ifndef HEADEVO_WORKER_MATMUL_ATTENTION_CPU_H_
#define HEADEVO_WORKER_MATMUL_ATTENTION_CPU_H_

#include <torch/torch.h>

#include <vector>

namespace headevo::worker {

std::vector<torch::Tensor> DenseAttentionCpuForward(const torch::Tensor& q, const torch::Tensor& k,
                                                    const torch::Tensor& v,
                                                    const torch::Tensor& bias_matrix,
                                                    const torch::Tensor& empty_rows, double scale);

std::vector<torch::Tensor> DenseAttentionCpuBackward(const torch::Tensor& q, const torch::Tensor& k,
                                                     const torch::Tensor& v,
                                                     const torch::Tensor& probs,
                                                     const torch::Tensor& output,
                                                     const torch::Tensor& grad_output,
                                                     double scale);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_MATMUL_ATTENTION_CPU_H_
