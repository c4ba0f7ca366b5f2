// Everything one search is configured with. The TOML config maps onto this and nothing else;
// every field has its default here.
#ifndef HEADEVO_SEARCH_SEARCH_OPTIONS_H_
#define HEADEVO_SEARCH_SEARCH_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "headevo/v1/training.pb.h"
#include "search/fidelity.h"
#include "search/head_sampler.h"
#include "search/k_sweep.h"
#include "search/pruning.h"
#include "search/ranking.h"
#include "search/resampling.h"
#include "search/selection.h"

namespace headevo::search {

// What a search does with its budget.
enum class SearchMode {
  kEvolve,  // prune, resample and select over generations (the default)
  kKSweep,  // the seed's first research: random heads of decreasing mean k against dense
};

// When evolution makes children.
enum class Schedule {
  // One child at a time, as soon as a worker is free, from every candidate evaluated so far:
  // no generation barrier, so no worker waits for the slowest member of a generation.
  kSteadyState,
  // Whole generations: the next is made when every candidate of the last has finished.
  kGenerational,
};

struct SearchOptions {
  SearchMode mode = SearchMode::kEvolve;
  Schedule schedule = Schedule::kSteadyState;
  std::string name = "search";
  // Seeds every decision of the search and every candidate's training: the same options and
  // seed give the same lineage.
  uint64_t seed = 1;
  // Candidates per generation (generation 0 included).
  int population_size = 8;
  // Generations after the initial one. Steady state makes as many children in all
  // (population_size * generations); a child's generation is its parent's plus one.
  int generations = 2;
  // Also train a dense-attention model the same way, for the final comparison.
  bool compare_with_dense = true;
  // Start each child from its parent's trained weights (the heads it keeps, by id) instead of
  // from scratch; evaluations then keep checkpoints. The growth sampler requires it.
  bool inherit_weights = false;
  // More baselines trained the same way after the search: any of ATTENTION_KIND_LOCAL,
  // STRIDED, LINFORMER, RANDOM, DILATED, WINDOW_RANDOM, with their parameters; a parameter of 0
  // matches the best candidate's mean k per head (stride: the image width for an image task,
  // else the nearest integer to sqrt(seq_len); see search/reference_models.h).
  std::vector<headevo::v1::AttentionKind> baselines;
  int baseline_window = 0;
  int baseline_stride = 0;
  int baseline_linformer_rank = 0;
  int baseline_random_k = 0;

  // Stop making jobs once the candidates' jobs would train more than this many steps in all
  // (a job counts when it is created, with the steps it will train); 0 = no limit. Two searches
  // with the same budget_steps are compared at equal compute.
  int64_t budget_steps = 0;
  // Train candidates in rungs of growing budget and promote the best (ASHA); off by default.
  FidelityOptions fidelity;

  SelectionOptions selection;
  ResamplingOptions resampling;
  // Only for SearchMode::kKSweep (population, generations and selection are then unused).
  KSweepOptions k_sweep;
  RankingOptions ranking;
  PruningOptions pruning;
  HeadDistribution initial;
  // Generation 0's candidates draw heads whose mean k runs from 1 to the window's positions
  // across the population (initial_spread.h) instead of all around initial.count.mean.
  bool initial_k_spread = false;
  // Model, task and budget of every evaluation; `seed` is set per candidate.
  headevo::v1::TrainingSpec training;

  // InvalidArgument naming the first bad field, e.g. "model.d_model must be >= 1, got 0".
  absl::Status Validate() const;

  // Candidates the search evaluates at most: population * (generations + 1) for an evolution;
  // a k-sweep's whole schedule times its repeats (it stops sooner when a k falls behind).
  // The rungs' budgets in steps, lowest first; {training.steps} without fidelity.
  std::vector<int> Rungs() const { return RungSteps(fidelity, training.steps()); }

  int64_t PlannedEvaluations() const {
    if (mode == SearchMode::kKSweep) {
      return static_cast<int64_t>(KSchedule(k_sweep).size()) * k_sweep.repeats;
    }
    return static_cast<int64_t>(population_size) * (generations + 1);
  }
};

// "steady_state" or "generational", as configs spell it.
const char* ScheduleName(Schedule schedule);

// Connections per query position of dense heads: layers * heads_per_layer * seq_len.
int64_t DenseConnections(const headevo::v1::ModelSpec& model);

// The defaults of the training spec (a tiny model on the planted-offset task).
headevo::v1::TrainingSpec DefaultTrainingSpec();

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_SEARCH_OPTIONS_H_
