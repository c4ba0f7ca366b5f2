// bench_attention's second part: whole training steps of the worker's own model (forward,
// backward and an AdamW step) through each attention path, at the MNIST-like shape of issue 28
// (d_model 32, 2 layers x 4 heads of d_head 8, batch 8, causal); where the step goes through
// the path the worker picks (share in attention, tokens/s against dense, model flop utilisation
// against torch::mm's rate); and the rate the matrix-product path reaches in its attention part,
// as a fraction of torch::mm's.
#ifndef HEADEVO_BENCH_ATTENTION_STEP_H_
#define HEADEVO_BENCH_ATTENTION_STEP_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "worker/model.h"

namespace headevo::bench {

// The best of `repetitions` timed runs after one warm-up run; repetitions 0: one run, untimed
// warm-up skipped (for shapes too slow to repeat).
double BestSeconds(int repetitions, const std::function<void()>& run);

// The shape of q, k and v: [batch, heads, n, head_dim].
struct AttentionShape {
  int64_t batch, heads, head_dim;
};

// Forward + backward of one layer's attention op alone (random q, k, v from seed 0, zero bias),
// with the offsets `heads` (one list per head) over n positions, through `path`; the pattern
// and the matrix-product plan are built before the timing. BestSeconds of `repetitions`.
double AttentionOpSeconds(const AttentionShape& shape, int64_t n,
                          const std::vector<std::vector<int32_t>>& heads,
                          worker::AttentionPath path, int repetitions);

struct DenseStepFigures {
  double offsets_seconds = 0;     // one dense training step at n = 784 through the offset kernel
  double matmul_seconds = 0;      // the same step through the matrix products
  double attention_fraction = 0;  // the products' attention forward + backward, of mm's rate
};

// Prints tables (n in {256, 784, 4096}; {256, 784} when quick) of dense, local 32 and a random
// k = 8 genome, one RESULT line per n (attention_share_<genome>_n<n>,
// tokens_per_s_vs_dense_<genome>_n<n>, mfu_<genome>_n<n>), and returns the n = 784 dense
// figures. mm_gflops: torch::mm's rate.
DenseStepFigures RunTrainingSteps(bool quick, double mm_gflops);

}  // namespace headevo::bench

#endif  // HEADEVO_BENCH_ATTENTION_STEP_H_
