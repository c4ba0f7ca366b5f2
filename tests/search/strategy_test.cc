#include "search/strategy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>

#include "tests/search/fake_search.h"

namespace headevo::search {
namespace {

using testing::FakeSearch;

SearchOptions Options(Sampler sampler) {
  SearchOptions o;
  o.seed = 17;
  o.population_size = 6;
  o.training = DefaultTrainingSpec();
  o.selection.method = SelectionMethod::kTournament;
  o.selection.num_parents = 3;
  o.resampling.sampler = sampler;
  o.resampling.bandit.policy = BanditPolicy::kThompson;
  o.pruning.fraction = 0.25;
  return o;
}

// Runs `generations` generations after the initial one.
void RunGenerations(Strategy& strategy, FakeSearch& search, int generations) {
  for (int g = 0; g < generations; ++g) {
    absl::StatusOr<std::vector<ChildPlan>> plans = strategy.NextGeneration(search.population);
    ASSERT_TRUE(plans.ok()) << plans.status();
    search.AddGeneration(strategy.generation(), *plans);
  }
}

std::string Lineage(const FakeSearch& search) {
  std::string all;
  for (const auto& c : search.population) all += c.SerializeAsString();
  return all;
}

TEST(StrategyTest, SameSeedSameLineageAndAnotherSeedDiffers) {
  std::string lineages[3];
  for (int run = 0; run < 3; ++run) {
    SearchOptions options = Options(Sampler::kAdaptive);
    if (run == 2) options.seed = 18;
    ASSERT_TRUE(options.Validate().ok()) << options.Validate();
    Strategy strategy(options);
    FakeSearch search;
    search.AddInitialGeneration(strategy);
    RunGenerations(strategy, search, 4);
    lineages[run] = Lineage(search);
  }
  EXPECT_EQ(lineages[0], lineages[1]);
  EXPECT_NE(lineages[0], lineages[2]);
}

// The requirement: save, restore and continue equals never stopping, for every
// sampler (the adaptive one carries bandit statistics in its state).
TEST(StrategyTest, SaveRestoreAndContinueEqualsNeverStopping) {
  for (Sampler sampler : {Sampler::kUniform, Sampler::kBest, Sampler::kFitted, Sampler::kGrowth,
                          Sampler::kPolicy, Sampler::kAdaptive}) {
    SCOPED_TRACE(SamplerName(sampler));
    SearchOptions options = Options(sampler);
    options.inherit_weights = true;
    options.resampling.arms = {Sampler::kUniform, Sampler::kBest, Sampler::kGrowth,
                               Sampler::kPolicy};

    Strategy uninterrupted(options);
    FakeSearch a;
    a.AddInitialGeneration(uninterrupted);
    RunGenerations(uninterrupted, a, 5);

    FakeSearch b;
    std::string saved;
    {
      Strategy first(options);
      b.AddInitialGeneration(first);
      RunGenerations(first, b, 2);
      ASSERT_TRUE(first.SaveState().SerializeToString(&saved));
    }
    headevo::v1::StrategyState state;
    ASSERT_TRUE(state.ParseFromString(saved));
    Strategy resumed(options);
    ASSERT_TRUE(resumed.RestoreState(state).ok());
    EXPECT_EQ(resumed.generation(), 2);
    RunGenerations(resumed, b, 3);

    EXPECT_EQ(Lineage(a), Lineage(b));
    EXPECT_EQ(uninterrupted.SaveState().SerializeAsString(),
              resumed.SaveState().SerializeAsString());
  }
}

TEST(StrategyTest, AdaptiveSamplerRewardsEveryEvaluatedChildOnce) {
  const SearchOptions options = Options(Sampler::kAdaptive);
  Strategy strategy(options);
  FakeSearch search;
  search.AddInitialGeneration(strategy);
  RunGenerations(strategy, search, 4);
  // Generations 1..3 have been rewarded (generation 4's rewards come with the next call);
  // every child has sampled heads, since pruning always takes at least one.
  int64_t pulls = 0;
  for (const ArmStats& arm : strategy.bandit().arms()) pulls += arm.pulls;
  EXPECT_EQ(pulls, 3 * options.population_size);
  // And each child's new heads all come from the one arm it was given.
  for (const auto& c : search.population) {
    if (c.generation() == 0) continue;
    const auto kind = c.genome().heads(c.mutation().added_head_slots(0)).sampler();
    for (int slot : c.mutation().added_head_slots()) {
      EXPECT_EQ(c.genome().heads(slot).sampler(), kind);
    }
  }
}

TEST(StrategyTest, RewardIsTheFitnessGainMinusTheSampledConnections) {
  headevo::v1::Candidate parent, child;
  parent.mutable_metrics()->set_val_loss(2.0);
  child.mutable_metrics()->set_val_loss(1.5);
  child.mutable_genome()->add_heads()->mutable_offsets()->add_offsets(-1);
  headevo::v1::Head* added = child.mutable_genome()->add_heads();
  added->mutable_offsets()->add_offsets(-1);
  added->mutable_offsets()->add_offsets(-2);
  child.mutable_mutation()->add_added_head_slots(1);
  EXPECT_DOUBLE_EQ(SamplerReward(parent, child, SelectionOptions{}, 0.1), 0.5 - 0.2);
}

TEST(StrategyTest, GrowthChildrenGrowTheirParentsBestHead) {
  SearchOptions options = Options(Sampler::kGrowth);
  options.inherit_weights = true;
  options.resampling.growth_width = 3;
  options.resampling.max_extra_key_width = 6;
  ASSERT_TRUE(options.Validate().ok()) << options.Validate();
  Strategy strategy(options);
  FakeSearch search;
  search.AddInitialGeneration(strategy);
  RunGenerations(strategy, search, 4);
  std::map<int64_t, const headevo::v1::Candidate*> by_id;
  for (const auto& c : search.population) by_id[c.id()] = &c;
  int grown = 0;
  for (const auto& c : search.population) {
    if (c.generation() == 0) continue;
    const headevo::v1::Candidate& parent = *by_id.at(c.parent_id());
    for (int slot : c.mutation().added_head_slots()) {
      const headevo::v1::Head& head = c.genome().heads(slot);
      EXPECT_EQ(head.sampler(), headevo::v1::SAMPLER_GROWTH);
      if (head.origin() != headevo::v1::HEAD_ORIGIN_GROWN) continue;  // a capped layer's draw
      ++grown;
      const headevo::v1::Head* source = nullptr;
      for (const auto& h : parent.genome().heads()) {
        if (h.id() == head.source_head_id()) source = &h;
      }
      ASSERT_NE(source, nullptr) << "a grown head's source is a head of the parent";
      EXPECT_EQ(head.layer(), source->layer());
      EXPECT_EQ(head.offsets().SerializeAsString(), source->offsets().SerializeAsString());
      EXPECT_EQ(head.extra_key_width(), std::min(source->extra_key_width() + 3, 6));
    }
    for (const auto& head : c.genome().heads()) EXPECT_LE(head.extra_key_width(), 6);
  }
  EXPECT_GT(grown, 0);
}

TEST(StrategyTest, AdaptiveSamplerRewardsItsGrowthArm) {
  SearchOptions options = Options(Sampler::kAdaptive);
  options.inherit_weights = true;
  options.resampling.arms = {Sampler::kUniform, Sampler::kBest, Sampler::kGrowth};
  ASSERT_TRUE(options.Validate().ok()) << options.Validate();
  Strategy strategy(options);
  FakeSearch search;
  search.AddInitialGeneration(strategy);
  RunGenerations(strategy, search, 4);
  int64_t pulls = 0;
  for (const ArmStats& arm : strategy.bandit().arms()) pulls += arm.pulls;
  EXPECT_EQ(pulls, 3 * options.population_size);
  // Children whose first added head the growth sampler made, in the rewarded generations.
  int64_t growth_children = 0;
  for (const auto& c : search.population) {
    if (c.generation() == 0 || c.generation() > 3) continue;
    const auto& first = c.genome().heads(c.mutation().added_head_slots(0));
    growth_children += first.sampler() == headevo::v1::SAMPLER_GROWTH ? 1 : 0;
  }
  EXPECT_GT(growth_children, 0);
  EXPECT_EQ(strategy.bandit().arms()[2].pulls, growth_children);
}

TEST(StrategyTest, GrownHeadsCostOnlyConnectionsTheirSourceLacked) {
  headevo::v1::Candidate parent, child;
  parent.mutable_metrics()->set_val_loss(2.0);
  child.mutable_metrics()->set_val_loss(1.5);
  headevo::v1::Head* source = parent.mutable_genome()->add_heads();
  source->set_id(9);
  for (int o : {-3, -1}) source->mutable_offsets()->add_offsets(o);
  headevo::v1::Head* grown = child.mutable_genome()->add_heads();
  *grown->mutable_offsets() = source->offsets();
  grown->set_origin(headevo::v1::HEAD_ORIGIN_GROWN);
  grown->set_source_head_id(9);
  child.mutable_mutation()->add_added_head_slots(0);
  EXPECT_DOUBLE_EQ(SamplerReward(parent, child, SelectionOptions{}, 0.1), 0.5);
  grown->mutable_offsets()->add_offsets(2);  // an offset the source lacked costs
  EXPECT_DOUBLE_EQ(SamplerReward(parent, child, SelectionOptions{}, 0.1), 0.5 - 0.1);
}

TEST(StrategyTest, NothingEvaluatedAndMismatchedStateAreErrors) {
  Strategy strategy(Options(Sampler::kAdaptive));
  auto none = strategy.NextGeneration({});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  headevo::v1::StrategyState state = strategy.SaveState();
  state.add_arms();
  const absl::Status s = strategy.RestoreState(state);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("arms"), std::string::npos);
}

}  // namespace
}  // namespace headevo::search
