#include "worker/growth.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "worker/trainer.h"

namespace headevo::worker {
namespace {

// [B, N, d_model] -> [B, N, d_model + 1] float64 with a last column of ones (for the bias).
torch::Tensor Augmented(const torch::Tensor& x) {
  const torch::Tensor wide = x.detach().to(torch::kDouble);
  return torch::cat({wide, torch::ones({x.size(0), x.size(1), 1}, wide.options())}, -1);
}

// Row t of the result is row t + offset of x, or zeros where t + offset falls outside.
torch::Tensor Shifted(const torch::Tensor& x, int64_t offset) {
  const int64_t n = x.size(1);
  torch::Tensor shifted = torch::zeros_like(x);
  const int64_t from = std::max<int64_t>(0, -offset), to = std::min<int64_t>(n, n - offset);
  if (from < to) shifted.slice(1, from, to).copy_(x.slice(1, from + offset, to + offset));
  return shifted;
}

int64_t TargetCount(const std::vector<Batch>& batches) {
  int64_t count = 0;
  for (const Batch& batch : batches) count += batch.targets.ne(kIgnoreTarget).sum().item<int64_t>();
  return count;
}

// One forward pass with a trace whose probs and outputs are in the graph, and this batch's
// share of the mean token loss over all the batches (`targets` of them).
struct TracedPass {
  std::vector<LayerTrace> trace;
  torch::Tensor loss;
};

TracedPass TracedForward(SparseTransformer& model, const Batch& cpu_batch, int64_t targets,
                         const torch::Device& device) {
  const Batch batch = ToDevice(cpu_batch, device);
  TracedPass pass;
  const torch::Tensor logits = model->forward(batch.inputs, &pass.trace, true);
  pass.loss = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                                   batch.targets.reshape({-1}),
                                                   torch::nn::functional::CrossEntropyFuncOptions()
                                                       .ignore_index(kIgnoreTarget)
                                                       .reduction(torch::kSum)) /
              static_cast<double>(std::max<int64_t>(targets, 1));
  return pass;
}

// (S + ridge * mean eigenvalue * I)^-1/2 of a symmetric positive semi-definite S.
torch::Tensor InverseSqrt(const torch::Tensor& s, double ridge) {
  auto [eigenvalues, eigenvectors] = torch::linalg_eigh(s);
  eigenvalues = eigenvalues.clamp_min(0.0);
  const double shift =
      ridge * eigenvalues.mean().item<double>() + std::numeric_limits<double>::min();
  return eigenvectors.mm(torch::diag((eigenvalues + shift).rsqrt())).mm(eigenvectors.t());
}

// The top `rank` singular triplets of m with each left vector's largest entry positive, so
// the weights do not depend on the sign convention of the LAPACK build.
struct Truncated {
  torch::Tensor u;  // [rows, rank]
  torch::Tensor s;  // [rank]
  torch::Tensor v;  // [cols, rank]
};

Truncated TruncatedSvd(const torch::Tensor& m, int64_t rank) {
  auto [u, s, vh] = torch::linalg_svd(m, /*full_matrices=*/false);
  rank = std::min<int64_t>(rank, s.size(0));
  Truncated t{u.slice(1, 0, rank).clone(), s.slice(0, 0, rank).clone(),
              vh.slice(0, 0, rank).t().clone()};
  for (int64_t i = 0; i < rank; ++i) {
    const torch::Tensor column = t.u.select(1, i);
    if (column[column.abs().argmax()].item<double>() < 0.0) {
      t.u.select(1, i).neg_();
      t.v.select(1, i).neg_();
    }
  }
  return t;
}

// Pads [rows, r] with zero columns to [rows, width].
torch::Tensor PadColumns(const torch::Tensor& t, int64_t width) {
  if (t.size(1) >= width) return t;
  return torch::cat({t, torch::zeros({t.size(0), width - t.size(1)}, t.options())}, 1);
}

absl::Status CheckHead(SparseTransformer& model, int layer, int slot) {
  if (layer < 0 || layer >= model->num_layers()) {
    return absl::InvalidArgumentError(absl::StrCat("growth: no layer ", layer));
  }
  const SparseSelfAttentionImpl& attention = *model->attention(layer);
  if (attention.is_linformer() || slot < 0 || slot >= attention.num_heads() ||
      attention.offsets()[slot].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("growth: layer ", layer, " has no offset head in slot ", slot));
  }
  return absl::OkStatus();
}

}  // namespace

