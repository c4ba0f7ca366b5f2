// Lineage queries on a small hand-built lineage whose answers can be worked out by hand:
//
//   A (gen 0: h1 L0{-3,-1}, h2 L0{-17,-5,-2}, h3 L1{-1})      val 3.0, 6 connections
//   +-- B (gen 1: prunes h2, adds h4 L0{-2}, a copy of h1)    val 2.0, 4 connections
//   |   +-- D (gen 2: carries B's heads)                      val 2.0, 5 connections
//   +-- C (gen 1: prunes h1, adds h5 L0{-4})                  val 2.5, 3 connections
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/storage/candidate_builders.h"
#include "tests/storage/storage_test_util.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::testing {
namespace {

using headevo::v1::Candidate;
using headevo::v1::HEAD_ORIGIN_INHERITED;
using headevo::v1::HEAD_ORIGIN_INITIAL;
using headevo::v1::HEAD_ORIGIN_SAMPLED;
using storage::LineageNode;

std::vector<int64_t> Ids(const std::vector<LineageNode>& nodes) {
  std::vector<int64_t> ids;
  for (const LineageNode& n : nodes) ids.push_back(n.candidate_id);
  return ids;
}

class QueriesTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    a_ = Insert(MakeRoot(search_id_));
    h1_ = a_.genome().heads(0).id();
    h2_ = a_.genome().heads(1).id();
    h3_ = a_.genome().heads(2).id();
    b_ = Insert(MakeCandidate(
        search_id_, 1, a_.id(), 2,
        {Carry(a_, 0),
         NewHead(0, {-2}, HEAD_ORIGIN_SAMPLED, headevo::v1::SAMPLER_BEST, "copy of h1: shift", h1_),
         Carry(a_, 2)},
        {h2_}, "prune head " + std::to_string(h2_) + " (lowest rank)"));
    c_ = Insert(MakeCandidate(search_id_, 1, a_.id(), 2,
                              {Carry(a_, 1), Carry(a_, 2), NewHead(0, {-4}, HEAD_ORIGIN_SAMPLED)},
                              {h1_}, "prune head " + std::to_string(h1_) + " (duplicate)"));
    d_ = Insert(MakeCandidate(search_id_, 2, b_.id(), 2, {Carry(b_, 0), Carry(b_, 1), Carry(b_, 2)},
                              {}, "copy"));
    h4_ = b_.genome().heads(1).id();
    Record(a_, 3.0, 6);
    Record(b_, 2.0, 4);
    Record(c_, 2.5, 3);
    Record(d_, 2.0, 5);
  }

  void Record(const Candidate& c, double val_loss, int connections) {
    headevo::v1::EvaluationResult result;
    result.set_candidate_id(c.id());
    result.mutable_metrics()->set_val_loss(val_loss);
    result.mutable_metrics()->set_connections(connections);
    for (const auto& head : c.genome().heads()) {
      auto* stats = result.add_head_stats();
      stats->set_head_id(head.id());
      stats->set_layer(head.layer());
      stats->set_entropy(val_loss / 10.0);  // which candidate the stats came from
      stats->set_most_similar_head_id(c.genome().heads(0).id());
    }
    ASSERT_OK(store_->RecordResult(result));
  }

  Candidate a_, b_, c_, d_;
  int64_t h1_ = 0, h2_ = 0, h3_ = 0, h4_ = 0;
};

TEST_F(QueriesTest, AncestorChainWalksToTheRootChildFirst) {
  ASSERT_OK_AND_ASSIGN(std::vector<LineageNode> chain, store_->AncestorChain(d_.id()));
  EXPECT_EQ(Ids(chain), (std::vector<int64_t>{d_.id(), b_.id(), a_.id()}));
  EXPECT_EQ(chain[0].depth, 0);
  EXPECT_EQ(chain[2].depth, 2);
  EXPECT_EQ(chain[1].parent_id, a_.id());
  EXPECT_EQ(chain[2].parent_id, 0);
  EXPECT_EQ(chain[1].generation, 1);
  EXPECT_DOUBLE_EQ(chain[1].val_loss, 2.0);
  EXPECT_EQ(chain[1].connections, 4);
  EXPECT_EQ(chain[1].state, headevo::v1::CANDIDATE_STATE_DONE);
  EXPECT_EQ(chain[0].mutation, "copy");
  EXPECT_TRUE(IsError(store_->AncestorChain(999).status(), absl::StatusCode::kNotFound, "999"));
}

