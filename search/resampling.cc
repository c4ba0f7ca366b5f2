#include "search/resampling.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace headevo::search {
namespace {

constexpr std::pair<Sampler, std::string_view> kSamplerNames[] = {
    {Sampler::kUniform, "uniform"},
    {Sampler::kBest, "best"},
    {Sampler::kFitted, "fitted"},
    {Sampler::kGrowth, "growth"},
    {Sampler::kPolicy, "policy"},
    {Sampler::kAdaptive, "adaptive"},
};

headevo::v1::Head NewHead(int layer, Sampler sampler, std::string params) {
  headevo::v1::Head head;
  head.set_layer(layer);
  head.set_origin(headevo::v1::HEAD_ORIGIN_SAMPLED);
  head.set_sampler(SamplerKindOf(sampler));
  head.set_sampler_params(std::move(params));
  return head;
}

// Draws from the initial distribution on behalf of `sampler`, which could not do its own job.
// `initial` is the layer's (HeadDistribution::ForLayer).
headevo::v1::Head Fallback(Sampler sampler, int layer, const HeadDistribution& initial,
                           const std::string& why, Rng& rng) {
  headevo::v1::Head head =
      NewHead(layer, sampler, absl::StrCat(why, "; drew ", DescribeDistribution(initial)));
  *head.mutable_offsets() = SampleOffsetSet(initial, rng);
  return head;
}

// The fitted sampler's distribution for one layer's sources; `initial` is the layer's. The fit
// replaces the offsets and k entirely, so it keeps no local block of the initial prior.
absl::StatusOr<HeadDistribution> FitLayer(const std::vector<HeadPool::Source>& sources,
                                          const HeadDistribution& initial,
                                          const ResamplingOptions& options) {
  std::vector<double> magnitudes;
  std::vector<int> counts;
  int negative = 0, nonzero = 0;
  for (const HeadPool::Source& s : sources) {
    counts.push_back(s.head.offsets().offsets_size());
    for (int o : s.head.offsets().offsets()) {
      if (o == 0) continue;
      magnitudes.push_back(std::abs(o));
      ++nonzero;
      negative += o < 0 ? 1 : 0;
    }
  }
  if (static_cast<int>(magnitudes.size()) < options.min_fit_offsets) {
    return absl::FailedPreconditionError(absl::StrCat("only ", magnitudes.size(),
                                                      " offsets in the top heads (need ",
                                                      options.min_fit_offsets, " to fit)"));
  }
  HeadDistribution fitted = initial;
  fitted.local = LocalBlock{};
  absl::StatusOr<OffsetDistribution> offsets =
      FitOffsetDistribution(options.fitted_family, magnitudes, options.fit);
  if (!offsets.ok()) return offsets.status();
  fitted.offsets = *std::move(offsets);
  absl::StatusOr<CountDistribution> count = FitCountDistribution(initial.count.family, counts);
  if (!count.ok()) return count.status();
  fitted.count = *count;
  // Laplace's rule of succession: both directions stay reachable after a one-sided sample.
  fitted.negative_fraction =
      (static_cast<double>(negative) + 1.0) / (static_cast<double>(nonzero) + 2.0);
  if (absl::Status s = fitted.Validate(); !s.ok()) return s;
  return fitted;
}

bool NeedsFit(const ResamplingOptions& options) { return options.Uses(Sampler::kFitted); }

}  // namespace

absl::StatusOr<Sampler> ParseSampler(std::string_view name) {
  for (const auto& [sampler, sampler_name] : kSamplerNames) {
    if (name == sampler_name) return sampler;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown sampler \"", std::string(name),
                   "\"; choose uniform, best, fitted, growth, policy or adaptive"));
}

std::string_view SamplerName(Sampler sampler) {
  for (const auto& [s, name] : kSamplerNames) {
    if (s == sampler) return name;
  }
  return "?";
}

