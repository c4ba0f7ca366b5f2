#include "search/head_sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace headevo::search {
namespace {

// Checks the sampler's contract on one offset set.
void ExpectWellFormed(const headevo::v1::OffsetSet& set, const HeadDistribution& dist) {
  ASSERT_GE(set.offsets_size(), 1);
  for (int i = 0; i < set.offsets_size(); ++i) {
    const int offset = set.offsets(i);
    if (i > 0) {
      EXPECT_LT(set.offsets(i - 1), offset) << "offsets must be sorted and unique";
    }
    EXPECT_GE(offset, -dist.window);
    EXPECT_LE(offset, dist.causal ? 0 : dist.window);
    if (!dist.allow_zero) {
      EXPECT_NE(offset, 0);
    }
  }
}

TEST(HeadSamplerTest, CausalOffsetsAreSortedUniqueAndLookBack) {
  HeadDistribution dist;
  dist.window = 8;
  Rng rng(7);
  for (int i = 0; i < 500; ++i) ExpectWellFormed(SampleOffsetSet(dist, rng), dist);
}

TEST(HeadSamplerTest, BidirectionalWindowWithZeroReachesBothSides) {
  HeadDistribution dist;
  dist.window = 4;
  dist.causal = false;
  dist.allow_zero = true;
  Rng rng(11);
  std::set<int> seen;
  for (int i = 0; i < 2000; ++i) {
    const auto set = SampleOffsetSet(dist, rng);
    ExpectWellFormed(set, dist);
    seen.insert(set.offsets().begin(), set.offsets().end());
  }
  // Every one of the 9 positions in [-4, 4] is drawn at some point.
  EXPECT_EQ(seen.size(), 9u);
}

TEST(HeadSamplerTest, FixedCountGivesExactlyK) {
  HeadDistribution dist;
  dist.count.family = CountFamily::kFixed;
  dist.count.mean = 5;
  dist.window = 6;
  Rng rng(3);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(SampleOffsetSet(dist, rng).offsets_size(), 5);
}

TEST(HeadSamplerTest, CountIsClippedToTheWindow) {
  HeadDistribution dist;
  dist.count.mean = 3;
  dist.count.stddev = 50;  // most draws fall outside [1, 3]
  dist.window = 3;
  Rng rng(5);
  for (int i = 0; i < 300; ++i) {
    const int k = SampleOffsetSet(dist, rng).offsets_size();
    EXPECT_GE(k, 1);
    EXPECT_LE(k, 3);
  }
}

TEST(HeadSamplerTest, NormalOffsetsFavourShortRange) {
  HeadDistribution dist;
  dist.count.family = CountFamily::kFixed;
  dist.count.mean = 1;
  dist.offsets.family = OffsetFamily::kNormal;
  dist.offsets.scale = 2.0;
  dist.window = 32;
  Rng rng(9);
  int near = 0, far = 0;
  for (int i = 0; i < 2000; ++i) {
    const int offset = SampleOffsetSet(dist, rng).offsets(0);
    (offset >= -4 ? near : far)++;
  }
  EXPECT_GT(near, 10 * far);
}

TEST(HeadSamplerTest, PeakedDistributionStillFillsAWideK) {
  // k equals every position in the window while the offsets are peaked at 1: the sampler must
  // still terminate with k unique offsets.
  HeadDistribution dist;
  dist.count.family = CountFamily::kFixed;
  dist.count.mean = 16;
  dist.offsets.family = OffsetFamily::kNormal;
  dist.offsets.location = 1.0;
  dist.offsets.scale = 1e-3;
  dist.window = 16;
  Rng rng(1);
  EXPECT_EQ(SampleOffsetSet(dist, rng).offsets_size(), 16);
}

TEST(HeadSamplerTest, SameSeedSameHeads) {
  HeadDistribution dist;
  Rng a(42), b(42);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(SampleOffsetSet(dist, a).SerializeAsString(),
              SampleOffsetSet(dist, b).SerializeAsString());
  }
}

std::vector<std::vector<int>> Draw(const HeadDistribution& dist, uint64_t seed, int count) {
  Rng rng(seed);
  std::vector<std::vector<int>> sets;
  for (int i = 0; i < count; ++i) {
    const auto set = SampleOffsetSet(dist, rng);
    sets.emplace_back(set.offsets().begin(), set.offsets().end());
  }
  return sets;
}

TEST(HeadSamplerTest, DefaultsDrawTheSameHeadsAsEarlierVersions) {
  // Recorded with the sampler before the distributions were generalised: an old config and
  // seed must still give the same lineage.
  HeadDistribution dist;
  EXPECT_EQ(Draw(dist, 42, 6), (std::vector<std::vector<int>>{{-15, -12, -9},
                                                              {-15, -12, -7, -4},
                                                              {-15, -11, -7},
                                                              {-15, -13},
                                                              {-16, -14, -11, -7},
                                                              {-11, -5, -3}}));
  dist.causal = false;
  dist.allow_zero = true;
  dist.window = 6;
  EXPECT_EQ(Draw(dist, 43, 6),
            (std::vector<std::vector<int>>{
                {-6, -5, -1, 4}, {-3, 2, 6}, {1, 3, 4, 6}, {-6, 1, 5}, {-3}, {-2, -1, 0, 6}}));
}

