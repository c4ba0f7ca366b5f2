#include "search/head_sampler.h"

#include <map>
#include <set>

#include <gtest/gtest.h>

namespace headevo::search {
namespace {

// Checks the sampler's contract on one offset set.
void ExpectWellFormed(const headevo::v1::OffsetSet& set, const InitialDistribution& dist) {
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
  InitialDistribution dist;
  dist.window = 8;
  Rng rng(7);
  for (int i = 0; i < 500; ++i) ExpectWellFormed(SampleOffsetSet(dist, rng), dist);
}

TEST(HeadSamplerTest, BidirectionalWindowWithZeroReachesBothSides) {
  InitialDistribution dist;
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
  InitialDistribution dist;
  dist.count = CountDistribution::kFixed;
  dist.mean_k = 5;
  dist.window = 6;
  Rng rng(3);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(SampleOffsetSet(dist, rng).offsets_size(), 5);
}

TEST(HeadSamplerTest, CountIsClippedToTheWindow) {
  InitialDistribution dist;
  dist.mean_k = 3;
  dist.stddev_k = 50;  // most draws fall outside [1, 3]
  dist.window = 3;
  Rng rng(5);
  for (int i = 0; i < 300; ++i) {
    const int k = SampleOffsetSet(dist, rng).offsets_size();
    EXPECT_GE(k, 1);
    EXPECT_LE(k, 3);
  }
}

TEST(HeadSamplerTest, NormalOffsetsFavourShortRange) {
  InitialDistribution dist;
  dist.count = CountDistribution::kFixed;
  dist.mean_k = 1;
  dist.offsets = OffsetDistribution::kNormal;
  dist.offset_stddev = 2.0;
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
  InitialDistribution dist;
  dist.count = CountDistribution::kFixed;
  dist.mean_k = 16;
  dist.offsets = OffsetDistribution::kNormal;
  dist.offset_stddev = 1e-3;
  dist.window = 16;
  Rng rng(1);
  EXPECT_EQ(SampleOffsetSet(dist, rng).offsets_size(), 16);
}

TEST(HeadSamplerTest, SameSeedSameHeads) {
  InitialDistribution dist;
  Rng a(42), b(42);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(SampleOffsetSet(dist, a).SerializeAsString(),
              SampleOffsetSet(dist, b).SerializeAsString());
  }
}

TEST(HeadSamplerTest, SampledHeadRecordsItsSampler) {
  InitialDistribution dist;
  Rng rng(2);
  const headevo::v1::Head head =
      SampleUniformHead(dist, 1, headevo::v1::HEAD_ORIGIN_SAMPLED, rng);
  EXPECT_EQ(head.layer(), 1);
  EXPECT_EQ(head.id(), 0);
  EXPECT_EQ(head.origin(), headevo::v1::HEAD_ORIGIN_SAMPLED);
  EXPECT_EQ(head.sampler(), headevo::v1::SAMPLER_UNIFORM);
  EXPECT_EQ(head.sampler_params(), DescribeDistribution(dist));
  EXPECT_EQ(head.sampler_params(), "k~normal(3,1) offsets~uniform[-16,-1]");
}

TEST(HeadSamplerTest, ValidateNamesTheBadField) {
  InitialDistribution dist;
  dist.window = 0;
  EXPECT_NE(dist.Validate().message().find("window"), std::string::npos);
  dist.window = 2;
  dist.mean_k = 3;  // a causal window of 2 has only 2 positions
  EXPECT_NE(dist.Validate().message().find("exceeds"), std::string::npos);
  dist.mean_k = 2;
  EXPECT_TRUE(dist.Validate().ok());
}

}  // namespace
}  // namespace headevo::search
