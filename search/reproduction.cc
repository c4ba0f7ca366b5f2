#include "search/reproduction.h"

#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace headevo::search {

absl::StatusOr<ChildPlan> MakeChild(const headevo::v1::Candidate& parent,
                                    const ReproductionOptions& options, Rng& rng) {
  if (parent.state() != headevo::v1::CANDIDATE_STATE_DONE) {
    return absl::InvalidArgumentError(
        absl::StrCat("parent candidate ", parent.id(), " has not been evaluated"));
  }
  const headevo::v1::Genome& genome = parent.genome();
  absl::StatusOr<std::vector<HeadScore>> scores =
      ScoreHeads(genome, parent.head_stats(), options.ranking);
  if (!scores.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("parent candidate ", parent.id(), ": ", scores.status().message()));
  }
  const std::vector<int> pruned_slots = SelectHeadsToPrune(*scores, options.pruning);
  const std::set<int> pruned(pruned_slots.begin(), pruned_slots.end());

  ChildPlan plan;
  plan.genome.set_num_layers(genome.num_layers());
  std::vector<int64_t> pruned_ids;
  for (int slot : pruned_slots) pruned_ids.push_back(genome.heads(slot).id());

  for (int layer = 0; layer < genome.num_layers(); ++layer) {
    int replacements = 0;
    for (int slot = 0; slot < genome.heads_size(); ++slot) {
      const auto& head = genome.heads(slot);
      if (head.layer() != layer) continue;
      if (pruned.count(slot)) {
        ++replacements;
        continue;
      }
      headevo::v1::Head* kept = plan.genome.add_heads();
      *kept = head;
      kept->set_origin(headevo::v1::HEAD_ORIGIN_INHERITED);
    }
    for (int i = 0; i < replacements; ++i) {
      plan.mutation.add_added_head_slots(plan.genome.heads_size());
      *plan.genome.add_heads() =
          SampleUniformHead(options.initial, layer, headevo::v1::HEAD_ORIGIN_SAMPLED, rng);
    }
  }
  for (int64_t id : pruned_ids) plan.mutation.add_pruned_head_ids(id);
  plan.mutation.set_description(pruned_ids.empty()
                                    ? std::string("no heads pruned")
                                    : absl::StrCat("pruned heads ", absl::StrJoin(pruned_ids, ","),
                                                   "; +", pruned_ids.size(), " uniform"));
  return plan;
}

headevo::v1::Genome MakeInitialGenome(int num_layers, int heads_per_layer,
                                      const InitialDistribution& initial, Rng& rng) {
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