GrowthBatches DrawGrowthBatches(const Task& task, int64_t batch_size, int count, uint64_t seed) {
  torch::Generator generator = at::detail::createCPUGenerator(seed);
  GrowthBatches batches;
  const int gradient = (count + 1) / 2;
  for (int i = 0; i < count; ++i) {
    (i < gradient ? batches.gradient : batches.line_search)
        .push_back(task.TrainingBatch(batch_size, generator));
  }
  if (batches.line_search.empty()) batches.line_search = batches.gradient;
  return batches;
}

absl::StatusOr<KeyGrowthDirection> ComputeKeyGrowth(SparseTransformer& model, int layer, int slot,
                                                    int64_t first_column, int64_t width,
                                                    const std::vector<Batch>& batches,
                                                    const GrowthOptions& options) {
  if (absl::Status s = CheckHead(model, layer, slot); !s.ok()) return s;
  SparseSelfAttentionImpl& attention = *model->attention(layer);
  if (width < 1 || first_column < 0 || first_column + width > attention.key_width(slot)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "growth: head ", slot, " of layer ", layer, " has query/key columns [0, ",
        attention.key_width(slot), "), not [", first_column, ", ", first_column + width, ")"));
  }
  torch::AutoGradMode grad(true);
  model->eval();
  const int64_t d_model = attention.qkv_weight().size(1), d_head = attention.d_head();
  const std::vector<int32_t>& offsets = attention.offsets()[slot];
  const torch::Tensor valid = attention.valid()[slot].to(torch::kCPU);  // [N, K]
  const auto square = [&] { return torch::zeros({d_model + 1, d_model + 1}, torch::kDouble); };
  torch::Tensor c = square(), query_moment = square(), key_moment = square();
  double pairs = 0.0;
  const int64_t targets = TargetCount(batches);
  for (const Batch& batch : batches) {
    TracedPass pass = TracedForward(model, batch, targets, options.device);
    const torch::Tensor probs = pass.trace[layer].probs;
    const torch::Tensor grad_probs = torch::autograd::grad({pass.loss}, {probs})[0];
    // Softmax backward: dL/dS = p (dL/dp - sum_j p_j dL/dp_j), on this head's entries.
    const torch::Tensor p = probs.select(1, slot).detach().to(torch::kCPU, torch::kDouble);
    const torch::Tensor dp = grad_probs.select(1, slot).to(torch::kCPU, torch::kDouble);
    const torch::Tensor g = p * (dp - (p * dp).sum(-1, true));  // [B, N, K]
    const torch::Tensor x = Augmented(pass.trace[layer].inputs.to(torch::kCPU));
    const int64_t rows = x.size(0) * x.size(1);
    for (size_t j = 0; j < offsets.size(); ++j) {
      const torch::Tensor in_window =
          valid.select(1, static_cast<int64_t>(j)).to(torch::kDouble).view({1, -1, 1});
      const torch::Tensor queries = (x * in_window).reshape({rows, d_model + 1});
      const torch::Tensor keys = Shifted(x, offsets[j]).reshape({rows, d_model + 1});
      const torch::Tensor weights = g.select(2, static_cast<int64_t>(j)).reshape({rows, 1});
      c += (queries * weights).t().mm(keys);
      query_moment += queries.t().mm(queries);
      key_moment += keys.t().mm(keys);
      pairs += in_window.sum().item<double>() * static_cast<double>(x.size(0));
    }
  }
  KeyGrowthDirection direction{layer, slot, first_column, {}, {}, 0.0};
  const auto zero = [&] {
    direction.query = torch::zeros({d_model + 1, width}, torch::kDouble);
    direction.key = torch::zeros({d_model + 1, width}, torch::kDouble);
    return direction;
  };
  if (pairs == 0.0) return zero();
  query_moment /= pairs;
  key_moment /= pairs;
  const torch::Tensor whiten_q = InverseSqrt(query_moment, options.ridge);
  const torch::Tensor whiten_k = InverseSqrt(key_moment, options.ridge);
  const Truncated svd = TruncatedSvd(whiten_q.mm(c).mm(whiten_k), width);
  const torch::Tensor root = svd.s.sqrt();
  torch::Tensor p = whiten_q.mm(svd.u * root), r = -whiten_k.mm(svd.v * root);
  const double temperature = std::sqrt(static_cast<double>(d_head));
  // Mean squared score change over the head's pairs, in the same Kronecker approximation.
  const double mean_square =
      torch::trace(p.t().mm(query_moment).mm(p).mm(r.t().mm(key_moment).mm(r))).item<double>() /
      (temperature * temperature);
  if (!(mean_square > 1e-30) || !std::isfinite(mean_square)) return zero();
  const double slope = (c * p.mm(r.t())).sum().item<double>() / temperature;
  const double shrink = std::pow(mean_square, -0.25);  // P R' / sqrt(mean_square)
  direction.query = PadColumns(p * shrink, width);
  direction.key = PadColumns(r * shrink, width);
  direction.slope = slope / std::sqrt(mean_square);
  return direction;
}

