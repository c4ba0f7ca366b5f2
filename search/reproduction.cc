#include "search/reproduction.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace headevo::search {

absl::StatusOr<RankedParent> RankParent(const headevo::v1::Candidate& parent,
                                        const ReproductionOptions& options) {
  if (parent.state() != headevo::v1::CANDIDATE_STATE_DONE) {
    return absl::InvalidArgumentError(
        absl::StrCat("parent candidate ", parent.id(), " has not been evaluated"));
  }
  absl::StatusOr<std::vector<HeadScore>> scores =
      ScoreHeads(parent.genome(), parent.head_stats(), options.ranking);
  if (!scores.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("parent candidate ", parent.id(), ": ", scores.status().message()));
  }
  RankedParent ranked;
  ranked.candidate = &parent;
  ranked.scores = *std::move(scores);
  ranked.pruned = SelectHeadsToPrune(parent.genome(), ranked.scores, options.pruning);
  return ranked;
}

namespace {

// The surviving slots of `parent` (all layers when layer < 0) best-ranked first; ties keep
// genome order.
std::vector<int> SurvivorsBestFirst(const RankedParent& parent, const std::set<int>& pruned,
                                    int layer) {
  std::vector<const HeadScore*> survivors;
  for (const HeadScore& score : parent.scores) {
    if (pruned.count(score.slot) || (layer >= 0 && score.layer != layer)) continue;
    survivors.push_back(&score);
  }
  std::stable_sort(survivors.begin(), survivors.end(),
                   [](const HeadScore* a, const HeadScore* b) { return a->score > b->score; });
  std::vector<int> slots;
  for (const HeadScore* s : survivors) slots.push_back(s->slot);
  return slots;
}

// The growth sampler's plan: which slot of the parent grows into which head. For each layer
// that lost heads (not counting layer-maximum prunings), or for the whole genome when nothing
// was pruned, the best-ranked survivor below the width cap. `stuck_layers` receives the layers
// that lost heads but had no head to grow: their pruned heads are replaced as by a sampler.
std::map<int, headevo::v1::Head> PlanGrowth(const RankedParent& parent, const std::set<int>& pruned,
                                            const std::map<int, int>& replacements,
                                            const ResamplingOptions& options,
                                            std::set<int>* stuck_layers) {
  const headevo::v1::Genome& genome = parent.candidate->genome();
  std::map<int, headevo::v1::Head> grown;  // parent slot -> grown copy
  const auto grow_first = [&](const std::vector<int>& slots) {
    for (int slot : slots) {
      std::optional<headevo::v1::Head> head = GrowHead(genome.heads(slot), options);
      if (!head.has_value()) continue;
      grown.emplace(slot, *std::move(head));
      return true;
    }
    return false;
  };
  bool any_replacement = false;
  for (const auto& [layer, count] : replacements) {
    if (count == 0) continue;
    any_replacement = true;
    if (!grow_first(SurvivorsBestFirst(parent, pruned, layer))) stuck_layers->insert(layer);
  }
  if (!any_replacement) grow_first(SurvivorsBestFirst(parent, pruned, -1));
  return grown;
}

// "grew head 17 (+4), head 21 (+2)", and the layers where nothing could grow.
std::string DescribeGrowth(const headevo::v1::Genome& parent,
                           const std::map<int, headevo::v1::Head>& grown,
                           const std::set<int>& stuck_layers, const ResamplingOptions& options) {
  std::vector<std::string> parts;
  for (const auto& [slot, head] : grown) {
    parts.push_back(absl::StrCat("head ", head.source_head_id(), " (+",
                                 head.extra_key_width() - parent.heads(slot).extra_key_width(),
                                 ")"));
  }
  std::string text;
  if (!parts.empty()) text = absl::StrCat("grew ", absl::StrJoin(parts, ", "));
  if (!stuck_layers.empty() || parts.empty()) {
    const std::string where =
        stuck_layers.empty() ? ""
                             : absl::StrCat("of layer ", absl::StrJoin(stuck_layers, ", "), " ");
    absl::StrAppend(&text, text.empty() ? "" : "; ", "no head ", where,
                    "below max_extra_key_width ", options.max_extra_key_width, " to grow");
  }
  return text;
}

}  // namespace

std::vector<SurvivingHead> SurvivorsOf(const RankedParent& parent, int layer) {
  std::set<int> pruned;
  for (const PrunedHead& p : parent.pruned) pruned.insert(p.slot);
  const headevo::v1::Genome& genome = parent.candidate->genome();
  std::vector<SurvivingHead> survivors;
  for (const HeadScore& score : parent.scores) {
    if (score.layer != layer || pruned.count(score.slot)) continue;
    const headevo::v1::OffsetSet& offsets = genome.heads(score.slot).offsets();
    survivors.push_back({{offsets.offsets().begin(), offsets.offsets().end()}, score.score});
  }
  return survivors;
}

