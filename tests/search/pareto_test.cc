#include "search/pareto.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "tests/search/evaluated_candidate.h"

namespace headevo::search {
namespace {

using headevo::v1::Candidate;

constexpr double kInf = std::numeric_limits<double>::infinity();

using testing::Evaluated;

TEST(ParetoTest, DominanceNeedsNoWorseInBothAndBetterInOne) {
  EXPECT_TRUE(Dominates({1, 5}, {2, 5}));
  EXPECT_TRUE(Dominates({1, 4}, {1, 5}));
  EXPECT_TRUE(Dominates({1, 4}, {2, 5}));
  EXPECT_FALSE(Dominates({1, 5}, {1, 5}));  // equal points: neither dominates
  EXPECT_FALSE(Dominates({1, 6}, {2, 5}));  // a trade-off: neither dominates
  EXPECT_FALSE(Dominates({2, 5}, {1, 6}));
  EXPECT_FALSE(Dominates({std::nan(""), 1}, {2, 5}));
}

TEST(ParetoTest, NonDominatedSortMatchesHandComputedFronts) {
  const std::vector<Objectives> points = {
      {1, 10}, {2, 5}, {3, 1},  // a trade-off front
      {2, 10},                  // dominated by 0 and 1
      {3, 6},                   // dominated by 1 and 2, not by 3
      {4, 11},                  // dominated by 3 and 4 (and everything above)
      {1, 10},                  // a duplicate of 0 shares its front
  };
  EXPECT_EQ(NonDominatedSort(points), (std::vector<std::vector<int>>{{0, 1, 2, 6}, {3, 4}, {5}}));
  EXPECT_TRUE(NonDominatedSort({}).empty());
  EXPECT_EQ(NonDominatedSort({{5, 5}}), (std::vector<std::vector<int>>{{0}}));
}

TEST(ParetoTest, CrowdingDistanceOfAHandComputedFront) {
  const std::vector<Objectives> points = {{1, 10}, {2, 6}, {4, 2}, {5, 0}};
  // Loss range 4, connections range 10. Point 1: (4 - 1) / 4 + (10 - 2) / 10 = 1.55;
  // point 2: (5 - 2) / 4 + (6 - 0) / 10 = 1.35. Given in any order, reported in that order.
  const std::vector<double> distance = CrowdingDistance(points, {2, 0, 3, 1});
  ASSERT_EQ(distance.size(), 4u);
  EXPECT_DOUBLE_EQ(distance[0], 1.35);
  EXPECT_EQ(distance[1], kInf);
  EXPECT_EQ(distance[2], kInf);
  EXPECT_DOUBLE_EQ(distance[3], 1.55);
}

TEST(ParetoTest, CrowdingDistanceOfSmallAndDegenerateFronts) {
  const std::vector<Objectives> points = {{1, 1}, {1, 1}, {1, 1}, {2, 0}};
  EXPECT_TRUE(CrowdingDistance(points, {}).empty());
  EXPECT_EQ(CrowdingDistance(points, {3}), (std::vector<double>{kInf}));
  EXPECT_EQ(CrowdingDistance(points, {0, 3}), (std::vector<double>{kInf, kInf}));
  // Zero range: the ends (by index) stay infinite, the middle gets nothing rather than 0/0.
  EXPECT_EQ(CrowdingDistance(points, {0, 1, 2}), (std::vector<double>{kInf, 0.0, kInf}));
}

TEST(ParetoTest, HypervolumeOfOnePoint) {
  EXPECT_DOUBLE_EQ(Hypervolume({{1, 2}}, {3, 5}), 2.0 * 3.0);
  EXPECT_EQ(Hypervolume({}, {3, 5}), 0.0);
}

TEST(ParetoTest, HypervolumeOfAStaircase) {
  // Columns of the dominated region: x in [1,2) is 1 high, [2,3) is 3, [3,4) is 4.
  const Objectives reference{4, 5};
  EXPECT_DOUBLE_EQ(Hypervolume({{1, 4}, {2, 2}, {3, 1}}, reference), 8.0);
  // Order, dominated points and duplicates change nothing.
  EXPECT_DOUBLE_EQ(Hypervolume({{3, 1}, {2, 2}, {3.5, 4.5}, {1, 4}, {2, 2}}, reference), 8.0);
}

TEST(ParetoTest, HypervolumeIgnoresPointsNotStrictlyInsideTheReference) {
  const Objectives reference{4, 5};
  EXPECT_EQ(Hypervolume({{5, 0}}, reference), 0.0);  // worse loss than the reference
  EXPECT_EQ(Hypervolume({{0, 5}}, reference), 0.0);  // on the boundary
  EXPECT_EQ(Hypervolume({{kInf, 0}, {std::nan(""), 1}, {-kInf, 1}}, reference), 0.0);
  EXPECT_DOUBLE_EQ(Hypervolume({{5, 0}, {0, 5}, {2, 2}}, reference), 6.0);
}

TEST(ParetoTest, ParetoFrontKeepsDoneNonDominatedSortedByConnections) {
  const std::vector<Candidate> population = {
      Evaluated(1, 1.0, 30),
      Evaluated(2, 2.0, 10),
      Evaluated(3, 0.5, 5, headevo::v1::CANDIDATE_STATE_FAILED),  // would dominate everything
      Evaluated(4, 1.5, 30),                                      // dominated by 1
      Evaluated(5, 3.0, 2),
      Evaluated(6, 2.0, 10),  // 6 duplicates 2
      Evaluated(7, 0.1, 1, headevo::v1::CANDIDATE_STATE_PENDING)};
  std::vector<int64_t> ids;
  for (const Candidate* c : ParetoFront(population)) ids.push_back(c->id());
  EXPECT_EQ(ids, (std::vector<int64_t>{5, 2, 6, 1}));
  EXPECT_TRUE(ParetoFront({Evaluated(1, 1.0, 1, headevo::v1::CANDIDATE_STATE_FAILED)}).empty());
}

TEST(ParetoTest, ObjectivesOfCountsADivergedLossAsInfinite) {
  const Objectives o = ObjectivesOf(Evaluated(1, 0.25, 12));
  EXPECT_EQ(o.loss, 0.25);
  EXPECT_EQ(o.connections, 12.0);
  EXPECT_EQ(ObjectivesOf(Evaluated(2, std::nan(""), 12)).loss, kInf);
}

}  // namespace
}  // namespace headevo::search
