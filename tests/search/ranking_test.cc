#include "search/ranking.h"

#include <gtest/gtest.h>

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

TEST(RankingTest, RankNormalisationIgnoresMagnitudes) {
  // Head 1's weight norm is an outlier. Under ranks it counts as much as any other order:
  // each head's entropy rank and weight-norm rank cancel exactly.
  const Ranked r =
      Make({{1, 0, 1, 0.1, 0, 1.0, 0}, {2, 0, 1, 0.9, 0, 100.0, 0}, {3, 0, 1, 0.5, 0, 2.0, 0}});
  RankingOptions options;
  options.independence_weight = 0;
  options.importance_weight = 0;
  options.normalization = Normalization::kRank;
  auto by_rank = ScoreHeads(r.genome, r.stats, options);
  ASSERT_TRUE(by_rank.ok());
  // Ranks: entropy (lower is better, weight -1) gives +1, -1, 0; weight norm gives -1, +1, 0.
  EXPECT_NEAR((*by_rank)[0].score, 0.0, 1e-12);
  EXPECT_NEAR((*by_rank)[1].score, 0.0, 1e-12);
  EXPECT_NEAR((*by_rank)[2].score, 0.0, 1e-12);
  // Ties share their mean rank.
  const Ranked tied =
      Make({{1, 0, 1, 0.2, 0, 0, 0}, {2, 0, 1, 0.2, 0, 0, 0}, {3, 0, 1, 0.7, 0, 0, 0}});
  options.weight_norm_weight = 0;
  auto t = ScoreHeads(tied.genome, tied.stats, options);
  ASSERT_TRUE(t.ok());
  EXPECT_DOUBLE_EQ((*t)[0].score, 0.5);
  EXPECT_DOUBLE_EQ((*t)[1].score, 0.5);
  EXPECT_DOUBLE_EQ((*t)[2].score, -1.0);
}

TEST(RankingTest, UnknownNormalisationIsNamed) {
  EXPECT_EQ(*ParseNormalization("rank"), Normalization::kRank);
  auto bad = ParseNormalization("minmax");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("minmax"), std::string::npos);
}

TEST(RankingTest, ScoresCarryTheOutputSimilarity) {
  Ranked r = Make({{1, 0, 1, 1, 0.25, 1, 1}, {2, 0, 1, 1, 0.25, 1, 1}});
  r.stats.Mutable(0)->set_most_similar_head_id(2);
  auto scores = ScoreHeads(r.genome, r.stats, RankingOptions{});
  ASSERT_TRUE(scores.ok());
  EXPECT_DOUBLE_EQ((*scores)[0].output_similarity, 0.75);
  EXPECT_EQ((*scores)[0].most_similar_head_id, 2);
}

}  // namespace
}  // namespace headevo::search
