#include "search/resampling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace headevo::search {
namespace {

headevo::v1::Head MakeHead(int64_t id, int layer, const std::vector<int>& offsets) {
  headevo::v1::Head head;
  head.set_id(id);
  head.set_layer(layer);
  for (int o : offsets) head.mutable_offsets()->add_offsets(o);
  return head;
}

// A parent whose heads score in the given order (score = -slot: slot 0 is the best).
struct Parent {
  headevo::v1::Candidate candidate;
  RankedParent ranked;
};

Parent MakeParent(int64_t id, const std::vector<headevo::v1::Head>& heads,
                  const std::vector<int>& pruned_slots = {}) {
  Parent p;
  p.candidate.set_id(id);
  p.candidate.mutable_genome()->set_num_layers(2);
  for (size_t i = 0; i < heads.size(); ++i) {
    *p.candidate.mutable_genome()->add_heads() = heads[i];
    HeadScore s;
    s.slot = static_cast<int>(i);
    s.head_id = heads[i].id();
    s.layer = heads[i].layer();
    s.score = -static_cast<double>(i);
    p.ranked.scores.push_back(s);
  }
  for (int slot : pruned_slots) p.ranked.pruned.push_back({slot, heads[slot].id()});
  return p;
}

TEST(HeadPoolTest, PoolsSurvivorsOncePerIdBestFirstAndKeepsTheTopFraction) {
  Parent a = MakeParent(
      1,
      {MakeHead(10, 0, {-1}), MakeHead(11, 0, {-2}), MakeHead(12, 0, {-3}), MakeHead(13, 1, {-4})},
      {1});
  // Parent b inherited head 10 and ranks it lower than a did.
  Parent b = MakeParent(2, {MakeHead(20, 0, {-5}), MakeHead(10, 0, {-1})});
  a.ranked.candidate = &a.candidate;
  b.ranked.candidate = &b.candidate;
  ResamplingOptions options;
  options.top_fraction = 1.0;
  const HeadPool all = HeadPool::Build({a.ranked, b.ranked}, 2, HeadDistribution{}, options);
  std::vector<int64_t> ids;
  for (const auto& s : all.sources(0)) ids.push_back(s.head.id());
  // Scores: 10 -> 0 (its best), 20 -> 0, 12 -> -2; 11 is pruned. Ties keep pooling order.
  EXPECT_EQ(ids, (std::vector<int64_t>{10, 20, 12}));
  ASSERT_EQ(all.sources(1).size(), 1u);
  EXPECT_EQ(all.sources(1)[0].head.id(), 13);

  options.top_fraction = 0.5;  // ceil(0.5 * 3) = 2 in layer 0, at least 1 in layer 1
  const HeadPool top = HeadPool::Build({a.ranked, b.ranked}, 2, HeadDistribution{}, options);
  EXPECT_EQ(top.sources(0).size(), 2u);
  EXPECT_EQ(top.sources(1).size(), 1u);
}

// Checks one best-sampler head against its source: one move, within the window.
void ExpectOneMove(const headevo::v1::Head& head, const headevo::v1::Head& source,
                   const HeadDistribution& dist, int max_shift, std::map<std::string, int>& moves) {
  const std::set<int> a(source.offsets().offsets().begin(), source.offsets().offsets().end());
  const std::set<int> b(head.offsets().offsets().begin(), head.offsets().offsets().end());
  for (int o : b) {
    EXPECT_GE(o, -dist.window);
    EXPECT_LE(o, dist.causal ? -1 : dist.window);
  }
  std::vector<int> removed, added;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(removed));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(added));
  if (removed.size() == 1 && added.size() == 1) {
    EXPECT_LE(std::abs(removed[0] - added[0]), max_shift);
    ++moves["shift"];
  } else if (removed.empty() && added.size() == 1) {
    ++moves["add"];
  } else if (removed.size() == 1 && added.empty()) {
    ++moves["drop"];
  } else {
    ADD_FAILURE() << "not one move: " << source.DebugString() << " -> " << head.DebugString();
  }
}

