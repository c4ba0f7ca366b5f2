// What the dashboard's search page draws, computed on the server from summaries, so the page
// costs the same for a search of 100 candidates and one of 100,000: the fitness over time in at
// most `max_points` buckets, the learning curves of the best few, the adaptive sampler's arms.
// The other figures use the SearchService's own reads (search_queries.h): the Pareto front,
// the offset survival table (Store::OffsetSurvivalStats), the workers.
//
// All of them are plain functions of a Store (run them under Coordinator::WithStore); errors are
// the store's (NotFound names an unknown search).
#ifndef HEADEVO_SERVER_HTTP_SEARCH_FIGURES_H_
#define HEADEVO_SERVER_HTTP_SEARCH_FIGURES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "storage/store.h"

namespace headevo::server {

// Consecutive candidates (id order) folded into one point of the fitness figure.
struct FitnessBucket {
  int64_t first_id = 0;
  int64_t last_id = 0;
  int64_t evaluated = 0;  // candidates of the bucket with a finite loss
  int64_t failed = 0;
  double min_loss = 0;  // over the evaluated ones (meaningless when evaluated == 0)
  double max_loss = 0;
  double best_so_far = 0;  // the lowest finite loss of every candidate up to last_id
  int64_t best_id = 0;     // the candidate that holds best_so_far (0: none yet)
};

struct FitnessOverTime {
  int64_t candidates = 0;  // in the search, every state
  int64_t per_bucket = 1;  // candidates folded into one bucket (the last may hold fewer)
  std::vector<FitnessBucket> buckets;
};

// Reads the candidates in pages of 10,000 (max_points > 0).
absl::StatusOr<FitnessOverTime> ComputeFitnessOverTime(storage::Store& store, int64_t search_id,
                                                       int max_points);

// The best `count` evaluated candidates with every rung they finished (learning curves).
absl::StatusOr<std::vector<headevo::v1::Candidate>> BestWithRungs(storage::Store& store,
                                                                  int64_t search_id, int count);

struct SamplerArm {
  std::string name;  // "uniform", "local", ... as the config names them
  int64_t pulls = 0;
  double mean_reward = 0;  // 0 while never pulled
};
// The adaptive sampler's arms with their pulls and mean rewards; empty for a search whose
// sampler is not adaptive (or whose config no longer parses).
absl::StatusOr<std::vector<SamplerArm>> SamplerUsage(storage::Store& store, int64_t search_id);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_HTTP_SEARCH_FIGURES_H_
