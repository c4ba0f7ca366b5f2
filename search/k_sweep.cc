#include "search/k_sweep.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace headevo::search {
namespace {

// Repeated multiplication drifts by a few ulps; this much slack keeps k_min itself in the
// schedule when it is an exact power of the factor.
constexpr double kRelativeSlack = 1e-9;

}  // namespace

absl::Status KSweepOptions::Validate() const {
  if (!(k_min >= 1.0) || !std::isfinite(k_min)) {
    return absl::InvalidArgumentError(
        absl::StrCat("k_min must be a finite number >= 1, got ", k_min));
  }
  if (!(k_start >= k_min) || !std::isfinite(k_start)) {
    return absl::InvalidArgumentError(
        absl::StrCat("k_start must be finite and >= k_min (", k_min, "), got ", k_start));
  }
  if (!(k_factor > 0.0 && k_factor < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("k_factor must be in (0, 1), got ", k_factor));
  }
  if (repeats < 1) {
    return absl::InvalidArgumentError(absl::StrCat("repeats must be >= 1, got ", repeats));
  }
  if (!(tolerance >= 0.0) || !std::isfinite(tolerance)) {
    return absl::InvalidArgumentError(
        absl::StrCat("tolerance must be a finite number >= 0, got ", tolerance));
  }
  return absl::OkStatus();
}

std::vector<double> KSchedule(const KSweepOptions& options) {
  std::vector<double> schedule;
  if (!options.Validate().ok()) return schedule;
  for (double k = options.k_start; k >= options.k_min * (1.0 - kRelativeSlack);
       k *= options.k_factor) {
    schedule.push_back(k);
  }
  return schedule;
}

KSweep::KSweep(const KSweepOptions& options, double dense_loss)
    : options_(options), dense_loss_(dense_loss), schedule_(KSchedule(options)) {}

std::optional<double> KSweep::NextK() const {
  if (!steps_.empty() && !steps_.back().held) return std::nullopt;
  if (steps_.size() >= schedule_.size()) return std::nullopt;
  return schedule_[steps_.size()];
}

absl::Status KSweep::Record(const std::vector<double>& losses) {
  const std::optional<double> k = NextK();
  if (!k.has_value()) {
    return absl::FailedPreconditionError("the k sweep is done; there is no k to record");
  }
  if (static_cast<int>(losses.size()) != options_.repeats) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected ", options_.repeats, " losses (repeats) for k = ", *k, ", got ", losses.size()));
  }
  KSweepStep step;
  step.k = *k;
  step.losses = losses;
  bool all_finite = true;
  double sum = 0.0;
  for (double loss : losses) {
    all_finite = all_finite && std::isfinite(loss);
    sum += loss;
  }
  step.mean_loss = sum / static_cast<double>(losses.size());
  // Written so that a NaN dense loss or mean fails the comparison.
  step.held = all_finite && step.mean_loss <= dense_loss_ * (1.0 + options_.tolerance);
  steps_.push_back(std::move(step));
  return absl::OkStatus();
}

std::optional<double> KSweep::SmallestKThatHeld() const {
  // Steps that held form a prefix of a decreasing schedule: the last one held is the smallest.
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    if (it->held) return it->k;
  }
  return std::nullopt;
}

}  // namespace headevo::search
