// The candidate model: a pre-LN decoder-style transformer whose attention heads each attend
// to their own offset set (see sparse_attention.h), with per-layer head counts. Position
// enters only through the offsets and a learned bias per (head, offset); there is no
// absolute position embedding. The Linformer baseline replaces offset attention by dense
// attention over a learned low-rank projection of the keys and values along the sequence.
#ifndef HEADEVO_WORKER_MODEL_H_
#define HEADEVO_WORKER_MODEL_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "headevo/v1/training.pb.h"
#include "worker/genome_layout.h"
#include "worker/matmul_attention.h"
#include "worker/sparse_attention.h"

namespace headevo::worker {

struct SparseTransformerOptions {
  int64_t vocab_size = 0;  // embedding rows and output logits
  int64_t d_model = 0;     // residual stream width
  int64_t d_head = 0;      // width of every head's q, k, v
  int64_t mlp_ratio = 4;   // MLP hidden width = mlp_ratio * d_model
  int64_t seq_len = 0;     // the only sequence length forward() accepts
  // offsets[layer][head]: the offsets of each head; one entry per layer, each layer with at
  // least one head.
  std::vector<std::vector<std::vector<int32_t>>> offsets;
  // extra_key_width[layer][slot]: query/key columns beyond d_head that growth gave the head
  // (see SparseSelfAttentionImpl); empty, or a layer's entry empty, means none.
  std::vector<std::vector<int32_t>> extra_key_width;
  // > 0: Linformer attention projecting keys and values to this many rows (offsets are then
  // ignored, only their head count per layer matters).
  int64_t linformer_rank = 0;
  // How offset attention is computed, per layer: kAuto (MatmulAttentionIsCheaper picks the
  // matrix products for dense and wide heads, the offset kernel otherwise), or forced, for
  // tests and benchmarks. Both compute the same function (matmul_attention.h).
  AttentionPath attention_path = AttentionPath::kAuto;
  // Parameters are initialised on the CPU (so init is the same on every device) and then
  // moved here; attention patterns are built here.
  torch::Device device = torch::kCPU;
};

// What forward() can expose of one layer, for head statistics. Detached from the graph.
// The options of a model built for `layout` from a request's model spec.
SparseTransformerOptions ModelOptionsFor(const headevo::v1::ModelSpec& spec,
                                         const GenomeLayout& layout, const torch::Device& device);

// What forward() can expose of one layer, for head statistics and the entropy regulariser.
struct LayerTrace {
  torch::Tensor inputs;        // [B, N, d_model]: what the attention sublayer read (after LN)
  torch::Tensor head_outputs;  // [B, H, N, d_head]: gated head outputs, what W_O reads
  // [B, H, N, K]: attention weights (see SparseAttention; K = rank for Linformer). Part of
  // the autograd graph when forward() was asked for differentiable probs, else detached.
  torch::Tensor probs;
  // [B, N, d_model]: the sublayer's output before the residual sum; in the graph when
  // forward() was asked for differentiable probs (the growth step needs its gradient).
  torch::Tensor output;
};

// The attention sublayer of one block: fused Q/K/V projection d_model -> 3 * H * d_head,
// sparse attention with a bias per (head, offset) initialised to 0, a gate per head
// multiplying its output, and W_O: H * d_head -> d_model.
//
// Grown heads (extra_key_width > 0) have wider queries and keys than values. A layer with one
// has a second projection, qk_extra: d_model -> 2 * H * E (E = the layer's widest growth),
// whose query columns beyond a head's own extra width are masked to 0; queries and keys are
// the concatenation [fused columns, extra columns] and values are padded with zeros to match.
// Scores keep the temperature 1 / sqrt(d_head) however wide a head grew, so a grown head
// whose extra columns are zero computes exactly what it computed before it grew.
class SparseSelfAttentionImpl : public torch::nn::Module {
 public:
  SparseSelfAttentionImpl(const SparseTransformerOptions& options, int layer);

  // x: [B, N, d_model] -> [B, N, d_model]. Fills *trace when it is non-null; with
  // differentiable_probs its probs stay in the graph (slower on the CPU: the fused kernel's
  // probs are not differentiable, so the gather formulation runs instead).
  torch::Tensor forward(const torch::Tensor& x, LayerTrace* trace = nullptr,
                        bool differentiable_probs = false);

