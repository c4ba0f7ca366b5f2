#include "worker/model.h"

#include <string>

namespace headevo::worker {

SparseSelfAttentionImpl::SparseSelfAttentionImpl(int64_t d_model, int64_t d_head,
                                                 const std::vector<std::vector<int32_t>>& offsets,
                                                 int64_t seq_len, const torch::Device& device)
    : d_head_(d_head), pattern_(AttentionPattern::Build(offsets, seq_len, device)) {
  const int64_t heads = pattern_.num_heads;
  qkv_ = register_module("qkv", torch::nn::Linear(d_model, 3 * heads * d_head));
  out_ = register_module("out", torch::nn::Linear(heads * d_head, d_model));
  bias_ = register_parameter("offset_bias", torch::zeros({heads, pattern_.max_k}));
  gate_ = register_parameter("gate", torch::ones({heads}));
}

torch::Tensor SparseSelfAttentionImpl::forward(const torch::Tensor& x, LayerTrace* trace) {
  const int64_t B = x.size(0), N = x.size(1), H = num_heads();
  // [B, N, 3*H*D] -> three [B, H, N, D].
  const std::vector<torch::Tensor> qkv =
      qkv_->forward(x).view({B, N, 3, H, d_head_}).permute({2, 0, 3, 1, 4}).unbind(0);
  SparseAttentionOutput attended = SparseAttention(qkv[0], qkv[1], qkv[2], bias_, pattern_);
  const torch::Tensor heads = attended.output * gate_.view({1, H, 1, 1});
  if (trace != nullptr) {
    trace->head_outputs = heads.detach();
    trace->probs = attended.probs.detach();
  }
  return out_->forward(heads.permute({0, 2, 1, 3}).reshape({B, N, H * d_head_}));
}

TransformerBlockImpl::TransformerBlockImpl(const SparseTransformerOptions& options, int layer) {
  const int64_t d = options.d_model;
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  attention_ =
      register_module("attention", SparseSelfAttention(d, options.d_head, options.offsets[layer],
                                                       options.seq_len, options.device));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  fc1_ = register_module("fc1", torch::nn::Linear(d, options.mlp_ratio * d));
  fc2_ = register_module("fc2", torch::nn::Linear(options.mlp_ratio * d, d));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, LayerTrace* trace) {
  torch::Tensor h = x + attention_->forward(norm1_->forward(x), trace);
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
}

torch::Tensor SparseTransformerImpl::forward(const torch::Tensor& tokens,
                                             std::vector<LayerTrace>* trace) {
  if (trace != nullptr) trace->assign(blocks_.size(), LayerTrace{});
  torch::Tensor x = embedding_->forward(tokens);
  for (size_t layer = 0; layer < blocks_.size(); ++layer) {
    x = blocks_[layer]->forward(x, trace != nullptr ? &(*trace)[layer] : nullptr);
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
