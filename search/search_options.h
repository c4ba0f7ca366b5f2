// Everything one search is configured with. The TOML config maps onto this and nothing else;
// every field has its default here.
#ifndef HEADEVO_SEARCH_SEARCH_OPTIONS_H_
#define HEADEVO_SEARCH_SEARCH_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "headevo/v1/training.pb.h"
#include "search/head_sampler.h"
#include "search/pruning.h"
#include "search/ranking.h"
#include "search/selection.h"

namespace headevo::search {

struct SearchOptions {
  std::string name = "search";
  // Seeds every decision of the search and every candidate's training: the same options and
  // seed give the same lineage.
  uint64_t seed = 1;
  // Candidates per generation (generation 0 included).
  int population_size = 8;
  // Generations after the initial one.
  int generations = 2;
  // Also train a dense-attention model the same way, for the final comparison.
  bool compare_with_dense = true;

  SelectionOptions selection;
  RankingOptions ranking;
  PruningOptions pruning;
  InitialDistribution initial;
  // Model, task and budget of every evaluation; `seed` is set per candidate.
  headevo::v1::TrainingSpec training;

  // InvalidArgument naming the first bad field, e.g. "model.d_model must be >= 1, got 0".
  absl::Status Validate() const;
};

// The defaults of the training spec (a tiny model on the planted-offset task).
headevo::v1::TrainingSpec DefaultTrainingSpec();

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_SEARCH_OPTIONS_H_