ChildPlan MakeChild(const RankedParent& parent, Sampler sampler, const HeadPool& pool,
                    const ReproductionOptions& options, Rng& rng, OffsetPolicy* policy) {
  const headevo::v1::Genome& genome = parent.candidate->genome();
  std::set<int> pruned;
  std::map<int, int> replacements;  // layer -> heads to draw
  for (const PrunedHead& p : parent.pruned) {
    pruned.insert(p.slot);
    if (p.reason != PruneReason::kOverLayerMaximum) ++replacements[genome.heads(p.slot).layer()];
  }
  // Growth widens survivors instead of drawing replacements, except in layers where none can.
  std::map<int, headevo::v1::Head> grown;
  std::set<int> stuck_layers;
  if (sampler == Sampler::kGrowth) {
    grown = PlanGrowth(parent, pruned, replacements, options.resampling, &stuck_layers);
    for (auto& [layer, count] : replacements) {
      if (!stuck_layers.count(layer)) count = 0;
    }
  }

  ChildPlan plan;
  plan.parent_id = parent.candidate->id();
  plan.sampler = sampler;
  plan.genome.set_num_layers(genome.num_layers());
  for (int layer = 0; layer < genome.num_layers(); ++layer) {
    for (int slot = 0; slot < genome.heads_size(); ++slot) {
      const headevo::v1::Head& head = genome.heads(slot);
      if (head.layer() != layer || pruned.count(slot)) continue;
      if (auto it = grown.find(slot); it != grown.end()) {
        plan.mutation.add_added_head_slots(plan.genome.heads_size());
        *plan.genome.add_heads() = it->second;
        continue;
      }
      headevo::v1::Head* kept = plan.genome.add_heads();
      *kept = head;
      kept->set_origin(headevo::v1::HEAD_ORIGIN_INHERITED);
    }
    const bool proposes =
        sampler == Sampler::kPolicy && policy != nullptr && layer < policy->num_layers();
    const std::vector<SurvivingHead> survivors = proposes && replacements[layer] > 0
                                                     ? SurvivorsOf(parent, layer)
                                                     : std::vector<SurvivingHead>{};
    for (int i = 0; i < replacements[layer]; ++i) {
      plan.mutation.add_added_head_slots(plan.genome.heads_size());
      *plan.genome.add_heads() =
          proposes ? policy->Propose(survivors, layer, rng)
                   : SampleHead(sampler, layer, pool, options.initial, options.resampling, rng);
    }
  }
  for (const PrunedHead& p : parent.pruned) plan.mutation.add_pruned_head_ids(p.head_id);
  std::string description = parent.pruned.empty()
                                ? std::string("no heads pruned")
                                : absl::StrCat("pruned ", DescribePruned(parent.pruned));
  if (sampler == Sampler::kGrowth) {
    absl::StrAppend(&description, "; ",
                    DescribeGrowth(genome, grown, stuck_layers, options.resampling));
    const int drawn = plan.mutation.added_head_slots_size() - static_cast<int>(grown.size());
    if (drawn > 0) absl::StrAppend(&description, ": +", drawn, " uniform instead");
  } else if (!parent.pruned.empty()) {
    absl::StrAppend(&description, "; +", plan.mutation.added_head_slots_size(), " ",
                    std::string(SamplerName(sampler)));
  }
  plan.mutation.set_description(description);
  return plan;
}

absl::StatusOr<ChildPlan> MakeChild(const headevo::v1::Candidate& parent,
                                    const ReproductionOptions& options, Rng& rng) {
  absl::StatusOr<RankedParent> ranked = RankParent(parent, options);
  if (!ranked.ok()) return ranked.status();
  const HeadPool pool =
      HeadPool::Build({*ranked}, parent.genome().num_layers(), options.initial, options.resampling);
  Sampler sampler = options.resampling.sampler;
  if (sampler == Sampler::kAdaptive) sampler = options.resampling.arms.front();
  return MakeChild(*ranked, sampler, pool, options, rng);
}

headevo::v1::Genome MakeInitialGenome(int num_layers, int heads_per_layer,
                                      const HeadDistribution& initial, Rng& rng) {
  headevo::v1::Genome genome;
  genome.set_num_layers(num_layers);
  for (int layer = 0; layer < num_layers; ++layer) {
    const HeadDistribution layer_initial = initial.ForLayer(layer);
    for (int h = 0; h < heads_per_layer; ++h) {
      *genome.add_heads() =
          SampleUniformHead(layer_initial, layer, headevo::v1::HEAD_ORIGIN_INITIAL, rng);
    }
  }
  return genome;
}

}  // namespace headevo::search
