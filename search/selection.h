// Parent selection: which evaluated candidates the next generation's children descend from.
// Truncation is the exploit step of population-based training; tournament and aging
// (regularized evolution, Real et al. 2019) keep more diversity; NSGA-II selection (Deb et al.
// 2002) searches the (val_loss, connections) trade-off without a fixed price per connection.
#ifndef HEADEVO_SEARCH_SELECTION_H_
#define HEADEVO_SEARCH_SELECTION_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "search/random.h"

namespace headevo::search {

class EvaluatedIndex;  // search/evaluated_index.h

enum class SelectionMethod {
  kTruncation,  // the num_parents fittest, in turn: strong exploitation, no randomness
  kTournament,  // fittest of tournament_size random candidates: pressure set by the size
  kAging,       // a tournament among the youngest only: old lucky candidates die out
  kNsga2,       // crowded-comparison tournament on (val_loss, connections) Pareto fronts
};

// "truncation", "tournament", "aging", "nsga2"; anything else is InvalidArgument listing them.
absl::StatusOr<SelectionMethod> ParseSelectionMethod(std::string_view name);
// The name ParseSelectionMethod accepts for `method`.
std::string_view SelectionMethodName(SelectionMethod method);

struct SelectionOptions {
  SelectionMethod method = SelectionMethod::kTruncation;
  // Truncation: how many of the fittest evaluated candidates become parents.
  int num_parents = 4;
  // Fitness = val_loss + connection_cost * connections: lower is fitter. 0 ranks by loss alone.
  // Used by truncation, tournament and aging; NSGA-II keeps the two objectives apart.
  double connection_cost = 0.0;
  // Tournament, aging, nsga2: candidates drawn (uniformly, with replacement) per parent.
  // 1 is uniform random selection; the eligible count or more almost always finds the best.
  int tournament_size = 3;
  // Aging: only the aging_window most recently created evaluated candidates are alive.
  // 0: as many as one generation (the `count` passed to SelectParents).
  int aging_window = 0;

  // InvalidArgument naming the bad field (by its config key, e.g. "tournament_size").
  absl::Status Validate() const;
};

double Fitness(const headevo::v1::Candidate& candidate, const SelectionOptions& options);
// The same rule for a loss measured elsewhere (e.g. at one rung of the candidate's training).
double Fitness(double val_loss, int64_t connections, const SelectionOptions& options);

// Whether `a` ranks before `b` in RankByFitness: a higher rung first (multi-fidelity: losses of
// different budgets are never weighed against each other), then lower fitness (NaN last), then
// the lower id.
bool IsFitter(const headevo::v1::Candidate& a, const headevo::v1::Candidate& b,
              const SelectionOptions& options);

// The candidates in state DONE ordered by IsFitter, at most `limit`.
// A NaN fitness ranks last. Pointers into `population`, valid while it is unchanged.
std::vector<const headevo::v1::Candidate*> RankByFitness(
    const std::vector<headevo::v1::Candidate>& population, const SelectionOptions& options,
    int limit);

// One parent per child: `count` pointers into `population` (valid while it is unchanged), or
// none if no candidate is in state DONE (or count <= 0). `population` is in creation order,
// oldest first; only DONE candidates are eligible. Requires options.Validate().ok().
//   truncation: the num_parents fittest in turn, fittest first; draws nothing from `rng`.
//   tournament: each parent is the fittest of tournament_size eligible candidates drawn
//               uniformly with replacement (ties: lower id).
//   aging:      the same tournament over the aging_window most recent eligible candidates.
//   nsga2:      the same draw, won by crowded comparison on (val_loss, connections) among all
//               eligible candidates: lower front rank, then larger crowding distance, then
//               lower id.
// The same population, options, count and rng state give the same parents.
std::vector<const headevo::v1::Candidate*> SelectParents(
    const std::vector<headevo::v1::Candidate>& population, const SelectionOptions& options,
    int count, Rng& rng);
// The same parents from an index synced to the population: what steady-state breeding calls,
// at a cost that does not grow with the candidates already finished (evaluated_index.h).
std::vector<const headevo::v1::Candidate*> SelectParents(const EvaluatedIndex& index,
                                                         const SelectionOptions& options,
                                                         int count, Rng& rng);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_SELECTION_H_
