#include "search/ranking.h"

#include <gtest/gtest.h>

#include "search/pruning.h"

namespace headevo::search {
namespace {

struct FakeHead {
  int64_t id;
  int layer;
  int k;
  double entropy, independence, weight_norm, importance;
};

struct Ranked {
  headevo::v1::Genome genome;
  google::protobuf::RepeatedPtrField<headevo::v1::HeadStats> stats;
};

Ranked Make(const std::vector<FakeHead>& heads) {
  Ranked r;
  int layers = 0;
  for (const FakeHead& h : heads) {
    auto* head = r.genome.add_heads();
    head->set_id(h.id);
    head->set_layer(h.layer);
    for (int i = 1; i <= h.k; ++i) head->mutable_offsets()->add_offsets(-i);
    auto* s = r.stats.Add();
    s->set_head_id(h.id);
    s->set_layer(h.layer);
    s->set_entropy(h.entropy);
    s->set_independence(h.independence);
    s->set_weight_norm(h.weight_norm);
    s->set_importance(h.importance);
    layers = std::max(layers, h.layer + 1);
  }
  r.genome.set_num_layers(layers);
  return r;
}

TEST(RankingTest, LowEntropyAndHighNormRankHigher) {
  // Head 2 is diffuse and carries little weight: the worst of the layer.
  const Ranked r = Make({{1, 0, 2, 0.5, 0.5, 2.0, 0.1},
                         {2, 0, 2, 2.5, 0.5, 0.5, 0.1},
                         {3, 0, 2, 1.0, 0.5, 1.5, 0.1}});
  auto scores = ScoreHeads(r.genome, r.stats, RankingOptions{});
  ASSERT_TRUE(scores.ok()) << scores.status();
  ASSERT_EQ(scores->size(), 3u);
  EXPECT_LT((*scores)[1].score, (*scores)[0].score);
  EXPECT_LT((*scores)[1].score, (*scores)[2].score);
  EXPECT_EQ(WorstFirst(*scores).front(), 1);
  // A constant signal (independence) contributes nothing; the z-scores of one signal sum to 0.
  RankingOptions only_independence;
  only_independence.entropy_weight = 0;
  only_independence.weight_norm_weight = 0;
  only_independence.importance_weight = 0;
  auto flat = ScoreHeads(r.genome, r.stats, only_independence);
  ASSERT_TRUE(flat.ok());
  for (const HeadScore& s : *flat) EXPECT_EQ(s.score, 0.0);
}

TEST(RankingTest, FlippingAWeightFlipsTheOrder) {
  const Ranked r = Make({{1, 0, 1, 0.2, 0, 0, 0}, {2, 0, 1, 1.8, 0, 0, 0}});
  RankingOptions options;
  auto prefer_low = ScoreHeads(r.genome, r.stats, options);
  options.entropy_weight = +1.0;
  auto prefer_high = ScoreHeads(r.genome, r.stats, options);
  ASSERT_TRUE(prefer_low.ok() && prefer_high.ok());
  EXPECT_EQ(WorstFirst(*prefer_low).front(), 1);
  EXPECT_EQ(WorstFirst(*prefer_high).front(), 0);
}

TEST(RankingTest, SignalsAreComparedWithinALayerOnly) {
  // Layer 1's entropies are all far above layer 0's; per-layer z-scores make the two layers'
  // best heads score alike.
  const Ranked r = Make({{1, 0, 1, 0.1, 0, 0, 0},
                         {2, 0, 1, 0.3, 0, 0, 0},
                         {3, 1, 1, 10.1, 0, 0, 0},
                         {4, 1, 1, 10.3, 0, 0, 0}});
  auto scores = ScoreHeads(r.genome, r.stats, RankingOptions{});
  ASSERT_TRUE(scores.ok());
  EXPECT_NEAR((*scores)[0].score, (*scores)[2].score, 1e-9);
  EXPECT_NEAR((*scores)[1].score, (*scores)[3].score, 1e-9);
}

TEST(RankingTest, ConnectionCostPenalisesWideHeads) {
  const Ranked r = Make({{1, 0, 1, 1, 1, 1, 1}, {2, 0, 6, 1, 1, 1, 1}});
  RankingOptions options;
  options.cost_per_connection = 0.1;
  auto scores = ScoreHeads(r.genome, r.stats, options);
  ASSERT_TRUE(scores.ok());
  EXPECT_NEAR((*scores)[0].score - (*scores)[1].score, 0.5, 1e-12);
}

TEST(RankingTest, MissingStatisticsNameTheHead) {
  Ranked r = Make({{1, 0, 1, 1, 1, 1, 1}, {2, 0, 1, 1, 1, 1, 1}});
  r.stats.RemoveLast();
  auto scores = ScoreHeads(r.genome, r.stats, RankingOptions{});
  ASSERT_FALSE(scores.ok());
  EXPECT_NE(scores.status().message().find("head 2"), std::string::npos);
}

TEST(PruningTest, PrunesTheWorstFractionAndKeepsTheLayerMinimum) {
  // Layer 0: four heads; layer 1: one head, the worst of all. 50% of 5 heads rounds to 3, but
  // layer 1 must keep its only head.
  std::vector<HeadScore> scores = {
      {0, 10, 0, 1, 0.5}, {1, 11, 0, 1, -1.0}, {2, 12, 0, 1, 2.0},
      {3, 13, 0, 1, -0.5}, {4, 14, 1, 1, -9.0}};
  PruningOptions options;
  options.fraction = 0.5;
  EXPECT_EQ(SelectHeadsToPrune(scores, options), (std::vector<int>{1, 3, 0}));
  options.min_heads_per_layer = 3;
  EXPECT_EQ(SelectHeadsToPrune(scores, options), (std::vector<int>{1}));
}

TEST(PruningTest, SmallFractionStillPrunesOneAndZeroPrunesNone) {
  std::vector<HeadScore> scores = {{0, 1, 0, 1, 1.0}, {1, 2, 0, 1, 0.0}};
  PruningOptions options;
  options.fraction = 0.01;
  EXPECT_EQ(SelectHeadsToPrune(scores, options), (std::vector<int>{1}));
  options.fraction = 0.0;
  EXPECT_TRUE(SelectHeadsToPrune(scores, options).empty());
  options.fraction = 1.0;
  EXPECT_FALSE(options.Validate().ok());
}

}  // namespace
}  // namespace headevo::search
