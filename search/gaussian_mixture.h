// A one-dimensional Gaussian mixture fitted by EM: the "mixture" offset family of
// search/fitting.h, for heads whose offsets cluster at several distances.
#ifndef HEADEVO_SEARCH_GAUSSIAN_MIXTURE_H_
#define HEADEVO_SEARCH_GAUSSIAN_MIXTURE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "search/distributions.h"
#include "search/fitting.h"

namespace headevo::search {

// options.mixture_components components fitted to `x` by EM, sorted by mean. Deterministic: the
// start splits the sorted values into equal-count blocks (component j starts at block j's mean,
// stddev and share), so well separated clusters start apart. Stddevs are floored at
// options.min_scale; a component that loses every value keeps its last mean and stddev with a
// weight of 1e-12 (weights stay positive, as OffsetDistribution::Validate requires).
// InvalidArgument when x has fewer values than components. The caller checks `x` and the other
// options (FitOffsetDistribution does).
absl::StatusOr<std::vector<MixtureComponent>> FitGaussianMixture(const std::vector<double>& x,
                                                                 const FitOptions& options);

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_GAUSSIAN_MIXTURE_H_
