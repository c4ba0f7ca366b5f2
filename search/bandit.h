// A multi-armed bandit over the head samplers (the seed's "reinforced" sampler, first form):
// each arm's reward is the fitness gain of the children it produced minus their cost, and the
// arm for each new child is chosen by UCB or by Thompson sampling. Rewards arrive a
// generation at a time, so arms are chosen a batch at a time.
#ifndef HEADEVO_SEARCH_BANDIT_H_
#define HEADEVO_SEARCH_BANDIT_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "search/random.h"

namespace headevo::search {

enum class BanditPolicy {
  // mean + exploration * sigma * sqrt(2 ln N / n): sigma is the spread of all rewards seen,
  // so the bonus is in the rewards' own units whatever their scale.
  kUcb,
  // A draw from each arm's Gaussian posterior of its mean; the highest draw wins.
  kThompson,
};

absl::StatusOr<BanditPolicy> ParseBanditPolicy(std::string_view name);  // "ucb", "thompson"
std::string_view BanditPolicyName(BanditPolicy policy);

struct BanditOptions {
  BanditPolicy policy = BanditPolicy::kUcb;
  // UCB's exploration constant c (>= 0); 0 is greedy.
  double exploration = 1.0;

  absl::Status Validate() const;
};

// Running statistics of one arm: all a bandit remembers.
struct ArmStats {
  int64_t pulls = 0;
  double reward_sum = 0.0;
  double reward_sum_squares = 0.0;
};

class Bandit {
 public:
  Bandit(int num_arms, const BanditOptions& options);

  // Arms for `count` children, chosen one after another. Within the batch each choice counts
  // as a pull without a reward yet, so UCB spreads a batch instead of repeating one arm.
  // An arm never pulled is chosen before any other (lowest index first).
  std::vector<int> ChooseBatch(int count, Rng& rng) const;

  // Records one reward of `arm`. Requires 0 <= arm < num_arms.
  void Reward(int arm, double reward);

  int num_arms() const { return static_cast<int>(arms_.size()); }
  const std::vector<ArmStats>& arms() const { return arms_; }
  // InvalidArgument if `arms` does not have num_arms() entries or holds negative pulls.
  absl::Status SetArms(const std::vector<ArmStats>& arms);

 private:
  BanditOptions options_;
  std::vector<ArmStats> arms_;
};

}  // namespace headevo::search

#endif  // HEADEVO_SEARCH_BANDIT_H_
