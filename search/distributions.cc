#include "search/distributions.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "search/special_functions.h"

namespace headevo::search {
namespace {

// Debian's absl::string_view is not std::string_view, so StrCat and StrJoin take these as
// const char*.
constexpr std::array<const char*, 7> kOffsetFamilyNames = {
    "uniform", "normal", "student_t", "gamma", "log_uniform", "dilated", "mixture"};
constexpr std::array<const char*, 3> kCountFamilyNames = {"fixed", "normal", "poisson"};

absl::Status MustBePositive(const std::string& field, double value) {
  if (value > 0.0 && std::isfinite(value)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, " must be > 0, got ", value));
}

absl::Status MustBeFinite(const std::string& field, double value) {
  if (std::isfinite(value)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, " must be finite, got ", value));
}

// The powers base^j (j >= 0) in [low, high], ascending. Doubles hold them exactly up to 2^53,
// far past any window.
std::vector<double> DilatedPowers(int base, double low, double high) {
  std::vector<double> powers;
  for (double p = 1.0; p <= high; p *= base) {
    if (p >= low) powers.push_back(p);
  }
  return powers;
}

double ResolvedHigh(const OffsetDistribution& dist, int window) {
  return dist.high > 0.0 ? dist.high : window;
}

absl::Status ValidateComponents(const std::vector<MixtureComponent>& components) {
  if (components.empty()) {
    return absl::InvalidArgumentError("offset mixture needs at least one component");
  }
  for (size_t i = 0; i < components.size(); ++i) {
    const std::string name = absl::StrCat("offset mixture component ", i);
    if (auto s = MustBePositive(name + " weight", components[i].weight); !s.ok()) return s;
    if (auto s = MustBeFinite(name + " mean", components[i].mean); !s.ok()) return s;
    if (auto s = MustBePositive(name + " stddev", components[i].stddev); !s.ok()) return s;
  }
  return absl::OkStatus();
}

double SampleMixture(const std::vector<MixtureComponent>& components, Rng& rng) {
  double total = 0.0;
  for (const MixtureComponent& c : components) total += c.weight;
  double u = rng.Uniform() * total;
  const MixtureComponent* picked = &components.back();  // rounding can leave u just past the end
  for (const MixtureComponent& c : components) {
    if (u < c.weight) {
      picked = &c;
      break;
    }
    u -= c.weight;
  }
  return std::fabs(picked->mean + picked->stddev * rng.Normal());
}

// Hormann (1993), "The transformed rejection method for generating Poisson random variables",
// algorithm PTRS; valid for mean >= 10.
int64_t SamplePoissonPtrs(Rng& rng, double mean) {
  const double log_mean = std::log(mean);
  const double b = 0.931 + 2.53 * std::sqrt(mean);
  const double a = -0.059 + 0.02483 * b;
  const double log_inv_alpha = std::log(1.1239 + 1.1328 / (b - 3.4));
  const double v_r = 0.9277 - 3.6224 / (b - 2.0);
  while (true) {
    const double u = rng.Uniform() - 0.5;
    const double v = rng.Uniform();
    const double us = 0.5 - std::fabs(u);
    // k stays a double until accepted: us = 0 makes it infinite, which the k < 0 test rejects.
    const double k = std::floor((2.0 * a / us + b) * u + mean + 0.43);
    if (us >= 0.07 && v <= v_r) return static_cast<int64_t>(k);
    if (k < 0.0 || (us < 0.013 && v > us)) continue;
    if (std::log(v) + log_inv_alpha - std::log(a / (us * us) + b) <=
        -mean + k * log_mean - LogGamma(k + 1.0)) {
      return static_cast<int64_t>(k);
    }
  }
}

}  // namespace

