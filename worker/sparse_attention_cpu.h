// The fused CPU sparse-offset attention op: forward and backward loops over q, k, v in their
// own [B, H, N, D] layout, a tile of queries at a time and one offset at a time inside the tile,
// so that each offset reads a contiguous run of key rows and neither transposed copies nor the
// [B, H, N, K, D] gathered copies of the LibTorch formulation are made. Work is split over
// (batch, head) pairs with at::parallel_for; each pair writes only its own slices, so results do
// not depend on the number of threads.
//
// Contract (all tensors on the CPU, q/k/v/bias of one floating type, contiguous or made so):
//   q, k, v  [B, H, N, D]
//   bias     [H, K]        added to the score of entry j of every query of head h
//   offsets  [H, K] int32  entry j of head h reads key t + offsets[h][j]; entries at or past
//                          counts[h] are padding and ignored
//   counts   [H] int32     0 <= counts[h] <= K
//   scale_dim              scores are q.k / sqrt(scale_dim) + bias; 0 means D. A model whose
//                          grown heads pad q and k with extra columns keeps the temperature
//                          of its d_head this way.
// Keys outside [0, N) are masked; a query with no key in range outputs zeros.
// Returns {output [B, H, N, D], probs [B, H, N, K]}; probs are 0 on masked and padding entries
// and are not differentiable (they feed statistics, not the loss). q, k, v and bias get
// gradients.
#ifndef HEADEVO_WORKER_SPARSE_ATTENTION_CPU_H_
#define HEADEVO_WORKER_SPARSE_ATTENTION_CPU_H_

#include <torch/torch.h>

namespace headevo::worker {

std::vector<torch::Tensor> SparseAttentionCpu(const torch::Tensor& q, const torch::Tensor& k,
                                              const torch::Tensor& v, const torch::Tensor& bias,
                                              const torch::Tensor& offsets,
                                              const torch::Tensor& counts, int64_t scale_dim = 0);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_SPARSE_ATTENTION_CPU_H_