void ApplyKeyGrowth(SparseTransformer& model, const KeyGrowthDirection& direction, double scale) {
  torch::NoGradGuard no_grad;
  SparseSelfAttentionImpl& attention = *model->attention(direction.layer);
  const double root = std::sqrt(std::max(scale, 0.0));
  const int64_t d_model = direction.query.size(0) - 1;
  for (int part = 0; part < 2; ++part) {
    const torch::Tensor columns = (part == 0 ? direction.query : direction.key) * root;
    for (int64_t c = 0; c < columns.size(1); ++c) {
      auto [weight, bias] =
          attention.ScoreProjectionRow(part, direction.slot, direction.first_column + c);
      weight.copy_(columns.select(1, c).slice(0, 0, d_model));
      bias.copy_(columns[d_model][c]);
    }
  }
}

absl::StatusOr<ValueOutputDirection> ComputeValueOutputGrowth(SparseTransformer& model, int layer,
                                                              int slot,
                                                              const std::vector<Batch>& batches,
                                                              const GrowthOptions& options) {
  if (absl::Status s = CheckHead(model, layer, slot); !s.ok()) return s;
  SparseSelfAttentionImpl& attention = *model->attention(layer);
  torch::AutoGradMode grad(true);
  model->eval();
  const int64_t d_model = attention.qkv_weight().size(1), d_head = attention.d_head();
  const std::vector<int32_t>& offsets = attention.offsets()[slot];
  torch::Tensor n = torch::zeros({d_model, d_model + 1}, torch::kDouble);
  torch::Tensor input_moment = torch::zeros({d_model + 1, d_model + 1}, torch::kDouble);
  double positions = 0.0;
  const int64_t targets = TargetCount(batches);
  for (const Batch& batch : batches) {
    TracedPass pass = TracedForward(model, batch, targets, options.device);
    const torch::Tensor output = pass.trace[layer].output;
    const torch::Tensor g =
        torch::autograd::grad({pass.loss}, {output})[0].to(torch::kCPU, torch::kDouble);
    const torch::Tensor p =
        pass.trace[layer].probs.select(1, slot).detach().to(torch::kCPU, torch::kDouble);
    const torch::Tensor x = Augmented(pass.trace[layer].inputs.to(torch::kCPU));
    // a_t = sum_j p_tj x~_{t+o_j}: what the head's values would average.
    torch::Tensor averaged = torch::zeros_like(x);
    for (size_t j = 0; j < offsets.size(); ++j) {
      averaged += p.select(2, static_cast<int64_t>(j)).unsqueeze(-1) * Shifted(x, offsets[j]);
    }
    const int64_t rows = x.size(0) * x.size(1);
    const torch::Tensor a = averaged.reshape({rows, d_model + 1});
    n += g.reshape({rows, d_model}).t().mm(a);
    input_moment += a.t().mm(a);
    positions += static_cast<double>(rows);
  }
  ValueOutputDirection direction{layer, slot, {}, {}, 0.0};
  const auto zero = [&] {
    direction.value = torch::zeros({d_head, d_model + 1}, torch::kDouble);
    direction.output = torch::zeros({d_model, d_head}, torch::kDouble);
    return direction;
  };
  if (positions == 0.0) return zero();
  input_moment /= positions;
  const torch::Tensor whiten = InverseSqrt(input_moment, options.ridge);
  const Truncated svd = TruncatedSvd(n.mm(whiten), d_head);
  const torch::Tensor root = svd.s.sqrt();
  torch::Tensor output = -(svd.u * root);               // [d_model, r]
  torch::Tensor value = (svd.v * root).t().mm(whiten);  // [r, d_model + 1]
  const double mean_square =
      torch::trace(value.mm(input_moment).mm(value.t()).mm(output.t().mm(output))).item<double>() /
      static_cast<double>(d_model);
  if (!(mean_square > 1e-30) || !std::isfinite(mean_square)) return zero();
  const double slope = (n * output.mm(value)).sum().item<double>();
  const double shrink = std::pow(mean_square, -0.25);
  direction.output = PadColumns(output * shrink, d_head);
  direction.value = PadColumns((value * shrink).t(), d_head).t();
  direction.slope = slope / std::sqrt(mean_square);
  return direction;
}

