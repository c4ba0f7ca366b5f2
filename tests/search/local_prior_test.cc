#include "search/local_prior.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "search/head_sampler.h"

namespace headevo::search {
namespace {

HeadDistribution LocalPlusFar(int width, int window) {
  HeadDistribution dist;
  dist.window = window;
  dist.local.width = width;
  dist.offsets.family = OffsetFamily::kLogUniform;
  return dist;
}

std::vector<int> Draw(const HeadDistribution& dist, Rng& rng) {
  const headevo::v1::OffsetSet set = SampleOffsetSet(dist, rng);
  return {set.offsets().begin(), set.offsets().end()};
}

TEST(LocalPriorTest, EveryHeadHoldsTheBlockAndDrawsTheRestBeyondIt) {
  HeadDistribution dist = LocalPlusFar(4, 32);
  dist.count.family = CountFamily::kFixed;
  dist.count.mean = 7;
  ASSERT_TRUE(dist.Validate().ok()) << dist.Validate();
  Rng rng(3);
  std::set<int> far_seen;
  for (int i = 0; i < 500; ++i) {
    const std::vector<int> offsets = Draw(dist, rng);
    ASSERT_EQ(offsets.size(), 7u) << "k counts the block and the far offsets";
    const std::set<int> set(offsets.begin(), offsets.end());
    for (int o : {-1, -2, -3, -4}) EXPECT_TRUE(set.count(o)) << o;
    for (int o : offsets) {
      EXPECT_GE(o, -32);
      EXPECT_LE(o, -1);
      if (o < -4) far_seen.insert(o);
    }
  }
  EXPECT_GT(far_seen.size(), 20u) << "the far offsets range over the rest of the window";
}

TEST(LocalPriorTest, ASmallKStillGetsTheWholeBlock) {
  HeadDistribution dist = LocalPlusFar(5, 16);
  dist.count.family = CountFamily::kFixed;
  dist.count.mean = 2;
  Rng rng(9);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Draw(dist, rng), (std::vector<int>{-5, -4, -3, -2, -1}));
}

TEST(LocalPriorTest, BidirectionalBlockCoversBothSides) {
  HeadDistribution dist = LocalPlusFar(2, 8);
  dist.causal = false;
  dist.count.family = CountFamily::kFixed;
  dist.count.mean = 6;
  Rng rng(5);
  for (int i = 0; i < 100; ++i) {
    const std::vector<int> offsets = Draw(dist, rng);
    ASSERT_EQ(offsets.size(), 6u);
    const std::set<int> set(offsets.begin(), offsets.end());
    for (int o : {-2, -1, 1, 2}) EXPECT_TRUE(set.count(o)) << o;
  }
}

TEST(LocalPriorTest, ProbabilityDecidesHowOftenTheBlockIsThere) {
  HeadDistribution dist = LocalPlusFar(3, 64);
  dist.local.probability = 0.3;
  dist.count.family = CountFamily::kFixed;
  dist.count.mean = 3;
  Rng rng(21);
  int with_block = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    with_block += Draw(dist, rng) == std::vector<int>{-3, -2, -1} ? 1 : 0;
  }
  // Without the block, three log-uniform draws over 64 positions are rarely exactly -3..-1.
  EXPECT_NEAR(static_cast<double>(with_block) / n, 0.3, 0.04);
}

TEST(LocalPriorTest, SameSeedSameHeadsAndTheDescriptionNamesTheBlock) {
  HeadDistribution dist = LocalPlusFar(4, 16);
  dist.count.mean = 6;
  Rng a(11), b(11);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(Draw(dist, a), Draw(dist, b));
  EXPECT_EQ(DescribeDistribution(dist), "k~normal(6,1) off~local(4)+log_uniform[1,16] in [-16,-1]");
  dist.local.probability = 0.5;
  dist.offsets.family = OffsetFamily::kUniform;
  EXPECT_EQ(DescribeDistribution(dist), "k~normal(6,1) off~local(4,p=0.5)+uniform[-16,-1]");
}

TEST(LocalPriorTest, WidthAndProbabilityAreChecked) {
  HeadDistribution dist = LocalPlusFar(17, 16);
  EXPECT_NE(dist.Validate().message().find("local_width"), std::string::npos) << dist.Validate();
  dist.local.width = 4;
  dist.local.probability = 1.5;
  EXPECT_NE(dist.Validate().message().find("local_probability"), std::string::npos);
  dist.local.probability = 0.0;
  EXPECT_TRUE(dist.Validate().ok());
  Rng rng(1);
  EXPECT_FALSE(DrawsLocalBlock(dist.local, rng));
}

TEST(LocalPriorTest, BlockOffsetsAreTheAllowedOnesNearestTheQuery) {
  const std::vector<int> allowed = {-4, -3, -2, -1, 0, 1, 2, 3, 4};
  EXPECT_EQ(LocalBlockOffsets({2, 1.0}, allowed), (std::vector<int>{-2, -1, 1, 2}));
  EXPECT_TRUE(LocalBlockOffsets({0, 1.0}, allowed).empty());
}

}  // namespace
}  // namespace headevo::search
