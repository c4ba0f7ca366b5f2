#include "search/fitting.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "search/special_functions.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::search {
namespace {

// Each recovery test fits 10,000 draws of a known distribution with a fixed seed and asks for
// every parameter within 5% (Student-t's df within 25%: its likelihood is flat in df, and the
// standard error of the estimate at df = 5 is already ~7%). The standard errors of the other
// estimates at n = 10,000 are 1-2%, so 5% is at least 2.5 of them.
constexpr int kDraws = 10000;

void ExpectWithin(double got, double want, double fraction, const char* what) {
  EXPECT_NEAR(got, want, fraction * std::fabs(want)) << what;
}

// Continuous draws of `dist` (no rounding or clipping). The fitter's domain is magnitudes >= 1;
// the test distributions put (almost) nothing below 1, and any such draw is dropped.
std::vector<double> Draws(const OffsetDistribution& dist, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> x;
  for (int i = 0; i < kDraws; ++i) {
    const double v = SampleContinuousMagnitude(dist, 1 << 20, rng);
    if (v >= 1.0) x.push_back(v);
  }
  EXPECT_GE(x.size(), kDraws - 10u) << "too many draws below 1 for a clean recovery test";
  return x;
}

OffsetDistribution Fit(OffsetFamily family, const std::vector<double>& x,
                       const FitOptions& options = {}) {
  absl::StatusOr<OffsetDistribution> fit = FitOffsetDistribution(family, x, options);
  EXPECT_OK(fit);
  if (!fit.ok()) return {};
  EXPECT_EQ(fit->family, family);
  EXPECT_OK(fit->Validate());
  return *fit;
}

TEST(FitOffsetsTest, RecoversNormal) {
  OffsetDistribution truth;
  truth.family = OffsetFamily::kNormal;
  truth.location = 20;
  truth.scale = 4;
  const OffsetDistribution fit = Fit(OffsetFamily::kNormal, Draws(truth, 1));
  ExpectWithin(fit.location, 20, 0.05, "location");
  ExpectWithin(fit.scale, 4, 0.05, "scale");
}

TEST(FitOffsetsTest, RecoversStudentTIncludingDegreesOfFreedom) {
  OffsetDistribution truth;
  truth.family = OffsetFamily::kStudentT;
  truth.location = 30;
  truth.scale = 3;
  truth.degrees_of_freedom = 5;
  const OffsetDistribution fit = Fit(OffsetFamily::kStudentT, Draws(truth, 2));
  ExpectWithin(fit.location, 30, 0.05, "location");
  ExpectWithin(fit.scale, 3, 0.05, "scale");
  ExpectWithin(fit.degrees_of_freedom, 5, 0.25, "df");
}

TEST(FitOffsetsTest, RecoversGamma) {
  OffsetDistribution truth;
  truth.family = OffsetFamily::kGamma;
  truth.shape = 5;
  truth.scale = 4;
  const OffsetDistribution fit = Fit(OffsetFamily::kGamma, Draws(truth, 3));
  ExpectWithin(fit.shape, 5, 0.05, "shape");
  ExpectWithin(fit.scale, 4, 0.05, "scale");
}

TEST(FitOffsetsTest, RecoversAWellSeparatedTwoComponentMixture) {
  OffsetDistribution truth;
  truth.family = OffsetFamily::kMixture;
  truth.components = {{0.7, 40, 6}, {0.3, 8, 1.5}};  // fitted components come sorted by mean
  const OffsetDistribution fit = Fit(OffsetFamily::kMixture, Draws(truth, 4));
  ASSERT_EQ(fit.components.size(), 2u);
  ExpectWithin(fit.components[0].weight, 0.3, 0.05, "weight 0");
  ExpectWithin(fit.components[0].mean, 8, 0.05, "mean 0");
  ExpectWithin(fit.components[0].stddev, 1.5, 0.05, "stddev 0");
  ExpectWithin(fit.components[1].weight, 0.7, 0.05, "weight 1");
  ExpectWithin(fit.components[1].mean, 40, 0.05, "mean 1");
  ExpectWithin(fit.components[1].stddev, 6, 0.05, "stddev 1");
}

TEST(FitOffsetsTest, RecoversLogUniformAndUniformBoundsFromSampledMagnitudes) {
  // Observed magnitudes are integers; min and max of 10,000 of them hit the bounds exactly.
  for (const OffsetFamily family : {OffsetFamily::kLogUniform, OffsetFamily::kUniform}) {
    OffsetDistribution truth;
    truth.family = family;
    truth.low = 2;
    truth.high = 200;
    Rng rng(5);
    std::vector<double> x;
    for (int i = 0; i < kDraws; ++i) x.push_back(SampleMagnitude(truth, 256, rng));
    const OffsetDistribution fit = Fit(family, x);
    EXPECT_EQ(fit.low, 2);
    EXPECT_EQ(fit.high, 200);
  }
}

TEST(FitOffsetsTest, RecoversAWideGammaThroughTheDiscretisedSampler) {
  // Rounding to integers and clipping to the window barely move a distribution this wide.
  OffsetDistribution truth;
  truth.family = OffsetFamily::kGamma;
  truth.shape = 2;
  truth.scale = 20;
  Rng rng(6);
  std::vector<double> x;
  for (int i = 0; i < kDraws; ++i) x.push_back(SampleMagnitude(truth, 512, rng));
  const OffsetDistribution fit = Fit(OffsetFamily::kGamma, x);
  ExpectWithin(fit.shape, 2, 0.05, "shape");
  ExpectWithin(fit.scale, 20, 0.05, "scale");
}

TEST(FitOffsetsTest, DilatedEnclosesTheValuesInPowersOfTheBase) {
  OffsetDistribution fit = Fit(OffsetFamily::kDilated, {2, 4, 8, 16});
  EXPECT_EQ(fit.low, 2);
  EXPECT_EQ(fit.high, 16);
  fit = Fit(OffsetFamily::kDilated, {3, 5, 9});
  EXPECT_EQ(fit.low, 2);
  EXPECT_EQ(fit.high, 16);
}

TEST(FitOffsetsTest, IdenticalValuesStillGiveASpread) {
  const std::vector<double> same(50, 6.0);
  for (const OffsetFamily family : {OffsetFamily::kNormal, OffsetFamily::kStudentT,
                                    OffsetFamily::kGamma, OffsetFamily::kMixture}) {
    SCOPED_TRACE(std::string(OffsetFamilyName(family)));
    const OffsetDistribution fit = Fit(family, same);
    Rng rng(7);
    double sum_sq = 0.0;
    for (int i = 0; i < 2000; ++i) {
      const double d = SampleContinuousMagnitude(fit, 64, rng) - 6.0;
      sum_sq += d * d;
    }
    EXPECT_GE(std::sqrt(sum_sq / 2000), 0.2) << "the spread is floored at min_scale 0.25";
  }
}

TEST(FitOffsetsTest, RefusesBadInput) {
  const auto expect_error = [](OffsetFamily family, const std::vector<double>& x,
                               const FitOptions& options, const std::string& fragment) {
    const absl::Status status = FitOffsetDistribution(family, x, options).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << fragment;
    EXPECT_NE(status.message().find(fragment), std::string::npos) << status;
  };
  expect_error(OffsetFamily::kNormal, {3}, {}, "at least 2 magnitudes, got 1");
  expect_error(OffsetFamily::kNormal, {3, 0.5}, {}, "magnitude 1 is 0.5");
  expect_error(OffsetFamily::kGamma, {3, std::numeric_limits<double>::quiet_NaN()}, {},
               "magnitude 1 is nan");
  FitOptions options;
  options.min_scale = 0;
  expect_error(OffsetFamily::kNormal, {3, 4}, options, "min_scale must be > 0");
  options = FitOptions();
  options.mixture_components = 3;
  expect_error(OffsetFamily::kMixture, {3, 4}, options, "mixture_components 3 must be in [1, 2]");
}

TEST(FitOffsetsTest, IsDeterministic) {
  OffsetDistribution truth;
  truth.family = OffsetFamily::kMixture;
  truth.components = {{1, 5, 1}, {1, 20, 3}};
  const std::vector<double> x = Draws(truth, 8);
  for (const OffsetFamily family : {OffsetFamily::kStudentT, OffsetFamily::kMixture}) {
    const OffsetDistribution a = Fit(family, x), b = Fit(family, x);
    EXPECT_EQ(DescribeOffsets(a, 64), DescribeOffsets(b, 64));
    EXPECT_EQ(a.location, b.location);
    EXPECT_EQ(a.scale, b.scale);
    EXPECT_EQ(a.degrees_of_freedom, b.degrees_of_freedom);
    ASSERT_EQ(a.components.size(), b.components.size());
    for (size_t j = 0; j < a.components.size(); ++j) {
      EXPECT_EQ(a.components[j].mean, b.components[j].mean);
      EXPECT_EQ(a.components[j].stddev, b.components[j].stddev);
    }
  }
}

TEST(FitCountsTest, RecoversThePoissonMeanAndFitsTheOthers) {
  CountDistribution truth;
  truth.family = CountFamily::kPoisson;
  truth.mean = 4;
  Rng rng(9);
  std::vector<int> k;
  for (int i = 0; i < kDraws; ++i) k.push_back(SampleCount(truth, 1000, rng));
  ASSERT_OK_AND_ASSIGN(const CountDistribution poisson,
                       FitCountDistribution(CountFamily::kPoisson, k));
  EXPECT_EQ(poisson.family, CountFamily::kPoisson);
  ExpectWithin(poisson.mean, 4, 0.05, "mean");

  ASSERT_OK_AND_ASSIGN(const CountDistribution normal,
                       FitCountDistribution(CountFamily::kNormal, {2, 4, 4, 6}));
  EXPECT_DOUBLE_EQ(normal.mean, 4);
  EXPECT_DOUBLE_EQ(normal.stddev, std::sqrt(2.0));
  ASSERT_OK_AND_ASSIGN(const CountDistribution fixed,
                       FitCountDistribution(CountFamily::kFixed, {2, 3, 4}));
  EXPECT_DOUBLE_EQ(fixed.mean, 3);
  EXPECT_EQ(fixed.stddev, 0);

  EXPECT_NE(FitCountDistribution(CountFamily::kNormal, {}).status().message().find("at least 1"),
            std::string::npos);
  EXPECT_NE(
      FitCountDistribution(CountFamily::kNormal, {3, 0}).status().message().find("count 1 is 0"),
      std::string::npos);
}

TEST(SpecialFunctionsTest, MatchKnownValues) {
  constexpr double kEulerGamma = 0.57721566490153286061;
  constexpr double kPi = 3.14159265358979323846;
  for (const double x : {1e-3, 0.5, 1.0, 1.5, 2.0, 3.7, 9.99, 10.0, 57.3, 1e4}) {
    EXPECT_NEAR(LogGamma(x), std::lgamma(x), 1e-12 * std::max(1.0, std::fabs(std::lgamma(x)))) << x;
  }
  EXPECT_NEAR(Digamma(1.0), -kEulerGamma, 1e-13);
  EXPECT_NEAR(Digamma(0.5), -kEulerGamma - 2.0 * std::log(2.0), 1e-13);
  EXPECT_NEAR(Digamma(100.0) - Digamma(99.0), 1.0 / 99.0, 1e-14);
  EXPECT_NEAR(Trigamma(1.0), kPi * kPi / 6.0, 1e-13);
  EXPECT_NEAR(Trigamma(0.5), kPi * kPi / 2.0, 1e-12);
  EXPECT_TRUE(std::isnan(LogGamma(0.0)));
  EXPECT_TRUE(std::isnan(Digamma(-1.0)));
}

}  // namespace
}  // namespace headevo::search