TEST_F(QueriesTest, DescendantsComeDepthFirstWithChildrenInIdOrder) {
  ASSERT_OK_AND_ASSIGN(std::vector<LineageNode> tree, store_->Descendants(a_.id(), -1));
  EXPECT_EQ(Ids(tree), (std::vector<int64_t>{a_.id(), b_.id(), d_.id(), c_.id()}));
  std::vector<int> depths;
  for (const LineageNode& n : tree) depths.push_back(n.depth);
  EXPECT_EQ(depths, (std::vector<int>{0, 1, 2, 1}));

  ASSERT_OK_AND_ASSIGN(tree, store_->Descendants(a_.id(), 1));
  EXPECT_EQ(Ids(tree), (std::vector<int64_t>{a_.id(), b_.id(), c_.id()}));
  ASSERT_OK_AND_ASSIGN(tree, store_->Descendants(c_.id(), -1));
  EXPECT_EQ(Ids(tree), (std::vector<int64_t>{c_.id()}));
  EXPECT_TRUE(IsError(store_->Descendants(999, -1).status(), absl::StatusCode::kNotFound, "999"));
}

TEST_F(QueriesTest, HeadHistoryShowsBirthInheritanceStatsAndPruning) {
  ASSERT_OK_AND_ASSIGN(storage::HeadHistory h2, store_->GetHeadHistory(h2_));
  EXPECT_EQ(h2.created_candidate_id, a_.id());
  EXPECT_EQ(h2.search_id, search_id_);
  EXPECT_EQ(h2.head.layer(), 0);
  EXPECT_EQ(h2.head.offsets().offsets_size(), 3);
  ASSERT_EQ(h2.appearances.size(), 2u);
  EXPECT_EQ(h2.appearances[0].candidate_id, a_.id());
  EXPECT_EQ(h2.appearances[0].origin, HEAD_ORIGIN_INITIAL);
  EXPECT_EQ(h2.appearances[1].candidate_id, c_.id());
  EXPECT_EQ(h2.appearances[1].origin, HEAD_ORIGIN_INHERITED);
  EXPECT_EQ(h2.appearances[1].slot, 0);
  EXPECT_EQ(h2.appearances[1].generation, 1);
  ASSERT_TRUE(h2.appearances[1].has_stats);
  EXPECT_DOUBLE_EQ(h2.appearances[1].stats.entropy(), 0.25);  // C's val_loss / 10
  EXPECT_EQ(h2.appearances[1].stats.most_similar_head_id(), h2_);
  ASSERT_EQ(h2.prunings.size(), 1u);
  EXPECT_EQ(h2.prunings[0].candidate_id, b_.id());
  EXPECT_EQ(h2.prunings[0].parent_id, a_.id());
  EXPECT_NE(h2.prunings[0].mutation.find("lowest rank"), std::string::npos);

  ASSERT_OK_AND_ASSIGN(storage::HeadHistory h1, store_->GetHeadHistory(h1_));
  EXPECT_EQ(h1.copies, (std::vector<int64_t>{h4_}));
  EXPECT_TRUE(h2.copies.empty());

  ASSERT_OK_AND_ASSIGN(storage::HeadHistory h4, store_->GetHeadHistory(h4_));
  EXPECT_EQ(h4.created_candidate_id, b_.id());
  EXPECT_EQ(h4.head.origin(), HEAD_ORIGIN_SAMPLED);
  EXPECT_EQ(h4.head.source_head_id(), h1_);
  ASSERT_EQ(h4.appearances.size(), 2u);
  EXPECT_EQ(h4.appearances[1].candidate_id, d_.id());
  EXPECT_TRUE(h4.prunings.empty());
  EXPECT_TRUE(IsError(store_->GetHeadHistory(999).status(), absl::StatusCode::kNotFound, "999"));
}