headevo::v1::SamplerKind SamplerKindOf(Sampler sampler) {
  switch (sampler) {
    case Sampler::kUniform:
      return headevo::v1::SAMPLER_UNIFORM;
    case Sampler::kBest:
      return headevo::v1::SAMPLER_BEST;
    case Sampler::kFitted:
      return headevo::v1::SAMPLER_FITTED;
    case Sampler::kAdaptive:
      return headevo::v1::SAMPLER_ADAPTIVE;
    case Sampler::kGrowth:
      return headevo::v1::SAMPLER_GROWTH;
    case Sampler::kPolicy:
      return headevo::v1::SAMPLER_POLICY;
  }
  return headevo::v1::SAMPLER_UNSPECIFIED;
}

absl::Status ResamplingOptions::Validate() const {
  if (!(top_fraction > 0.0 && top_fraction <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_fraction must be in (0, 1], got ", top_fraction));
  }
  if (auto s = mutation.Validate(); !s.ok()) return s;
  if (min_fit_offsets < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_fit_offsets must be >= 2, got ", min_fit_offsets));
  }
  if (fit.mixture_components < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("mixture_components must be >= 1, got ", fit.mixture_components));
  }
  if (sampler == Sampler::kAdaptive) {
    if (arms.empty()) return absl::InvalidArgumentError("the adaptive sampler needs arms");
    std::set<Sampler> seen;
    for (Sampler arm : arms) {
      if (arm == Sampler::kAdaptive) {
        return absl::InvalidArgumentError("\"adaptive\" cannot be an arm of itself");
      }
      if (!seen.insert(arm).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("arm \"", std::string(SamplerName(arm)), "\" is listed twice"));
      }
    }
  }
  if (growth_width < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("growth_width must be >= 1, got ", growth_width));
  }
  if (max_extra_key_width < growth_width) {
    return absl::InvalidArgumentError(absl::StrCat("max_extra_key_width (", max_extra_key_width,
                                                   ") must be >= growth_width (", growth_width,
                                                   ")"));
  }
  if (auto s = bandit.Validate(); !s.ok()) return s;
  if (auto s = policy.Validate(); !s.ok()) return s;
  if (!(reward_cost_per_connection >= 0.0) || !std::isfinite(reward_cost_per_connection)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "reward_cost_per_connection must be finite and >= 0, got ", reward_cost_per_connection));
  }
  return absl::OkStatus();
}

bool ResamplingOptions::Uses(Sampler wanted) const {
  if (sampler == wanted) return true;
  return sampler == Sampler::kAdaptive && std::find(arms.begin(), arms.end(), wanted) != arms.end();
}

HeadPool HeadPool::Build(const std::vector<RankedParent>& parents, int num_layers,
                         const HeadDistribution& initial, const ResamplingOptions& options) {
  HeadPool pool;
  pool.layers_.resize(static_cast<size_t>(std::max(num_layers, 0)));
  std::map<int64_t, std::pair<int, size_t>> seen;  // head id -> (layer, index in sources)
  for (const RankedParent& parent : parents) {
    std::set<int> pruned;
    for (const PrunedHead& p : parent.pruned) pruned.insert(p.slot);
    const headevo::v1::Genome& genome = parent.candidate->genome();
    for (const HeadScore& score : parent.scores) {
      if (pruned.count(score.slot) || score.layer < 0 || score.layer >= num_layers) continue;
      std::vector<Source>& sources = pool.layers_[score.layer].sources;
      auto it = seen.find(score.head_id);
      if (score.head_id != 0 && it != seen.end()) {
        Source& earlier = pool.layers_[it->second.first].sources[it->second.second];
        earlier.score = std::max(earlier.score, score.score);
        continue;
      }
      seen[score.head_id] = {score.layer, sources.size()};
      sources.push_back({genome.heads(score.slot), score.score});
    }
  }
  for (size_t index = 0; index < pool.layers_.size(); ++index) {
    Layer& layer = pool.layers_[index];
    std::stable_sort(layer.sources.begin(), layer.sources.end(),
                     [](const Source& a, const Source& b) { return a.score > b.score; });
    const size_t keep = std::max<size_t>(
        1, static_cast<size_t>(std::ceil(options.top_fraction * layer.sources.size())));
    if (layer.sources.size() > keep) layer.sources.resize(keep);
    if (!NeedsFit(options)) continue;
    absl::StatusOr<HeadDistribution> fitted =
        FitLayer(layer.sources, initial.ForLayer(static_cast<int>(index)), options);
    if (fitted.ok()) {
      layer.fitted = *std::move(fitted);
    } else {
      layer.fit_error = std::string(fitted.status().message());
    }
  }
  return pool;
}

