#include "search/offset_policy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace headevo::search {
namespace {

constexpr double kMasked = -std::numeric_limits<double>::infinity();
// The stream of the search seed the parameters start from (the decisions use the strategy's).
constexpr uint64_t kInitStream = 0x706f6c696379;  // "policy"
constexpr std::string_view kProposalPrefix = "policy proposal ";
// Draws of an already chosen offset tolerated per missing offset before the rest is filled
// uniformly (a peaked policy would otherwise repeat itself for a long time).
constexpr int kDrawsPerOffset = 32;

int NumBins(const HeadDistribution& initial, int num_layers) {
  int bins = 1;
  for (int layer = 0; layer < num_layers; ++layer) {
    bins = std::max(bins, PolicyBinOf(initial.ForLayer(layer).window) + 1);
  }
  return bins;
}

PolicyShape ShapeOf(const PolicyOptions& options, int bins) {
  PolicyShape shape;
  shape.inputs = 2 * bins + 4;
  shape.hidden = options.hidden;
  shape.k_choices = options.max_k;
  shape.bins = bins;
  shape.slots = options.slots_per_bin;
  return shape;
}

// An index drawn with probabilities p (summing to 1).
int Draw(const std::vector<double>& p, Rng& rng) {
  const double u = rng.Uniform();
  double cumulative = 0.0;
  int last = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0.0) continue;
    last = static_cast<int>(i);
    cumulative += p[i];
    if (u < cumulative) return last;
  }
  return last;  // rounding left u above the total
}

// The log-weight of k under the initial count distribution (unnormalised).
double CountPrior(const CountDistribution& count, int k) {
  if (count.family == CountFamily::kPoisson) {
    const double lambda = std::max(count.mean - 1.0, 1e-9);
    return (k - 1) * std::log(lambda) - lambda - std::lgamma(static_cast<double>(k));
  }
  const double sd = count.family == CountFamily::kNormal ? std::max(count.stddev, 0.5) : 0.5;
  return -(k - count.mean) * (k - count.mean) / (2.0 * sd * sd);
}

}  // namespace

absl::Status PolicyOptions::Validate() const {
  if (hidden < 1 || hidden > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy_hidden must be in [1, 256], got ", hidden));
  }
  if (!(learning_rate > 0.0 && learning_rate <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy_learning_rate must be in (0, 1], got ", learning_rate));
  }
  if (max_k < 1 || max_k > 4096) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy_max_k must be in [1, 4096], got ", max_k));
  }
  if (slots_per_bin < 1 || slots_per_bin > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy_slots_per_bin must be in [1, 64], got ", slots_per_bin));
  }
  if (history < 2) {
    return absl::InvalidArgumentError(absl::StrCat("policy_history must be >= 2, got ", history));
  }
  return absl::OkStatus();
}

int PolicyBinOf(int offset) {
  int magnitude = std::abs(offset);
  int bin = 0;
  while (magnitude > 1) {
    magnitude >>= 1;
    ++bin;
  }
  return bin;
}

std::string PolicyBinLabel(int bin) {
  if (bin == 0) return "0-1";
  return absl::StrCat(int64_t{1} << bin, "-", (int64_t{1} << (bin + 1)) - 1);
}

std::optional<int64_t> PolicyProposalOf(const headevo::v1::Head& head) {
  if (head.sampler() != headevo::v1::SAMPLER_POLICY) return std::nullopt;
  const std::string& params = head.sampler_params();
  if (params.compare(0, kProposalPrefix.size(), kProposalPrefix) != 0) return std::nullopt;
  const size_t end = params.find(' ', kProposalPrefix.size());
  int64_t number = 0;
  if (!absl::SimpleAtoi(params.substr(kProposalPrefix.size(), end - kProposalPrefix.size()),
                        &number)) {
    return std::nullopt;
  }
  return number;
}

OffsetPolicy::OffsetPolicy(const PolicyOptions& options, const HeadDistribution& initial,
                           int num_layers, int heads_per_layer, uint64_t seed)
    : options_(options),
      num_layers_(num_layers),
      heads_per_layer_(std::max(heads_per_layer, 1)),
      num_bins_(NumBins(initial, num_layers)),
      network_([&] {
        Rng init(DeriveSeed(seed, kInitStream));
        return PolicyNetwork(ShapeOf(options, num_bins_), init);
      }()),
      newest_inputs_(static_cast<size_t>(std::max(num_layers, 0))) {
  for (int layer = 0; layer < num_layers; ++layer) {
    layers_.push_back(MakeLayer(initial.ForLayer(layer)));
  }
}