absl::Status OffsetDistribution::Validate() const {
  if (auto s = MustBeFinite("offset location", location); !s.ok()) return s;
  if (auto s = MustBePositive("offset scale", scale); !s.ok()) return s;
  if (auto s = MustBePositive("offset shape", shape); !s.ok()) return s;
  if (auto s = MustBePositive("offset df (degrees of freedom)", degrees_of_freedom); !s.ok()) {
    return s;
  }
  if (!(low >= 1.0) || !std::isfinite(low)) {
    return absl::InvalidArgumentError(absl::StrCat("offset low must be >= 1, got ", low));
  }
  if (!std::isfinite(high) || (high != 0.0 && !(high >= low))) {
    return absl::InvalidArgumentError(
        absl::StrCat("offset high must be 0 (the window) or >= offset low ", low, ", got ", high));
  }
  if (dilation_base < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("offset dilation_base must be >= 2, got ", dilation_base));
  }
  if (family == OffsetFamily::kDilated && high > 0.0 &&
      DilatedPowers(dilation_base, low, high).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no power of dilation_base ", dilation_base,
                                                   " lies in [", low, ", ", high, "]"));
  }
  if (family == OffsetFamily::kMixture) return ValidateComponents(components);
  return absl::OkStatus();
}

absl::Status CountDistribution::Validate() const {
  if (!(mean >= 1.0) || !std::isfinite(mean)) {
    return absl::InvalidArgumentError(absl::StrCat("k mean must be >= 1, got ", mean));
  }
  if (!(stddev >= 0.0) || !std::isfinite(stddev)) {
    return absl::InvalidArgumentError(absl::StrCat("k stddev must be >= 0, got ", stddev));
  }
  return absl::OkStatus();
}

absl::StatusOr<OffsetFamily> ParseOffsetFamily(std::string_view name) {
  for (size_t i = 0; i < kOffsetFamilyNames.size(); ++i) {
    if (name == kOffsetFamilyNames[i]) return static_cast<OffsetFamily>(i);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown offset distribution \"", std::string(name),
                   "\"; known: ", absl::StrJoin(kOffsetFamilyNames, ", ")));
}

std::string_view OffsetFamilyName(OffsetFamily family) {
  return kOffsetFamilyNames[static_cast<size_t>(family)];
}

absl::StatusOr<CountFamily> ParseCountFamily(std::string_view name) {
  for (size_t i = 0; i < kCountFamilyNames.size(); ++i) {
    if (name == kCountFamilyNames[i]) return static_cast<CountFamily>(i);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown k distribution \"", std::string(name),
                   "\"; known: ", absl::StrJoin(kCountFamilyNames, ", ")));
}

std::string_view CountFamilyName(CountFamily family) {
  return kCountFamilyNames[static_cast<size_t>(family)];
}

double SampleGamma(Rng& rng, double shape) {
  if (shape < 1.0) {
    double u = rng.Uniform();
    while (u <= 0.0) u = rng.Uniform();
    return SampleGamma(rng, shape + 1.0) * std::pow(u, 1.0 / shape);
  }
  // Marsaglia & Tsang (2000), "A simple method for generating gamma variables".
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    double x, v;
    do {
      x = rng.Normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = rng.Uniform();
    const double x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2) return d * v;
    if (std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v))) return d * v;
  }
}

double SampleStudentT(Rng& rng, double degrees_of_freedom) {
  const double z = rng.Normal();
  const double chi2_over_df = 2.0 * SampleGamma(rng, 0.5 * degrees_of_freedom) / degrees_of_freedom;
  return z / std::sqrt(chi2_over_df);
}

int64_t SamplePoisson(Rng& rng, double mean) {
  if (mean >= 10.0) return SamplePoissonPtrs(rng, mean);
  // Multiplication method: the number of uniforms whose running product stays above e^-mean.
  const double limit = std::exp(-mean);
  int64_t k = 0;
  for (double product = rng.Uniform(); product > limit; product *= rng.Uniform()) ++k;
  return k;
}