void SilenceHead(SparseSelfAttentionImpl& attention, int slot) {
  torch::NoGradGuard no_grad;
  for (int part = 0; part < 2; ++part) {
    for (int64_t c = 0; c < attention.key_width(slot); ++c) {
      auto [weight, bias] = attention.ScoreProjectionRow(part, slot, c);
      weight.zero_();
      bias.zero_();
    }
  }
  const int64_t d = attention.d_head(), row = (2 * attention.num_heads() + slot) * d;
  attention.qkv_weight().slice(0, row, row + d).zero_();
  attention.qkv_bias().slice(0, row, row + d).zero_();
  attention.output_weight().slice(1, slot * d, (slot + 1) * d).zero_();
  attention.offset_bias()[slot].zero_();
}

void ApplyValueOutputGrowth(SparseTransformer& model, const ValueOutputDirection& direction,
                            double scale) {
  torch::NoGradGuard no_grad;
  SparseSelfAttentionImpl& attention = *model->attention(direction.layer);
  const double root = std::sqrt(std::max(scale, 0.0));
  const int64_t d = attention.d_head(), heads = attention.num_heads();
  const int64_t d_model = direction.output.size(0), row = (2 * heads + direction.slot) * d;
  const torch::Tensor value = direction.value * root;
  attention.qkv_weight().slice(0, row, row + d).copy_(value.slice(1, 0, d_model));
  attention.qkv_bias().slice(0, row, row + d).copy_(value.select(1, d_model));
  attention.output_weight()
      .slice(1, direction.slot * d, (direction.slot + 1) * d)
      .copy_(direction.output * root);
}

double GrowthLoss(SparseTransformer& model, const std::vector<Batch>& batches,
                  const GrowthOptions& options) {
  return ValidationLoss(model, batches, options.device);
}

LineSearchResult LineSearch(const std::function<void(double)>& apply,
                            const std::function<double()>& loss,
                            const std::vector<double>& scales) {
  apply(0.0);
  LineSearchResult result;
  result.loss_before = result.loss_after = loss();
  for (double scale : scales) {
    apply(scale);
    const double value = loss();
    if (value < result.loss_after) {
      result.scale = scale;
      result.loss_after = value;
    }
  }
  apply(result.scale);
  return result;
}

