#include "search/fitting.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "search/gaussian_mixture.h"
#include "search/special_functions.h"

namespace headevo::search {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kMinDf = 1.0;
constexpr double kMaxDf = 200.0;

double Mean(const std::vector<double>& x) {
  double sum = 0.0;
  for (double v : x) sum += v;
  return sum / static_cast<double>(x.size());
}

// The MLE (divide by n) of the standard deviation around `mean`.
double StdDev(const std::vector<double>& x, double mean) {
  double sum = 0.0;
  for (double v : x) sum += (v - mean) * (v - mean);
  return std::sqrt(sum / static_cast<double>(x.size()));
}

absl::Status CheckInput(const std::vector<double>& magnitudes, const FitOptions& options) {
  if (magnitudes.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("fitting needs at least 2 magnitudes, got ", magnitudes.size()));
  }
  for (size_t i = 0; i < magnitudes.size(); ++i) {
    if (!(magnitudes[i] >= 1.0) || !std::isfinite(magnitudes[i])) {
      return absl::InvalidArgumentError(absl::StrCat("magnitude ", i, " is ", magnitudes[i],
                                                     "; magnitudes must be finite and >= 1"));
    }
  }
  if (options.mixture_components < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("mixture_components must be >= 1, got ", options.mixture_components));
  }
  if (options.max_iterations < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_iterations must be >= 1, got ", options.max_iterations));
  }
  if (!(options.tolerance >= 0.0) || !std::isfinite(options.tolerance)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tolerance must be >= 0, got ", options.tolerance));
  }
  if (!(options.min_scale > 0.0) || !std::isfinite(options.min_scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_scale must be > 0, got ", options.min_scale));
  }
  return absl::OkStatus();
}

bool Converged(double previous, double current, double tolerance) {
  return std::fabs(current - previous) <= tolerance * std::fabs(current);
}

// Shape from s = log(mean) - mean(log x) > 0, the root of log(a) - digamma(a) = s, capped at
// max_shape: Newton in 1/a (Minka 2002, "Estimating a Gamma distribution"), which stays
// positive and converges in a few steps from Minka's closed-form start.
double GammaShape(double s, double max_shape, const FitOptions& options) {
  double a = (3.0 - s + std::sqrt((s - 3.0) * (s - 3.0) + 24.0 * s)) / (12.0 * s);
  // The start is within a few percent of the root; past the cap (s ~ 0: nearly identical
  // values) there is nothing to refine.
  if (!(a < max_shape)) return max_shape;
  for (int i = 0; i < options.max_iterations; ++i) {
    const double f = LogMinusDigamma(a) - s;
    const double next = 1.0 / (1.0 / a + f / (a * a * (1.0 / a - Trigamma(a))));
    const bool done = std::fabs(next - a) <= options.tolerance * next;
    a = next;
    if (done) break;
  }
  return std::min(a, max_shape);
}

OffsetDistribution FitGamma(const std::vector<double>& x, const FitOptions& options) {
  const double mean = Mean(x);
  double mean_log = 0.0;
  for (double v : x) mean_log += std::log(v);
  mean_log /= static_cast<double>(x.size());
  const double s = std::log(mean) - mean_log;  // >= 0 by Jensen; 0 for identical values
  // The standard deviation is mean / sqrt(shape): capping the shape floors it at min_scale.
  const double max_shape = (mean / options.min_scale) * (mean / options.min_scale);
  OffsetDistribution dist;
  dist.family = OffsetFamily::kGamma;
  dist.shape = s > 0.0 ? GammaShape(s, max_shape, options) : max_shape;
  dist.scale = mean / dist.shape;
  return dist;
}

// The Student-t log-likelihood given squared standardised residuals z2 = ((x - mu) / scale)^2.
double StudentTLogLikelihood(const std::vector<double>& z2, double scale, double df) {
  double sum = 0.0;
  for (double v : z2) sum += std::log1p(v / df);
  const double per_value =
      LogGamma(0.5 * (df + 1.0)) - LogGamma(0.5 * df) - 0.5 * std::log(df * kPi) - std::log(scale);
  return static_cast<double>(z2.size()) * per_value - 0.5 * (df + 1.0) * sum;
}

// The df in [kMinDf, kMaxDf] maximising the likelihood: golden-section search on log(df), to a
// relative precision of 1e-6 (the likelihood is flat in df, so finer buys nothing).
double MaximiseDf(const std::vector<double>& z2, double scale) {
  const auto f = [&](double log_df) { return StudentTLogLikelihood(z2, scale, std::exp(log_df)); };
  const double inv_phi = (std::sqrt(5.0) - 1.0) / 2.0;
  // The maximum lies in [lo, hi]; c < d are the two inner points, each keeping its value.
  double lo = std::log(kMinDf), hi = std::log(kMaxDf);
  double c = hi - inv_phi * (hi - lo), d = lo + inv_phi * (hi - lo);
  double fc = f(c), fd = f(d);
  while (hi - lo > 1e-6) {
    if (fc > fd) {  // the maximum is left of d
      hi = d;
      d = c;
      fd = fc;
      c = hi - inv_phi * (hi - lo);
      fc = f(c);
    } else {
      lo = c;
      c = d;
      fc = fd;
      d = lo + inv_phi * (hi - lo);
      fd = f(d);
    }
  }
  return std::exp(0.5 * (lo + hi));
}

