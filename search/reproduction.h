// Makes a child genome from a ranked parent: prune what the pruning rules say, and draw a
// replacement for each pruned head in its own layer with one of the samplers, or, with the
// growth sampler, widen the best surviving head of each layer that lost heads instead.
#ifndef HEADEVO_SEARCH_REPRODUCTION_H_
#define HEADEVO_SEARCH_REPRODUCTION_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "search/head_sampler.h"
#include "search/offset_policy.h"
#include "search/pruning.h"
#include "search/random.h"
#include "search/ranking.h"
#include "search/resampling.h"

namespace headevo::search {

struct ReproductionOptions {
  RankingOptions ranking;
  PruningOptions pruning;
  // The search's initial distribution: the uniform sampler draws from it, and it bounds
  // every other sampler's heads (window, causality, offset 0).
  HeadDistribution initial;
  ResamplingOptions resampling;
};

// Scores `parent`'s heads and decides which to prune. InvalidArgument, naming the candidate,
// when it is not evaluated or lacks statistics for a head.
absl::StatusOr<RankedParent> RankParent(const headevo::v1::Candidate& parent,
                                        const ReproductionOptions& options);

struct ChildPlan {
  int64_t parent_id = 0;
  // Which sampler drew the new heads (for the adaptive sampler: the arm it chose).
  Sampler sampler = Sampler::kUniform;
  // Survivors keep their ids and get origin INHERITED; new heads have id 0, origin SAMPLED,
  // and follow the survivors of their layer. Each pruned head is replaced in its own layer,
  // except those pruned for exceeding max_heads_per_layer.
  //
  // Growth instead: in each layer that lost heads (for any reason but the layer maximum), the
  // best-ranked survivor below resampling.max_extra_key_width is replaced, in its place, by its
  // grown copy (GrowHead: id 0, origin GROWN, extra_key_width + growth_width at most), and the
  // pruned heads are not replaced: the layer keeps fewer, wider heads. With nothing pruned the
  // best-ranked head of the whole genome grows. A layer with no head left to grow has its
  // pruned heads replaced from the initial distribution (recorded as the growth sampler's,
  // and the description says so). Grown heads' slots are added_head_slots like sampled ones.
  headevo::v1::Genome genome;
  headevo::v1::Mutation mutation;
};

// The child of a ranked parent with new heads from `sampler` (not kAdaptive). The mutation's
// description names the pruned heads and then "+N <sampler>", or for growth "grew head 17
// (+4)" (the head of the parent that grew, and by how many columns). kPolicy proposes each
// head through `policy` from the parent's survivors in its layer (SurvivorsOf); without a
// policy it draws from the initial distribution (SampleHead).
ChildPlan MakeChild(const RankedParent& parent, Sampler sampler, const HeadPool& pool,
                    const ReproductionOptions& options, Rng& rng, OffsetPolicy* policy = nullptr);

// The heads of `parent` in `layer` that its pruning keeps, with their ranking scores, in
// genome order: what the offset policy reads.
std::vector<SurvivingHead> SurvivorsOf(const RankedParent& parent, int layer);

// One parent alone: ranks it, pools its own survivors and uses options.resampling.sampler
// (the adaptive sampler's first arm). Errors as RankParent.
absl::StatusOr<ChildPlan> MakeChild(const headevo::v1::Candidate& parent,
                                    const ReproductionOptions& options, Rng& rng);

// The first generation's genome: `heads_per_layer` uniform heads in each layer, each layer's
// from initial.ForLayer(layer).
headevo::v1::Genome MakeInitialGenome(int num_layers, int heads_per_layer,
                                      const HeadDistribution& initial, Rng& rng);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_REPRODUCTION_H_
