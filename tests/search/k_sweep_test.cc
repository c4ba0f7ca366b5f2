#include "search/k_sweep.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/testutil/status_matchers.h"

namespace headevo::search {
namespace {

void ExpectSchedule(const KSweepOptions& options, const std::vector<double>& expected) {
  const std::vector<double> schedule = KSchedule(options);
  ASSERT_EQ(schedule.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_DOUBLE_EQ(schedule[i], expected[i]);
}

TEST(KSweepTest, ScheduleHalvesDownToKMin) {
  ExpectSchedule(KSweepOptions{}, {8, 4, 2, 1});
  KSweepOptions options;
  options.k_start = 6;
  ExpectSchedule(options, {6, 3, 1.5});
  // 100 * 0.1 * 0.1 is not exactly 1 in floating point; it still belongs to the schedule.
  options.k_start = 100;
  options.k_factor = 0.1;
  ExpectSchedule(options, {100, 10, 1});
  options.k_start = 1;
  ExpectSchedule(options, {1});
}

TEST(KSweepTest, InvalidOptionsNameTheFieldAndGiveNoSchedule) {
  EXPECT_OK(KSweepOptions{}.Validate());
  const auto expect_bad = [](KSweepOptions options, const std::string& field) {
    const absl::Status status = options.Validate();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_NE(status.message().find(field), std::string::npos) << status;
    EXPECT_TRUE(KSchedule(options).empty()) << field;
  };
  KSweepOptions o;
  o.k_factor = 1.0;
  expect_bad(o, "k_factor");
  o = {};
  o.k_factor = 0.0;
  expect_bad(o, "k_factor");
  o = {};
  o.k_min = 0.5;
  expect_bad(o, "k_min");
  o = {};
  o.k_start = 0.5;
  expect_bad(o, "k_start");
  o = {};
  o.k_start = std::numeric_limits<double>::infinity();
  expect_bad(o, "k_start");
  o = {};
  o.repeats = 0;
  expect_bad(o, "repeats");
  o = {};
  o.tolerance = -0.1;
  expect_bad(o, "tolerance");
}

TEST(KSweepTest, StopsAtTheFirstKThatFailsAndReportsTheSmallestThatHeld) {
  KSweep sweep(KSweepOptions{}, /*dense_loss=*/1.0);  // holds while mean <= 1.05
  EXPECT_EQ(sweep.dense_loss(), 1.0);
  EXPECT_EQ(sweep.NextK(), 8.0);
  EXPECT_FALSE(sweep.SmallestKThatHeld().has_value());
  ASSERT_OK(sweep.Record({1.0, 1.02}));
  EXPECT_EQ(sweep.NextK(), 4.0);
  ASSERT_OK(sweep.Record({1.04, 1.05}));
  EXPECT_EQ(sweep.NextK(), 2.0);
  ASSERT_OK(sweep.Record({1.2, 1.0}));  // mean 1.1: fails
  EXPECT_FALSE(sweep.NextK().has_value());
  EXPECT_EQ(sweep.SmallestKThatHeld(), 4.0);

  ASSERT_EQ(sweep.steps().size(), 3u);
  EXPECT_EQ(sweep.steps()[1].k, 4.0);
  EXPECT_EQ(sweep.steps()[1].losses, (std::vector<double>{1.04, 1.05}));
  EXPECT_DOUBLE_EQ(sweep.steps()[1].mean_loss, 1.045);
  EXPECT_TRUE(sweep.steps()[1].held);
  EXPECT_FALSE(sweep.steps()[2].held);
  EXPECT_EQ(sweep.Record({1.0, 1.0}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(sweep.steps().size(), 3u);
}

TEST(KSweepTest, ExhaustedScheduleReportsKMinAndFailedStartReportsNothing) {
  KSweepOptions options;
  options.repeats = 1;
  options.tolerance = 0.5;
  KSweep all_hold(options, /*dense_loss=*/2.0);
  // Exactly dense * (1 + tolerance) still holds.
  while (all_hold.NextK().has_value()) ASSERT_OK(all_hold.Record({3.0}));
  EXPECT_EQ(all_hold.steps().size(), 4u);
  EXPECT_EQ(all_hold.SmallestKThatHeld(), 1.0);

  KSweep none_hold(options, /*dense_loss=*/2.0);
  ASSERT_OK(none_hold.Record({3.5}));
  EXPECT_FALSE(none_hold.NextK().has_value());
  EXPECT_FALSE(none_hold.SmallestKThatHeld().has_value());
}

TEST(KSweepTest, ANonFiniteLossNeverHolds) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // -inf would pull the mean below any threshold; a diverged run must still count as a failure.
  for (const std::vector<double>& losses :
       std::vector<std::vector<double>>{{std::nan(""), 1.0}, {kInf, 1.0}, {-kInf, 1.0}}) {
    KSweep sweep(KSweepOptions{}, 1.0);
    ASSERT_OK(sweep.Record(losses));
    EXPECT_FALSE(sweep.steps().back().held);
    EXPECT_FALSE(sweep.NextK().has_value());
  }
  KSweep nan_dense(KSweepOptions{}, std::nan(""));
  ASSERT_OK(nan_dense.Record({1.0, 1.0}));
  EXPECT_FALSE(nan_dense.steps().back().held);
}

TEST(KSweepTest, RecordRejectsTheWrongNumberOfLossesAndRecordsNothing) {
  KSweep sweep(KSweepOptions{}, 1.0);
  const absl::Status status = sweep.Record({1.0});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("repeats"), std::string::npos) << status;
  EXPECT_TRUE(sweep.steps().empty());
  EXPECT_EQ(sweep.NextK(), 8.0);

  KSweepOptions bad;
  bad.k_factor = 2.0;
  KSweep empty(bad, 1.0);
  EXPECT_FALSE(empty.NextK().has_value());
  EXPECT_EQ(empty.Record({1.0, 1.0}).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace headevo::search
