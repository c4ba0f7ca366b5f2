// What a finished (or running) search found, read from the store alone: the best candidate,
// the Pareto front, the reference models and the k-sweep's verdict. `headevo run` prints it;
// any client reads the same facts through SearchService (QuerySummary, QueryParetoFront).
#ifndef HEADEVO_SERVER_ENGINE_SEARCH_OUTCOME_H_
#define HEADEVO_SERVER_ENGINE_SEARCH_OUTCOME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "search/k_sweep.h"
#include "search/pareto.h"
#include "search/search_options.h"
#include "storage/store.h"

namespace headevo::server {

struct SearchOutcome {
  int64_t search_id = 0;
  int evaluated = 0;  // candidates finished (done or failed)
  int failed = 0;
  headevo::v1::Candidate best;  // empty when no candidate is done
  // The dense-attention model trained the same way (when the options ask for it, or as a
  // k-sweep's bar).
  std::optional<headevo::v1::Metrics> dense;
  std::string dense_error;  // why `dense` is empty although it was trained

  // The other reference models, in the order they were queued.
  struct Baseline {
    std::string description;  // e.g. "local attention (window 3)"
    std::optional<headevo::v1::Metrics> metrics;
    std::string error;  // why `metrics` is empty
  };
  std::vector<Baseline> baselines;

  // The evaluated candidates no other candidate beats on both val_loss and connections,
  // fewest connections first, and the area they dominate up to `hypervolume_reference`:
  // (log vocab_size, the loss of a uniform guess; layers * heads * seq_len, the connections of
  // dense heads). The reference depends on the model alone, so searches of one model compare.
  std::vector<headevo::v1::Candidate> pareto_front;
  double hypervolume = 0.0;
  search::Objectives hypervolume_reference;

  // k-sweep mode: each mean k trained, in schedule order, and the smallest that held.
  std::vector<search::KSweepStep> k_sweep;
  std::optional<double> smallest_k;
};

// NotFound for an unknown search; the store's errors; DataLoss when a k-sweep's candidates do
// not replay (search/k_sweep_plan.h).
absl::StatusOr<SearchOutcome> ReadSearchOutcome(storage::Store& store, int64_t search_id,
                                                const search::SearchOptions& options);

// A k-sweep's steps and verdict from the store: empty steps until its dense model is done.
struct KSweepVerdict {
  std::vector<search::KSweepStep> steps;
  std::optional<double> smallest_k;
};
absl::StatusOr<KSweepVerdict> ReadKSweepVerdict(
    const search::SearchOptions& options, const std::vector<headevo::v1::Reference>& references,
    const std::vector<headevo::v1::Candidate>& population);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_ENGINE_SEARCH_OUTCOME_H_
