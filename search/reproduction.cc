#include "search/reproduction.h"

#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"

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

ChildPlan MakeChild(const RankedParent& parent, Sampler sampler, const HeadPool& pool,
                    const ReproductionOptions& options, Rng& rng) {
  const headevo::v1::Genome& genome = parent.candidate->genome();
  std::set<int> pruned;
  std::map<int, int> replacements;  // layer -> heads to draw
  for (const PrunedHead& p : parent.pruned) {
    pruned.insert(p.slot);
    if (p.reason != PruneReason::kOverLayerMaximum) ++replacements[genome.heads(p.slot).layer()];
  }

  ChildPlan plan;
  plan.parent_id = parent.candidate->id();
  plan.sampler = sampler;
  plan.genome.set_num_layers(genome.num_layers());
  for (int layer = 0; layer < genome.num_layers(); ++layer) {
    for (int slot = 0; slot < genome.heads_size(); ++slot) {
      const headevo::v1::Head& head = genome.heads(slot);
      if (head.layer() != layer || pruned.count(slot)) continue;
      headevo::v1::Head* kept = plan.genome.add_heads();
      *kept = head;
      kept->set_origin(headevo::v1::HEAD_ORIGIN_INHERITED);
    }
    for (int i = 0; i < replacements[layer]; ++i) {
      plan.mutation.add_added_head_slots(plan.genome.heads_size());
      *plan.genome.add_heads() =
          SampleHead(sampler, layer, pool, options.initial, options.resampling, rng);
    }
  }
  for (const PrunedHead& p : parent.pruned) plan.mutation.add_pruned_head_ids(p.head_id);
  plan.mutation.set_description(parent.pruned.empty()
                                    ? std::string("no heads pruned")
                                    : absl::StrCat("pruned ", DescribePruned(parent.pruned), "; +",
                                                   plan.mutation.added_head_slots_size(), " ",
                                                   std::string(SamplerName(sampler))));
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
    for (int h = 0; h < heads_per_layer; ++h) {
      *genome.add_heads() =
          SampleUniformHead(initial, layer, headevo::v1::HEAD_ORIGIN_INITIAL, rng);
    }
  }
  return genome;
}

}  // namespace headevo::search