headevo::v1::Head SampleHead(Sampler sampler, int layer, const HeadPool& pool,
                             const HeadDistribution& search_initial,
                             const ResamplingOptions& options, Rng& rng) {
  const HeadDistribution initial = search_initial.ForLayer(layer);
  if (sampler == Sampler::kBest) {
    const auto& sources = pool.sources(layer);
    if (sources.empty()) return Fallback(sampler, layer, initial, "no surviving heads", rng);
    const HeadPool::Source& source =
        sources[rng.UniformInt(0, static_cast<int64_t>(sources.size()) - 1)];
    std::string move;
    const std::vector<int> offsets =
        MutateOffsets(source.head.offsets(), initial, options.mutation, rng, &move);
    headevo::v1::Head head = NewHead(
        layer, sampler,
        absl::StrFormat("copy of head %d (score %.3g): %s", source.head.id(), source.score, move));
    head.set_source_head_id(source.head.id());
    for (int o : offsets) head.mutable_offsets()->add_offsets(o);
    return head;
  }
  if (sampler == Sampler::kFitted) {
    const std::optional<HeadDistribution>& fitted = pool.fitted(layer);
    if (!fitted.has_value()) {
      return Fallback(sampler, layer, initial, absl::StrCat("no fit: ", pool.fit_error(layer)),
                      rng);
    }
    headevo::v1::Head head = NewHead(layer, sampler,
                                     absl::StrCat("fitted to the top ", pool.sources(layer).size(),
                                                  " heads: ", DescribeDistribution(*fitted)));
    *head.mutable_offsets() = SampleOffsetSet(*fitted, rng);
    return head;
  }
  if (sampler == Sampler::kGrowth) {
    return Fallback(sampler, layer, initial,
                    absl::StrCat("no head of layer ", layer, " below max_extra_key_width ",
                                 options.max_extra_key_width, " to grow"),
                    rng);
  }
  if (sampler == Sampler::kPolicy) {
    return Fallback(sampler, layer, initial, "no offset policy to propose with", rng);
  }
  headevo::v1::Head head = NewHead(layer, Sampler::kUniform, DescribeDistribution(initial));
  *head.mutable_offsets() = SampleOffsetSet(initial, rng);
  return head;
}

std::optional<headevo::v1::Head> GrowHead(const headevo::v1::Head& source,
                                          const ResamplingOptions& options) {
  const int room = options.max_extra_key_width - source.extra_key_width();
  if (room <= 0) return std::nullopt;
  const int width = std::min(options.growth_width, room);
  headevo::v1::Head grown;
  grown.set_layer(source.layer());
  *grown.mutable_offsets() = source.offsets();
  grown.set_origin(headevo::v1::HEAD_ORIGIN_GROWN);
  grown.set_sampler(headevo::v1::SAMPLER_GROWTH);
  grown.set_source_head_id(source.id());
  grown.set_extra_key_width(source.extra_key_width() + width);
  // d_k is the model's d_head plus the extra width; the model is not known here.
  grown.set_sampler_params(
      absl::StrCat("grow head ", source.id(), " by ", width, " -> d_k +", grown.extra_key_width()));
  return grown;
}

}  // namespace headevo::search
