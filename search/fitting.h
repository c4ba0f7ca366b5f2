// Maximum-likelihood fits of the offset and count distributions to observed heads, so a search
// can draw new heads that look like the ones that did well. Pure and deterministic: the same
// values and options give the same fit, bit for bit.
#ifndef HEADEVO_SEARCH_FITTING_H_
#define HEADEVO_SEARCH_FITTING_H_

#include <vector>

#include "absl/status/statusor.h"
#include "search/distributions.h"

namespace headevo::search {

struct FitOptions {
  // Components of the Gaussian mixture (EM); >= 1 and at most the number of values.
  int mixture_components = 2;
  // Cap on EM / Newton iterations; >= 1.
  int max_iterations = 500;
  // Relative change of the log-likelihood (Newton: of the shape) that stops EM / Newton; >= 0.
  double tolerance = 1e-9;
  // Floor on the fitted spread (normal and student_t scale, mixture stddevs, gamma's standard
  // deviation) so that a fit to identical values still samples more than one offset; > 0.
  double min_scale = 0.25;
};

// Maximum-likelihood fit of `family` to observed magnitudes (each >= 1; the sampler's rounding,
// folding and clipping are ignored). Only the fields `family` uses are set; the others keep
// their defaults.
//   normal: location/scale = mean/stddev (MLE).
//   student_t: location, scale and degrees of freedom: EM for location/scale (ECME), a 1-D
//     maximisation of the likelihood for df in [1, 200] after each EM step.
//   gamma: shape by Newton on log(shape) - digamma(shape) = log(mean) - mean(log x), scale =
//     mean/shape.
//   uniform, log_uniform: low/high = min/max.
//   dilated: low/high = the powers of the default base that enclose min/max (min/max themselves
//     when they are powers), so the fit always holds a power.
//   mixture: Gaussian mixture by EM, initialised from the quantiles of the values; components
//     sorted by mean.
// InvalidArgument for fewer than 2 values, a value < 1 or non-finite, or invalid options.
absl::StatusOr<OffsetDistribution> FitOffsetDistribution(OffsetFamily family,
                                                         const std::vector<double>& magnitudes,
                                                         const FitOptions& options);

// fixed: mean = the average (stddev 0); normal: mean/stddev MLE; poisson: mean = the average
// (k = 1 + Poisson(mean - 1) has E[k] = mean, so the average is the MLE). InvalidArgument for an
// empty input or a k < 1.
absl::StatusOr<CountDistribution> FitCountDistribution(CountFamily family,
                                                       const std::vector<int>& counts);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_FITTING_H_
