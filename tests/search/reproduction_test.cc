#include "search/reproduction.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace headevo::search {
namespace {

// An evaluated parent with head ids 100.. in slot order; entropy grows with the slot, so the
// last head of each layer is its worst.
headevo::v1::Candidate EvaluatedParent(int layers, int heads_per_layer, uint64_t seed) {
  HeadDistribution initial;
  Rng rng(seed);
  headevo::v1::Candidate parent;
  parent.set_id(7);
  parent.set_state(headevo::v1::CANDIDATE_STATE_DONE);
  *parent.mutable_genome() = MakeInitialGenome(layers, heads_per_layer, initial, rng);
  for (int i = 0; i < parent.genome().heads_size(); ++i) {
    auto* head = parent.mutable_genome()->mutable_heads(i);
    head->set_id(100 + i);
    auto* s = parent.add_head_stats();
    s->set_head_id(head->id());
    s->set_layer(head->layer());
    s->set_entropy(static_cast<double>(i));  // later slots are more diffuse: worse
  }
  return parent;
}

TEST(ReproductionTest, InitialGenomeHasEveryLayerFull) {
  Rng rng(1);
  const headevo::v1::Genome genome = MakeInitialGenome(3, 5, HeadDistribution{}, rng);
  EXPECT_EQ(genome.num_layers(), 3);
  ASSERT_EQ(genome.heads_size(), 15);
  for (int i = 0; i < 15; ++i) {
    EXPECT_EQ(genome.heads(i).layer(), i / 5);
    EXPECT_EQ(genome.heads(i).origin(), headevo::v1::HEAD_ORIGIN_INITIAL);
    EXPECT_EQ(genome.heads(i).sampler(), headevo::v1::SAMPLER_UNIFORM);
  }
}

TEST(ReproductionTest, ChildKeepsSurvivorsAndReplacesThePrunedInTheirLayer) {
  const headevo::v1::Candidate parent = EvaluatedParent(2, 4, 3);
  ReproductionOptions options;
  options.pruning.fraction = 0.25;  // 2 of 8 heads
  Rng rng(4);
  auto plan = MakeChild(parent, options, rng);
  ASSERT_TRUE(plan.ok()) << plan.status();

  // The worst head of each layer is its last slot (highest entropy within the layer).
  EXPECT_EQ(std::set<int64_t>(plan->mutation.pruned_head_ids().begin(),
                              plan->mutation.pruned_head_ids().end()),
            (std::set<int64_t>{103, 107}));
  ASSERT_EQ(plan->genome.heads_size(), 8);
  std::map<int, int> per_layer;
  std::set<int64_t> parent_ids;
  for (const auto& h : parent.genome().heads()) parent_ids.insert(h.id());
  std::set<int> added(plan->mutation.added_head_slots().begin(),
                      plan->mutation.added_head_slots().end());
  EXPECT_EQ(added.size(), 2u);
  for (int slot = 0; slot < plan->genome.heads_size(); ++slot) {
    const auto& head = plan->genome.heads(slot);
    ++per_layer[head.layer()];
    if (added.count(slot)) {
      EXPECT_EQ(head.id(), 0);
      EXPECT_EQ(head.origin(), headevo::v1::HEAD_ORIGIN_SAMPLED);
      EXPECT_EQ(head.sampler(), headevo::v1::SAMPLER_UNIFORM);
    } else {
      EXPECT_TRUE(parent_ids.count(head.id())) << "survivor must keep its parent's head id";
      EXPECT_EQ(head.origin(), headevo::v1::HEAD_ORIGIN_INHERITED);
      EXPECT_NE(head.id(), 103);
      EXPECT_NE(head.id(), 107);
    }
  }
  EXPECT_EQ(per_layer, (std::map<int, int>{{0, 4}, {1, 4}}));
  // Heads of one layer stay contiguous, so a layer's slots read in order.
  for (int slot = 1; slot < plan->genome.heads_size(); ++slot) {
    EXPECT_LE(plan->genome.heads(slot - 1).layer(), plan->genome.heads(slot).layer());
  }
}

TEST(ReproductionTest, SameParentAndSeedSameChild) {
  const headevo::v1::Candidate parent = EvaluatedParent(2, 4, 3);
  Rng a(10), b(10);
  auto first = MakeChild(parent, ReproductionOptions{}, a);
  auto second = MakeChild(parent, ReproductionOptions{}, b);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->genome.SerializeAsString(), second->genome.SerializeAsString());
  EXPECT_EQ(first->mutation.SerializeAsString(), second->mutation.SerializeAsString());
}

ReproductionOptions GrowthOptions() {
  ReproductionOptions options;
  options.resampling.sampler = Sampler::kGrowth;
  options.pruning.fraction = 0.25;  // the last head of each layer
  return options;
}

// The slots of `genome` whose head has origin GROWN.
std::vector<int> GrownSlots(const headevo::v1::Genome& genome) {
  std::vector<int> slots;
  for (int slot = 0; slot < genome.heads_size(); ++slot) {
    if (genome.heads(slot).origin() == headevo::v1::HEAD_ORIGIN_GROWN) slots.push_back(slot);
  }
  return slots;
}

