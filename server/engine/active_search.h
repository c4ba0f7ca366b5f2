// The coordinator's view of one RUNNING or PAUSED search, shared by the coordinator_*.cc files
// (not part of the coordinator's interface). Guarded by the coordinator's mutex.
#ifndef HEADEVO_SERVER_ENGINE_ACTIVE_SEARCH_H_
#define HEADEVO_SERVER_ENGINE_ACTIVE_SEARCH_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "headevo/v1/candidate.pb.h"
#include "search/search_options.h"
#include "search/strategy.h"
#include "server/engine/coordinator.h"

namespace headevo::server {

struct Coordinator::ActiveSearch {
  ActiveSearch(int64_t search_id, headevo::v1::SearchState search_state,
               search::SearchOptions search_options)
      : id(search_id),
        state(search_state),
        options(std::move(search_options)),
        strategy(options),
        rungs(options.Rungs()) {}

  int64_t id;
  headevo::v1::SearchState state;
  search::SearchOptions options;
  search::Strategy strategy;
  std::vector<headevo::v1::Candidate> population;  // every candidate, in creation order
  std::map<int64_t, size_t> index;    // candidate id -> position in population
  int64_t best_id = 0;                // the fittest DONE candidate so far
  std::vector<headevo::v1::Reference> references;  // in the order they were queued
  // Multi-fidelity: the rungs' budgets in steps ({training.steps} without fidelity), the
  // candidates with a promotion queued or running, and those whose promotion failed for good
  // (neither is promoted again).
  std::vector<int> rungs;
  std::set<int64_t> promotions_open;
  std::set<int64_t> promotions_failed;
  // Training steps of every candidate job created so far (SearchSummary.steps_committed).
  int64_t steps_committed = 0;

  int64_t planned() const { return options.PlannedEvaluations(); }
  bool steady() const { return options.schedule == search::Schedule::kSteadyState; }
  bool k_sweep() const { return options.mode == search::SearchMode::kKSweep; }
  bool fidelity() const { return options.fidelity.enabled; }
  // The steps a job that trains a candidate to `rung` adds (from the rung below, or from 0).
  int64_t StepsToRung(int rung) const { return search::StepsToRung(rungs, rung); }
  // Whether [search] budget_steps leaves room for a job of `steps` more.
  bool BudgetAllows(int64_t steps) const {
    return options.budget_steps == 0 || steps_committed + steps <= options.budget_steps;
  }
  headevo::v1::Reference* FindReference(int64_t reference_id) {
    for (headevo::v1::Reference& r : references) {
      if (r.id() == reference_id) return &r;
    }
    return nullptr;
  }
};

inline bool IsFinished(headevo::v1::CandidateState state) {
  return state == headevo::v1::CANDIDATE_STATE_DONE ||
         state == headevo::v1::CANDIDATE_STATE_FAILED;
}
inline bool IsFinished(const headevo::v1::Candidate& c) { return IsFinished(c.state()); }

// "running", "paused", ... for messages.
std::string StateWord(headevo::v1::SearchState state);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_ENGINE_ACTIVE_SEARCH_H_
