// Pins the lineages that default options give, so that new, opt-in operators (a k-spread
// initial population, proportional shifts, a local block, per-layer windows) provably leave
// every existing config's lineage bit-identical. A digest changes only when a draw, an offset
// or a recorded description does; a deliberate change of the defaults updates these numbers
// and says so in its commit.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "search/k_sweep_plan.h"
#include "search/reproduction.h"
#include "search/strategy.h"
#include "tests/search/fake_search.h"

namespace headevo::search {
namespace {

using testing::FakeSearch;

// FNV-1a, 64 bits: stable everywhere, unlike std::hash.
uint64_t Digest(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string Render(const headevo::v1::Genome& genome) {
  std::string text;
  for (const headevo::v1::Head& h : genome.heads()) {
    absl::StrAppend(&text, h.id(), "@", h.layer(), "{",
                    absl::StrJoin(h.offsets().offsets(), ","), "}", h.origin(), "/", h.sampler(),
                    "/", h.source_head_id(), "/", h.extra_key_width(), " ", h.sampler_params(),
                    "\n");
  }
  return text;
}

std::string Render(const FakeSearch& search) {
  std::string text;
  for (const headevo::v1::Candidate& c : search.population) {
    absl::StrAppend(&text, "candidate ", c.id(), " gen ", c.generation(), " parent ",
                    c.parent_id(), ": ", c.mutation().description(), "\n", Render(c.genome()));
  }
  return text;
}

SearchOptions Options(Sampler sampler) {
  SearchOptions o;
  o.seed = 23;
  o.population_size = 6;
  o.training = DefaultTrainingSpec();
  o.selection.method = SelectionMethod::kTournament;
  o.resampling.sampler = sampler;
  o.resampling.arms = {Sampler::kUniform, Sampler::kBest, Sampler::kFitted, Sampler::kGrowth};
  o.inherit_weights = true;
  o.pruning.fraction = 0.25;
  return o;
}

uint64_t GenerationalDigest(const SearchOptions& options) {
  Strategy strategy(options);
  FakeSearch search;
  search.AddInitialGeneration(strategy);
  for (int g = 0; g < 3; ++g) {
    absl::StatusOr<std::vector<ChildPlan>> plans = strategy.NextGeneration(search.population);
    EXPECT_TRUE(plans.ok()) << plans.status();
    if (!plans.ok()) return 0;
    for (const ChildPlan& plan : *plans) search.AddChild(strategy.generation(), plan);
  }
  return Digest(Render(search));
}

uint64_t SteadyStateDigest(const SearchOptions& options) {
  Strategy strategy(options);
  FakeSearch search;
  search.AddInitialGeneration(strategy);
  for (int i = 0; i < 12; ++i) {
    absl::StatusOr<ChildPlan> plan = strategy.NextChild(search.population);
    EXPECT_TRUE(plan.ok()) << plan.status();
    if (!plan.ok()) return 0;
    search.AddChild(1, *plan);
  }
  return Digest(Render(search));
}

TEST(DefaultLineageTest, EverySamplerKeepsItsLineage) {
  const std::pair<Sampler, uint64_t> expected[] = {
      {Sampler::kUniform, 149406378708298425ull},  {Sampler::kBest, 10901257902475447161ull},
      {Sampler::kFitted, 8927300641298782977ull},  {Sampler::kGrowth, 7289040103417195593ull},
      {Sampler::kAdaptive, 8352783940579566520ull},
  };
  for (const auto& [sampler, digest] : expected) {
    SCOPED_TRACE(SamplerName(sampler));
    const SearchOptions options = Options(sampler);
    ASSERT_TRUE(options.Validate().ok()) << options.Validate();
    EXPECT_EQ(GenerationalDigest(options), digest);
  }
}

TEST(DefaultLineageTest, SteadyStateKeepsItsLineage) {
  const std::pair<Sampler, uint64_t> expected[] = {
      {Sampler::kBest, 8137528888139924745ull},
      {Sampler::kAdaptive, 5224152602200324858ull},
  };
  for (const auto& [sampler, digest] : expected) {
    SCOPED_TRACE(SamplerName(sampler));
    EXPECT_EQ(SteadyStateDigest(Options(sampler)), digest);
  }
}

TEST(DefaultLineageTest, EveryInitialDistributionKeepsItsDraws) {
  std::vector<HeadDistribution> dists(7);
  dists[1].offsets.family = OffsetFamily::kNormal;
  dists[1].offsets.scale = 3.0;
  dists[2].offsets.family = OffsetFamily::kGamma;
  dists[2].count.family = CountFamily::kPoisson;
  dists[3].offsets.family = OffsetFamily::kLogUniform;
  dists[3].count.family = CountFamily::kFixed;
  dists[4].offsets.family = OffsetFamily::kDilated;
  dists[5].offsets.family = OffsetFamily::kStudentT;
  dists[5].causal = false;
  dists[5].negative_fraction = 0.3;
  dists[6].causal = false;
  dists[6].allow_zero = true;
  const uint64_t expected[] = {1841489313195300394ull,  15111485837375168633ull,
                               5574709300884613525ull,  2237710049493762481ull,
                               13902440272152962496ull, 11357664814200456334ull,
                               10732992488050319442ull};
  for (size_t i = 0; i < dists.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(dists[i].Validate().ok()) << dists[i].Validate();
    Rng rng(5 + i);
    EXPECT_EQ(Digest(Render(MakeInitialGenome(3, 4, dists[i], rng))), expected[i]);
  }
}

TEST(DefaultLineageTest, KSweepKeepsItsHeadSets) {
  SearchOptions options = Options(Sampler::kUniform);
  options.mode = SearchMode::kKSweep;
  std::string text;
  for (int step = 0; step < 3; ++step) {
    for (const headevo::v1::Candidate& c : KSweepStepCandidates(options, step, 8.0 / (1 << step))) {
      absl::StrAppend(&text, c.mutation().description(), "\n", Render(c.genome()));
    }
  }
  EXPECT_EQ(Digest(text), 14956786015184053802ull);
}

}  // namespace
}  // namespace headevo::search
