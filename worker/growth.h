// Growing attention heads by the functional gradient (seed 004, after TINY / GroMo), for
// sparse heads: instead of guessing where new capacity should go, compute the extension that
// lowers the loss most at first order.
//
// Widening a head (its queries and keys gain r columns). Let G = dL/dS be the gradient of the
// loss with respect to the head's scores, on its own offsets only (S[t, j] scores key t + o_j
// of query t), and x~ = [x, 1] the sublayer's input with a 1 for the bias. New columns P, R
// ([d_model + 1, r]) change the scores by dS[t, j] = x~_t' P R' x~_{t+o_j} / sqrt(d_head), so
// at first order the loss changes by <C, P R'> / sqrt(d_head) with
//     C = sum over (batch, t, j) of G[t, j] x~_t x~_{t+o_j}'.
// The best rank-r P R' of a given size in the metric of the inputs is the truncated SVD of the
// whitened statistic: with Sq, Sk the second moments of query and key inputs over the head's
// (query, key) pairs (the Kronecker-factored approximation of the low-rank regression of
// B = dL/dS + the current scores that the seed writes), M = Sq^-1/2 C Sk^-1/2 = U diag(s) V',
// P = Sq^-1/2 U_r diag(s_r)^1/2 and R = -Sk^-1/2 V_r diag(s_r)^1/2, and the first-order change
// is -sum(s_r^2) / sqrt(d_head) per unit step. Existing columns are left alone, so a zero
// step is exactly the parent, and the training that follows moves everything together.
//
// A new head (the gradient initialiser). A head whose Q, K, V and W_O are zero contributes
// nothing and attends uniformly to its offsets; with a_t = sum_j p_tj x~_{t+o_j} its averaged
// input and g_t = dL/dy_t the gradient at the sublayer's output, its contribution W_O V a_t
// changes the loss by <W_O V, N> with N = sum_t g_t a_t'. The truncated SVD of
// N Sa^-1/2 = U diag(s) V' gives W_O = -U_d diag(s_d)^1/2 and V = diag(s_d)^1/2 V_d' Sa^-1/2
// (d = d_head). Then, with values and outputs in place, its queries and keys come from the
// widening step above over all of its key columns.
//
// Every direction is normalised (RMS score change 1 for queries and keys, RMS output change 1
// per residual component for values and outputs) and a line search over GrowthOptions::scales
// picks the step, keeping 0 when no step lowers the loss: widening never makes the loss worse
// on the batches it measures (a new head that finds no step falls back to random weights; see
// GradientHeadInitializer).
//
// Errors: the functions here return a Status for what the growth step itself can tell (a head
// out of range, nothing to measure) but let LibTorch's c10::Error through: they are internal
// to an evaluation and called only inside TorchEvaluator's catching boundary
// (worker/torch_evaluator.h), which turns those into a Status.
#ifndef HEADEVO_WORKER_GROWTH_H_
#define HEADEVO_WORKER_GROWTH_H_

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/training.pb.h"
#include "worker/checkpoint.h"
#include "worker/model.h"
#include "worker/task.h"

