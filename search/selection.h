// Parent selection: truncation over the evaluated population (the exploit step of
// population-based training). Later strategies (tournament, aging, Pareto) sit beside it.
#ifndef HEADEVO_SEARCH_SELECTION_H_
#define HEADEVO_SEARCH_SELECTION_H_

#include <vector>

#include "absl/status/status.h"
#include "headevo/v1/candidate.pb.h"

namespace headevo::search {

struct SelectionOptions {
  // How many of the fittest evaluated candidates become parents.
  int num_parents = 4;
  // Fitness = val_loss + connection_cost * connections: lower is fitter. 0 ranks by loss alone.
  double connection_cost = 0.0;

  absl::Status Validate() const;
};

double Fitness(const headevo::v1::Candidate& candidate, const SelectionOptions& options);

// The candidates in state DONE ordered fittest first (ties: lower id first), at most `limit`.
std::vector<const headevo::v1::Candidate*> RankByFitness(
    const std::vector<headevo::v1::Candidate>& population, const SelectionOptions& options,
    int limit);

// The num_parents fittest evaluated candidates; empty if none is evaluated.
std::vector<const headevo::v1::Candidate*> SelectParents(
    const std::vector<headevo::v1::Candidate>& population, const SelectionOptions& options);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_SELECTION_H_
