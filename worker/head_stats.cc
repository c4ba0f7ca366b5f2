#include "worker/head_stats.h"

#include <algorithm>
#include <cmath>

namespace headevo::worker {
namespace {

// Sums of per-batch measurements for the heads of one layer.
struct LayerSums {
  torch::Tensor entropy;                    // [H] double
  torch::Tensor importance;                 // [H] double
  std::vector<torch::Tensor> head_outputs;  // per batch [B, H, N, D], CPU double
};

// Per head of one layer: 1 - max CKA with any other head of the layer, and that head's slot
// (-1 when the head is alone).
struct Similarity {
  std::vector<double> independence;
  std::vector<int64_t> most_similar_slot;
};

Similarity Independence(const std::vector<torch::Tensor>& head_outputs) {
  const torch::Tensor all = torch::cat(head_outputs, 0);  // [M, H, N, D]
  const int64_t heads = all.size(1);
  std::vector<torch::Tensor> flat;
  for (int64_t h = 0; h < heads; ++h) flat.push_back(all.select(1, h).reshape({-1, all.size(3)}));
  std::vector<double> max_cka(heads, 0.0);
  Similarity result;
  result.most_similar_slot.assign(heads, -1);
  for (int64_t a = 0; a < heads; ++a) {
    for (int64_t b = a + 1; b < heads; ++b) {
      const double cka = LinearCka(flat[a], flat[b]);
      // Ties keep the lower slot: the first pair seen.
      if (result.most_similar_slot[a] < 0 || cka > max_cka[a]) {
        max_cka[a] = cka;
        result.most_similar_slot[a] = b;
      }
      if (result.most_similar_slot[b] < 0 || cka > max_cka[b]) {
        max_cka[b] = cka;
        result.most_similar_slot[b] = a;
      }
    }
  }
  for (double cka : max_cka) result.independence.push_back(1.0 - cka);
  return result;
}

void Accumulate(SparseSelfAttention& attention, const LayerTrace& trace, LayerSums* sums) {
  const torch::Tensor& gate_grad = attention->gate().grad();
  const torch::Tensor importance = gate_grad.defined()
                                       ? gate_grad.abs().to(torch::kCPU, torch::kDouble)
                                       : torch::zeros({attention->num_heads()}, torch::kDouble);
  const torch::Tensor entropy =
      NormalizedEntropy(trace.probs.to(torch::kDouble), attention->valid()).to(torch::kCPU);
  sums->importance = sums->importance.defined() ? sums->importance + importance : importance;
  sums->entropy = sums->entropy.defined() ? sums->entropy + entropy : entropy;
  sums->head_outputs.push_back(trace.head_outputs.to(torch::kCPU, torch::kDouble));
}

}  // namespace

torch::Tensor NormalizedEntropy(const torch::Tensor& probs, const torch::Tensor& valid) {
  // p log p with the log's argument clamped: 0 at p = 0, and a finite gradient where a valid
  // probability underflows (xlogy's would be infinite), so the regulariser can train on it.
  const torch::Tensor entropy = (probs * probs.clamp_min(1e-30).log()).sum(-1).neg();  // [B,H,N]
  const torch::Tensor k = valid.sum(-1).to(probs.scalar_type());                       // [H, N]
  const torch::Tensor normalized =
      torch::where(k.gt(1), entropy / k.clamp_min(2).log(), torch::zeros_like(entropy));
  const torch::Tensor queries = k.ge(1).to(probs.scalar_type());  // [H, N]
  const torch::Tensor per_head =
      (normalized * queries).sum(std::vector<int64_t>{0, 2}) / probs.size(0);  // [H]
  return (per_head / queries.sum(-1).clamp_min(1)).clamp(0.0, 1.0);
}

double LinearCka(const torch::Tensor& x, const torch::Tensor& y) {
  const torch::Tensor xc = x.to(torch::kDouble) - x.to(torch::kDouble).mean(0, true);
  const torch::Tensor yc = y.to(torch::kDouble) - y.to(torch::kDouble).mean(0, true);
  const double cross = torch::matmul(yc.t(), xc).pow(2).sum().item<double>();
  const double xx = torch::matmul(xc.t(), xc).pow(2).sum().sqrt().item<double>();
  const double yy = torch::matmul(yc.t(), yc).pow(2).sum().sqrt().item<double>();
  if (!(xx > 0.0) || !(yy > 0.0)) return 0.0;
  return std::clamp(cross / (xx * yy), 0.0, 1.0);
}

std::vector<headevo::v1::HeadStats> ComputeHeadStats(SparseTransformer& model,
                                                     const std::vector<Batch>& batches,
                                                     const headevo::v1::Genome& genome,
                                                     const GenomeLayout& layout) {
  TORCH_CHECK(!batches.empty(), "ComputeHeadStats needs at least one batch");
  model->eval();
  std::vector<LayerSums> sums(model->num_layers());
  for (const Batch& batch : batches) {
    model->zero_grad();
    std::vector<LayerTrace> trace;
    TokenCrossEntropy(model->forward(batch.inputs, &trace), batch.targets).backward();
    for (int layer = 0; layer < model->num_layers(); ++layer) {
      Accumulate(model->attention(layer), trace[layer], &sums[layer]);
    }
  }
  model->zero_grad();

  const double count = static_cast<double>(batches.size());
  std::vector<Similarity> similarity;
  for (const LayerSums& layer : sums) similarity.push_back(Independence(layer.head_outputs));
  // (layer, slot) -> genome head id, to name each head's most similar partner.
  std::vector<std::vector<int64_t>> id_at(model->num_layers());
  for (int i = 0; i < genome.heads_size(); ++i) {
    auto& ids = id_at[layout.layer_of[i]];
    if (static_cast<int>(ids.size()) <= layout.slot_of[i]) ids.resize(layout.slot_of[i] + 1, 0);
    ids[layout.slot_of[i]] = genome.heads(i).id();
  }
  // Per layer, the Frobenius norm of each head's W_O columns, divided below by the layer mean.
  std::vector<std::vector<double>> block_norms(model->num_layers());
  std::vector<double> mean_norm(model->num_layers(), 0.0);
  for (int layer = 0; layer < model->num_layers(); ++layer) {
    SparseSelfAttention& attention = model->attention(layer);
    const int64_t d = attention->d_head();
    for (int64_t slot = 0; slot < attention->num_heads(); ++slot) {
      block_norms[layer].push_back(
          attention->output_weight().slice(1, slot * d, (slot + 1) * d).norm().item<double>());
      mean_norm[layer] += block_norms[layer].back() / static_cast<double>(attention->num_heads());
    }
  }
  std::vector<headevo::v1::HeadStats> stats;
  for (int i = 0; i < genome.heads_size(); ++i) {
    const int layer = layout.layer_of[i], slot = layout.slot_of[i];
    headevo::v1::HeadStats& s = stats.emplace_back();
    s.set_head_id(genome.heads(i).id());
    s.set_layer(genome.heads(i).layer());
    s.set_entropy(sums[layer].entropy[slot].item<double>() / count);
    s.set_independence(similarity[layer].independence[slot]);
    const int64_t partner = similarity[layer].most_similar_slot[slot];
    s.set_most_similar_head_id(partner >= 0 ? id_at[layer][partner] : 0);
    s.set_weight_norm(mean_norm[layer] > 0.0 ? block_norms[layer][slot] / mean_norm[layer] : 0.0);
    s.set_importance(sums[layer].importance[slot].item<double>() / count);
  }
  return stats;
}

}  // namespace headevo::worker