TEST(SampleHeadTest, BestCopiesATopHeadOfItsLayerWithOneMove) {
  const headevo::v1::Head source = MakeHead(42, 1, {-16, -8, -1});
  Parent p = MakeParent(1, {MakeHead(7, 0, {-2}), source});
  p.ranked.candidate = &p.candidate;
  ResamplingOptions options;
  options.sampler = Sampler::kBest;
  const HeadDistribution dist;  // causal, window 16
  const HeadPool pool = HeadPool::Build({p.ranked}, 2, dist, options);
  Rng rng(3);
  std::map<std::string, int> moves;
  for (int i = 0; i < 600; ++i) {
    const headevo::v1::Head head = SampleHead(Sampler::kBest, 1, pool, dist, options, rng);
    EXPECT_EQ(head.layer(), 1);
    EXPECT_EQ(head.source_head_id(), 42);
    EXPECT_EQ(head.sampler(), headevo::v1::SAMPLER_BEST);
    EXPECT_EQ(head.origin(), headevo::v1::HEAD_ORIGIN_SAMPLED);
    EXPECT_EQ(head.sampler_params().rfind("copy of head 42", 0), 0u) << head.sampler_params();
    ExpectOneMove(head, source, dist, options.mutation.max_shift, moves);
  }
  // Equal weights: each move about a third of the time.
  for (const char* move : {"shift", "add", "drop"}) {
    EXPECT_GT(moves[move], 150) << move;
  }
  options.mutation.shift_weight = 0;
  options.mutation.add_weight = 0;
  moves.clear();
  for (int i = 0; i < 50; ++i) {
    ExpectOneMove(SampleHead(Sampler::kBest, 1, pool, dist, options, rng), source, dist,
                  options.mutation.max_shift, moves);
  }
  EXPECT_EQ(moves["drop"], 50);
}

TEST(SampleHeadTest, BestWithoutSourcesDrawsFromTheInitialDistributionAndSaysWhy) {
  const HeadPool empty = HeadPool::Build({}, 2, HeadDistribution{}, ResamplingOptions{});
  Rng rng(1);
  const headevo::v1::Head head =
      SampleHead(Sampler::kBest, 0, empty, HeadDistribution{}, ResamplingOptions{}, rng);
  EXPECT_GE(head.offsets().offsets_size(), 1);
  EXPECT_EQ(head.source_head_id(), 0);
  EXPECT_NE(head.sampler_params().find("no surviving heads"), std::string::npos);
}

TEST(SampleHeadTest, FittedDrawsNearTheSurvivorsOffsets) {
  // The top heads of layer 0 all attend around -10; the fitted sampler should too, while the
  // initial distribution is uniform over [-16, -1] (mean magnitude 8.5).
  std::vector<headevo::v1::Head> heads;
  for (int i = 0; i < 4; ++i) {
    heads.push_back(MakeHead(
        100 + i, 0, i % 2 == 0 ? std::vector<int>{-11, -10, -9} : std::vector<int>{-12, -10, -8}));
  }
  Parent p = MakeParent(1, heads);
  p.ranked.candidate = &p.candidate;
  ResamplingOptions options;
  options.sampler = Sampler::kFitted;
  options.top_fraction = 1.0;
  const HeadDistribution dist;
  const HeadPool pool = HeadPool::Build({p.ranked}, 2, dist, options);
  ASSERT_TRUE(pool.fitted(0).has_value()) << pool.fit_error(0);
  Rng rng(5);
  double sum = 0;
  int n = 0;
  for (int i = 0; i < 300; ++i) {
    const headevo::v1::Head head = SampleHead(Sampler::kFitted, 0, pool, dist, options, rng);
    EXPECT_EQ(head.sampler(), headevo::v1::SAMPLER_FITTED);
    EXPECT_EQ(head.sampler_params().rfind("fitted to the top 4 heads", 0), 0u);
    for (int o : head.offsets().offsets()) {
      EXPECT_LT(o, 0);
      sum += -o;
      ++n;
    }
  }
  EXPECT_NEAR(sum / n, 10.0, 1.0);
  // Layer 1 has no heads: no fit, and the head says why.
  EXPECT_FALSE(pool.fitted(1).has_value());
  const headevo::v1::Head fallback = SampleHead(Sampler::kFitted, 1, pool, dist, options, rng);
  EXPECT_NE(fallback.sampler_params().find("no fit: only 0 offsets"), std::string::npos);
}

