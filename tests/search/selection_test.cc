#include "search/selection.h"

#include <gtest/gtest.h>

namespace headevo::search {
namespace {

headevo::v1::Candidate Evaluated(int64_t id, double loss, int connections,
                                 headevo::v1::CandidateState state =
                                     headevo::v1::CANDIDATE_STATE_DONE) {
  headevo::v1::Candidate c;
  c.set_id(id);
  c.set_state(state);
  c.mutable_metrics()->set_val_loss(loss);
  c.mutable_metrics()->set_connections(connections);
  return c;
}

std::vector<int64_t> Ids(const std::vector<const headevo::v1::Candidate*>& ranked) {
  std::vector<int64_t> ids;
  for (const auto* c : ranked) ids.push_back(c->id());
  return ids;
}

TEST(SelectionTest, FittestFirstSkippingUnfinishedAndBreakingTiesById) {
  const std::vector<headevo::v1::Candidate> population = {
      Evaluated(1, 0.9, 10), Evaluated(2, 0.5, 30),
      Evaluated(3, 0.1, 5, headevo::v1::CANDIDATE_STATE_FAILED), Evaluated(4, 0.5, 10),
      Evaluated(5, 0.7, 10)};
  SelectionOptions options;
  options.num_parents = 3;
  EXPECT_EQ(Ids(SelectParents(population, options)), (std::vector<int64_t>{2, 4, 5}));
  // With a price per connection the cheaper of two equal losses wins, and a cheap worse model
  // can overtake an expensive better one.
  options.connection_cost = 0.01;
  EXPECT_EQ(Ids(SelectParents(population, options)), (std::vector<int64_t>{4, 5, 2}));
  EXPECT_DOUBLE_EQ(Fitness(population[1], options), 0.8);
}

TEST(SelectionTest, NoEvaluatedCandidateNoParents) {
  const std::vector<headevo::v1::Candidate> population = {
      Evaluated(1, 0.1, 1, headevo::v1::CANDIDATE_STATE_PENDING)};
  EXPECT_TRUE(SelectParents(population, SelectionOptions{}).empty());
}

TEST(SelectionTest, ValidateRejectsNonsense) {
  SelectionOptions options;
  options.num_parents = 0;
  EXPECT_NE(options.Validate().message().find("parents"), std::string::npos);
  options.num_parents = 1;
  options.connection_cost = -1;
  EXPECT_NE(options.Validate().message().find("connection_cost"), std::string::npos);
}

}  // namespace
}  // namespace headevo::search
