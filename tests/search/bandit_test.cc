#include "search/bandit.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace headevo::search {
namespace {

int Count(const std::vector<int>& arms, int arm) {
  return static_cast<int>(std::count(arms.begin(), arms.end(), arm));
}

// Rewards arm i with mean means[i], spread +-0.1, `n` times each.
void Feed(Bandit& bandit, const std::vector<double>& means, int n) {
  for (int t = 0; t < n; ++t) {
    for (int arm = 0; arm < bandit.num_arms(); ++arm) {
      bandit.Reward(arm, means[arm] + (t % 2 == 0 ? 0.1 : -0.1));
    }
  }
}

TEST(BanditTest, UnexploredArmsComeFirstAndABatchSpreadsOverThem) {
  Bandit bandit(3, BanditOptions{});
  Rng rng(1);
  EXPECT_EQ(bandit.ChooseBatch(6, rng), (std::vector<int>{0, 1, 2, 0, 1, 2}));
  bandit.Reward(0, 1.0);
  EXPECT_EQ(bandit.ChooseBatch(2, rng), (std::vector<int>{1, 2}));
}

TEST(BanditTest, GreedyUcbPicksTheBestMeanAndExplorationSpreadsTheBatch) {
  BanditOptions options;
  options.exploration = 0.0;
  Bandit greedy(3, options);
  Feed(greedy, {0.0, 1.0, 0.5}, 10);
  Rng rng(1);
  const std::vector<int> arms = greedy.ChooseBatch(8, rng);
  EXPECT_EQ(Count(arms, 1), 8);

  // Equal means: exploration must not put the whole batch on one arm.
  options.exploration = 1.0;
  Bandit even(3, options);
  Feed(even, {0.3, 0.3, 0.3}, 4);
  const std::vector<int> spread = even.ChooseBatch(9, rng);
  for (int arm = 0; arm < 3; ++arm) EXPECT_EQ(Count(spread, arm), 3) << "arm " << arm;
}

TEST(BanditTest, ThompsonFavoursTheBetterArmAndRepeatsWithTheSeed) {
  BanditOptions options;
  options.policy = BanditPolicy::kThompson;
  Bandit bandit(2, options);
  Feed(bandit, {0.0, 0.1}, 5);
  Rng a(9), b(9);
  const std::vector<int> first = bandit.ChooseBatch(400, a);
  EXPECT_EQ(first, bandit.ChooseBatch(400, b));
  // Means 0.1 apart with a standard error of ~0.05 each: arm 1 wins about 93% of draws, and
  // arm 0 still gets the rest (the posteriors overlap).
  EXPECT_GT(Count(first, 1), 340);
  EXPECT_GT(Count(first, 0), 0);
}

TEST(BanditTest, StateRoundTripsAndMismatchesAreRefused) {
  Bandit bandit(2, BanditOptions{});
  bandit.Reward(1, 0.5);
  Bandit copy(2, BanditOptions{});
  ASSERT_TRUE(copy.SetArms(bandit.arms()).ok());
  EXPECT_EQ(copy.arms()[1].pulls, 1);
  EXPECT_DOUBLE_EQ(copy.arms()[1].reward_sum, 0.5);
  Bandit three(3, BanditOptions{});
  const absl::Status s = three.SetArms(bandit.arms());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("2 arms"), std::string::npos);
}

TEST(BanditTest, BadOptionsAndNamesAreRefused) {
  BanditOptions options;
  options.exploration = -1.0;
  EXPECT_NE(options.Validate().message().find("exploration"), std::string::npos);
  EXPECT_EQ(*ParseBanditPolicy("thompson"), BanditPolicy::kThompson);
  auto bad = ParseBanditPolicy("exp3");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("exp3"), std::string::npos);
}

}  // namespace
}  // namespace headevo::search