double SampleContinuousMagnitude(const OffsetDistribution& dist, int window, Rng& rng) {
  const double high = ResolvedHigh(dist, window);
  switch (dist.family) {
    case OffsetFamily::kUniform:
      return dist.low - 0.5 + (high - dist.low + 1.0) * rng.Uniform();
    case OffsetFamily::kNormal:
      return std::fabs(dist.location + dist.scale * rng.Normal());
    case OffsetFamily::kStudentT:
      return std::fabs(dist.location + dist.scale * SampleStudentT(rng, dist.degrees_of_freedom));
    case OffsetFamily::kGamma:
      return dist.scale * SampleGamma(rng, dist.shape);
    case OffsetFamily::kLogUniform: {
      const double log_low = std::log(dist.low - 0.5);
      return std::exp(log_low + (std::log(high + 0.5) - log_low) * rng.Uniform());
    }
    case OffsetFamily::kDilated: {
      const std::vector<double> powers = DilatedPowers(dist.dilation_base, dist.low, high);
      if (powers.empty()) return dist.low;  // only without Validate(): keep the contract total
      return powers[rng.UniformInt(0, static_cast<int64_t>(powers.size()) - 1)];
    }
    case OffsetFamily::kMixture:
      return SampleMixture(dist.components, rng);
  }
  return dist.low;
}

int SampleMagnitude(const OffsetDistribution& dist, int window, Rng& rng) {
  const double high = ResolvedHigh(dist, window);
  if (dist.family == OffsetFamily::kUniform && dist.low == std::floor(dist.low) &&
      high == std::floor(high) && dist.low >= 1.0 && high <= window) {
    return static_cast<int>(
        rng.UniformInt(static_cast<int64_t>(dist.low), static_cast<int64_t>(high)));
  }
  // Clipped as a double first: a heavy tail can give a value no int holds.
  const double x = std::round(SampleContinuousMagnitude(dist, window, rng));
  return static_cast<int>(std::clamp(x, 1.0, static_cast<double>(window)));
}

int SampleCount(const CountDistribution& dist, int max_k, Rng& rng) {
  double k = dist.mean;
  switch (dist.family) {
    case CountFamily::kFixed:
      break;
    case CountFamily::kNormal:
      k += dist.stddev * rng.Normal();
      break;
    case CountFamily::kPoisson:
      k = 1.0 + static_cast<double>(SamplePoisson(rng, dist.mean - 1.0));
      break;
  }
  return static_cast<int>(std::clamp(std::round(k), 1.0, static_cast<double>(max_k)));
}

std::string DescribeOffsets(const OffsetDistribution& dist, int window) {
  const std::string range = absl::StrCat("[", dist.low, ",", ResolvedHigh(dist, window), "]");
  switch (dist.family) {
    case OffsetFamily::kUniform:
      return absl::StrCat("uniform", range);
    case OffsetFamily::kNormal:
      return absl::StrCat("normal(", dist.location, ",", dist.scale, ")");
    case OffsetFamily::kStudentT:
      return absl::StrCat("student_t(df=", dist.degrees_of_freedom, ",location=", dist.location,
                          ",scale=", dist.scale, ")");
    case OffsetFamily::kGamma:
      return absl::StrCat("gamma(shape=", dist.shape, ",scale=", dist.scale, ")");
    case OffsetFamily::kLogUniform:
      return absl::StrCat("log_uniform", range);
    case OffsetFamily::kDilated:
      return absl::StrCat("dilated(base=", dist.dilation_base, ")", range);
    case OffsetFamily::kMixture: {
      double total = 0.0;
      for (const MixtureComponent& c : dist.components) total += c.weight;
      std::vector<std::string> terms;
      for (const MixtureComponent& c : dist.components) {
        terms.push_back(absl::StrCat(c.weight / total, "*normal(", c.mean, ",", c.stddev, ")"));
      }
      return absl::StrCat("mixture(", absl::StrJoin(terms, "+"), ")");
    }
  }
  return "unknown";
}

std::string DescribeCount(const CountDistribution& dist) {
  switch (dist.family) {
    case CountFamily::kFixed:
      return absl::StrCat("k=", std::round(dist.mean));
    case CountFamily::kNormal:
      return absl::StrCat("k~normal(", dist.mean, ",", dist.stddev, ")");
    case CountFamily::kPoisson:
      return absl::StrCat("k~1+poisson(", dist.mean - 1.0, ")");
  }
  return "unknown";
}

}  // namespace headevo::search
