#include "search/selection.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "search/random.h"
#include "tests/search/evaluated_candidate.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::search {
namespace {

using headevo::v1::Candidate;

using testing::Evaluated;

std::vector<int64_t> Ids(const std::vector<const Candidate*>& ranked) {
  std::vector<int64_t> ids;
  for (const auto* c : ranked) ids.push_back(c->id());
  return ids;
}

// Replays the draws SelectParents makes for `count` tournaments of `size` over `pool` eligible
// candidates: the contract is that each parent is the best of exactly these.
std::vector<std::vector<int>> Draws(uint64_t seed, int pool, int size, int count) {
  Rng rng(seed);
  std::vector<std::vector<int>> draws(count);
  for (auto& d : draws) {
    for (int i = 0; i < size; ++i) d.push_back(static_cast<int>(rng.UniformInt(0, pool - 1)));
  }
  return draws;
}

const std::vector<Candidate> kMixed = {Evaluated(1, 0.9, 10),
                                       Evaluated(2, 0.5, 30),
                                       Evaluated(3, 0.1, 5, headevo::v1::CANDIDATE_STATE_FAILED),
                                       Evaluated(4, 0.5, 10),
                                       Evaluated(5, 0.7, 10),
                                       Evaluated(6, 0.05, 1, headevo::v1::CANDIDATE_STATE_PENDING)};

TEST(SelectionTest, TruncationCyclesThroughTheFittestSkippingUnfinished) {
  SelectionOptions options;
  options.num_parents = 3;
  Rng rng(1);
  const Rng::State before = rng.GetState();
  EXPECT_EQ(Ids(SelectParents(kMixed, options, 7, rng)),
            (std::vector<int64_t>{2, 4, 5, 2, 4, 5, 2}));
  // Truncation is deterministic, so it must not disturb the stream other decisions use.
  EXPECT_EQ(rng.GetState().s0, before.s0);
  EXPECT_EQ(rng.GetState().s1, before.s1);
  // With a price per connection the cheaper of two equal losses wins, and a cheap worse model
  // can overtake an expensive better one.
  options.connection_cost = 0.01;
  EXPECT_EQ(Ids(SelectParents(kMixed, options, 3, rng)), (std::vector<int64_t>{4, 5, 2}));
  EXPECT_DOUBLE_EQ(Fitness(kMixed[1], options), 0.8);
  EXPECT_EQ(Ids(RankByFitness(kMixed, options, 10)), (std::vector<int64_t>{4, 5, 2, 1}));
}

TEST(SelectionTest, NoEvaluatedCandidateNoParents) {
  const std::vector<Candidate> population = {
      Evaluated(1, 0.1, 1, headevo::v1::CANDIDATE_STATE_PENDING),
      Evaluated(2, 0.1, 1, headevo::v1::CANDIDATE_STATE_FAILED)};
  for (auto method : {SelectionMethod::kTruncation, SelectionMethod::kTournament,
                      SelectionMethod::kAging, SelectionMethod::kNsga2}) {
    SelectionOptions options;
    options.method = method;
    Rng rng(1);
    EXPECT_TRUE(SelectParents(population, options, 4, rng).empty()) << SelectionMethodName(method);
    EXPECT_TRUE(SelectParents(kMixed, options, 0, rng).empty()) << SelectionMethodName(method);
  }
}

TEST(SelectionTest, TournamentWinnerIsTheFittestOfItsDraws) {
  SelectionOptions options;
  options.method = SelectionMethod::kTournament;
  options.tournament_size = 2;
  // The eligible pool in creation order: ids 1, 2, 4, 5; fitness order 2, 4, 5, 1.
  const std::vector<int64_t> pool = {1, 2, 4, 5};
  const std::vector<int> fitness_rank = {3, 0, 1, 2};
  Rng rng(42);
  const std::vector<int64_t> parents = Ids(SelectParents(kMixed, options, 50, rng));
  const auto draws = Draws(42, 4, 2, 50);
  for (int p = 0; p < 50; ++p) {
    int best = draws[p][0];
    for (int d : draws[p]) best = fitness_rank[d] < fitness_rank[best] ? d : best;
    EXPECT_EQ(parents[p], pool[best]) << "parent " << p;
  }
}

TEST(SelectionTest, LargeTournamentAlwaysFindsTheFittest) {
  SelectionOptions options;
  options.method = SelectionMethod::kTournament;
  // With replacement a tournament as large as the pool can still miss the fittest; 64 draws
  // over 4 eligible miss it with probability (3/4)^64 < 1e-7 per parent.
  options.tournament_size = 64;
  Rng rng(3);
  for (const Candidate* parent : SelectParents(kMixed, options, 100, rng)) {
    EXPECT_EQ(parent->id(), 2);
  }
}

TEST(SelectionTest, TournamentOfOneReachesEveryEligibleAndNoUnfinished) {
  SelectionOptions options;
  options.method = SelectionMethod::kTournament;
  options.tournament_size = 1;
  Rng rng(5);
  std::set<int64_t> seen;
  for (const Candidate* parent : SelectParents(kMixed, options, 200, rng)) {
    seen.insert(parent->id());
  }
  EXPECT_EQ(seen, (std::set<int64_t>{1, 2, 4, 5}));
}

TEST(SelectionTest, AgingNeverSelectsACandidateOutsideTheWindow) {
  // The globally fittest (id 1) is the oldest; in the window the fittest is id 8.
  std::vector<Candidate> population = {Evaluated(1, 0.01, 10)};
  const double losses[] = {0.9, 0.8, 0.7, 0.6, 0.5, 0.3, 0.2, 0.4};
  for (int i = 0; i < 8; ++i) population.push_back(Evaluated(i + 2, losses[i], 10));
  // An unfinished young candidate does not take a place in the window.
  population.push_back(Evaluated(10, 0.001, 10, headevo::v1::CANDIDATE_STATE_FAILED));
  SelectionOptions options;
  options.method = SelectionMethod::kAging;
  options.aging_window = 4;  // alive: ids 6, 7, 8, 9
  options.tournament_size = 1;
  Rng rng(11);
  std::set<int64_t> seen;
  for (const Candidate* p : SelectParents(population, options, 200, rng)) seen.insert(p->id());
  EXPECT_EQ(seen, (std::set<int64_t>{6, 7, 8, 9}));

  options.tournament_size = 64;
  for (const Candidate* p : SelectParents(population, options, 100, rng)) {
    EXPECT_EQ(p->id(), 8);
  }
  // Window 0 means one generation: `count` candidates, here ids 7, 8, 9.
  options.aging_window = 0;
  options.tournament_size = 1;
  seen.clear();
  for (int i = 0; i < 50; ++i) {
    for (const Candidate* p : SelectParents(population, options, 3, rng)) seen.insert(p->id());
  }
  EXPECT_EQ(seen, (std::set<int64_t>{7, 8, 9}));
}

// Front 0: ids 1 (1.0, 10), 2 (2.0, 5), 3 (3.0, 1); 2 is interior, 1 and 3 are extremes.
// Front 1: id 4 (3.0, 10); front 2: id 5 (4.0, 20), dominated by every other candidate.
const std::vector<Candidate> kFronts = {Evaluated(4, 3.0, 10), Evaluated(2, 2.0, 5),
                                        Evaluated(5, 4.0, 20), Evaluated(3, 3.0, 1),
                                        Evaluated(1, 1.0, 10)};

TEST(SelectionTest, Nsga2WinnerIsTheBestOfItsDrawsByCrowdedComparison) {
  SelectionOptions options;
  options.method = SelectionMethod::kNsga2;
  options.tournament_size = 2;
  // Crowded-comparison order of the pool (creation order, ids 4 2 5 3 1): 1 and 3 (front 0,
  // infinite crowding; lower id first), 2, 4, 5.
  const std::vector<int> order = {3, 2, 4, 1, 0};
  Rng rng(9);
  const std::vector<const Candidate*> parents = SelectParents(kFronts, options, 60, rng);
  const auto draws = Draws(9, 5, 2, 60);
  for (int p = 0; p < 60; ++p) {
    int best = draws[p][0];
    for (int d : draws[p]) best = order[d] < order[best] ? d : best;
    EXPECT_EQ(parents[p], &kFronts[best]) << "parent " << p;
  }
}

TEST(SelectionTest, Nsga2NeverSelectsACandidateEveryOtherDominates) {
  SelectionOptions options;
  options.method = SelectionMethod::kNsga2;
  // A tournament as large as the pool loses to id 5 only if every draw is id 5; at 32 draws
  // the winner is an extreme of the first front (1 or 3, both infinitely crowded) in practice.
  for (int size : {5, 32}) {
    options.tournament_size = size;
    for (uint64_t seed : {1, 2, 3}) {
      Rng rng(seed);
      for (const Candidate* p : SelectParents(kFronts, options, 100, rng)) {
        EXPECT_NE(p->id(), 5) << "size " << size << " seed " << seed;
        if (size == 32) {
          EXPECT_TRUE(p->id() == 1 || p->id() == 3) << p->id();
        }
      }
    }
  }
}

TEST(SelectionTest, SameSeedSameParentsDifferentSeedDifferentParents) {
  std::vector<Candidate> population;
  for (int i = 1; i <= 10; ++i) population.push_back(Evaluated(i, 1.0 / i, 11 - i));
  for (auto method :
       {SelectionMethod::kTournament, SelectionMethod::kAging, SelectionMethod::kNsga2}) {
    SelectionOptions options;
    options.method = method;
    options.tournament_size = 2;
    options.aging_window = 8;
    Rng a(7), b(7), c(8);
    const auto first = Ids(SelectParents(population, options, 20, a));
    EXPECT_EQ(first, Ids(SelectParents(population, options, 20, b))) << SelectionMethodName(method);
    EXPECT_NE(first, Ids(SelectParents(population, options, 20, c))) << SelectionMethodName(method);
  }
}

TEST(SelectionTest, ValidateNamesTheBadField) {
  SelectionOptions options;
  EXPECT_OK(options.Validate());
  options.num_parents = 0;
  EXPECT_NE(options.Validate().message().find("parents"), std::string::npos);
  options = SelectionOptions{};
  options.connection_cost = -1;
  EXPECT_NE(options.Validate().message().find("connection_cost"), std::string::npos);
  options = SelectionOptions{};
  options.tournament_size = 0;
  EXPECT_NE(options.Validate().message().find("tournament_size"), std::string::npos);
  options = SelectionOptions{};
  options.aging_window = -1;
  EXPECT_EQ(options.Validate().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(options.Validate().message().find("aging_window"), std::string::npos);
}

TEST(SelectionTest, MethodNamesRoundTripAndUnknownNamesListTheChoices) {
  for (auto method : {SelectionMethod::kTruncation, SelectionMethod::kTournament,
                      SelectionMethod::kAging, SelectionMethod::kNsga2}) {
    ASSERT_OK_AND_ASSIGN(const SelectionMethod parsed,
                         ParseSelectionMethod(SelectionMethodName(method)));
    EXPECT_EQ(parsed, method);
  }
  const absl::StatusOr<SelectionMethod> unknown = ParseSelectionMethod("roulette");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  for (const char* name : {"roulette", "truncation", "tournament", "aging", "nsga2"}) {
    EXPECT_NE(unknown.status().message().find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace headevo::search
