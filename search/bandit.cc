#include "search/bandit.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace headevo::search {
namespace {

double Mean(const ArmStats& a) { return a.reward_sum / static_cast<double>(a.pulls); }

// Sample standard deviation of the rewards summed in `a`; 0 with fewer than two.
double Spread(const ArmStats& a) {
  if (a.pulls < 2) return 0.0;
  const double n = static_cast<double>(a.pulls);
  const double variance = (a.reward_sum_squares - a.reward_sum * a.reward_sum / n) / (n - 1.0);
  return variance > 0.0 ? std::sqrt(variance) : 0.0;
}

ArmStats Pooled(const std::vector<ArmStats>& arms) {
  ArmStats all;
  for (const ArmStats& a : arms) {
    all.pulls += a.pulls;
    all.reward_sum += a.reward_sum;
    all.reward_sum_squares += a.reward_sum_squares;
  }
  return all;
}

}  // namespace

absl::StatusOr<BanditPolicy> ParseBanditPolicy(std::string_view name) {
  if (name == "ucb") return BanditPolicy::kUcb;
  if (name == "thompson") return BanditPolicy::kThompson;
  return absl::InvalidArgumentError(absl::StrCat("unknown bandit policy \"", std::string(name),
                                                 "\"; choose \"ucb\" or \"thompson\""));
}

std::string_view BanditPolicyName(BanditPolicy policy) {
  return policy == BanditPolicy::kUcb ? "ucb" : "thompson";
}

absl::Status BanditOptions::Validate() const {
  if (!(exploration >= 0.0) || !std::isfinite(exploration)) {
    return absl::InvalidArgumentError(
        absl::StrCat("bandit exploration must be a finite number >= 0, got ", exploration));
  }
  return absl::OkStatus();
}

Bandit::Bandit(int num_arms, const BanditOptions& options)
    : options_(options), arms_(static_cast<size_t>(num_arms)) {}

std::vector<int> Bandit::ChooseBatch(int count, Rng& rng) const {
  const ArmStats pooled = Pooled(arms_);
  // The scale of the exploration bonus and of an arm's posterior before it has a spread of
  // its own; 1 until two rewards exist.
  const double sigma = pooled.pulls >= 2 ? Spread(pooled) : 1.0;
  std::vector<int64_t> pending(arms_.size(), 0);
  std::vector<int> chosen;
  for (int c = 0; c < count; ++c) {
    int best = -1;
    double best_value = -std::numeric_limits<double>::infinity();
    int64_t total = pooled.pulls;
    for (int64_t p : pending) total += p;
    for (int i = 0; i < num_arms(); ++i) {
      const ArmStats& a = arms_[i];
      double value;
      if (a.pulls == 0) {
        // Unexplored arms come first, in order; pending pulls among them spread the batch.
        value = std::numeric_limits<double>::max() / (1.0 + static_cast<double>(pending[i]));
      } else if (options_.policy == BanditPolicy::kUcb) {
        const double n = static_cast<double>(a.pulls + pending[i]);
        value = Mean(a) + options_.exploration * sigma *
                              std::sqrt(2.0 * std::log(static_cast<double>(total)) / n);
      } else {
        const double spread = a.pulls >= 2 ? Spread(a) : sigma;
        value = Mean(a) + spread / std::sqrt(static_cast<double>(a.pulls)) * rng.Normal();
      }
      // Strictly greater: ties go to the lower arm index.
      if (best < 0 || value > best_value) {
        best = i;
        best_value = value;
      }
    }
    ++pending[best];
    chosen.push_back(best);
  }
  return chosen;
}

void Bandit::Reward(int arm, double reward) {
  ArmStats& a = arms_[static_cast<size_t>(arm)];
  ++a.pulls;
  a.reward_sum += reward;
  a.reward_sum_squares += reward * reward;
}

absl::Status Bandit::SetArms(const std::vector<ArmStats>& arms) {
  if (arms.size() != arms_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("bandit state has ", arms.size(),
                                                   " arms, the options configure ", arms_.size()));
  }
  for (const ArmStats& a : arms) {
    if (a.pulls < 0) return absl::InvalidArgumentError("bandit state has an arm with pulls < 0");
  }
  arms_ = arms;
  return absl::OkStatus();
}

}  // namespace headevo::search
