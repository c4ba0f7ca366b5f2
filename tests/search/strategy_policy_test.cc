// The strategy with the learned offset policy: as the sampler, as an adaptive arm, and in
// steady state, where a resumed search must continue exactly.
#include <gtest/gtest.h>

#include <string>

#include "search/strategy.h"
#include "tests/search/fake_search.h"

namespace headevo::search {
namespace {

using testing::FakeSearch;

SearchOptions Options(Sampler sampler) {
  SearchOptions o;
  o.seed = 23;
  o.population_size = 6;
  o.training = DefaultTrainingSpec();
  o.selection.method = SelectionMethod::kTournament;
  o.selection.num_parents = 3;
  o.resampling.sampler = sampler;
  o.resampling.arms = {Sampler::kUniform, Sampler::kPolicy};
  o.pruning.fraction = 0.25;
  return o;
}

int PolicyHeads(const headevo::v1::Candidate& c) {
  int count = 0;
  for (int slot : c.mutation().added_head_slots()) {
    const headevo::v1::Head& head = c.genome().heads(slot);
    count += head.sampler() == headevo::v1::SAMPLER_POLICY && PolicyProposalOf(head).has_value();
  }
  return count;
}

TEST(StrategyPolicyTest, PolicyProposesEveryNewHeadAndLearnsOncePerRewardedChild) {
  const SearchOptions options = Options(Sampler::kPolicy);
  ASSERT_TRUE(options.Validate().ok()) << options.Validate();
  Strategy strategy(options);
  ASSERT_NE(strategy.policy(), nullptr);
  FakeSearch search;
  search.AddInitialGeneration(strategy);
  for (int g = 0; g < 4; ++g) {
    absl::StatusOr<std::vector<ChildPlan>> plans = strategy.NextGeneration(search.population);
    ASSERT_TRUE(plans.ok()) << plans.status();
    search.AddGeneration(strategy.generation(), *plans);
  }
  for (const auto& c : search.population) {
    if (c.generation() == 0) continue;
    EXPECT_EQ(PolicyHeads(c), c.mutation().added_head_slots_size()) << c.mutation().description();
  }
  // Generations 1..3 were rewarded, one update per child; generation 4's proposals wait.
  EXPECT_EQ(strategy.policy()->updates(), 3 * options.population_size);
  const headevo::v1::PolicyState state = strategy.SaveState().policy();
  EXPECT_GT(state.pending_size(), 0);
  EXPECT_GT(state.history_size(), 0);
  EXPECT_EQ(Strategy(Options(Sampler::kBest)).policy(), nullptr);
}

TEST(StrategyPolicyTest, AdaptiveArmRewardsBothTheBanditAndThePolicy) {
  Strategy strategy(Options(Sampler::kAdaptive));
  FakeSearch search;
  search.AddInitialGeneration(strategy);
  for (int g = 0; g < 4; ++g) {
    absl::StatusOr<std::vector<ChildPlan>> plans = strategy.NextGeneration(search.population);
    ASSERT_TRUE(plans.ok()) << plans.status();
    search.AddGeneration(strategy.generation(), *plans);
  }
  int64_t policy_children = 0;
  for (const auto& c : search.population) {
    if (c.generation() >= 1 && c.generation() <= 3 && PolicyHeads(c) > 0) ++policy_children;
  }
  EXPECT_EQ(strategy.bandit().arms()[1].pulls, policy_children);
  EXPECT_EQ(strategy.policy()->updates(), policy_children);
  EXPECT_GT(policy_children, 0);
}

// Steady state: the search stops and resumes between two children;
// the lineage and the policy must equal an uninterrupted run's.
TEST(StrategyPolicyTest, SteadyStateResumeContinuesExactly) {
  SearchOptions options = Options(Sampler::kPolicy);
  options.schedule = Schedule::kSteadyState;
  const auto run = [&](int stop_after) {
    FakeSearch search;
    Strategy strategy(options);
    search.AddInitialGeneration(strategy);
    std::string state;
    for (int i = 0; i < 30; ++i) {
      if (i == stop_after) {
        Strategy resumed(options);
        EXPECT_TRUE(resumed.RestoreState(strategy.SaveState()).ok());
        strategy = std::move(resumed);
      }
      absl::StatusOr<ChildPlan> plan = strategy.NextChild(search.population);
      EXPECT_TRUE(plan.ok()) << plan.status();
      if (!plan.ok()) break;
      search.AddChild(0, *plan);
    }
    std::string all = strategy.SaveState().SerializeAsString();
    for (const auto& c : search.population) all += c.SerializeAsString();
    EXPECT_GT(strategy.policy()->updates(), 20);
    return all;
  };
  EXPECT_EQ(run(-1), run(13));
}

}  // namespace
}  // namespace headevo::search
