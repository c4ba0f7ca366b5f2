// Multi-fidelity: a candidate is trained in segments ("rungs") of growing budget, and only the
// best of each rung go on to the next (asynchronous successive halving, ASHA: Li et al. 2018).
// A promotion continues the candidate's training from its checkpoint at its rung; the
// learning-rate schedule is defined over the full budget, so a candidate promoted to the top
// rung ends exactly where one trained straight through would.
//
// Comparing across rungs: a rung-r loss is only ever compared with other rung-r losses.
// Promotion ranks the candidates that finished rung r by their rung-r results; parent selection
// (search/selection.h) ranks a higher rung above a lower one and orders within a rung by fitness.
// Pure functions; no state of their own.
#ifndef HEADEVO_SEARCH_FIDELITY_H_
#define HEADEVO_SEARCH_FIDELITY_H_

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "absl/status/status.h"
#include "headevo/v1/candidate.pb.h"
#include "search/selection.h"

namespace headevo::search {

struct FidelityOptions {
  // Off: every candidate trains the full budget in one job (one rung).
  bool enabled = false;
  // The first rung's budget in training steps (>= 1, below the full budget).
  int min_steps = 0;
  // eta: rung i trains min_steps * eta^i steps; the top 1/eta of a rung is promoted.
  double reduction_factor = 3.0;

  // InvalidArgument naming the key ("min_steps", "reduction_factor") when enabled and bad;
  // `full_steps` is the full budget ([training] steps).
  absl::Status Validate(int full_steps) const;
};

// The rungs' budgets in steps, lowest first: round(min_steps * eta^i) while below full_steps,
// then full_steps. Disabled: {full_steps}.
std::vector<int> RungSteps(const FidelityOptions& options, int full_steps);

// The training steps a job that takes a candidate to `rung` (0 <= rung < rungs.size()) adds:
// from the rung below, or from scratch for rung 0. `rungs` as RungSteps returns.
int64_t StepsToRung(const std::vector<int>& rungs, int rung);

// The candidate's result at `rung`, or nullptr when it has not finished that rung.
const headevo::v1::RungResult* ResultAtRung(const headevo::v1::Candidate& candidate, int rung);

// The candidates that finished `rung`, best first by their rung-`rung` results: by fitness
// (val_loss + connection_cost * connections) for truncation, tournament and aging; for nsga2 by
// non-dominated front on (val_loss, connections), then larger crowding distance. Ties: lower id.
// Pointers into `population`.
std::vector<const headevo::v1::Candidate*> RankAtRung(
    const std::vector<headevo::v1::Candidate>& population, int rung,
    const SelectionOptions& selection);

struct Promotion {
  int64_t candidate_id = 0;
  int to_rung = 0;
};

// ASHA's rule for a free worker: the best not-yet-promoted candidate of the highest rung whose
// top floor(n / eta) it belongs to (n = candidates that finished that rung); nullopt when no
// candidate qualifies. `busy` holds the candidates that already have a job beyond their rung
// (queued, running, done or failed): a candidate is promoted from a rung at most once.
std::optional<Promotion> NextPromotion(const std::vector<headevo::v1::Candidate>& population,
                                       int num_rungs, double reduction_factor,
                                       const SelectionOptions& selection,
                                       const std::set<int64_t>& busy);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_FIDELITY_H_
