#include "worker/model.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <spdlog/spdlog.h>

namespace headevo::worker {

SparseTransformerOptions ModelOptionsFor(const headevo::v1::ModelSpec& spec,
                                         const GenomeLayout& layout, const torch::Device& device) {
  SparseTransformerOptions options;
  options.vocab_size = spec.vocab_size();
  options.d_model = spec.d_model();
  options.d_head = spec.d_head();
  options.mlp_ratio = spec.mlp_ratio();
  options.seq_len = spec.seq_len();
  options.offsets = layout.offsets;
  options.extra_key_width = layout.extra_key_width;
  if (spec.attention() == headevo::v1::ATTENTION_KIND_LINFORMER) {
    options.linformer_rank = spec.linformer_rank();
  }
  options.device = device;
  return options;
}

SparseSelfAttentionImpl::SparseSelfAttentionImpl(const SparseTransformerOptions& options, int layer)
    : num_heads_(static_cast<int64_t>(options.offsets[layer].size())),
      d_head_(options.d_head),
      offsets_(options.offsets[layer]) {
  const int64_t heads = num_heads_, d_model = options.d_model, n = options.seq_len;
  qkv_ = register_module("qkv", torch::nn::Linear(d_model, 3 * heads * d_head_));
  out_ = register_module("out", torch::nn::Linear(heads * d_head_, d_model));
  gate_ = register_parameter("gate", torch::ones({heads}));
  extra_key_width_.assign(heads, 0);
  if (options.linformer_rank == 0 && layer < static_cast<int>(options.extra_key_width.size()) &&
      !options.extra_key_width[layer].empty()) {
    extra_key_width_ = options.extra_key_width[layer];
    for (int32_t width : extra_key_width_) max_extra_ = std::max<int64_t>(max_extra_, width);
  }
  if (max_extra_ > 0) {
    // Registered after the other parameters, so a layer without growth keeps the parameter
    // order (and the random initialisation) it had before growth existed.
    qk_extra_ = register_module("qk_extra", torch::nn::Linear(d_model, 2 * heads * max_extra_));
    torch::Tensor mask = torch::zeros({heads, max_extra_});
    for (int64_t h = 0; h < heads; ++h) mask[h].slice(0, 0, extra_key_width_[h]).fill_(1.0);
    torch::NoGradGuard no_grad;
    // Columns past a head's own width stay 0: the mask already hides them, and zeros keep
    // checkpoints free of meaningless numbers.
    const torch::Tensor rows = mask.repeat({2, 1}).view({2 * heads * max_extra_, 1});
    qk_extra_->weight.mul_(rows);
    qk_extra_->bias.mul_(rows.view({-1}));
    extra_mask_ = register_buffer("extra_mask", mask);
  }
  if (options.linformer_rank > 0) {
    const int64_t rank = options.linformer_rank;
    // Like a Linear layer from N inputs: uniform in +-1/sqrt(N).
    const double bound = 1.0 / std::sqrt(static_cast<double>(n));
    linformer_keys_ =
        register_parameter("linformer_keys", torch::empty({rank, n}).uniform_(-bound, bound));
    linformer_values_ =
        register_parameter("linformer_values", torch::empty({rank, n}).uniform_(-bound, bound));
    offsets_.assign(heads, {});
    valid_ = torch::ones({heads, n, rank}, torch::kBool).to(options.device);
  } else {
    pattern_ = AttentionPattern::Build(offsets_, n, options.device);
    uses_matmul_ = options.attention_path == AttentionPath::kMatmul ||
                   (options.attention_path == AttentionPath::kAuto &&
                    MatmulAttentionIsCheaper(offsets_, n));
    if (uses_matmul_) matmul_plan_ = MatmulAttentionPlan::Build(offsets_, pattern_, options.device);
    bias_ = register_parameter("offset_bias", torch::zeros({heads, pattern_.max_k}));
    valid_ = pattern_.valid;
  }
}

std::pair<torch::Tensor, torch::Tensor> SparseSelfAttentionImpl::ScoreProjectionRow(
    int part, int slot, int64_t column) const {
  TORCH_CHECK(part == 0 || part == 1, "ScoreProjectionRow: part must be 0 (query) or 1 (key)");
  TORCH_CHECK(slot >= 0 && slot < num_heads_ && column >= 0 && column < key_width(slot),
              "ScoreProjectionRow: head ", slot, " has no column ", column);
  if (column < d_head_) {
    const int64_t row = (part * num_heads_ + slot) * d_head_ + column;
    return {qkv_->weight[row], qkv_->bias[row]};
  }
  const int64_t row = (part * num_heads_ + slot) * max_extra_ + (column - d_head_);
  return {qk_extra_->weight[row], qk_extra_->bias[row]};
}

SparseAttentionOutput SparseSelfAttentionImpl::LinformerAttention(const torch::Tensor& q,
                                                                  const torch::Tensor& k,
                                                                  const torch::Tensor& v) const {
  // [rank, N] x [B, H, N, D] -> [B, H, rank, D]: each projected row mixes all positions.
  const torch::Tensor keys = torch::matmul(linformer_keys_, k);
  const torch::Tensor values = torch::matmul(linformer_values_, v);
  const torch::Tensor scores =
      torch::matmul(q, keys.transpose(-1, -2)) / std::sqrt(static_cast<double>(d_head_));
  const torch::Tensor probs = torch::softmax(scores, -1);  // [B, H, N, rank]
  return {torch::matmul(probs, values), probs};
}

torch::Tensor SparseSelfAttentionImpl::forward(const torch::Tensor& x, LayerTrace* trace,
                                               bool differentiable_probs) {
  const int64_t B = x.size(0), N = x.size(1), H = num_heads();
  // [B, N, 3*H*D] -> three [B, H, N, D].
  std::vector<torch::Tensor> qkv =
      qkv_->forward(x).view({B, N, 3, H, d_head_}).permute({2, 0, 3, 1, 4}).unbind(0);
  if (max_extra_ > 0) {
    const std::vector<torch::Tensor> extra =
        qk_extra_->forward(x).view({B, N, 2, H, max_extra_}).permute({2, 0, 3, 1, 4}).unbind(0);
    qkv[0] = torch::cat({qkv[0], extra[0] * extra_mask_.view({1, H, 1, max_extra_})}, -1);
    qkv[1] = torch::cat({qkv[1], extra[1]}, -1);
    qkv[2] = torch::cat({qkv[2], torch::zeros({B, H, N, max_extra_}, qkv[2].options())}, -1);
  }
  const ProbsWanted wanted = trace == nullptr    ? ProbsWanted::kNone
                            : differentiable_probs ? ProbsWanted::kInGraph
                                                   : ProbsWanted::kDetached;
  SparseAttentionOutput attended =
      is_linformer() ? LinformerAttention(qkv[0], qkv[1], qkv[2])
      : uses_matmul_
          ? MatmulAttention(qkv[0], qkv[1], qkv[2], bias_, matmul_plan_, pattern_, d_head_, wanted)
      : differentiable_probs
          ? SparseAttentionByGather(qkv[0], qkv[1], qkv[2], bias_, pattern_, d_head_)
          : SparseAttention(qkv[0], qkv[1], qkv[2], bias_, pattern_, d_head_);
  // The padding columns of the values are zero in the output: drop them.
  if (max_extra_ > 0) attended.output = attended.output.slice(-1, 0, d_head_);
  const torch::Tensor heads = attended.output * gate_.view({1, H, 1, 1});
  torch::Tensor output = out_->forward(heads.permute({0, 2, 1, 3}).reshape({B, N, H * d_head_}));
  if (trace != nullptr) {
    trace->inputs = x.detach();
    trace->head_outputs = heads.detach();
    trace->probs = differentiable_probs ? attended.probs : attended.probs.detach();
    trace->output = differentiable_probs ? output : output.detach();
  }
  return output;
}

TransformerBlockImpl::TransformerBlockImpl(const SparseTransformerOptions& options, int layer) {
  const int64_t d = options.d_model;
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  attention_ = register_module("attention", SparseSelfAttention(options, layer));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  fc1_ = register_module("fc1", torch::nn::Linear(d, options.mlp_ratio * d));
  fc2_ = register_module("fc2", torch::nn::Linear(options.mlp_ratio * d, d));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, LayerTrace* trace,
                                            bool differentiable_probs) {
  torch::Tensor h = x + attention_->forward(norm1_->forward(x), trace, differentiable_probs);
  return h + fc2_->forward(torch::gelu(fc1_->forward(norm2_->forward(h))));
}

SparseTransformerImpl::SparseTransformerImpl(const SparseTransformerOptions& options) {
  embedding_ =
      register_module("embedding", torch::nn::Embedding(options.vocab_size, options.d_model));
  for (int layer = 0; layer < static_cast<int>(options.offsets.size()); ++layer) {
    blocks_.push_back(
        register_module("block" + std::to_string(layer), TransformerBlock(options, layer)));
  }
  final_norm_ = register_module(
      "final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.d_model})));
  unembedding_ =
      register_module("unembedding", torch::nn::Linear(options.d_model, options.vocab_size));
  to(options.device);
  if (options.linformer_rank == 0) {
    std::string paths;
    for (TransformerBlock& block : blocks_) {
      paths += paths.empty() ? "" : ", ";
      paths += block->attention()->uses_matmul() ? "matmul" : "offsets";
    }
    // Once per model build: which formulation each layer's attention runs through.
    spdlog::debug("model: seq_len {}, attention path ({}) per layer: {}", options.seq_len,
                  AttentionPathName(options.attention_path), paths);
  }
}

torch::Tensor SparseTransformerImpl::forward(const torch::Tensor& tokens,
                                             std::vector<LayerTrace>* trace,
                                             bool differentiable_probs) {
  if (trace != nullptr) trace->assign(blocks_.size(), LayerTrace{});
  torch::Tensor x = embedding_->forward(tokens);
  for (size_t layer = 0; layer < blocks_.size(); ++layer) {
    x = blocks_[layer]->forward(x, trace != nullptr ? &(*trace)[layer] : nullptr,
                                differentiable_probs);
  }
  return unembedding_->forward(final_norm_->forward(x));
}

std::vector<torch::Tensor> SparseTransformerImpl::TrainableParameters() {
  std::vector<torch::Tensor> trainable;
  for (const torch::Tensor& parameter : parameters()) {
    bool is_gate = false;
    for (TransformerBlock& block : blocks_) {
      is_gate = is_gate || parameter.is_same(block->attention()->gate());
    }
    if (!is_gate) trainable.push_back(parameter);
  }
  return trainable;
}

}  // namespace headevo::worker
