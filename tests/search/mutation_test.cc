#include "search/mutation.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace headevo::search {
namespace {

headevo::v1::OffsetSet Offsets(const std::vector<int>& offsets) {
  headevo::v1::OffsetSet set;
  for (int o : offsets) set.add_offsets(o);
  return set;
}

MutationOptions ShiftOnly(ShiftScaling scaling) {
  MutationOptions o;
  o.shift_weight = 1.0;
  o.add_weight = 0.0;
  o.drop_weight = 0.0;
  o.shift_scaling = scaling;
  return o;
}

// The (from, to) of a one-shift mutation of `before` into `after`.
std::pair<int, int> ShiftOf(const std::vector<int>& before, const std::vector<int>& after) {
  std::set<int> b(before.begin(), before.end()), a(after.begin(), after.end());
  int from = 0, to = 0, gone = 0, came = 0;
  for (int o : b) gone += a.count(o) ? 0 : (from = o, 1);
  for (int o : a) came += b.count(o) ? 0 : (to = o, 1);
  EXPECT_EQ(gone, 1);
  EXPECT_EQ(came, 1);
  return {from, to};
}

TEST(MutationTest, MaxShiftIsConstantOrGrowsWithDistance) {
  MutationOptions o;
  o.max_shift = 3;
  EXPECT_EQ(MaxShift(o, -1), 3);
  EXPECT_EQ(MaxShift(o, -40), 3);
  o.shift_scaling = ShiftScaling::kProportional;
  o.shift_fraction = 0.25;
  EXPECT_EQ(MaxShift(o, -1), 1);
  EXPECT_EQ(MaxShift(o, -5), 1);  // round(1.25)
  EXPECT_EQ(MaxShift(o, -6), 2);  // round(1.5)
  EXPECT_EQ(MaxShift(o, -28), 7);
  EXPECT_EQ(MaxShift(o, 28), 7);
  EXPECT_EQ(MaxShift(o, 0), 1);
}

TEST(MutationTest, ProportionalShiftMovesNearOffsetsByOneAndFarOnesFurther) {
  HeadDistribution dist;
  dist.window = 63;
  const MutationOptions options = ShiftOnly(ShiftScaling::kProportional);  // fraction 0.25
  const std::vector<int> source = {-40, -3};
  Rng rng(4);
  std::map<int, std::set<int>> distances;  // from -> |to - from| seen
  for (int i = 0; i < 2000; ++i) {
    std::string move;
    const std::vector<int> after = MutateOffsets(Offsets(source), dist, options, rng, &move);
    const auto [from, to] = ShiftOf(source, after);
    EXPECT_EQ(move, "shift " + std::to_string(from) + "->" + std::to_string(to));
    distances[from].insert(std::abs(to - from));
  }
  EXPECT_EQ(distances[-3], (std::set<int>{1})) << "a near offset moves by exactly 1";
  // -40 moves by 1..10, and each distance turns up.
  std::set<int> far;
  for (int d = 1; d <= 10; ++d) far.insert(d);
  EXPECT_EQ(distances[-40], far);
}

TEST(MutationTest, ProportionalShiftPicksEachOffsetEquallyOften) {
  HeadDistribution dist;
  dist.window = 63;
  const MutationOptions options = ShiftOnly(ShiftScaling::kProportional);
  Rng rng(8);
  std::map<int, int> shifted;
  for (int i = 0; i < 4000; ++i) {
    std::string move;
    const std::vector<int> source = {-40, -3};
    ++shifted[ShiftOf(source, MutateOffsets(Offsets(source), dist, options, rng, &move)).first];
  }
  // -40 has 20 targets and -3 two; each is still chosen about half the time.
  EXPECT_NEAR(shifted[-40] / 4000.0, 0.5, 0.04);
  EXPECT_NEAR(shifted[-3] / 4000.0, 0.5, 0.04);
}

TEST(MutationTest, ShiftsNeverLeaveTheWindowNorDuplicate) {
  for (ShiftScaling scaling : {ShiftScaling::kConstant, ShiftScaling::kProportional}) {
    SCOPED_TRACE(std::string(ShiftScalingName(scaling)));
    HeadDistribution dist;
    dist.window = 16;
    MutationOptions options = ShiftOnly(scaling);
    options.shift_fraction = 1.0;  // the far offsets' shifts overshoot the window by far
    options.max_shift = 20;
    Rng rng(12);
    for (int i = 0; i < 1000; ++i) {
      std::string move;
      const std::vector<int> after =
          MutateOffsets(Offsets({-16, -15, -9, -1}), dist, options, rng, &move);
      ASSERT_EQ(after.size(), 4u);
      for (size_t j = 0; j < after.size(); ++j) {
        EXPECT_GE(after[j], -16);
        EXPECT_LE(after[j], -1);
        if (j > 0) {
          EXPECT_LT(after[j - 1], after[j]);
        }
      }
    }
  }
}

TEST(MutationTest, ABlockedHeadIsLeftAloneAndSaysSo) {
  HeadDistribution dist;
  dist.window = 2;
  const MutationOptions options = ShiftOnly(ShiftScaling::kProportional);
  Rng rng(1);
  std::string move;
  EXPECT_EQ(MutateOffsets(Offsets({-2, -1}), dist, options, rng, &move),
            (std::vector<int>{-2, -1}));
  EXPECT_EQ(move, "unmutated (no allowed move)");
}

TEST(MutationTest, SameSeedSameMoves) {
  HeadDistribution dist;
  dist.window = 32;
  MutationOptions options;
  options.shift_scaling = ShiftScaling::kProportional;
  std::string moves[2];
  for (std::string& moves_of_run : moves) {
    Rng rng(77);
    for (int i = 0; i < 50; ++i) {
      std::string move;
      MutateOffsets(Offsets({-30, -17, -4, -1}), dist, options, rng, &move);
      moves_of_run += move + ";";
    }
  }
  EXPECT_EQ(moves[0], moves[1]);
}

TEST(MutationTest, OptionsAndNamesAreChecked) {
  MutationOptions o;
  EXPECT_TRUE(o.Validate().ok());
  o.shift_fraction = 0.0;
  EXPECT_NE(o.Validate().message().find("shift_fraction"), std::string::npos);
  o.shift_fraction = 1.5;
  EXPECT_FALSE(o.Validate().ok());
  EXPECT_EQ(*ParseShiftScaling("proportional"), ShiftScaling::kProportional);
  EXPECT_EQ(*ParseShiftScaling("constant"), ShiftScaling::kConstant);
  const auto bad = ParseShiftScaling("linear");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("constant or proportional"), std::string::npos);
}

}  // namespace
}  // namespace headevo::search
