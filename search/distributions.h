// The distributions a head is drawn from: how many offsets it has (a count k >= 1) and how far
// back or ahead they lie (an offset magnitude in [1, window]). Configured samplers and samplers
// fitted to good heads (search/fitting.h) share these types. Every draw goes through Rng, so a
// seed gives the same heads on every platform.
#ifndef HEADEVO_SEARCH_DISTRIBUTIONS_H_
#define HEADEVO_SEARCH_DISTRIBUTIONS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "search/random.h"

namespace headevo::search {

enum class OffsetFamily { kUniform, kNormal, kStudentT, kGamma, kLogUniform, kDilated, kMixture };
enum class CountFamily { kFixed, kNormal, kPoisson };

struct MixtureComponent {
  double weight = 1.0;  // > 0; weights need not sum to 1
  double mean = 0.0;
  double stddev = 1.0;  // > 0
};

// The distribution of a head's offset MAGNITUDE |offset| in [1, window]. A continuous variate x
// is drawn from the family, then rounded to the nearest integer and clipped to [1, window].
struct OffsetDistribution {
  OffsetFamily family = OffsetFamily::kUniform;
  double location = 0.0;            // normal, student_t: x = |location + scale * Z| (folded at 0)
  double scale = 8.0;               // normal: stddev; student_t: scale; gamma: scale theta
  double shape = 2.0;               // gamma: shape alpha; x = scale * Gamma(shape)
  double degrees_of_freedom = 3.0;  // student_t
  // uniform: x ~ U[low - 0.5, high + 0.5); log_uniform: log x ~ U[log(low - 0.5),
  // log(high + 0.5)); dilated: x = dilation_base^j, j uniform over the integers with
  // low <= base^j <= high. high = 0 means "the window".
  double low = 1.0;
  double high = 0.0;
  int dilation_base = 2;
  // mixture: x = |mean + stddev * Z| of a component picked with probability proportional to
  // its weight.
  std::vector<MixtureComponent> components;

  // InvalidArgument naming the field, e.g. "offset scale must be > 0, got -1". Every field is
  // checked whichever family uses it (all defaults are valid, so a bad value is a mistake);
  // components only for the mixture family, which needs at least one.
  absl::Status Validate() const;
};

struct CountDistribution {
  CountFamily family = CountFamily::kNormal;
  // fixed: k = round(mean); normal: k = round(N(mean, stddev)); poisson: k = 1 + Poisson(mean -
  // 1), so E[k] = mean and k >= 1. Every family is then clipped to [1, max_k].
  double mean = 3.0;
  double stddev = 1.0;  // normal only

  // InvalidArgument naming the field: mean must be >= 1, stddev >= 0, both finite.
  absl::Status Validate() const;
};

// Config names: "uniform", "normal", "student_t", "gamma", "log_uniform", "dilated", "mixture".
// InvalidArgument listing the known names for any other.
absl::StatusOr<OffsetFamily> ParseOffsetFamily(std::string_view name);
std::string_view OffsetFamilyName(OffsetFamily family);
// "fixed", "normal", "poisson".
absl::StatusOr<CountFamily> ParseCountFamily(std::string_view name);
std::string_view CountFamilyName(CountFamily family);

// Gamma(shape, scale 1) for shape > 0 (Marsaglia-Tsang; shape < 1 through the
// Gamma(shape + 1) * U^(1/shape) boost).
double SampleGamma(Rng& rng, double shape);
// Student's t with degrees_of_freedom > 0: Z / sqrt(Gamma(df/2) * 2 / df).
double SampleStudentT(Rng& rng, double degrees_of_freedom);
// Poisson(mean), exact for every mean >= 0: the multiplication method below 10, Hormann's
// transformed rejection (PTRS) above, so the cost stays bounded for large means.
int64_t SamplePoisson(Rng& rng, double mean);

// The continuous variate x of `dist`, before rounding and clipping (dilated: an exact power).
// `window` resolves high = 0. Requires dist.Validate().ok() and window >= 1.
double SampleContinuousMagnitude(const OffsetDistribution& dist, int window, Rng& rng);
// An offset magnitude in [1, window]: round(x) clipped. A uniform whose integer bounds lie in
// the window draws the integer directly (the same distribution, one Rng draw, and the same
// heads as earlier versions for a seed).
int SampleMagnitude(const OffsetDistribution& dist, int window, Rng& rng);
// A count in [1, max_k]. Requires dist.Validate().ok() and max_k >= 1.
int SampleCount(const CountDistribution& dist, int max_k, Rng& rng);

// Short and human readable, recorded with every sampled head for the lineage:
// "gamma(shape=2,scale=4)", "uniform[1,16]", "mixture(0.3*normal(8,1.5)+0.7*normal(40,6))".
std::string DescribeOffsets(const OffsetDistribution& dist, int window);
// "k~normal(3,1)", "k~1+poisson(2)", "k=3".
std::string DescribeCount(const CountDistribution& dist);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_DISTRIBUTIONS_H_
