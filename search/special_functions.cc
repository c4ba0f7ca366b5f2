#include "search/special_functions.h"

#include <array>
#include <cmath>
#include <limits>

namespace headevo::search {
namespace {

// The asymptotic series below are accurate to ~1e-15 from here on; smaller arguments are first
// shifted up with the recurrences Gamma(x + 1) = x Gamma(x) and psi(x + 1) = psi(x) + 1/x.
constexpr double kAsymptoticFrom = 10.0;
constexpr double kHalfLogTwoPi = 0.91893853320467274178;

// The series' coefficients of y^0, y^1, ... with y = 1/x^2, from the Bernoulli numbers B_2n:
// log Gamma: B_2n / (2n (2n - 1)); log x - psi: B_2n / 2n; psi': B_2n.
constexpr std::array<double, 6> kLogGamma = {1.0 / 12,    -1.0 / 360, 1.0 / 1260,
                                             -1.0 / 1680, 1.0 / 1188, -691.0 / 360360};
constexpr std::array<double, 6> kLogMinusDigamma = {1.0 / 12,   -1.0 / 120, 1.0 / 252,
                                                    -1.0 / 240, 1.0 / 132,  -691.0 / 32760};
constexpr std::array<double, 6> kTrigamma = {1.0 / 6,   -1.0 / 30, 1.0 / 42,
                                             -1.0 / 30, 5.0 / 66,  -691.0 / 2730};

// sum_i coefficients[i] * y^i, by Horner's rule.
double Polynomial(const std::array<double, 6>& coefficients, double y) {
  double sum = 0.0;
  for (auto c = coefficients.rbegin(); c != coefficients.rend(); ++c) sum = sum * y + *c;
  return sum;
}

}  // namespace

double LogGamma(double x) {
  if (!(x > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  // log Gamma(x) = log Gamma(x + n) - log(x (x + 1) ... (x + n - 1)); the product is kept in
  // one double and its log taken once, which is exact enough for n <= 10.
  double product = 1.0;
  while (x < kAsymptoticFrom) {
    product *= x;
    x += 1.0;
  }
  const double series = Polynomial(kLogGamma, 1.0 / (x * x)) / x;  // Stirling's series
  return (x - 0.5) * std::log(x) - x + kHalfLogTwoPi + series - std::log(product);
}

double Digamma(double x) {
  if (!(x > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  double shift = 0.0;
  while (x < kAsymptoticFrom) {
    shift -= 1.0 / x;
    x += 1.0;
  }
  return shift + std::log(x) - LogMinusDigamma(x);
}

double LogMinusDigamma(double x) {
  if (!(x > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  if (x < kAsymptoticFrom) return std::log(x) - Digamma(x);
  const double y = 1.0 / (x * x);
  return 0.5 / x + y * Polynomial(kLogMinusDigamma, y);
}

double Trigamma(double x) {
  if (!(x > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  double shift = 0.0;
  while (x < kAsymptoticFrom) {
    shift += 1.0 / (x * x);
    x += 1.0;
  }
  const double y = 1.0 / (x * x);
  return shift + 1.0 / x + 0.5 * y + y / x * Polynomial(kTrigamma, y);
}

}  // namespace headevo::search
