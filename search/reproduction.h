// Makes a child genome from a ranked parent: prune its worst heads, resample replacements.
#ifndef HEADEVO_SEARCH_REPRODUCTION_H_
#define HEADEVO_SEARCH_REPRODUCTION_H_

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "search/head_sampler.h"
#include "search/pruning.h"
#include "search/random.h"
#include "search/ranking.h"

namespace headevo::search {

struct ReproductionOptions {
  RankingOptions ranking;
  PruningOptions pruning;
  // New heads are drawn from this (the uniform sampler).
  InitialDistribution initial;
};

struct ChildPlan {
  // Survivors keep their ids and origin INHERITED; new heads have id 0, origin SAMPLED, and are
  // placed after the survivors of their layer. Each pruned head is replaced in its own layer,
  // so head counts per layer are preserved.
  headevo::v1::Genome genome;
  headevo::v1::Mutation mutation;
};

// `parent` must be evaluated (its head_stats cover its genome); InvalidArgument otherwise.
absl::StatusOr<ChildPlan> MakeChild(const headevo::v1::Candidate& parent,
                                    const ReproductionOptions& options, Rng& rng);

// The first generation's genome: `heads_per_layer` uniform heads in each layer.
headevo::v1::Genome MakeInitialGenome(int num_layers, int heads_per_layer,
                                      const InitialDistribution& initial, Rng& rng);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_REPRODUCTION_H_