OffsetPolicy::Layer OffsetPolicy::MakeLayer(const HeadDistribution& layer_initial) const {
  Layer layer;
  layer.bins.resize(num_bins_);
  for (int offset : AllowedOffsets(layer_initial)) {
    layer.bins[PolicyBinOf(offset)].push_back(offset);
  }
  int allowed = 0;
  layer.priors.bin.assign(num_bins_, kMasked);
  layer.priors.slot.assign(num_bins_, std::vector<double>(options_.slots_per_bin, kMasked));
  layer.slot_begin.resize(num_bins_);
  for (int b = 0; b < num_bins_; ++b) {
    const int size = static_cast<int>(layer.bins[b].size());
    allowed += size;
    if (size == 0) continue;
    // Uniform over offsets: a bin weighs its size, a slot its share of the bin.
    layer.priors.bin[b] = std::log(static_cast<double>(size));
    const int slots = std::min(size, options_.slots_per_bin);
    for (int s = 0; s <= slots; ++s) layer.slot_begin[b].push_back(s * size / slots);
    for (int s = 0; s < slots; ++s) {
      layer.priors.slot[b][s] =
          std::log(static_cast<double>(layer.slot_begin[b][s + 1] - layer.slot_begin[b][s]));
    }
  }
  layer.max_k = std::max(1, std::min(options_.max_k, allowed));
  layer.priors.k.assign(options_.max_k, kMasked);
  for (int c = 0; c < layer.max_k; ++c) layer.priors.k[c] = CountPrior(layer_initial.count, c + 1);
  return layer;
}

std::vector<double> OffsetPolicy::FeaturesOf(const std::vector<SurvivingHead>& survivors,
                                             int layer) const {
  std::vector<double> x(network_.shape().inputs, 0.0);
  const int n = static_cast<int>(survivors.size());
  // Rank 0 is the best-scored survivor (ties keep their order); weight (n - rank) / n.
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return survivors[a].score > survivors[b].score; });
  double offsets = 0.0, weighted = 0.0, k_sum = 0.0;
  for (int rank = 0; rank < n; ++rank) {
    const SurvivingHead& head = survivors[order[rank]];
    const double weight = static_cast<double>(n - rank) / n;
    for (int o : head.offsets) {
      const int bin = std::min(PolicyBinOf(o), num_bins_ - 1);
      x[bin] += 1.0;
      x[num_bins_ + bin] += weight;
      offsets += 1.0;
      weighted += weight;
    }
    k_sum += static_cast<double>(head.offsets.size());
  }
  for (int b = 0; b < num_bins_; ++b) {
    if (offsets > 0.0) x[b] /= offsets;
    if (weighted > 0.0) x[num_bins_ + b] /= weighted;
  }
  const double max_k = static_cast<double>(options_.max_k);
  x[2 * num_bins_] = n > 0 ? std::min(k_sum / n / max_k, 1.0) : 0.0;
  x[2 * num_bins_ + 1] =
      n > 0 ? std::min(static_cast<double>(survivors[order[0]].offsets.size()) / max_k, 1.0) : 0.0;
  x[2 * num_bins_ + 2] = std::min(static_cast<double>(n) / heads_per_layer_, 1.0);
  x[2 * num_bins_ + 3] = num_layers_ > 1 ? static_cast<double>(layer) / (num_layers_ - 1) : 0.0;
  return x;
}