TEST(HeadSamplerTest, NegativeFractionSetsTheSideOfBidirectionalOffsets) {
  HeadDistribution dist;
  dist.causal = false;
  dist.count.family = CountFamily::kFixed;
  dist.count.mean = 1;
  dist.window = 8;
  dist.negative_fraction = 0.8;
  int negative = 0;
  const int n = 20000;
  for (const auto& set : Draw(dist, 13, n)) negative += set[0] < 0;
  // 5 standard errors of a binomial proportion.
  EXPECT_NEAR(static_cast<double>(negative) / n, 0.8, 5.0 * std::sqrt(0.8 * 0.2 / n));

  // One side only: the window holds 8 positions, and a k of 8 fills exactly them.
  dist.negative_fraction = 0.0;
  EXPECT_EQ(dist.AvailablePositions(), 8);
  dist.count.mean = 8;
  dist.offsets.family = OffsetFamily::kNormal;  // peaked at 1: the uniform fill completes it
  dist.offsets.location = 1;
  dist.offsets.scale = 1e-3;
  ASSERT_TRUE(dist.Validate().ok()) << dist.Validate();
  EXPECT_EQ(Draw(dist, 14, 1)[0], (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
  dist.count.mean = 9;
  EXPECT_FALSE(dist.Validate().ok());
}

TEST(HeadSamplerTest, GammaOffsetsFollowTheirDistribution) {
  HeadDistribution dist;
  dist.count.family = CountFamily::kFixed;
  dist.count.mean = 1;
  dist.offsets.family = OffsetFamily::kGamma;
  dist.offsets.shape = 2;
  dist.offsets.scale = 4;
  dist.window = 64;
  double sum = 0.0;
  const int n = 20000;
  for (const auto& set : Draw(dist, 15, n)) {
    ASSERT_LT(set[0], 0);
    sum -= set[0];
  }
  // Mean 8, stddev sqrt(32); rounding and clipping move the mean by far less than 0.2.
  EXPECT_NEAR(sum / n, 8.0, 0.2);
  EXPECT_EQ(DescribeDistribution(dist), "k=1 off~gamma(shape=2,scale=4) in [-64,-1]");
}

TEST(HeadSamplerTest, DescribesEveryShapeOfWindow) {
  HeadDistribution dist;
  dist.count.family = CountFamily::kPoisson;
  dist.causal = false;
  dist.window = 6;
  EXPECT_EQ(DescribeDistribution(dist), "k~1+poisson(2) off~uniform[-6,6]");
  dist.negative_fraction = 0.25;
  dist.offsets.low = 2;
  EXPECT_EQ(DescribeDistribution(dist), "k~1+poisson(2) off~uniform[2,6] in [-6,6] p(neg)=0.25");
  dist.causal = true;
  dist.allow_zero = true;
  dist.offsets.family = OffsetFamily::kDilated;
  dist.offsets.low = 1;
  EXPECT_EQ(DescribeDistribution(dist), "k~1+poisson(2) off~dilated(base=2)[1,6] in [-6,0]");
}

TEST(HeadSamplerTest, SampledHeadRecordsItsSampler) {
  HeadDistribution dist;
  Rng rng(2);
  const headevo::v1::Head head = SampleUniformHead(dist, 1, headevo::v1::HEAD_ORIGIN_SAMPLED, rng);
  EXPECT_EQ(head.layer(), 1);
  EXPECT_EQ(head.id(), 0);
  EXPECT_EQ(head.origin(), headevo::v1::HEAD_ORIGIN_SAMPLED);
  EXPECT_EQ(head.sampler(), headevo::v1::SAMPLER_UNIFORM);
  EXPECT_EQ(head.sampler_params(), DescribeDistribution(dist));
  EXPECT_EQ(head.sampler_params(), "k~normal(3,1) off~uniform[-16,-1]");
}

TEST(HeadSamplerTest, ValidateNamesTheBadField) {
  HeadDistribution dist;
  dist.window = 0;
  EXPECT_NE(dist.Validate().message().find("window"), std::string::npos);
  dist.window = 2;
  dist.count.mean = 3;  // a causal window of 2 has only 2 positions
  EXPECT_NE(dist.Validate().message().find("k mean 3 exceeds the 2 positions the window allows"),
            std::string::npos)
      << dist.Validate();
  dist.count.mean = 2;
  EXPECT_TRUE(dist.Validate().ok());

  const auto expect_error = [](const HeadDistribution& d, const std::string& fragment) {
    EXPECT_EQ(d.Validate().code(), absl::StatusCode::kInvalidArgument) << fragment;
    EXPECT_NE(d.Validate().message().find(fragment), std::string::npos) << d.Validate();
  };
  dist = HeadDistribution();
  dist.negative_fraction = 1.5;
  expect_error(dist, "negative_fraction must be in [0, 1], got 1.5");
  dist = HeadDistribution();
  dist.count.mean = 0;
  expect_error(dist, "k mean must be >= 1, got 0");
  dist = HeadDistribution();
  dist.offsets.scale = -1;
  expect_error(dist, "offset scale must be > 0, got -1");
  dist = HeadDistribution();
  dist.offsets.low = 20;
  expect_error(dist, "offset low 20 exceeds the window 16");
  dist = HeadDistribution();  // the window resolves high = 0: [5, 7] holds no power of 2
  dist.offsets.family = OffsetFamily::kDilated;
  dist.offsets.low = 5;
  dist.window = 7;
  expect_error(dist, "no power of dilation_base 2 lies in [5, 7]");
}

TEST(HeadSamplerTest, AllowedOffsetsFollowCausalityZeroAndTheOpenSides) {
  HeadDistribution dist;
  dist.window = 3;
  EXPECT_EQ(AllowedOffsets(dist), (std::vector<int>{-3, -2, -1}));
  dist.causal = false;
  dist.allow_zero = true;
  EXPECT_EQ(AllowedOffsets(dist), (std::vector<int>{-3, -2, -1, 0, 1, 2, 3}));
  dist.negative_fraction = 0.0;  // only ahead
  EXPECT_EQ(AllowedOffsets(dist), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(static_cast<int>(AllowedOffsets(dist).size()), dist.AvailablePositions());
}

}  // namespace
}  // namespace headevo::search
