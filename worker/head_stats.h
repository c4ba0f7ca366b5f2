// The per-head ranking signals of a trained model, measured on validation batches.
#ifndef HEADEVO_WORKER_HEAD_STATS_H_
#define HEADEVO_WORKER_HEAD_STATS_H_

#include <torch/torch.h>

#include <vector>

#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/genome.pb.h"
#include "worker/genome_layout.h"
#include "worker/model.h"
#include "worker/task.h"

namespace headevo::worker {

// Per head of probs [B, H, N, K] (valid: [H, N, K]), the mean over queries with at least one
// valid entry of entropy / log(k_valid), where a query with k_valid == 1 counts as 0.
// Returns [H] in probs' dtype, in [0, 1]; 0 for a head with no valid query. Differentiable
// in probs (the concentration regulariser trains on it).
torch::Tensor NormalizedEntropy(const torch::Tensor& probs, const torch::Tensor& valid);

// Linear CKA between x [M, Dx] and y [M, Dy] (rows are samples; columns are centred here):
// ||y'x||_F^2 / (||x'x||_F ||y'y||_F), in [0, 1]; 0 when either is constant.
double LinearCka(const torch::Tensor& x, const torch::Tensor& y);

// Runs `model` in eval mode over `batches` (already on the model's device; B and N as in
// training) and returns one HeadStats per genome head, in genome order, with head_id and
// layer copied from the genome:
//   entropy: NormalizedEntropy over all batches;
//   independence: 1 - max LinearCka between the head's outputs [B*N, d_head] and those of
//     any other head in its layer (1 for a head alone in its layer);
//   weight_norm: Frobenius norm of the W_O columns that read the head, divided by the mean of
//     that norm over the heads of its layer (0 when they are all 0);
//   importance: mean over batches of |dL/dgate| (L the mean token cross-entropy).
// `layout` must be MakeGenomeLayout(genome, ...) for the genome the model was built from.
// Overwrites the model's gradients. Throws c10::Error on shape mismatches (called only inside
// TorchEvaluator's catching boundary).
std::vector<headevo::v1::HeadStats> ComputeHeadStats(SparseTransformer& model,
                                                     const std::vector<Batch>& batches,
                                                     const headevo::v1::Genome& genome,
                                                     const GenomeLayout& layout);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_HEAD_STATS_H_
