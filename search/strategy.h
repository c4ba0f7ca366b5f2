// The evolutionary strategy of one search: every decision between two generations (parents,
// pruning, samplers, the adaptive sampler's bandit) and the state those decisions depend on.
// Its whole state (RNG, bandit statistics, the offset policy, generation counter) is a
// StrategyState message, so
// a search restored from a saved state continues exactly as an uninterrupted one would.
//
// Usage: InitialGenomes() once, then either NextGeneration() after each generation is
// evaluated (generational schedule) or NextChild() whenever a worker is free (steady state).
// Save after any call; restore into a Strategy built from the same options.
#ifndef HEADEVO_SEARCH_STRATEGY_H_
#define HEADEVO_SEARCH_STRATEGY_H_

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/search_state.pb.h"
#include "search/bandit.h"
#include "search/evaluated_index.h"
#include "search/offset_policy.h"
#include "search/random.h"
#include "search/reproduction.h"
#include "search/search_options.h"

namespace headevo::search {

class Strategy {
 public:
  // `options` must be valid (SearchOptions::Validate); the RNG starts from options.seed.
  explicit Strategy(const SearchOptions& options);

  // Generation 0: population_size genomes drawn from the initial distribution, spread
  // across k when options.initial_k_spread (initial_spread.h).
  std::vector<headevo::v1::Genome> InitialGenomes();

  // The children of the next generation. `population` holds every candidate of the search so
  // far in creation order, the last generation evaluated (DONE or FAILED). First the bandit
  // of the adaptive sampler is rewarded with the last generation's evaluated children.
  // FailedPrecondition when no candidate is evaluated; InvalidArgument for a parent whose
  // statistics do not cover its genome.
  absl::StatusOr<std::vector<ChildPlan>> NextGeneration(
      const std::vector<headevo::v1::Candidate>& population);

  // Steady state: one child. `population` as for NextGeneration, in creation order, with
  // children still being evaluated included. First the bandit is rewarded with the children
  // that finished, in creation order up to the first unfinished one (so the rewards, and every
  // later decision, do not depend on the order in which workers finish). The parent is chosen
  // by the selection method among all evaluated candidates (truncation takes the
  // num_parents fittest in turn; an aging window of 0 means population_size); new heads come
  // from a pool of the population_size fittest candidates' heads. Errors as NextGeneration.
  absl::StatusOr<ChildPlan> NextChild(const std::vector<headevo::v1::Candidate>& population);

  // Generations whose children have been made (0 after InitialGenomes).
  int generation() const { return generation_; }
  // Steady state: children made so far.
  int64_t children_made() const { return children_made_; }
  const Bandit& bandit() const { return bandit_; }
  // The learned sampler, when the sampler or an adaptive arm is "policy"; else nullptr.
  const OffsetPolicy* policy() const { return policy_ ? &*policy_ : nullptr; }

  headevo::v1::StrategyState SaveState() const;
  // InvalidArgument when `state` does not fit these options (e.g. another number of arms).
  absl::Status RestoreState(const headevo::v1::StrategyState& state);

 private:
  // Rewards each evaluated child of generation_ with the fitness it gained over its parent,
  // minus the cost of the connections its sampled heads add.
  void RewardLastGeneration(const std::vector<headevo::v1::Candidate>& population);

  // Steady state: rewards the bandit with finished children in creation order, from
  // rewarded_children_ up to the first unfinished child. Needs evaluated_ synced.
  void RewardFinishedChildren(const std::vector<headevo::v1::Candidate>& population);
  // The adaptive sampler's reward for `child` goes to the arm that made its heads (if any),
  // and the offset policy learns from it when it proposed them.
  void RewardChild(const headevo::v1::Candidate& parent, const headevo::v1::Candidate& child);
  // Whether children's rewards are used at all (the adaptive sampler or the offset policy).
  bool Learns() const;

  SearchOptions options_;
  ReproductionOptions reproduction_;
  Rng rng_;
  Bandit bandit_;
  std::optional<OffsetPolicy> policy_;
  int generation_ = 0;
  int64_t children_made_ = 0;
  int64_t rewarded_children_ = 0;
  // Derived from the population, not state: what steady state has seen of it, so that a child
  // costs what changed since the last one. reward_position_ is where the next child to reward
  // is looked for (-1: unknown, found by counting rewarded_children_ children from the start).
  EvaluatedIndex evaluated_;
  int64_t reward_position_ = -1;
};

// The adaptive sampler's (and the offset policy's) reward for `child`: Fitness(parent) -
// Fitness(child) - cost per connection * the connections of the child's added heads. A grown head
// (origin GROWN) counts only the offsets its source head in `parent` did not have, so none as the
// growth sampler makes it: it pays nothing for connections the parent already had (its cost is
// wider queries and keys, which connections do not measure); an unknown source counts them all.
double SamplerReward(const headevo::v1::Candidate& parent, const headevo::v1::Candidate& child,
                     const SelectionOptions& selection, double cost_per_connection);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_STRATEGY_H_
