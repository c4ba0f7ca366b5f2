#include "search/gaussian_mixture.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace headevo::search {
namespace {

constexpr double kHalfLogTwoPi = 0.91893853320467274178;
constexpr double kMinWeight = 1e-12;

// Component j starts from the j-th of `count` equal-count blocks of the sorted values.
std::vector<MixtureComponent> BlockStart(std::vector<double> sorted, int count, double min_stddev) {
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  std::vector<MixtureComponent> components;
  for (size_t j = 0; j < static_cast<size_t>(count); ++j) {
    const size_t begin = j * n / count, end = (j + 1) * n / count;
    const double size = static_cast<double>(end - begin);
    double sum = 0.0, sum_sq = 0.0;
    for (size_t i = begin; i < end; ++i) sum += sorted[i];
    const double mean = sum / size;
    for (size_t i = begin; i < end; ++i) sum_sq += (sorted[i] - mean) * (sorted[i] - mean);
    components.push_back(
        {size / static_cast<double>(n), mean, std::max(std::sqrt(sum_sq / size), min_stddev)});
  }
  return components;
}

// Fills resp (row i: the responsibilities of each component for x[i]) and returns the
// log-likelihood of `components`. Log-sum-exp keeps far-out values from underflowing.
double ExpectationStep(const std::vector<double>& x,
                       const std::vector<MixtureComponent>& components, std::vector<double>& resp) {
  const size_t k = components.size();
  std::vector<double> log_norm(k);
  for (size_t j = 0; j < k; ++j) {
    log_norm[j] = std::log(components[j].weight) - std::log(components[j].stddev) - kHalfLogTwoPi;
  }
  double log_likelihood = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    double* row = &resp[i * k];
    double largest = -std::numeric_limits<double>::infinity();
    for (size_t j = 0; j < k; ++j) {
      const double z = (x[i] - components[j].mean) / components[j].stddev;
      row[j] = log_norm[j] - 0.5 * z * z;
      largest = std::max(largest, row[j]);
    }
    double sum = 0.0;
    for (size_t j = 0; j < k; ++j) sum += std::exp(row[j] - largest);
    const double log_total = largest + std::log(sum);
    for (size_t j = 0; j < k; ++j) row[j] = std::exp(row[j] - log_total);
    log_likelihood += log_total;
  }
  return log_likelihood;
}

void MaximisationStep(const std::vector<double>& x, const std::vector<double>& resp,
                      double min_stddev, std::vector<MixtureComponent>& components) {
  const size_t k = components.size();
  const double n = static_cast<double>(x.size());
  for (size_t j = 0; j < k; ++j) {
    double total = 0.0, sum = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
      total += resp[i * k + j];
      sum += resp[i * k + j] * x[i];
    }
    if (total < kMinWeight * n) {  // an emptied component: keep it, nearly weightless
      components[j].weight = kMinWeight;
      continue;
    }
    const double mean = sum / total;
    double sum_sq = 0.0;
    for (size_t i = 0; i < x.size(); ++i) sum_sq += resp[i * k + j] * (x[i] - mean) * (x[i] - mean);
    components[j] = {total / n, mean, std::max(std::sqrt(sum_sq / total), min_stddev)};
  }
}

}  // namespace

absl::StatusOr<std::vector<MixtureComponent>> FitGaussianMixture(const std::vector<double>& x,
                                                                 const FitOptions& options) {
  const int count = options.mixture_components;
  if (count < 1 || x.size() < static_cast<size_t>(count)) {
    return absl::InvalidArgumentError(absl::StrCat("mixture_components ", count, " must be in [1, ",
                                                   x.size(), "] (the number of values)"));
  }
  std::vector<MixtureComponent> components = BlockStart(x, count, options.min_scale);
  std::vector<double> resp(x.size() * components.size());
  double previous = ExpectationStep(x, components, resp);
  for (int iteration = 0; iteration < options.max_iterations; ++iteration) {
    MaximisationStep(x, resp, options.min_scale, components);
    const double current = ExpectationStep(x, components, resp);
    const bool done = std::fabs(current - previous) <= options.tolerance * std::fabs(current);
    previous = current;
    if (done) break;
  }
  std::sort(components.begin(), components.end(),
            [](const MixtureComponent& a, const MixtureComponent& b) { return a.mean < b.mean; });
  return components;
}

}  // namespace headevo::search