TEST_F(QueriesTest, HeadWithoutStatsSaysSo) {
  Candidate e = Insert(MakeCandidate(search_id_, 3, d_.id(), 2, {Carry(d_, 0)}, {}, "tiny"));
  ASSERT_OK_AND_ASSIGN(storage::HeadHistory h1, store_->GetHeadHistory(h1_));
  ASSERT_EQ(h1.appearances.back().candidate_id, e.id());
  EXPECT_FALSE(h1.appearances.back().has_stats);
}

TEST_F(QueriesTest, OffsetSurvivalRanksOffsetsByHowLongTheirHeadsLived) {
  ASSERT_OK_AND_ASSIGN(std::vector<storage::OffsetSurvival> rows,
                       store_->OffsetSurvivalStats(search_id_));
  // Lifetimes: h1 (L0 -3,-1) 3 and alive; h2 (L0 -17,-5,-2) 2; h3 (L1 -1) 3 and alive;
  // h4 (L0 -2) 2 and alive; h5 (L0 -4) 1.
  std::vector<std::pair<int, int>> order;
  for (const auto& r : rows) order.emplace_back(r.layer, r.offset);
  EXPECT_EQ(order, (std::vector<std::pair<int, int>>{
                       {0, -3}, {0, -1}, {1, -1}, {0, -17}, {0, -5}, {0, -2}, {0, -4}}));
  const storage::OffsetSurvival& minus2 = rows[5];
  EXPECT_EQ(minus2.heads, 2);        // h2 and h4
  EXPECT_EQ(minus2.appearances, 4);  // h2 in A, C; h4 in B, D
  EXPECT_DOUBLE_EQ(minus2.mean_lifetime, 2.0);
  EXPECT_EQ(minus2.alive, 1);         // h4
  EXPECT_EQ(rows[2].appearances, 4);  // h3 everywhere
  EXPECT_EQ(rows[2].max_lifetime, 3);
  EXPECT_EQ(rows[6].alive, 0);
  EXPECT_TRUE(IsError(store_->OffsetSurvivalStats(999).status(), absl::StatusCode::kNotFound,
                      "search 999"));
}

TEST_F(QueriesTest, ParetoFrontAndBestPerGeneration) {
  ASSERT_OK_AND_ASSIGN(std::vector<LineageNode> front, store_->ParetoFront(search_id_));
  EXPECT_EQ(Ids(front), (std::vector<int64_t>{c_.id(), b_.id()}));
  ASSERT_OK_AND_ASSIGN(std::vector<LineageNode> best, store_->BestPerGeneration(search_id_));
  EXPECT_EQ(Ids(best), (std::vector<int64_t>{a_.id(), b_.id(), d_.id()}));
  EXPECT_TRUE(IsError(store_->ParetoFront(999).status(), absl::StatusCode::kNotFound, "999"));
  EXPECT_TRUE(IsError(store_->BestPerGeneration(999).status(), absl::StatusCode::kNotFound, "999"));
}

TEST_F(QueriesTest, DivergedAndUnfinishedCandidatesStayOffTheFront) {
  // Fewer connections than anything, but its loss is NaN; and one without a result.
  Candidate nan = Insert(MakeCandidate(search_id_, 2, c_.id(), 2, {Carry(c_, 0)}, {}, "nan"));
  Record(nan, std::nan(""), 1);
  Insert(MakeCandidate(search_id_, 2, c_.id(), 2, {Carry(c_, 1)}, {}, "pending"));
  ASSERT_OK_AND_ASSIGN(std::vector<LineageNode> front, store_->ParetoFront(search_id_));
  EXPECT_EQ(Ids(front), (std::vector<int64_t>{c_.id(), b_.id()}));
  ASSERT_OK_AND_ASSIGN(std::vector<LineageNode> best, store_->BestPerGeneration(search_id_));
  EXPECT_EQ(Ids(best), (std::vector<int64_t>{a_.id(), b_.id(), d_.id()}));
}

}  // namespace
}  // namespace headevo::testing
