#include "search/evaluated_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "search/random.h"
#include "search/selection.h"
#include "search/strategy.h"
#include "tests/search/evaluated_candidate.h"
#include "tests/search/fake_search.h"

namespace headevo::search {
namespace {

using headevo::v1::Candidate;
using testing::Evaluated;
using testing::FakeSearch;

std::vector<int64_t> Ids(const std::vector<const Candidate*>& candidates) {
  std::vector<int64_t> ids;
  for (const Candidate* c : candidates) ids.push_back(c->id());
  return ids;
}

std::vector<int64_t> DoneIds(const std::vector<Candidate>& population) {
  std::vector<int64_t> ids;
  for (const Candidate& c : population) {
    if (c.state() == headevo::v1::CANDIDATE_STATE_DONE) ids.push_back(c.id());
  }
  return ids;
}

// A population that grows as a coordinator's does: new candidates arrive unfinished, and
// those in training finish (DONE with a loss, some FAILED) in an order the draws decide; with
// `promote`, DONE candidates also climb rungs with a new loss, as multi-fidelity does. After
// every change the index must answer exactly what a full scan answers.
void CheckAgainstFullScans(bool promote) {
  SelectionOptions options;
  options.connection_cost = 0.001;
  EvaluatedIndex index(options, /*fitness_may_change=*/promote);
  std::vector<Candidate> population;
  std::vector<size_t> training;
  Rng draws(7);
  for (int step = 0; step < 300; ++step) {
    for (int64_t n = draws.UniformInt(0, 2); n > 0; --n) {
      training.push_back(population.size());
      population.push_back(Evaluated(static_cast<int64_t>(population.size()) + 1, 0, 0,
                                     headevo::v1::CANDIDATE_STATE_RUNNING));
    }
    if (!training.empty() && draws.UniformInt(0, 3) > 0) {
      const size_t pick = static_cast<size_t>(draws.UniformInt(0, training.size() - 1));
      Candidate& c = population[training[pick]];
      training.erase(training.begin() + static_cast<std::ptrdiff_t>(pick));
      // Some losses tie, so the order falls back to the id.
      c.mutable_metrics()->set_val_loss(0.25 * static_cast<double>(draws.UniformInt(0, 8)));
      c.mutable_metrics()->set_connections(draws.UniformInt(1, 40));
      c.set_state(draws.UniformInt(0, 5) == 0 ? headevo::v1::CANDIDATE_STATE_FAILED
                                              : headevo::v1::CANDIDATE_STATE_DONE);
    }
    if (promote && !population.empty() && draws.UniformInt(0, 2) == 0) {
      Candidate& c = population[draws.UniformInt(0, population.size() - 1)];
      if (c.state() == headevo::v1::CANDIDATE_STATE_DONE) {
        c.set_rung(c.rung() + 1);
        c.mutable_metrics()->set_val_loss(0.1 * static_cast<double>(draws.UniformInt(0, 9)));
      }
    }
    ASSERT_TRUE(index.Sync(population)) << "step " << step;
    SCOPED_TRACE(::testing::Message() << "step " << step);
    EXPECT_EQ(Ids(index.Evaluated()), DoneIds(population));
    ASSERT_EQ(index.evaluated_count(), DoneIds(population).size());
    for (size_t i = 0; i < index.evaluated_count(); ++i) {
      EXPECT_EQ(index.EvaluatedAt(i)->id(), DoneIds(population)[i]);
    }
    for (int limit : {1, 4, 64}) {
      EXPECT_EQ(Ids(index.Fittest(limit)), Ids(RankByFitness(population, options, limit)));
    }
    for (SelectionMethod method : {SelectionMethod::kTruncation, SelectionMethod::kTournament,
                                   SelectionMethod::kAging, SelectionMethod::kNsga2}) {
      SelectionOptions selection = options;
      selection.method = method;
      selection.aging_window = 10;
      Rng a(static_cast<uint64_t>(step) + 1), b(static_cast<uint64_t>(step) + 1);
      EXPECT_EQ(Ids(SelectParents(index, selection, 5, a)),
                Ids(SelectParents(population, selection, 5, b)))
          << SelectionMethodName(method);
    }
    if (!population.empty()) {
      const int64_t id = draws.UniformInt(1, static_cast<int64_t>(population.size()));
      ASSERT_NE(index.Find(id), nullptr);
      EXPECT_EQ(index.Find(id), &population[id - 1]);
    }
  }
  EXPECT_EQ(index.Find(0), nullptr);
}

TEST(EvaluatedIndexTest, AgreesWithFullScansAsCandidatesFinishOutOfOrder) {
  CheckAgainstFullScans(/*promote=*/false);
}

TEST(EvaluatedIndexTest, AgreesWithFullScansWhenPromotionsChangeFitness) {
  CheckAgainstFullScans(/*promote=*/true);
}

TEST(EvaluatedIndexTest, APopulationThatDoesNotContinueTheLastIsIndexedAfresh) {
  EvaluatedIndex index(SelectionOptions{}, false);
  const std::vector<Candidate> first = {Evaluated(1, 0.5, 1), Evaluated(2, 0.4, 1)};
  ASSERT_TRUE(index.Sync(first));
  EXPECT_EQ(Ids(index.Fittest(1)), (std::vector<int64_t>{2}));
  // Another candidate where one was seen: nothing of the first may leak into the answers.
  const std::vector<Candidate> other = {Evaluated(1, 0.5, 1), Evaluated(7, 0.9, 1),
                                        Evaluated(8, 0.1, 1)};
  EXPECT_FALSE(index.Sync(other));
  EXPECT_EQ(Ids(index.Fittest(3)), (std::vector<int64_t>{8, 1, 7}));
  EXPECT_EQ(index.Find(2), nullptr);
  // Shorter than what was seen.
  const std::vector<Candidate> shorter = {Evaluated(1, 0.5, 1)};
  EXPECT_FALSE(index.Sync(shorter));
  EXPECT_EQ(Ids(index.Evaluated()), (std::vector<int64_t>{1}));
}

// Steady state with children finishing out of order: a strategy that keeps its index across
// calls must breed exactly what a strategy restored from the same state before each call (a
// fresh index, every scan from the start) breeds, for selection that reads the fittest
// (truncation) and the pool in creation order (tournament), and for a sampler that learns
// from rewards (adaptive) and one that reads the fittest's heads (best).
TEST(EvaluatedIndexTest, SteadyStateChildrenDoNotDependOnWhatTheIndexKept) {
  for (SelectionMethod method : {SelectionMethod::kTruncation, SelectionMethod::kTournament}) {
    for (Sampler sampler : {Sampler::kAdaptive, Sampler::kBest}) {
      SCOPED_TRACE(std::string(SelectionMethodName(method)) + " " +
                   std::string(SamplerName(sampler)));
      SearchOptions options;
      options.seed = 5;
      options.population_size = 6;
      options.training = DefaultTrainingSpec();
      options.selection.method = method;
      options.resampling.sampler = sampler;
      options.pruning.fraction = 0.25;
      ASSERT_TRUE(options.Validate().ok()) << options.Validate();
      Strategy kept(options);
      FakeSearch search;
      search.AddInitialGeneration(kept);
      std::vector<size_t> training;
      Rng draws(11);
      for (int child = 0; child < 60; ++child) {
        const headevo::v1::StrategyState state = kept.SaveState();
        absl::StatusOr<ChildPlan> plan = kept.NextChild(search.population);
        ASSERT_TRUE(plan.ok()) << plan.status();
        if (child % 7 == 3) {
          // As the coordinator does when a child cannot be stored: back to the state before
          // the call, and the same child again.
          ASSERT_TRUE(kept.RestoreState(state).ok());
          absl::StatusOr<ChildPlan> retry = kept.NextChild(search.population);
          ASSERT_TRUE(retry.ok()) << retry.status();
          ASSERT_EQ(plan->genome.SerializeAsString(), retry->genome.SerializeAsString());
        }
        Strategy fresh(options);
        ASSERT_TRUE(fresh.RestoreState(state).ok());
        absl::StatusOr<ChildPlan> again = fresh.NextChild(search.population);
        ASSERT_TRUE(again.ok()) << again.status();
        ASSERT_EQ(plan->parent_id, again->parent_id) << "child " << child;
        ASSERT_EQ(plan->genome.SerializeAsString(), again->genome.SerializeAsString());
        ASSERT_EQ(kept.SaveState().SerializeAsString(), fresh.SaveState().SerializeAsString());
        // The child trains: it is DONE (FakeSearch scores it) only when the draws say.
        search.AddChild(1, *plan);
        search.population.back().set_state(headevo::v1::CANDIDATE_STATE_RUNNING);
        training.push_back(search.population.size() - 1);
        while (!training.empty() && draws.UniformInt(0, 2) > 0) {
          const size_t pick = static_cast<size_t>(draws.UniformInt(0, training.size() - 1));
          search.population[training[pick]].set_state(headevo::v1::CANDIDATE_STATE_DONE);
          training.erase(training.begin() + static_cast<std::ptrdiff_t>(pick));
        }
      }
    }
  }
}

}  // namespace
}  // namespace headevo::search
