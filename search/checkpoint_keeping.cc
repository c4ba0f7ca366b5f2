#include "search/checkpoint_keeping.h"

#include "search/selection.h"

namespace headevo::search {

std::vector<std::string> BreedableCheckpoints(
    const std::vector<headevo::v1::Candidate>& population, const SearchOptions& options) {
  const SelectionOptions& selection = options.selection;
  std::vector<const headevo::v1::Candidate*> eligible;
  if (selection.method == SelectionMethod::kTruncation) {
    // Steady state pools the population_size fittest's heads too, but only the parent's
    // weights are inherited.
    eligible = RankByFitness(population, selection, selection.num_parents);
  } else if (selection.method == SelectionMethod::kAging) {
    const int window =
        selection.aging_window > 0 ? selection.aging_window : options.population_size;
    for (auto it = population.rbegin();
         it != population.rend() && static_cast<int>(eligible.size()) < window; ++it) {
      if (it->state() == headevo::v1::CANDIDATE_STATE_DONE) eligible.push_back(&*it);
    }
  } else {
    for (const headevo::v1::Candidate& c : population) {
      if (c.state() == headevo::v1::CANDIDATE_STATE_DONE) eligible.push_back(&c);
    }
  }
  if (options.fidelity.enabled) {
    // Below the top rung a candidate may still be promoted, continuing from its checkpoint.
    const int top_rung = static_cast<int>(options.Rungs().size()) - 1;
    for (const headevo::v1::Candidate& c : population) {
      if (c.state() == headevo::v1::CANDIDATE_STATE_DONE && c.rung() < top_rung) {
        eligible.push_back(&c);
      }
    }
  }
  std::vector<std::string> keep;
  for (const headevo::v1::Candidate* c : eligible) {
    if (!c->checkpoint_sha256().empty()) keep.push_back(c->checkpoint_sha256());
  }
  return keep;
}

}  // namespace headevo::search
