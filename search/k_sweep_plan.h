// The k-sweep as coordinator work: the head sets of each step, and where a sweep stands given
// what the database holds. Step s is generation s of the search; its candidates are
// k_sweep.repeats random head sets of mean k = the schedule's s-th k. Every step's genomes are
// drawn from a stream of their own, so a coordinator restarted mid-sweep draws the same ones.
#ifndef HEADEVO_SEARCH_K_SWEEP_PLAN_H_
#define HEADEVO_SEARCH_K_SWEEP_PLAN_H_

#include <vector>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "search/k_sweep.h"
#include "search/search_options.h"

namespace headevo::search {

// The candidates of step `step` at mean k per head `k` (generation `step`, no parent, the
// mutation saying which k and which head set); search_id is left 0.
std::vector<headevo::v1::Candidate> KSweepStepCandidates(const SearchOptions& options, int step,
                                                         double k);

struct KSweepProgress {
  KSweep sweep;            // every step whose candidates all finished, recorded
  int steps_started = 0;   // generations with candidates
  bool step_running = false;  // the last started step has candidates not yet finished
};

// Replays the sweep from the dense model's loss and the stored candidates (any order).
// DataLoss when a finished step does not hold `repeats` candidates, or a step was started
// after the sweep had ended: the database is not a k-sweep of these options.
absl::StatusOr<KSweepProgress> ReplayKSweep(const SearchOptions& options, double dense_loss,
                                            const std::vector<headevo::v1::Candidate>& population);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_K_SWEEP_PLAN_H_