headevo::v1::Head OffsetPolicy::Propose(const std::vector<SurvivingHead>& survivors, int layer,
                                        Rng& rng) {
  const Layer& geometry = layers_[layer];
  std::vector<double> x = FeaturesOf(survivors, layer);
  const PolicyOutput out = network_.Forward(x, geometry.priors);
  const int k_index = Draw(out.k, rng);
  std::set<int> chosen;
  for (int draws = 0;
       static_cast<int>(chosen.size()) <= k_index && draws < kDrawsPerOffset * (k_index + 1);
       ++draws) {
    const int b = Draw(out.bin, rng);
    const int s = Draw(out.slot[b], rng);
    const std::vector<int>& begin = geometry.slot_begin[b];
    chosen.insert(geometry.bins[b][rng.UniformInt(begin[s], begin[s + 1] - 1)]);
  }
  if (static_cast<int>(chosen.size()) <= k_index) {
    std::vector<int> rest;
    for (const std::vector<int>& bin : geometry.bins) {
      for (int o : bin) {
        if (!chosen.count(o)) rest.push_back(o);
      }
    }
    while (static_cast<int>(chosen.size()) <= k_index && !rest.empty()) {
      const int64_t i = rng.UniformInt(0, static_cast<int64_t>(rest.size()) - 1);
      chosen.insert(rest[i]);
      rest.erase(rest.begin() + i);
    }
  }
  headevo::v1::Head head;
  head.set_layer(layer);
  head.set_origin(headevo::v1::HEAD_ORIGIN_SAMPLED);
  head.set_sampler(headevo::v1::SAMPLER_POLICY);
  for (int o : chosen) head.mutable_offsets()->add_offsets(o);
  std::vector<std::string> bins;
  for (int b = 0; b < num_bins_; ++b) {
    if (out.bin[b] > 0.0) bins.push_back(absl::StrFormat("%s:%.2f", PolicyBinLabel(b), out.bin[b]));
  }
  head.set_sampler_params(absl::StrFormat("%s%d after %d updates: k=%d (p %.2f), |offset| bins %s",
                                          kProposalPrefix, proposals_, updates_, k_index + 1,
                                          out.k[k_index], absl::StrJoin(bins, " ")));
  pending_.push_back({proposals_, layer, std::move(x)});
  ++proposals_;
  return head;
}

PolicyAction OffsetPolicy::ActionOf(int layer, const std::vector<int>& offsets) const {
  const Layer& geometry = layers_[layer];
  PolicyAction action;
  action.k_index = std::clamp(static_cast<int>(offsets.size()), 1, geometry.max_k) - 1;
  for (int o : offsets) {
    const int b = PolicyBinOf(o);
    if (b >= num_bins_) continue;
    const std::vector<int>& bin = geometry.bins[b];
    const auto it = std::lower_bound(bin.begin(), bin.end(), o);
    if (it == bin.end() || *it != o) continue;
    const int index = static_cast<int>(it - bin.begin());
    const std::vector<int>& begin = geometry.slot_begin[b];
    int s = 0;
    while (begin[s + 1] <= index) ++s;
    action.offsets.push_back({b, s});
  }
  return action;
}

double OffsetPolicy::LogProbability(const std::vector<SurvivingHead>& survivors, int layer,
                                    const std::vector<int>& offsets) const {
  const PolicyOutput out = network_.Forward(FeaturesOf(survivors, layer), layers_[layer].priors);
  return network_.LogProbability(out, ActionOf(layer, offsets));
}

std::vector<double> OffsetPolicy::LogProbabilityGradient(
    const std::vector<SurvivingHead>& survivors, int layer, const std::vector<int>& offsets) const {
  const std::vector<double> x = FeaturesOf(survivors, layer);
  const PolicyOutput out = network_.Forward(x, layers_[layer].priors);
  std::vector<double> gradient(network_.parameters().size(), 0.0);
  network_.AddLogProbabilityGradient(x, out, ActionOf(layer, offsets), 1.0, gradient);
  return gradient;
}

std::vector<std::pair<int, double>> OffsetPolicy::OffsetProbabilities(
    const std::vector<SurvivingHead>& survivors, int layer) const {
  const Layer& geometry = layers_[layer];
  const PolicyOutput out = network_.Forward(FeaturesOf(survivors, layer), geometry.priors);
  std::vector<std::pair<int, double>> result;
  for (int b = 0; b < num_bins_; ++b) {
    const std::vector<int>& begin = geometry.slot_begin[b];
    for (size_t s = 0; s + 1 < begin.size(); ++s) {
      const double p = out.bin[b] * out.slot[b][s] / (begin[s + 1] - begin[s]);
      for (int i = begin[s]; i < begin[s + 1]; ++i) result.emplace_back(geometry.bins[b][i], p);
    }
  }
  std::sort(result.begin(), result.end());
  return result;
}

std::vector<double> OffsetPolicy::KProbabilities(const std::vector<SurvivingHead>& survivors,
                                                 int layer) const {
  return network_.Forward(FeaturesOf(survivors, layer), layers_[layer].priors).k;
}

}  // namespace headevo::search