TEST(ReproductionTest, GrowthWidensTheBestSurvivorOfEachLayerThatLostHeads) {
  headevo::v1::Candidate parent = EvaluatedParent(2, 4, 3);
  parent.mutable_genome()->mutable_heads(1)->set_extra_key_width(8);  // head 101
  Rng rng(4);
  auto plan = MakeChild(parent, GrowthOptions(), rng);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->sampler, Sampler::kGrowth);
  // 103 and 107 pruned and not replaced; 100 and 104 (best of their layers) grown in place.
  ASSERT_EQ(plan->genome.heads_size(), 6);
  EXPECT_EQ(GrownSlots(plan->genome), (std::vector<int>{0, 3}));
  EXPECT_EQ(std::vector<int>(plan->mutation.added_head_slots().begin(),
                             plan->mutation.added_head_slots().end()),
            (std::vector<int>{0, 3}));
  for (int slot : {0, 3}) {
    const headevo::v1::Head& grown = plan->genome.heads(slot);
    const headevo::v1::Head& source = parent.genome().heads(slot == 0 ? 0 : 4);
    EXPECT_EQ(grown.id(), 0);
    EXPECT_EQ(grown.source_head_id(), source.id());
    EXPECT_EQ(grown.sampler(), headevo::v1::SAMPLER_GROWTH);
    EXPECT_EQ(grown.layer(), source.layer());
    EXPECT_EQ(grown.offsets().SerializeAsString(), source.offsets().SerializeAsString());
    EXPECT_EQ(grown.extra_key_width(), 4);
  }
  // Inherited heads keep their width.
  EXPECT_EQ(plan->genome.heads(1).id(), 101);
  EXPECT_EQ(plan->genome.heads(1).extra_key_width(), 8);
  EXPECT_EQ(plan->genome.heads(1).origin(), headevo::v1::HEAD_ORIGIN_INHERITED);
  const std::string& description = plan->mutation.description();
  EXPECT_NE(description.find("; grew head 100 (+4), head 104 (+4)"), std::string::npos)
      << description;
}

TEST(ReproductionTest, GrowthRespectsTheCapAndFallsBackWhenNoHeadCanGrow) {
  headevo::v1::Candidate parent = EvaluatedParent(2, 4, 3);
  ReproductionOptions options = GrowthOptions();
  options.resampling.growth_width = 4;
  options.resampling.max_extra_key_width = 8;
  parent.mutable_genome()->mutable_heads(0)->set_extra_key_width(8);  // 100: at the cap
  parent.mutable_genome()->mutable_heads(1)->set_extra_key_width(6);  // 101: room for 2
  for (int slot = 4; slot < 8; ++slot) {  // layer 1: every head at the cap
    parent.mutable_genome()->mutable_heads(slot)->set_extra_key_width(8);
  }
  Rng rng(4);
  auto plan = MakeChild(parent, options, rng);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(GrownSlots(plan->genome), (std::vector<int>{1}));
  EXPECT_EQ(plan->genome.heads(1).source_head_id(), 101);
  EXPECT_EQ(plan->genome.heads(1).extra_key_width(), 8);
  EXPECT_EQ(plan->genome.heads(0).id(), 100);  // skipped, kept as it was
  for (const headevo::v1::Head& head : plan->genome.heads()) {
    EXPECT_LE(head.extra_key_width(), 8);
  }
  // Layer 1 could not grow: its pruned head is replaced by a fresh draw, 4 heads as before.
  ASSERT_EQ(plan->genome.heads_size(), 7);
  const headevo::v1::Head& drawn = plan->genome.heads(6);
  EXPECT_EQ(drawn.layer(), 1);
  EXPECT_EQ(drawn.origin(), headevo::v1::HEAD_ORIGIN_SAMPLED);
  EXPECT_EQ(drawn.extra_key_width(), 0);
  EXPECT_NE(drawn.sampler_params().find("no head of layer 1 below max_extra_key_width 8"),
            std::string::npos);
  EXPECT_EQ(plan->mutation.added_head_slots_size(), 2);
  EXPECT_NE(plan->mutation.description().find(
                "grew head 101 (+2); no head of layer 1 below max_extra_key_width 8 to grow: "
                "+1 uniform instead"),
            std::string::npos)
      << plan->mutation.description();
}

TEST(ReproductionTest, GrowthWithNothingPrunedGrowsTheBestHeadOfTheGenome) {
  const headevo::v1::Candidate parent = EvaluatedParent(2, 3, 3);
  ReproductionOptions options = GrowthOptions();
  options.pruning.fraction = 0.0;
  Rng rng(4);
  auto plan = MakeChild(parent, options, rng);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->genome.heads_size(), 6);
  ASSERT_EQ(GrownSlots(plan->genome).size(), 1u);
  EXPECT_EQ(plan->mutation.description(), "no heads pruned; grew head 100 (+4)");
}

TEST(ReproductionTest, OtherSamplersStartNewHeadsNarrow) {
  headevo::v1::Candidate parent = EvaluatedParent(2, 4, 3);
  for (auto& head : *parent.mutable_genome()->mutable_heads()) head.set_extra_key_width(4);
  ReproductionOptions options;
  options.resampling.sampler = Sampler::kBest;
  Rng rng(4);
  auto plan = MakeChild(parent, options, rng);
  ASSERT_TRUE(plan.ok()) << plan.status();
  for (int slot : plan->mutation.added_head_slots()) {
    EXPECT_EQ(plan->genome.heads(slot).extra_key_width(), 0);
  }
}

TEST(ReproductionTest, UnevaluatedParentIsRefused) {
  headevo::v1::Candidate parent = EvaluatedParent(1, 2, 3);
  parent.set_state(headevo::v1::CANDIDATE_STATE_PENDING);
  Rng rng(1);
  auto plan = MakeChild(parent, ReproductionOptions{}, rng);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("candidate 7"), std::string::npos);

  parent.set_state(headevo::v1::CANDIDATE_STATE_DONE);
  parent.clear_head_stats();
  plan = MakeChild(parent, ReproductionOptions{}, rng);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("no statistics"), std::string::npos);
}

}  // namespace
}  // namespace headevo::search
