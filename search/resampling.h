// The samplers that draw the heads replacing pruned ones. Every head they make records its
// sampler, its parameters and (for a copy) its source head, so the lineage can say where it
// came from.
//   uniform: a fresh head from the search's initial distribution;
//   best:    a copy of a top-ranked head of the same layer, mutated once (mutation.h): one
//            offset shifted, one free position added, or one offset dropped;
//   fitted:  k and offsets drawn from distributions fitted by maximum likelihood to the top
//            heads of the layer (a Gaussian mixture by EM when the family is "mixture");
//   growth:  no new offsets at all: the best surviving head of each layer that lost heads is
//            widened instead (reproduction.h), the capacity of the pruned heads moving into
//            it as extra query/key columns that the worker's functional-gradient step fills;
//   policy:  a small network reads the layer's surviving heads and proposes k and offsets,
//            learning from the children's rewards (offset_policy.h);
//   adaptive: a bandit (bandit.h) picks one of the above for each child.
// "Top" heads are the best top_fraction of a layer's surviving heads, pooled across the
// generation's parents and ordered by their ranking score. Every sampler draws, mutates and
// fits a layer's heads within that layer's window (HeadDistribution::ForLayer).
#ifndef HEADEVO_SEARCH_RESAMPLING_H_
#define HEADEVO_SEARCH_RESAMPLING_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "search/bandit.h"
#include "search/distributions.h"
#include "search/fitting.h"
#include "search/head_sampler.h"
#include "search/mutation.h"
#include "search/offset_policy.h"
#include "search/pruning.h"
#include "search/random.h"
#include "search/ranking.h"

namespace headevo::search {

// kGrowth and kPolicy come last so that the others keep their values (arms index them by
// position only, but configs and saved states were written before they existed).
enum class Sampler { kUniform, kBest, kFitted, kAdaptive, kGrowth, kPolicy };

absl::StatusOr<Sampler> ParseSampler(std::string_view name);  // "uniform", "best", ...
std::string_view SamplerName(Sampler sampler);
headevo::v1::SamplerKind SamplerKindOf(Sampler sampler);

struct ResamplingOptions {
  Sampler sampler = Sampler::kUniform;
  // best, fitted: the share of each layer's surviving heads (at least one) used as sources.
  double top_fraction = 0.5;
  MutationOptions mutation;
  // fitted: the family fitted to the sources' offset magnitudes.
  OffsetFamily fitted_family = OffsetFamily::kNormal;
  FitOptions fit;
  // fitted: with fewer source offsets than this in a layer the fit is not trusted and the
  // head is drawn from the initial distribution instead (its parameters say so).
  int min_fit_offsets = 4;
  // growth: query/key columns one growth step adds to a head (its r), >= 1.
  int growth_width = 4;
  // growth: no head grows past this many extra columns: a head below it grows by at most the
  // rest, a head at it is passed over for the next best. >= growth_width.
  int max_extra_key_width = 32;
  // policy: the learned sampler's network and optimiser.
  PolicyOptions policy;
  // adaptive: the arms (any of uniform, best, fitted, growth, policy, each once) and the policy.
  std::vector<Sampler> arms = {Sampler::kUniform, Sampler::kBest, Sampler::kFitted};
  BanditOptions bandit;
  // adaptive: reward = fitness(parent) - fitness(child) - this * connections the child's
  // sampled heads add.
  double reward_cost_per_connection = 0.0;

  absl::Status Validate() const;
  // Whether `sampler`, or one of the adaptive sampler's arms, is `wanted`.
  bool Uses(Sampler wanted) const;
};

// A parent of this generation with its heads ranked and its pruning decided.
struct RankedParent {
  const headevo::v1::Candidate* candidate = nullptr;
  std::vector<HeadScore> scores;
  std::vector<PrunedHead> pruned;
};

// The sources of the best and fitted samplers, built once per generation.
class HeadPool {
 public:
  // Pools the surviving heads of `parents` per layer (a head inherited by several parents
  // counts once, with its best score), keeps the top fraction, and fits the fitted sampler's
  // distributions when options.sampler or one of options.arms needs them.
  static HeadPool Build(const std::vector<RankedParent>& parents, int num_layers,
                        const HeadDistribution& initial, const ResamplingOptions& options);

  struct Source {
    headevo::v1::Head head;
    double score = 0.0;
  };
  // Best first; ties keep the parents' order, then genome order.
  const std::vector<Source>& sources(int layer) const { return layers_[layer].sources; }
  // The fitted distribution of `layer`, or nullopt with the reason in fit_error(layer).
  const std::optional<HeadDistribution>& fitted(int layer) const { return layers_[layer].fitted; }
  const std::string& fit_error(int layer) const { return layers_[layer].fit_error; }

 private:
  struct Layer {
    std::vector<Source> sources;
    std::optional<HeadDistribution> fitted;
    std::string fit_error;
  };
  std::vector<Layer> layers_;
};

// One new head for `layer` from `sampler` (not kAdaptive): origin SAMPLED, id 0, sampler
// and sampler_params set, source_head_id set for a copy, extra_key_width 0. `initial` is the
// search's; the head lies in its layer's window (initial.ForLayer(layer)). A best or fitted
// sampler without sources in the layer draws from `initial` and records why. kGrowth makes no
// heads of its own (GrowHead does); here it is the fallback MakeChild uses when no head of the
// layer can grow: a draw from `initial`, recorded as the growth sampler's, that says so.
// kPolicy proposes through its OffsetPolicy (MakeChild); here, without one, it draws from
// `initial` and says so.
headevo::v1::Head SampleHead(Sampler sampler, int layer, const HeadPool& pool,
                             const HeadDistribution& initial, const ResamplingOptions& options,
                             Rng& rng);

// The grown copy of `source` (a head of the parent, with its id): id 0, origin GROWN, sampler
// GROWTH, source_head_id = source.id(), the same layer and offsets, and extra_key_width grown by
// options.growth_width but never past options.max_extra_key_width. nullopt when `source` is
// already at the maximum.
std::optional<headevo::v1::Head> GrowHead(const headevo::v1::Head& source,
                                          const ResamplingOptions& options);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_RESAMPLING_H_
