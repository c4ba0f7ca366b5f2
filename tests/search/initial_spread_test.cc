#include "search/initial_spread.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "search/reproduction.h"
#include "search/strategy.h"

namespace headevo::search {
namespace {

double MeanK(const headevo::v1::Genome& genome) {
  double total = 0;
  for (const auto& head : genome.heads()) total += head.offsets().offsets_size();
  return total / genome.heads_size();
}

TEST(InitialSpreadTest, MeanKRunsGeometricallyFromOneToTheWindow) {
  EXPECT_DOUBLE_EQ(SpreadMeanK(0, 5, 16), 1.0);
  EXPECT_DOUBLE_EQ(SpreadMeanK(1, 5, 16), 2.0);
  EXPECT_DOUBLE_EQ(SpreadMeanK(2, 5, 16), 4.0);
  EXPECT_DOUBLE_EQ(SpreadMeanK(4, 5, 16), 16.0);
  EXPECT_DOUBLE_EQ(SpreadMeanK(0, 1, 16), 1.0);
  EXPECT_DOUBLE_EQ(SpreadMeanK(3, 4, 1), 1.0);
}

TEST(InitialSpreadTest, ThePopulationCoversOneToTheWholeWindow) {
  HeadDistribution dist;
  dist.window = 16;
  dist.count.family = CountFamily::kFixed;
  Rng rng(4);
  const std::vector<headevo::v1::Genome> genomes = MakeInitialPopulation(2, 4, dist, 8, true, rng);
  ASSERT_EQ(genomes.size(), 8u);
  for (size_t i = 0; i < genomes.size(); ++i) {
    const double expected = std::round(SpreadMeanK(static_cast<int>(i), 8, 16));
    for (const auto& head : genomes[i].heads()) {
      EXPECT_EQ(head.offsets().offsets_size(), expected) << "candidate " << i;
      EXPECT_EQ(head.origin(), headevo::v1::HEAD_ORIGIN_INITIAL);
    }
  }
  // The first candidate is as cheap as a head can be; the last is a full local window.
  EXPECT_EQ(MeanK(genomes.front()), 1.0);
  const auto& last = genomes.back().heads(0).offsets().offsets();
  EXPECT_EQ(last.size(), 16);
  EXPECT_EQ(last[0], -16);
  EXPECT_EQ(last[15], -1);
  EXPECT_EQ(genomes[3].heads(0).sampler_params().substr(0, 10), "k=3 off~un");
}

TEST(InitialSpreadTest, NormalKFollowsTheSpreadOnAverage) {
  HeadDistribution dist;
  dist.window = 32;
  dist.count.stddev = 1.0;
  Rng rng(9);
  const auto genomes = MakeInitialPopulation(2, 50, dist, 6, true, rng);
  double previous = 0;
  for (size_t i = 0; i < genomes.size(); ++i) {
    const double target = SpreadMeanK(static_cast<int>(i), 6, 32);
    // k is clipped to [1, 32], which lifts the first candidate's mean a little.
    const double tolerance = i == 0 ? 0.6 : 0.2 + 0.1 * target;
    EXPECT_NEAR(MeanK(genomes[i]), target, tolerance) << "candidate " << i;
    EXPECT_GT(MeanK(genomes[i]), previous);
    previous = MeanK(genomes[i]);
  }
}

TEST(InitialSpreadTest, EachLayerSpreadsToItsOwnWindow) {
  HeadDistribution dist;
  dist.window = 8;
  dist.count.family = CountFamily::kFixed;
  dist.layer_windows.growth = 2.0;
  Rng rng(1);
  const auto genomes = MakeInitialPopulation(2, 1, dist, 3, true, rng);
  EXPECT_EQ(genomes.back().heads(0).offsets().offsets_size(), 8);
  EXPECT_EQ(genomes.back().heads(1).offsets().offsets_size(), 16);
}

TEST(InitialSpreadTest, WithoutSpreadTheDrawsAreTheOldOnes) {
  HeadDistribution dist;
  Rng a(13), b(13);
  const auto spread_off = MakeInitialPopulation(2, 4, dist, 5, false, a);
  for (const auto& genome : spread_off) {
    EXPECT_EQ(genome.SerializeAsString(), MakeInitialGenome(2, 4, dist, b).SerializeAsString());
  }
}

TEST(InitialSpreadTest, StrategySpreadsItsFirstGenerationDeterministically) {
  SearchOptions options;
  options.training = DefaultTrainingSpec();
  options.population_size = 5;
  options.initial_k_spread = true;
  options.initial.count.family = CountFamily::kFixed;
  ASSERT_TRUE(options.Validate().ok()) << options.Validate();
  Strategy a(options), b(options);
  const auto first = a.InitialGenomes();
  const auto second = b.InitialGenomes();
  ASSERT_EQ(first.size(), 5u);
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].SerializeAsString(), second[i].SerializeAsString());
  }
  EXPECT_EQ(MeanK(first.front()), 1.0);
  EXPECT_EQ(MeanK(first.back()), 16.0);
}

}  // namespace
}  // namespace headevo::search
