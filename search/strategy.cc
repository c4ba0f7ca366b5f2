#include "search/strategy.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "search/fidelity.h"
#include "search/initial_spread.h"
#include "search/selection.h"

namespace headevo::search {
namespace {

// The arm (index in `arms`) that made `child`'s sampled heads; -1 when it has none.
int ArmOf(const headevo::v1::Candidate& child, const std::vector<Sampler>& arms) {
  if (child.mutation().added_head_slots().empty()) return -1;
  const int slot = child.mutation().added_head_slots(0);
  if (slot < 0 || slot >= child.genome().heads_size()) return -1;
  const headevo::v1::SamplerKind kind = child.genome().heads(slot).sampler();
  for (size_t i = 0; i < arms.size(); ++i) {
    if (SamplerKindOf(arms[i]) == kind) return static_cast<int>(i);
  }
  return -1;
}

// The connections `head` (an added head of `child`) adds: all its offsets, except that a grown
// head pays only for offsets its source in `parent` lacked (none, as the growth sampler makes
// them: widening adds query/key columns, not connections).
int64_t AddedConnections(const headevo::v1::Head& head, const headevo::v1::Candidate& parent) {
  if (head.origin() != headevo::v1::HEAD_ORIGIN_GROWN) return head.offsets().offsets_size();
  for (const headevo::v1::Head& source : parent.genome().heads()) {
    if (source.id() != head.source_head_id()) continue;
    const std::set<int> had(source.offsets().offsets().begin(), source.offsets().offsets().end());
    int64_t added = 0;
    for (int o : head.offsets().offsets()) added += had.count(o) ? 0 : 1;
    return added;
  }
  return head.offsets().offsets_size();
}

// The heads a sampler added to `child`.
std::vector<const headevo::v1::Head*> AddedHeads(const headevo::v1::Candidate& child) {
  std::vector<const headevo::v1::Head*> heads;
  for (int slot : child.mutation().added_head_slots()) {
    if (slot >= 0 && slot < child.genome().heads_size())
      heads.push_back(&child.genome().heads(slot));
  }
  return heads;
}

}  // namespace

namespace {

// Fitness at the first rung, the one every evaluated candidate has: a reward then never
// weighs a child's first-rung loss against a parent's promoted one, and does not depend on
// whether a promotion finished before the reward was given. Without rungs, plain Fitness.
double FirstRungFitness(const headevo::v1::Candidate& c, const SelectionOptions& selection) {
  const headevo::v1::RungResult* first = ResultAtRung(c, 0);
  if (first == nullptr) return Fitness(c, selection);
  return Fitness(first->val_loss(), c.metrics().connections(), selection);
}

}  // namespace

double SamplerReward(const headevo::v1::Candidate& parent, const headevo::v1::Candidate& child,
                     const SelectionOptions& selection, double cost_per_connection) {
  int64_t sampled_connections = 0;
  for (int slot : child.mutation().added_head_slots()) {
    if (slot >= 0 && slot < child.genome().heads_size()) {
      sampled_connections += AddedConnections(child.genome().heads(slot), parent);
    }
  }
  return FirstRungFitness(parent, selection) - FirstRungFitness(child, selection) -
         cost_per_connection * static_cast<double>(sampled_connections);
}

Strategy::Strategy(const SearchOptions& options)
    : options_(options),
      reproduction_{options.ranking, options.pruning, options.initial, options.resampling},
      rng_(options.seed),
      bandit_(static_cast<int>(options.resampling.arms.size()), options.resampling.bandit),
      evaluated_(options.selection, options.fidelity.enabled) {
  if (options.resampling.Uses(Sampler::kPolicy)) {
    const auto& model = options.training.model();
    policy_.emplace(options.resampling.policy, options.initial, model.num_layers(),
                    model.heads_per_layer(), options.seed);
  }
}

bool Strategy::Learns() const {
  return options_.resampling.sampler == Sampler::kAdaptive || policy_.has_value();
}

std::vector<headevo::v1::Genome> Strategy::InitialGenomes() {
  const auto& model = options_.training.model();
  return MakeInitialPopulation(model.num_layers(), model.heads_per_layer(), options_.initial,
                               options_.population_size, options_.initial_k_spread, rng_);
}

void Strategy::RewardLastGeneration(const std::vector<headevo::v1::Candidate>& population) {
  if (!Learns() || generation_ == 0) return;
  std::map<int64_t, const headevo::v1::Candidate*> by_id;
  for (const headevo::v1::Candidate& c : population) by_id[c.id()] = &c;
  for (const headevo::v1::Candidate& child : population) {
    // A failed child says more about training than about the sampler: no reward.
    if (child.generation() != generation_ || child.state() != headevo::v1::CANDIDATE_STATE_DONE) {
      continue;
    }
    auto parent = by_id.find(child.parent_id());
    if (parent != by_id.end()) RewardChild(*parent->second, child);
  }
  // Every child of the generation had its chance; the next one's proposals start afresh.
  if (policy_) policy_->ForgetAll();
}

void Strategy::RewardChild(const headevo::v1::Candidate& parent,
                           const headevo::v1::Candidate& child) {
  const double reward = SamplerReward(parent, child, options_.selection,
                                      options_.resampling.reward_cost_per_connection);
  const int arm = ArmOf(child, options_.resampling.arms);
  if (options_.resampling.sampler == Sampler::kAdaptive && arm >= 0) bandit_.Reward(arm, reward);
  if (policy_) policy_->Learn(AddedHeads(child), reward);
}

void Strategy::RewardFinishedChildren(const std::vector<headevo::v1::Candidate>& population) {
  const int64_t size = static_cast<int64_t>(population.size());
  if (reward_position_ < 0) {
    // Past the rewarded_children_ children counted from the start.
    int64_t children = 0;
    reward_position_ = 0;
    while (reward_position_ < size && children < rewarded_children_) {
      children += population[reward_position_++].parent_id() != 0;
    }
  }
  const bool learns = Learns();
  for (; reward_position_ < size; ++reward_position_) {
    const headevo::v1::Candidate& child = population[reward_position_];
    if (child.parent_id() == 0) continue;
    if (child.state() != headevo::v1::CANDIDATE_STATE_DONE &&
        child.state() != headevo::v1::CANDIDATE_STATE_FAILED) {
      return;  // later children wait for this one, so finishing order never matters
    }
    ++rewarded_children_;
    if (!learns) continue;
    // A failed child says more about training than about the sampler: no reward.
    if (child.state() != headevo::v1::CANDIDATE_STATE_DONE) {
      if (policy_) policy_->Forget(AddedHeads(child));
      continue;
    }
    if (const headevo::v1::Candidate* parent = evaluated_.Find(child.parent_id())) {
      RewardChild(*parent, child);
    }
  }
}

absl::StatusOr<ChildPlan> Strategy::NextChild(
    const std::vector<headevo::v1::Candidate>& population) {
  // A population that does not continue the last one (another search's, or one a test built)
  // is indexed afresh, and where the rewards stand is counted again.
  if (!evaluated_.Sync(population)) reward_position_ = -1;
  RewardFinishedChildren(population);
  SelectionOptions selection = options_.selection;
  if (selection.aging_window == 0) selection.aging_window = options_.population_size;
  // Truncation hands out its num_parents fittest in turn; the others draw one parent.
  const int count = selection.method == SelectionMethod::kTruncation
                        ? static_cast<int>(children_made_ % selection.num_parents) + 1
                        : 1;
  const std::vector<const headevo::v1::Candidate*> parents =
      SelectParents(evaluated_, selection, count, rng_);
  if (parents.empty()) {
    return absl::FailedPreconditionError("no candidate has been evaluated: nothing to select");
  }
  const headevo::v1::Candidate* parent = parents.back();
  Sampler sampler = options_.resampling.sampler;
  if (sampler == Sampler::kAdaptive) {
    sampler = options_.resampling.arms[bandit_.ChooseBatch(1, rng_).front()];
  }

  std::vector<RankedParent> ranked;
  absl::StatusOr<RankedParent> parent_ranked = RankParent(*parent, reproduction_);
  if (!parent_ranked.ok()) return parent_ranked.status();
  ranked.push_back(*std::move(parent_ranked));
  // The pool of heads the best and fitted samplers draw from: the fittest candidates' heads,
  // the parent's first. Ranking them is most of a child's cost in a large search, and the
  // other samplers never read the pool (building it draws nothing from the RNG).
  if (sampler == Sampler::kBest || sampler == Sampler::kFitted) {
    for (const headevo::v1::Candidate* fit : evaluated_.Fittest(options_.population_size)) {
      if (fit == parent) continue;
      absl::StatusOr<RankedParent> r = RankParent(*fit, reproduction_);
      if (!r.ok()) return r.status();
      ranked.push_back(*std::move(r));
    }
  }
  const HeadPool pool = HeadPool::Build(ranked, options_.training.model().num_layers(),
                                        options_.initial, options_.resampling);
  ChildPlan child =
      MakeChild(ranked.front(), sampler, pool, reproduction_, rng_, policy_ ? &*policy_ : nullptr);
  ++children_made_;
  return child;
}

absl::StatusOr<std::vector<ChildPlan>> Strategy::NextGeneration(
    const std::vector<headevo::v1::Candidate>& population) {
  const std::vector<const headevo::v1::Candidate*> parents =
      SelectParents(population, options_.selection, options_.population_size, rng_);
  if (parents.empty()) {
    return absl::FailedPreconditionError("no candidate has been evaluated: nothing to select");
  }
  RewardLastGeneration(population);

  // Each distinct parent is ranked once, in the order selection chose them.
  std::vector<RankedParent> ranked;
  std::map<const headevo::v1::Candidate*, size_t> index;
  for (const headevo::v1::Candidate* parent : parents) {
    if (index.count(parent)) continue;
    absl::StatusOr<RankedParent> r = RankParent(*parent, reproduction_);
    if (!r.ok()) return r.status();
    index[parent] = ranked.size();
    ranked.push_back(*std::move(r));
  }
  const HeadPool pool = HeadPool::Build(ranked, options_.training.model().num_layers(),
                                        options_.initial, options_.resampling);

  std::vector<Sampler> samplers(parents.size(), options_.resampling.sampler);
  if (options_.resampling.sampler == Sampler::kAdaptive) {
    const std::vector<int> arms = bandit_.ChooseBatch(static_cast<int>(parents.size()), rng_);
    for (size_t i = 0; i < arms.size(); ++i) samplers[i] = options_.resampling.arms[arms[i]];
  }
  std::vector<ChildPlan> children;
  for (size_t i = 0; i < parents.size(); ++i) {
    children.push_back(MakeChild(ranked[index[parents[i]]], samplers[i], pool, reproduction_, rng_,
                                 policy_ ? &*policy_ : nullptr));
  }
  ++generation_;
  return children;
}

headevo::v1::StrategyState Strategy::SaveState() const {
  headevo::v1::StrategyState state;
  const Rng::State rng = rng_.GetState();
  state.set_rng_s0(rng.s0);
  state.set_rng_s1(rng.s1);
  state.set_generation(generation_);
  state.set_children_made(children_made_);
  state.set_rewarded_children(rewarded_children_);
  for (const ArmStats& a : bandit_.arms()) {
    headevo::v1::BanditArm* arm = state.add_arms();
    arm->set_pulls(a.pulls);
    arm->set_reward_sum(a.reward_sum);
    arm->set_reward_sum_squares(a.reward_sum_squares);
  }
  if (policy_) *state.mutable_policy() = policy_->SaveState();
  return state;
}

absl::Status Strategy::RestoreState(const headevo::v1::StrategyState& state) {
  if (state.generation() < 0 || state.children_made() < 0 || state.rewarded_children() < 0 ||
      state.rewarded_children() > state.children_made()) {
    return absl::InvalidArgumentError(
        absl::StrCat("strategy state is inconsistent: generation ", state.generation(),
                     ", children made ", state.children_made(), ", children rewarded ",
                     state.rewarded_children()));
  }
  std::vector<ArmStats> arms;
  for (const headevo::v1::BanditArm& a : state.arms()) {
    arms.push_back({a.pulls(), a.reward_sum(), a.reward_sum_squares()});
  }
  // A state saved before the policy existed (or without it) leaves the policy fresh.
  if (policy_ && state.has_policy()) {
    const Bandit bandit_before = bandit_;
    if (absl::Status s = bandit_.SetArms(arms); !s.ok()) return s;
    if (absl::Status s = policy_->RestoreState(state.policy()); !s.ok()) {
      bandit_ = bandit_before;
      return s;
    }
  } else if (absl::Status s = bandit_.SetArms(arms); !s.ok()) {
    return s;
  }
  rng_.SetState({state.rng_s0(), state.rng_s1()});
  generation_ = state.generation();
  children_made_ = state.children_made();
  rewarded_children_ = state.rewarded_children();
  reward_position_ = -1;
  return absl::OkStatus();
}

}  // namespace headevo::search