namespace headevo::worker {

struct GrowthOptions {
  // Steps the line search tries, in the units of the normalised directions.
  std::vector<double> scales = {1.0 / 64, 1.0 / 32, 1.0 / 16, 1.0 / 8, 0.25, 0.5, 1.0, 2.0, 4.0};
  // Added to every eigenvalue of the input second moments, times their mean: a ridge that
  // keeps directions the data hardly visits from blowing up.
  double ridge = 1e-3;
  torch::Device device = torch::kCPU;  // where the model lives; batches are moved here
};

// The batches the growth step reads: the statistic is computed on `gradient`, the line search
// and the measured loss change on `line_search`, so the reported change is measured on data
// the direction was not fitted to. Either may be the same batches as the other.
struct GrowthBatches {
  std::vector<Batch> gradient;
  std::vector<Batch> line_search;
};

// `count` training batches from their own stream (a generator seeded by `seed`), split into
// the first half (rounded up) for the gradient and the rest for the line search (the same
// batches when count is 1).
GrowthBatches DrawGrowthBatches(const Task& task, int64_t batch_size, int count, uint64_t seed);

// A first-order direction for columns [first_column, first_column + width) of one head's
// queries and keys.
struct KeyGrowthDirection {
  int layer = 0;
  int slot = 0;
  int64_t first_column = 0;
  torch::Tensor query;  // [d_model + 1, width] float64 on the CPU; the last row is the bias
  torch::Tensor key;    // the same for the keys
  // dL/dscale at scale 0: the loss change per unit step at first order (<= 0).
  double slope = 0.0;
};

// The widening direction of head `slot` of `layer` (see the file comment), from `batches`.
// Requires the columns to exist (first_column + width <= the head's key width).
// Errors: InvalidArgument naming the head when it has no such columns or no offsets.
absl::StatusOr<KeyGrowthDirection> ComputeKeyGrowth(SparseTransformer& model, int layer, int slot,
                                                    int64_t first_column, int64_t width,
                                                    const std::vector<Batch>& batches,
                                                    const GrowthOptions& options);

// Writes sqrt(scale) times the direction into its query and key columns (scale 0 zeroes them).
void ApplyKeyGrowth(SparseTransformer& model, const KeyGrowthDirection& direction, double scale);

// The value/output direction of a new head whose Q, K, V and W_O are zero.
struct ValueOutputDirection {
  int layer = 0;
  int slot = 0;
  torch::Tensor value;   // [d_head, d_model + 1] float64: V's rows and (last column) bias
  torch::Tensor output;  // [d_model, d_head] float64: the head's W_O columns
  double slope = 0.0;    // as KeyGrowthDirection::slope
};

absl::StatusOr<ValueOutputDirection> ComputeValueOutputGrowth(SparseTransformer& model, int layer,
                                                              int slot,
                                                              const std::vector<Batch>& batches,
                                                              const GrowthOptions& options);

// Zeroes head `slot`'s queries and keys (every column), values, W_O columns and offset biases:
// the head then adds nothing and attends uniformly, where ComputeValueOutputGrowth starts.
void SilenceHead(SparseSelfAttentionImpl& attention, int slot);

// Writes sqrt(scale) times the direction into the head's value rows and W_O columns.
void ApplyValueOutputGrowth(SparseTransformer& model, const ValueOutputDirection& direction,
                            double scale);

// The mean token cross-entropy of `batches`, as ValidationLoss computes it.
double GrowthLoss(SparseTransformer& model, const std::vector<Batch>& batches,
                  const GrowthOptions& options);

struct LineSearchResult {
  double scale = 0.0;        // the chosen step; 0 when none lowered the loss
  double loss_before = 0.0;  // at scale 0
  double loss_after = 0.0;   // at the chosen step
};

// Calls apply(0), measures loss(), then tries every scale in turn and leaves apply(best)
// applied: the step with the lowest loss, or 0 when none beats scale 0.
LineSearchResult LineSearch(const std::function<void(double)>& apply,
                            const std::function<double()>& loss, const std::vector<double>& scales);

// The growth step of a grown head (see InheritWeights): fills its new columns from the
// functional gradient and the line search and says what happened (kind WIDEN).
absl::StatusOr<headevo::v1::HeadGrowth> GrowHead(SparseTransformer& model,
                                                 const GrownHeadSlot& grown,
                                                 const GrowthBatches& batches,
                                                 const GrowthOptions& options);

// The functional-gradient initialiser: values and outputs first, then queries and keys, each
// with its own line search; one HeadGrowth (kind NEW_HEAD) per head, with the step of the
// value/output direction as its scale and the two steps' changes summed. A head for which no
// value/output step lowers the loss gets RandomHeadInitializer's weights instead, and one
// whose queries and keys find no step gets random queries and keys (zero ones would never
// learn: their gradients are each other's multiples); its record then says scale 0.
class GradientHeadInitializer : public NewHeadInitializer {
 public:
  // `batches` must outlive the initializer.
  GradientHeadInitializer(uint64_t seed, const GrowthBatches* batches, GrowthOptions options)
      : seed_(seed), batches_(batches), options_(std::move(options)) {}

  absl::StatusOr<std::vector<headevo::v1::HeadGrowth>> Initialize(
      SparseTransformer& model, const std::vector<NewHeadSlot>& heads) const override;

 private:
  uint64_t seed_;
  const GrowthBatches* batches_;
  GrowthOptions options_;
};

// The initialiser a request's new_head_init names. `batches` is used (and must outlive the
// result) only by the gradient initialiser.
std::unique_ptr<NewHeadInitializer> MakeNewHeadInitializer(headevo::v1::NewHeadInit kind,
                                                           uint64_t seed,
                                                           const GrowthBatches* batches,
                                                           const GrowthOptions& options);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_GROWTH_H_
