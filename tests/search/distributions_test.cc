#include "search/distributions.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <vector>

namespace headevo::search {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Every test uses fixed seeds, so these statistical checks are deterministic. Their bounds
// are loose enough that a correct sampler passes for nearly every seed (KS: the 0.1% critical
// value; moments: 5 standard errors), yet a wrong shape, scale or tail misses them widely.

// The asymptotic 0.1% critical value of the Kolmogorov-Smirnov statistic for n draws.
double KsCritical(size_t n) { return 1.95 / std::sqrt(static_cast<double>(n)); }

double KsStatistic(std::vector<double> draws, const std::function<double(double)>& cdf) {
  std::sort(draws.begin(), draws.end());
  const double n = static_cast<double>(draws.size());
  double d = 0.0;
  for (size_t i = 0; i < draws.size(); ++i) {
    const double f = cdf(draws[i]);
    d = std::max({d, f - i / n, (i + 1) / n - f});
  }
  return d;
}

double NormalCdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

struct Moments {
  double mean = 0.0;
  double variance = 0.0;
};

Moments MomentsOf(const std::vector<double>& x) {
  Moments m;
  for (double v : x) m.mean += v;
  m.mean /= x.size();
  for (double v : x) m.variance += (v - m.mean) * (v - m.mean);
  m.variance /= x.size() - 1;
  return m;
}

// Checks the sample mean and variance against the truth within 5 standard errors; the variance's
// standard error is sqrt((mu4 - sigma^4) / n), mu4 = (3 + excess_kurtosis) * sigma^4.
void ExpectMoments(const std::vector<double>& x, double mean, double variance,
                   double excess_kurtosis) {
  const double n = static_cast<double>(x.size());
  const Moments m = MomentsOf(x);
  EXPECT_NEAR(m.mean, mean, 5.0 * std::sqrt(variance / n));
  EXPECT_NEAR(m.variance, variance, 5.0 * variance * std::sqrt((2.0 + excess_kurtosis) / n));
}

std::vector<double> Continuous(const OffsetDistribution& dist, int window, int n, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> x;
  for (int i = 0; i < n; ++i) x.push_back(SampleContinuousMagnitude(dist, window, rng));
  return x;
}

TEST(OffsetSamplerTest, NormalIsFoldedNormal) {
  for (const double location : {20.0, 0.0, 3.0}) {
    OffsetDistribution dist;
    dist.family = OffsetFamily::kNormal;
    dist.location = location;
    dist.scale = 4.0;
    const auto cdf = [&](double x) {  // |location + scale Z| <= x
      return NormalCdf((x - location) / 4.0) - NormalCdf((-x - location) / 4.0);
    };
    const std::vector<double> x = Continuous(dist, 64, 20000, 1);
    EXPECT_LT(KsStatistic(x, cdf), KsCritical(x.size())) << "location " << location;
  }
}

TEST(OffsetSamplerTest, UniformAndLogUniformMatchTheirCdfs) {
  OffsetDistribution dist;
  dist.low = 3;
  dist.high = 12;
  std::vector<double> x = Continuous(dist, 16, 20000, 2);
  EXPECT_LT(KsStatistic(x, [](double v) { return (v - 2.5) / 10.0; }), KsCritical(x.size()));

  dist.family = OffsetFamily::kLogUniform;
  dist.low = 2;
  dist.high = 200;
  x = Continuous(dist, 256, 20000, 3);
  const auto cdf = [](double v) {
    return (std::log(v) - std::log(1.5)) / (std::log(200.5) - std::log(1.5));
  };
  EXPECT_LT(KsStatistic(x, cdf), KsCritical(x.size()));
}

TEST(OffsetSamplerTest, StudentTWithOneDegreeOfFreedomIsCauchy) {
  Rng rng(4);
  std::vector<double> x;
  for (int i = 0; i < 20000; ++i) x.push_back(SampleStudentT(rng, 1.0));
  const auto cdf = [](double v) { return 0.5 + std::atan(v) / kPi; };
  EXPECT_LT(KsStatistic(x, cdf), KsCritical(x.size()));
}

TEST(OffsetSamplerTest, StudentTMoments) {
  Rng rng(5);
  std::vector<double> x;
  for (int i = 0; i < 100000; ++i) x.push_back(SampleStudentT(rng, 10.0));
  ExpectMoments(x, 0.0, 10.0 / 8.0, 6.0 / (10.0 - 4.0));
}

TEST(OffsetSamplerTest, GammaMomentsIncludingShapeBelowOne) {
  for (const double shape : {2.5, 0.5, 40.0}) {
    Rng rng(6);
    std::vector<double> x;
    for (int i = 0; i < 100000; ++i) x.push_back(SampleGamma(rng, shape));
    SCOPED_TRACE(shape);
    ExpectMoments(x, shape, shape, 6.0 / shape);
  }
  OffsetDistribution dist;  // the family scales it
  dist.family = OffsetFamily::kGamma;
  dist.shape = 2.0;
  dist.scale = 4.0;
  ExpectMoments(Continuous(dist, 64, 100000, 7), 8.0, 32.0, 3.0);
}

TEST(OffsetSamplerTest, PoissonMatchesItsCdfForSmallAndLargeMeans) {
  // 3 uses the multiplication method; 12 and 250 the transformed rejection.
  for (const double mean : {3.0, 12.0, 250.0}) {
    SCOPED_TRACE(mean);
    Rng rng(8);
    std::vector<int64_t> k;
    for (int i = 0; i < 100000; ++i) k.push_back(SamplePoisson(rng, mean));
    std::vector<double> as_double(k.begin(), k.end());
    ExpectMoments(as_double, mean, mean, 1.0 / mean);
    // Discrete KS on the exact CDF (pmf by p(j) = p(j - 1) * mean / j): conservative for a
    // discrete law, so the continuous critical value still applies.
    std::sort(k.begin(), k.end());
    double pmf = std::exp(-mean), cdf = 0.0, worst = 0.0;
    size_t below = 0;
    for (int64_t j = 0; j <= k.back(); ++j) {
      if (j > 0) pmf *= mean / j;
      cdf += pmf;
      while (below < k.size() && k[below] <= j) ++below;
      worst = std::max(worst, std::fabs(cdf - static_cast<double>(below) / k.size()));
    }
    EXPECT_LT(worst, KsCritical(k.size()));
  }
  Rng rng(9);
  EXPECT_EQ(SamplePoisson(rng, 0.0), 0);
}

TEST(OffsetSamplerTest, MagnitudeStaysInTheWindow) {
  std::vector<OffsetDistribution> dists(7);
  for (size_t f = 0; f < dists.size(); ++f) dists[f].family = static_cast<OffsetFamily>(f);
  dists[0].high = 100;      // uniform past the window: clipped
  dists[1].location = -50;  // folded normal, mostly outside
  dists[1].scale = 200;
  dists[2].degrees_of_freedom = 0.5;  // student_t with no mean: huge values
  dists[3].shape = 0.05;              // gamma piled up at 0
  dists[4].high = 1e6;                // log_uniform
  dists[5].dilation_base = 3;         // dilated
  dists[6].components = {{1.0, 0.0, 0.1}, {2.0, 1000.0, 5.0}};
  for (const OffsetDistribution& dist : dists) {
    ASSERT_TRUE(dist.Validate().ok()) << dist.Validate();
    Rng rng(10);
    for (int i = 0; i < 2000; ++i) {
      const int m = SampleMagnitude(dist, 12, rng);
      ASSERT_GE(m, 1) << OffsetFamilyName(dist.family);
      ASSERT_LE(m, 12) << OffsetFamilyName(dist.family);
    }
  }
}

TEST(OffsetSamplerTest, DilatedGivesOnlyPowersOfTheBaseWithinLowAndHigh) {
  OffsetDistribution dist;
  dist.family = OffsetFamily::kDilated;
  dist.dilation_base = 3;
  dist.low = 2;
  dist.high = 100;
  Rng rng(11);
  std::set<int> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(SampleMagnitude(dist, 200, rng));
  EXPECT_EQ(seen, (std::set<int>{3, 9, 27, 81}));
  dist.dilation_base = 2;
  dist.low = 1;
  dist.high = 0;  // the window
  seen.clear();
  for (int i = 0; i < 2000; ++i) seen.insert(SampleMagnitude(dist, 20, rng));
  EXPECT_EQ(seen, (std::set<int>{1, 2, 4, 8, 16}));
}

TEST(CountSamplerTest, FixedNormalAndPoisson) {
  Rng rng(12);
  CountDistribution dist;
  dist.family = CountFamily::kFixed;
  dist.mean = 3.4;
  for (int i = 0; i < 100; ++i) ASSERT_EQ(SampleCount(dist, 10, rng), 3);

  dist.family = CountFamily::kNormal;
  dist.mean = 6.0;
  dist.stddev = 1.5;
  std::vector<double> k;
  for (int i = 0; i < 100000; ++i) k.push_back(SampleCount(dist, 100, rng));
  // Rounding adds a uniform(-1/2, 1/2) error: variance + 1/12, mean unchanged.
  EXPECT_NEAR(MomentsOf(k).mean, 6.0, 5.0 * std::sqrt((2.25 + 1.0 / 12) / k.size()));
  dist.mean = 1.2;
  dist.stddev = 3.0;
  for (int i = 0; i < 2000; ++i) {
    const int value = SampleCount(dist, 4, rng);
    ASSERT_GE(value, 1);
    ASSERT_LE(value, 4);
  }

  dist.family = CountFamily::kPoisson;
  dist.mean = 4.0;
  k.clear();
  for (int i = 0; i < 100000; ++i) k.push_back(SampleCount(dist, 1000, rng));
  EXPECT_GE(*std::min_element(k.begin(), k.end()), 1.0);
  ExpectMoments(k, 4.0, 3.0, 1.0 / 3.0);  // 1 + Poisson(3)
}

TEST(DistributionValidationTest, NamesTheBadField) {
  const auto expect_error = [](const OffsetDistribution& dist, const std::string& fragment) {
    const absl::Status status = dist.Validate();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << fragment;
    EXPECT_NE(status.message().find(fragment), std::string::npos) << status;
  };
  EXPECT_TRUE(OffsetDistribution().Validate().ok());
  OffsetDistribution dist;
  dist.scale = -1;
  expect_error(dist, "offset scale must be > 0, got -1");
  dist = OffsetDistribution();
  dist.shape = 0;
  expect_error(dist, "offset shape must be > 0, got 0");
  dist = OffsetDistribution();
  dist.degrees_of_freedom = -2;
  expect_error(dist, "df (degrees of freedom) must be > 0, got -2");
  dist = OffsetDistribution();
  dist.low = 8;
  dist.high = 4;
  expect_error(dist, "offset high must be 0 (the window) or >= offset low 8, got 4");
  dist = OffsetDistribution();
  dist.dilation_base = 1;
  expect_error(dist, "dilation_base must be >= 2, got 1");
  dist = OffsetDistribution();
  dist.family = OffsetFamily::kDilated;
  dist.low = 5;
  dist.high = 7;
  expect_error(dist, "no power of dilation_base 2 lies in [5, 7]");
  dist = OffsetDistribution();
  dist.family = OffsetFamily::kMixture;
  expect_error(dist, "mixture needs at least one component");
  dist.components = {{1.0, 5.0, 1.0}, {0.0, 9.0, 1.0}};
  expect_error(dist, "mixture component 1 weight must be > 0, got 0");

  CountDistribution count;
  EXPECT_TRUE(count.Validate().ok());
  count.mean = 0.5;
  EXPECT_NE(count.Validate().message().find("k mean must be >= 1"), std::string::npos);
  count.mean = 2;
  count.stddev = -1;
  EXPECT_NE(count.Validate().message().find("k stddev must be >= 0"), std::string::npos);
}

TEST(DistributionNamesTest, ParseRoundTripsAndListsTheKnownNames) {
  for (int f = 0; f <= static_cast<int>(OffsetFamily::kMixture); ++f) {
    const auto family = static_cast<OffsetFamily>(f);
    EXPECT_EQ(ParseOffsetFamily(OffsetFamilyName(family)).value(), family);
  }
  for (int f = 0; f <= static_cast<int>(CountFamily::kPoisson); ++f) {
    const auto family = static_cast<CountFamily>(f);
    EXPECT_EQ(ParseCountFamily(CountFamilyName(family)).value(), family);
  }
  const absl::Status offsets = ParseOffsetFamily("cauchy").status();
  EXPECT_EQ(offsets.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(offsets.message().find("\"cauchy\""), std::string::npos) << offsets;
  EXPECT_NE(offsets.message().find("uniform, normal, student_t, gamma, log_uniform, dilated"),
            std::string::npos)
      << offsets;
  const absl::Status counts = ParseCountFamily("binomial").status();
  EXPECT_NE(counts.message().find("fixed, normal, poisson"), std::string::npos) << counts;
}

TEST(DistributionNamesTest, Describe) {
  OffsetDistribution dist;
  EXPECT_EQ(DescribeOffsets(dist, 16), "uniform[1,16]");
  dist.family = OffsetFamily::kGamma;
  dist.scale = 4;
  EXPECT_EQ(DescribeOffsets(dist, 16), "gamma(shape=2,scale=4)");
  dist.family = OffsetFamily::kMixture;
  dist.components = {{3.0, 8.0, 1.5}, {7.0, 40.0, 6.0}};
  EXPECT_EQ(DescribeOffsets(dist, 16), "mixture(0.3*normal(8,1.5)+0.7*normal(40,6))");
  CountDistribution count;
  EXPECT_EQ(DescribeCount(count), "k~normal(3,1)");
  count.family = CountFamily::kPoisson;
  EXPECT_EQ(DescribeCount(count), "k~1+poisson(2)");
  count.family = CountFamily::kFixed;
  EXPECT_EQ(DescribeCount(count), "k=3");
}

TEST(DistributionDeterminismTest, SameSeedSameDraws) {
  for (int f = 0; f <= static_cast<int>(OffsetFamily::kMixture); ++f) {
    OffsetDistribution dist;
    dist.family = static_cast<OffsetFamily>(f);
    dist.components = {{1.0, 3.0, 1.0}, {1.0, 10.0, 2.0}};
    Rng a(77), b(77);
    for (int i = 0; i < 200; ++i) {
      ASSERT_EQ(SampleContinuousMagnitude(dist, 32, a), SampleContinuousMagnitude(dist, 32, b));
      ASSERT_EQ(SampleMagnitude(dist, 32, a), SampleMagnitude(dist, 32, b));
    }
  }
  CountDistribution count;
  count.family = CountFamily::kPoisson;
  Rng a(78), b(78);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(SampleCount(count, 16, a), SampleCount(count, 16, b));
}

}  // namespace
}  // namespace headevo::search