TEST(ResamplingOptionsTest, BadChoicesAreNamed) {
  ResamplingOptions options;
  options.top_fraction = 0.0;
  EXPECT_NE(options.Validate().message().find("top_fraction"), std::string::npos);
  options = ResamplingOptions{};
  options.sampler = Sampler::kAdaptive;
  options.arms = {Sampler::kBest, Sampler::kBest};
  EXPECT_NE(options.Validate().message().find("listed twice"), std::string::npos);
  options.arms = {Sampler::kAdaptive};
  EXPECT_NE(options.Validate().message().find("arm of itself"), std::string::npos);
  options = ResamplingOptions{};
  options.mutation.shift_weight = options.mutation.add_weight = options.mutation.drop_weight = 0;
  EXPECT_FALSE(options.Validate().ok());
  auto unknown = ParseSampler("genetic");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("genetic"), std::string::npos);
  EXPECT_EQ(*ParseSampler("fitted"), Sampler::kFitted);
  EXPECT_EQ(*ParseSampler("growth"), Sampler::kGrowth);
  EXPECT_EQ(SamplerName(Sampler::kGrowth), "growth");
  EXPECT_EQ(SamplerKindOf(Sampler::kGrowth), headevo::v1::SAMPLER_GROWTH);

  options = ResamplingOptions{};
  options.growth_width = 0;
  EXPECT_NE(options.Validate().message().find("growth_width"), std::string::npos);
  options.growth_width = 8;
  options.max_extra_key_width = 4;
  EXPECT_NE(options.Validate().message().find("max_extra_key_width"), std::string::npos);
  options.sampler = Sampler::kAdaptive;
  options.arms = {Sampler::kUniform, Sampler::kGrowth};
  options.max_extra_key_width = 8;
  EXPECT_TRUE(options.Validate().ok());
  EXPECT_TRUE(options.Uses(Sampler::kGrowth));
  EXPECT_FALSE(options.Uses(Sampler::kBest));
}

TEST(ResamplingTest, GrowHeadWidensACopyUpToTheCap) {
  headevo::v1::Head source;
  source.set_id(17);
  source.set_layer(1);
  source.set_origin(headevo::v1::HEAD_ORIGIN_INHERITED);
  for (int o : {-5, -2}) source.mutable_offsets()->add_offsets(o);
  source.set_extra_key_width(4);
  ResamplingOptions options;  // growth_width 4, max_extra_key_width 32
  std::optional<headevo::v1::Head> grown = GrowHead(source, options);
  ASSERT_TRUE(grown.has_value());
  EXPECT_EQ(grown->id(), 0);
  EXPECT_EQ(grown->layer(), 1);
  EXPECT_EQ(grown->offsets().SerializeAsString(), source.offsets().SerializeAsString());
  EXPECT_EQ(grown->origin(), headevo::v1::HEAD_ORIGIN_GROWN);
  EXPECT_EQ(grown->sampler(), headevo::v1::SAMPLER_GROWTH);
  EXPECT_EQ(grown->source_head_id(), 17);
  EXPECT_EQ(grown->extra_key_width(), 8);
  EXPECT_EQ(grown->sampler_params(), "grow head 17 by 4 -> d_k +8");

  source.set_extra_key_width(30);  // grows by the 2 columns left
  grown = GrowHead(source, options);
  ASSERT_TRUE(grown.has_value());
  EXPECT_EQ(grown->extra_key_width(), 32);
  source.set_extra_key_width(32);
  EXPECT_FALSE(GrowHead(source, options).has_value());
}

}  // namespace
}  // namespace headevo::search