  int64_t num_heads() const { return num_heads_; }
  int64_t d_head() const { return d_head_; }
  // The query/key width of head `slot`: d_head + its extra_key_width.
  int64_t key_width(int slot) const { return d_head_ + extra_key_width_[slot]; }
  // E: the widest extra_key_width in the layer (0: no qk_extra projection).
  int64_t max_extra_key_width() const { return max_extra_; }
  // The weight row [d_model] and bias element [] that make column `column` (in
  // [0, key_width(slot))) of head `slot`'s queries (part 0) or keys (part 1): views to write.
  std::pair<torch::Tensor, torch::Tensor> ScoreProjectionRow(int part, int slot,
                                                             int64_t column) const;
  bool is_linformer() const { return linformer_keys_.defined(); }
  // Whether this layer's offset attention runs through matrix products (MatmulAttention)
  // rather than the offset kernel; false for Linformer.
  bool uses_matmul() const { return uses_matmul_; }
  // offsets()[slot]: the offsets of that head (empty for Linformer).
  const std::vector<std::vector<int32_t>>& offsets() const { return offsets_; }
  // [H, N, K] bool: which entries of probs are real keys (all true for Linformer).
  const torch::Tensor& valid() const { return valid_; }
  // [H], fixed at 1.0. It requires grad, and its gradient is the heads' importance signal,
  // but the optimiser never updates it (see SparseTransformerImpl::TrainableParameters).
  const torch::Tensor& gate() const { return gate_; }
  // W_O's weight, [d_model, H * d_head]; columns [h * d_head, (h + 1) * d_head) read head h.
  const torch::Tensor& output_weight() const { return out_->weight; }
  // The fused projection [3 * H * d_head, d_model] and its bias: rows
  // [(part * H + h) * d_head, + d_head) make head h's query (part 0), key (1) and value (2).
  const torch::Tensor& qkv_weight() const { return qkv_->weight; }
  const torch::Tensor& qkv_bias() const { return qkv_->bias; }
  // qk_extra's weight [2 * H * E, d_model] and bias; undefined when E is 0. Rows
  // (part * H + h) * E + c make extra column c of head h's queries (part 0) or keys (1).
  torch::Tensor qk_extra_weight() const { return qk_extra_ ? qk_extra_->weight : torch::Tensor(); }
  torch::Tensor qk_extra_bias() const { return qk_extra_ ? qk_extra_->bias : torch::Tensor(); }
  // [H, K]: the learned bias of entry j (offsets()[h][j]) of head h; undefined for Linformer.
  const torch::Tensor& offset_bias() const { return bias_; }

 private:
  // Linformer: dense attention of every query over the rank projected keys and values.
  SparseAttentionOutput LinformerAttention(const torch::Tensor& q, const torch::Tensor& k,
                                           const torch::Tensor& v) const;

  int64_t num_heads_;
  int64_t d_head_;
  std::vector<int32_t> extra_key_width_;  // per slot
  int64_t max_extra_ = 0;
  std::vector<std::vector<int32_t>> offsets_;
  AttentionPattern pattern_;  // offset attention only
  bool uses_matmul_ = false;
  MatmulAttentionPlan matmul_plan_;  // only when uses_matmul_
  torch::Tensor valid_;
  torch::nn::Linear qkv_{nullptr};
  torch::nn::Linear out_{nullptr};
  torch::nn::Linear qk_extra_{nullptr};  // only when max_extra_ > 0
  torch::Tensor extra_mask_;             // [H, E]: 1 on each head's own extra columns
  torch::Tensor bias_;              // [H, K]
  torch::Tensor gate_;              // [H]
  torch::Tensor linformer_keys_;    // [rank, N]
  torch::Tensor linformer_values_;  // [rank, N]
};
TORCH_MODULE(SparseSelfAttention);

// x + attn(LN(x)), then x + MLP(LN(x)) with MLP d_model -> mlp_ratio * d_model -> GELU ->
// d_model.
class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(const SparseTransformerOptions& options, int layer);
  torch::Tensor forward(const torch::Tensor& x, LayerTrace* trace = nullptr,
                        bool differentiable_probs = false);
  SparseSelfAttention& attention() { return attention_; }

 private:
  torch::nn::LayerNorm norm1_{nullptr};
  SparseSelfAttention attention_{nullptr};
  torch::nn::LayerNorm norm2_{nullptr};
  torch::nn::Linear fc1_{nullptr};
  torch::nn::Linear fc2_{nullptr};
};
TORCH_MODULE(TransformerBlock);

// Token embedding, the blocks, a final LayerNorm and a linear map to vocab_size logits.
// Not thread-safe; use from one thread at a time.
class SparseTransformerImpl : public torch::nn::Module {
 public:
  // Requires options that make sense (positive sizes, a head in every layer).
  explicit SparseTransformerImpl(const SparseTransformerOptions& options);

  // tokens: [B, seq_len] int64 in [0, vocab_size) -> logits [B, seq_len, vocab_size].
  // When trace is non-null it is resized to num_layers() and filled (with probs in the
  // autograd graph when differentiable_probs is set).
  torch::Tensor forward(const torch::Tensor& tokens, std::vector<LayerTrace>* trace = nullptr,
                        bool differentiable_probs = false);

  // Every parameter except the gates: what the optimiser updates.
  std::vector<torch::Tensor> TrainableParameters();

  int num_layers() const { return static_cast<int>(blocks_.size()); }
  SparseSelfAttention& attention(int layer) { return blocks_[layer]->attention(); }

 private:
  torch::nn::Embedding embedding_{nullptr};
  std::vector<TransformerBlock> blocks_;
  torch::nn::LayerNorm final_norm_{nullptr};
  torch::nn::Linear unembedding_{nullptr};
};
TORCH_MODULE(SparseTransformer);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_MODEL_H_