absl::StatusOr<headevo::v1::HeadGrowth> GrowHead(SparseTransformer& model,
                                                 const GrownHeadSlot& grown,
                                                 const GrowthBatches& batches,
                                                 const GrowthOptions& options) {
  if (absl::Status s = CheckHead(model, grown.layer, grown.slot); !s.ok()) return s;
  const int64_t width =
      model->attention(grown.layer)->key_width(grown.slot) - grown.first_new_column;
  absl::StatusOr<KeyGrowthDirection> direction = ComputeKeyGrowth(
      model, grown.layer, grown.slot, grown.first_new_column, width, batches.gradient, options);
  if (!direction.ok()) return direction.status();
  const LineSearchResult search =
      LineSearch([&](double scale) { ApplyKeyGrowth(model, *direction, scale); },
                 [&] { return GrowthLoss(model, batches.line_search, options); }, options.scales);
  headevo::v1::HeadGrowth record;
  record.set_head_id(grown.head.id());
  record.set_source_head_id(grown.head.source_head_id());
  record.set_layer(grown.layer);
  record.set_kind(headevo::v1::GROWTH_KIND_WIDEN);
  record.set_added_key_width(static_cast<int32_t>(width));
  record.set_scale(search.scale);
  record.set_predicted_loss_change(search.scale * direction->slope);
  record.set_measured_loss_change(search.loss_after - search.loss_before);
  return record;
}

absl::StatusOr<std::vector<headevo::v1::HeadGrowth>> GradientHeadInitializer::Initialize(
    SparseTransformer& model, const std::vector<NewHeadSlot>& heads) const {
  std::vector<headevo::v1::HeadGrowth> records;
  const auto loss = [&] { return GrowthLoss(model, batches_->line_search, options_); };
  for (const NewHeadSlot& h : heads) {
    if (absl::Status s = CheckHead(model, h.layer, h.slot); !s.ok()) return s;
    SparseSelfAttentionImpl& attention = *model->attention(h.layer);
    const int64_t key_width = attention.key_width(h.slot);
    SilenceHead(attention, h.slot);
    absl::StatusOr<ValueOutputDirection> values =
        ComputeValueOutputGrowth(model, h.layer, h.slot, batches_->gradient, options_);
    if (!values.ok()) return values.status();
    const LineSearchResult value_search =
        LineSearch([&](double scale) { ApplyValueOutputGrowth(model, *values, scale); }, loss,
                   options_.scales);
    headevo::v1::HeadGrowth record;
    record.set_head_id(h.head.id());
    record.set_layer(h.layer);
    record.set_kind(headevo::v1::GROWTH_KIND_NEW_HEAD);
    record.set_added_key_width(static_cast<int32_t>(key_width));
    // The loss the head ends at: the key line search measured it, unless a fallback to random
    // weights came after.
    double final_loss = 0.0;
    if (value_search.scale == 0.0) {
      torch::NoGradGuard no_grad;
      RandomHeadInitializer::InitializeHead(attention, h.slot, h.head, seed_);
      final_loss = loss();
    } else {
      absl::StatusOr<KeyGrowthDirection> keys =
          ComputeKeyGrowth(model, h.layer, h.slot, 0, key_width, batches_->gradient, options_);
      if (!keys.ok()) return keys.status();
      const LineSearchResult key_search = LineSearch(
          [&](double scale) { ApplyKeyGrowth(model, *keys, scale); }, loss, options_.scales);
      if (key_search.scale == 0.0) {
        torch::NoGradGuard no_grad;
        RandomHeadInitializer::InitializeHead(attention, h.slot, h.head, seed_);
        ApplyValueOutputGrowth(model, *values, value_search.scale);
      }
      final_loss = key_search.scale == 0.0 ? loss() : key_search.loss_after;
      record.set_scale(value_search.scale);
      record.set_predicted_loss_change(value_search.scale * values->slope +
                                       key_search.scale * keys->slope);
    }
    record.set_measured_loss_change(final_loss - value_search.loss_before);
    records.push_back(std::move(record));
  }
  return records;
}

std::unique_ptr<NewHeadInitializer> MakeNewHeadInitializer(headevo::v1::NewHeadInit kind,
                                                           uint64_t seed,
                                                           const GrowthBatches* batches,
                                                           const GrowthOptions& options) {
  if (kind == headevo::v1::NEW_HEAD_INIT_GRADIENT) {
    return std::make_unique<GradientHeadInitializer>(seed, batches, options);
  }
  // UNSPECIFIED and RANDOM; request validation refuses unknown values.
  return std::make_unique<RandomHeadInitializer>(seed);
}

}  // namespace headevo::worker
