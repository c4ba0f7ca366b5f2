// The pure multi-fidelity rules: rung budgets, ranking within a rung (fitness or Pareto),
// ASHA's promotion rule, and selection that never weighs a first-rung loss against a final one.
#include "search/fidelity.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "search/random.h"
#include "search/selection.h"

namespace headevo::search {
namespace {

using headevo::v1::Candidate;

// A DONE candidate with `losses[r]` at rung r (its rung is the last), `connections`.
Candidate Finished(int64_t id, std::vector<double> losses, int64_t connections) {
  Candidate c;
  c.set_id(id);
  c.set_state(headevo::v1::CANDIDATE_STATE_DONE);
  for (size_t r = 0; r < losses.size(); ++r) {
    headevo::v1::RungResult* result = c.add_rungs();
    result->set_rung(static_cast<int>(r));
    result->set_val_loss(losses[r]);
  }
  c.set_rung(static_cast<int>(losses.size()) - 1);
  c.mutable_metrics()->set_val_loss(losses.back());
  c.mutable_metrics()->set_connections(connections);
  return c;
}

TEST(FidelityTest, RungsGrowByTheFactorUpToTheFullBudget) {
  FidelityOptions options;
  EXPECT_EQ(RungSteps(options, 90), std::vector<int>({90})) << "off: one rung";
  options.enabled = true;
  options.min_steps = 10;
  options.reduction_factor = 3;
  EXPECT_EQ(RungSteps(options, 90), std::vector<int>({10, 30, 90}));
  EXPECT_EQ(RungSteps(options, 100), std::vector<int>({10, 30, 90, 100}));
  options.reduction_factor = 4;
  EXPECT_EQ(RungSteps(options, 100), std::vector<int>({10, 40, 100}));
  const std::vector<int> rungs = RungSteps(options, 100);
  EXPECT_EQ(StepsToRung(rungs, 0), 10);
  EXPECT_EQ(StepsToRung(rungs, 2), 60);
}

TEST(FidelityTest, ValidateNamesTheKey) {
  FidelityOptions options;
  options.enabled = true;
  options.min_steps = 90;
  absl::Status s = options.Validate(90);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("min_steps"), std::string::npos) << s;
  options.min_steps = 10;
  options.reduction_factor = 1.5;
  s = options.Validate(90);
  EXPECT_NE(s.message().find("reduction_factor"), std::string::npos) << s;
  options.reduction_factor = 3;
  EXPECT_TRUE(options.Validate(90).ok());
  options.enabled = false;
  options.min_steps = 0;
  EXPECT_TRUE(options.Validate(90).ok()) << "off: nothing to check";
}

TEST(FidelityTest, PromotesTheBestOfTheHighestRungInItsTopThird) {
  // Rung 0: six finished (ids 1-6, loss = id / 10); 2 (top third) may go on.
  std::vector<Candidate> population;
  for (int id = 1; id <= 6; ++id) population.push_back(Finished(id, {id / 10.0}, 4));
  SelectionOptions selection;
  std::optional<Promotion> p = NextPromotion(population, 3, 3.0, selection, {});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->candidate_id, 1);
  EXPECT_EQ(p->to_rung, 1);
  // Candidate 1 is being promoted: the next is 2; after that nobody (3 is not in the top 2).
  p = NextPromotion(population, 3, 3.0, selection, {1});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->candidate_id, 2);
  EXPECT_FALSE(NextPromotion(population, 3, 3.0, selection, {1, 2}).has_value());

  // Once 1 and 2 finished rung 1 with 3 of rung 1... only 2 finished it: floor(2/3) = 0 there.
  population[0] = Finished(1, {0.1, 0.05}, 4);
  population[1] = Finished(2, {0.2, 0.04}, 4);
  EXPECT_FALSE(NextPromotion(population, 3, 3.0, selection, {}).has_value());
  // A third at rung 1 makes its best (candidate 2, 0.04) eligible for the top rung, which
  // comes before anything of rung 0.
  population[2] = Finished(3, {0.3, 0.06}, 4);
  p = NextPromotion(population, 3, 3.0, selection, {});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->candidate_id, 2);
  EXPECT_EQ(p->to_rung, 2);
  // The top rung is never promoted from.
  EXPECT_FALSE(NextPromotion({Finished(9, {0.1, 0.1, 0.1}, 1)}, 3, 3.0, selection, {}).has_value());
}

TEST(FidelityTest, Nsga2RanksARungByParetoFrontsNotByLossAlone) {
  // Loss alone would promote 1 (0.10, 40 connections); on (loss, connections) candidates 1,
  // 2 and 3 share the first front, and crowding favours its ends (1 and 3) over the middle.
  std::vector<Candidate> population = {
      Finished(1, {0.10}, 40), Finished(2, {0.20}, 20), Finished(3, {0.30}, 5),
      Finished(4, {0.40}, 30), Finished(5, {0.50}, 35), Finished(6, {0.60}, 50)};
  SelectionOptions nsga2;
  nsga2.method = SelectionMethod::kNsga2;
  const std::vector<const Candidate*> ranked = RankAtRung(population, 0, nsga2);
  ASSERT_EQ(ranked.size(), 6u);
  const std::set<int64_t> top = {ranked[0]->id(), ranked[1]->id()};
  EXPECT_EQ(top, std::set<int64_t>({1, 3})) << "the front's extremes (infinite crowding)";
  EXPECT_EQ(ranked[2]->id(), 2);

  SelectionOptions by_loss;
  EXPECT_EQ(RankAtRung(population, 0, by_loss)[1]->id(), 2);
  // With a price per connection, fitness ranks 3 (0.30 + 0.05) before 2 (0.20 + 0.2).
  by_loss.connection_cost = 0.01;
  EXPECT_EQ(RankAtRung(population, 0, by_loss)[0]->id(), 3);
}

TEST(FidelityTest, SelectionRanksAHigherRungAboveAnyLowerOne) {
  // Candidate 2 has the lowest loss, but at the first rung; 1 finished the second.
  std::vector<Candidate> population = {Finished(1, {0.5, 0.4}, 4), Finished(2, {0.1}, 4)};
  SelectionOptions selection;
  EXPECT_TRUE(IsFitter(population[0], population[1], selection));
  EXPECT_EQ(RankByFitness(population, selection, 1).front()->id(), 1);
  SelectionOptions nsga2;
  nsga2.method = SelectionMethod::kNsga2;
  nsga2.tournament_size = 2;
  Rng rng(3);
  int wins_of_1 = 0;
  for (const Candidate* parent : SelectParents(population, nsga2, 50, rng)) {
    wins_of_1 += parent->id() == 1;
  }
  // A tournament of two picks 2 only when it draws 2 twice: about a quarter of the time.
  EXPECT_GT(wins_of_1, 25);
  EXPECT_LT(wins_of_1, 50);
}

}  // namespace
}  // namespace headevo::search