// ECME (Liu & Rubin 1995): an EM step for location and scale at the current df, then df
// maximising the observed likelihood at the new location and scale.
OffsetDistribution FitStudentT(const std::vector<double>& x, const FitOptions& options) {
  std::vector<double> sorted = x;
  std::sort(sorted.begin(), sorted.end());
  double mu = sorted[sorted.size() / 2];
  std::vector<double> deviations;
  for (double v : x) deviations.push_back(std::fabs(v - mu));
  std::sort(deviations.begin(), deviations.end());
  // The median absolute deviation, scaled to a normal's stddev: a start the tails cannot pull.
  double scale = std::max(1.4826 * deviations[deviations.size() / 2], options.min_scale);
  const double n = static_cast<double>(x.size());
  std::vector<double> z2(x.size()), weights(x.size());
  const auto standardise = [&] {
    for (size_t i = 0; i < x.size(); ++i) z2[i] = (x[i] - mu) * (x[i] - mu) / (scale * scale);
  };
  standardise();
  double df = MaximiseDf(z2, scale);
  double previous = StudentTLogLikelihood(z2, scale, df);
  for (int iteration = 0; iteration < options.max_iterations; ++iteration) {
    double sum_w = 0.0, sum_wx = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
      weights[i] = (df + 1.0) / (df + z2[i]);
      sum_w += weights[i];
      sum_wx += weights[i] * x[i];
    }
    mu = sum_wx / sum_w;
    double sum_wr2 = 0.0;
    for (size_t i = 0; i < x.size(); ++i) sum_wr2 += weights[i] * (x[i] - mu) * (x[i] - mu);
    scale = std::max(std::sqrt(sum_wr2 / n), options.min_scale);
    standardise();
    df = MaximiseDf(z2, scale);
    const double current = StudentTLogLikelihood(z2, scale, df);
    const bool done = Converged(previous, current, options.tolerance);
    previous = current;
    if (done) break;
  }
  OffsetDistribution dist;
  dist.family = OffsetFamily::kStudentT;
  dist.location = mu;
  dist.scale = scale;
  dist.degrees_of_freedom = df;
  return dist;
}

}  // namespace

absl::StatusOr<OffsetDistribution> FitOffsetDistribution(OffsetFamily family,
                                                         const std::vector<double>& magnitudes,
                                                         const FitOptions& options) {
  if (auto s = CheckInput(magnitudes, options); !s.ok()) return s;
  const auto [min, max] = std::minmax_element(magnitudes.begin(), magnitudes.end());
  OffsetDistribution dist;
  dist.family = family;
  switch (family) {
    case OffsetFamily::kNormal:
      dist.location = Mean(magnitudes);
      dist.scale = std::max(StdDev(magnitudes, dist.location), options.min_scale);
      return dist;
    case OffsetFamily::kStudentT:
      return FitStudentT(magnitudes, options);
    case OffsetFamily::kGamma:
      return FitGamma(magnitudes, options);
    case OffsetFamily::kUniform:
    case OffsetFamily::kLogUniform:
      dist.low = *min;
      dist.high = *max;
      return dist;
    case OffsetFamily::kDilated:
      dist.low = 1.0;
      while (dist.low * dist.dilation_base <= *min) dist.low *= dist.dilation_base;
      dist.high = 1.0;
      while (dist.high < *max) dist.high *= dist.dilation_base;
      return dist;
    case OffsetFamily::kMixture: {
      absl::StatusOr<std::vector<MixtureComponent>> components =
          FitGaussianMixture(magnitudes, options);
      if (!components.ok()) return components.status();
      dist.components = *std::move(components);
      return dist;
    }
  }
  return absl::InvalidArgumentError("unknown offset family");
}

absl::StatusOr<CountDistribution> FitCountDistribution(CountFamily family,
                                                       const std::vector<int>& counts) {
  if (counts.empty()) return absl::InvalidArgumentError("fitting needs at least 1 count, got 0");
  std::vector<double> k;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("count ", i, " is ", counts[i], "; counts must be >= 1"));
    }
    k.push_back(counts[i]);
  }
  CountDistribution dist;
  dist.family = family;
  dist.mean = Mean(k);
  dist.stddev = family == CountFamily::kNormal ? StdDev(k, dist.mean) : 0.0;
  return dist;
}

}  // namespace headevo::search
