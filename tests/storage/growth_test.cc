// Growth in the lineage: GROWN heads and their extra_key_width, the growth records of a
// result, and a grown head's history back through its sources.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "tests/storage/candidate_builders.h"
#include "tests/storage/storage_test_util.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::testing {
namespace {

using google::protobuf::util::MessageDifferencer;
using headevo::v1::Candidate;
using headevo::v1::EvaluationResult;
using headevo::v1::HEAD_ORIGIN_GROWN;
using headevo::v1::HEAD_ORIGIN_SAMPLED;
using headevo::v1::HeadGrowth;

// The grown copy of `parent`'s head at `slot`, `width` columns wider.
headevo::v1::Head Grow(const Candidate& parent, int slot, int width) {
  headevo::v1::Head head = parent.genome().heads(slot);
  head.set_source_head_id(head.id());
  head.set_id(0);
  head.set_origin(HEAD_ORIGIN_GROWN);
  head.set_sampler(headevo::v1::SAMPLER_GROWTH);
  head.set_extra_key_width(head.extra_key_width() + width);
  head.set_sampler_params("grown");
  return head;
}

HeadGrowth Record(const headevo::v1::Head& head, headevo::v1::GrowthKind kind, int width,
                  double measured) {
  HeadGrowth g;
  g.set_head_id(head.id());
  g.set_source_head_id(kind == headevo::v1::GROWTH_KIND_WIDEN ? head.source_head_id() : 0);
  g.set_layer(head.layer());
  g.set_kind(kind);
  g.set_added_key_width(width);
  g.set_scale(0.5);
  g.set_predicted_loss_change(-0.25);
  g.set_measured_loss_change(measured);
  return g;
}

EvaluationResult ResultOf(const Candidate& c) {
  EvaluationResult result;
  result.set_candidate_id(c.id());
  result.mutable_metrics()->set_train_loss(1.0);
  result.mutable_metrics()->set_val_loss(1.25);
  result.mutable_metrics()->set_connections(4);
  return result;
}

class GrowthTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    root_ = Insert(MakeRoot(search_id_));
    // Root head 1 ({-17,-5,-2}, layer 0) grows by 4; root head 2 is pruned and replaced.
    child_ = Insert(
        MakeCandidate(search_id_, 1, root_.id(), 2,
                      {Carry(root_, 0), Grow(root_, 1, 4), NewHead(1, {-6}, HEAD_ORIGIN_SAMPLED)},
                      {root_.genome().heads(2).id()}, "grew"));
  }

  Candidate root_;
  Candidate child_;
};

TEST_F(GrowthTest, GrownHeadsKeepTheirWidthThroughDescendants) {
  const headevo::v1::Head& grown = child_.genome().heads(1);
  EXPECT_EQ(grown.origin(), HEAD_ORIGIN_GROWN);
  EXPECT_EQ(grown.source_head_id(), root_.genome().heads(1).id());
  EXPECT_EQ(grown.extra_key_width(), 4);
  ASSERT_OK_AND_ASSIGN(Candidate got, store_->GetCandidate(child_.id()));
  EXPECT_TRUE(MessageDifferencer::Equals(got, child_)) << got.DebugString();
  ASSERT_OK_AND_ASSIGN(headevo::v1::Head stored, store_->GetHead(grown.id()));
  EXPECT_EQ(stored.extra_key_width(), 4);
  EXPECT_EQ(stored.sampler(), headevo::v1::SAMPLER_GROWTH);

  // A grandchild carries it as stored, whatever width its genome claims.
  Candidate claim =
      MakeCandidate(search_id_, 2, child_.id(), 2, {Carry(child_, 1), Carry(child_, 2)},
                    {child_.genome().heads(0).id()});
  claim.mutable_genome()->mutable_heads(0)->set_extra_key_width(0);
  Candidate grandchild = Insert(claim);
  EXPECT_EQ(grandchild.genome().heads(0).extra_key_width(), 4);
  ASSERT_OK_AND_ASSIGN(got, store_->GetCandidate(grandchild.id()));
  EXPECT_EQ(got.genome().heads(0).extra_key_width(), 4);
  EXPECT_EQ(got.genome().heads(1).extra_key_width(), 0);
}

TEST_F(GrowthTest, BadGrownHeadsAreRejected) {
  headevo::v1::Head moved = Grow(root_, 1, 4);
  moved.mutable_offsets()->set_offsets(0, -16);
  headevo::v1::Head orphan = Grow(root_, 1, 4);
  orphan.set_source_head_id(child_.genome().heads(2).id());  // not a head of the root
  headevo::v1::Head negative = NewHead(0, {-1}, HEAD_ORIGIN_SAMPLED);
  negative.set_extra_key_width(-2);
  const struct {
    headevo::v1::Head head;
    const char* message;
  } cases[] = {
      {moved, "keeps its source's layer and offsets"},
      {orphan, "a GROWN head needs a source_head_id naming a head of parent candidate"},
      {negative, "extra_key_width -2 < 0"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    EXPECT_TRUE(IsError(
        store_->InsertCandidates({MakeCandidate(search_id_, 1, root_.id(), 2, {c.head})}).status(),
        absl::StatusCode::kInvalidArgument, c.message));
  }
  EXPECT_EQ(CountRows("candidates"), 2);
}

TEST_F(GrowthTest, GrowthRecordsRoundTripInGenomeOrder) {
  EvaluationResult result = ResultOf(child_);
  // Given out of genome order: they come back in slot order.
  *result.add_growth() =
      Record(child_.genome().heads(2), headevo::v1::GROWTH_KIND_NEW_HEAD, 8, -0.125);
  *result.add_growth() = Record(child_.genome().heads(1), headevo::v1::GROWTH_KIND_WIDEN, 4, -0.2);
  ASSERT_OK(store_->RecordResult(result));
  ASSERT_OK_AND_ASSIGN(Candidate got, store_->GetCandidate(child_.id()));
  ASSERT_EQ(got.growth_size(), 2);
  EXPECT_TRUE(MessageDifferencer::Equals(got.growth(0), result.growth(1)))
      << got.growth(0).DebugString();
  EXPECT_TRUE(MessageDifferencer::Equals(got.growth(1), result.growth(0)))
      << got.growth(1).DebugString();
  EXPECT_EQ(got.growth(1).source_head_id(), 0);
  ASSERT_OK_AND_ASSIGN(
      std::string kinds,
      store_->database().QueryText("SELECT group_concat(kind) FROM (SELECT kind FROM head_growth "
                                   "ORDER BY head_id)"));
  EXPECT_EQ(kinds, "WIDEN,NEW_HEAD");
  // A candidate without growth reads none.
  ASSERT_OK_AND_ASSIGN(Candidate root, store_->GetCandidate(root_.id()));
  EXPECT_EQ(root.growth_size(), 0);
}

// The facts only the genome can tell. A record's own shape (known kind, finite numbers, width
// >= 0, a NEW_HEAD without a source, each head once) is checked once, at the door, and tested
// there (tests/server/request_checks_test.cc, GrowthRecords).
TEST_F(GrowthTest, GrowthRecordsThatContradictTheGenomeAreRejectedAndNothingIsStored) {
  const headevo::v1::Head& grown = child_.genome().heads(1);
  const headevo::v1::Head& sampled = child_.genome().heads(2);
  const auto widen = [&] { return Record(grown, headevo::v1::GROWTH_KIND_WIDEN, 4, -0.1); };
  HeadGrowth stranger = widen();
  stranger.set_head_id(root_.genome().heads(2).id());  // pruned: not in the child's genome
  HeadGrowth inherited = Record(child_.genome().heads(0), headevo::v1::GROWTH_KIND_NEW_HEAD, 8, 0);
  HeadGrowth wrong_layer = widen();
  wrong_layer.set_layer(1);
  HeadGrowth wrong_source = widen();
  wrong_source.set_source_head_id(root_.genome().heads(0).id());
  HeadGrowth sampled_widen = Record(sampled, headevo::v1::GROWTH_KIND_WIDEN, 4, 0);
  const struct {
    std::vector<HeadGrowth> growth;
    std::string message;
  } cases[] = {
      {{stranger}, "growth[0] for head"},
      {{stranger}, "is not a head of candidate"},
      {{inherited}, "inherited the head"},
      {{wrong_layer}, "gives layer 1; it is in layer 0"},
      {{wrong_source}, "the genome has it GROWN from head"},
      {{sampled_widen}, "the genome has it SAMPLED"},
      {{Record(sampled, headevo::v1::GROWTH_KIND_NEW_HEAD, 8, 0), wrong_layer},
       "growth[1] for head"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    EvaluationResult result = ResultOf(child_);
    for (const HeadGrowth& g : c.growth) *result.add_growth() = g;
    EXPECT_TRUE(
        IsError(store_->RecordResult(result), absl::StatusCode::kInvalidArgument, c.message));
  }
  EXPECT_EQ(CountRows("head_growth"), 0);
  ASSERT_OK_AND_ASSIGN(Candidate got, store_->GetCandidate(child_.id()));
  EXPECT_EQ(got.state(), headevo::v1::CANDIDATE_STATE_PENDING);
}

// A caller that skips the door's shape check still cannot half-store a result: the schema
// refuses a head recorded twice and a NaN (stored as NULL) in a NOT NULL column, and the
// whole result is rolled back.
TEST_F(GrowthTest, TheSchemaRefusesDuplicateAndNanRecordsThatSkippedTheDoor) {
  const headevo::v1::Head& grown = child_.genome().heads(1);
  HeadGrowth nan = Record(grown, headevo::v1::GROWTH_KIND_WIDEN, 4, -0.1);
  nan.set_scale(std::numeric_limits<double>::quiet_NaN());
  const std::vector<HeadGrowth> cases[] = {
      {Record(grown, headevo::v1::GROWTH_KIND_WIDEN, 4, -0.1),
       Record(grown, headevo::v1::GROWTH_KIND_WIDEN, 4, -0.1)},
      {nan},
  };
  for (const std::vector<HeadGrowth>& growth : cases) {
    EvaluationResult result = ResultOf(child_);
    for (const HeadGrowth& g : growth) *result.add_growth() = g;
    EXPECT_EQ(store_->RecordResult(result).code(), absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(CountRows("head_growth"), 0);
  ASSERT_OK_AND_ASSIGN(Candidate got, store_->GetCandidate(child_.id()));
  EXPECT_EQ(got.state(), headevo::v1::CANDIDATE_STATE_PENDING);
  EXPECT_FALSE(got.has_metrics());
}

TEST_F(GrowthTest, HistoryOfAGrownHeadShowsItsGrowthAndItsSources) {
  EvaluationResult result = ResultOf(child_);
  *result.add_growth() = Record(child_.genome().heads(1), headevo::v1::GROWTH_KIND_WIDEN, 4, -0.2);
  ASSERT_OK(store_->RecordResult(result));
  // The grandchild grows the grown head again, by 2.
  Candidate grandchild =
      Insert(MakeCandidate(search_id_, 2, child_.id(), 2, {Grow(child_, 1, 2), Carry(child_, 2)},
                           {child_.genome().heads(0).id()}));
  const headevo::v1::Head& twice = grandchild.genome().heads(0);
  EXPECT_EQ(twice.extra_key_width(), 6);
  EvaluationResult second = ResultOf(grandchild);
  *second.add_growth() = Record(twice, headevo::v1::GROWTH_KIND_WIDEN, 2, 0.01);
  ASSERT_OK(store_->RecordResult(second));

  ASSERT_OK_AND_ASSIGN(storage::HeadHistory history, store_->GetHeadHistory(twice.id()));
  EXPECT_EQ(history.head.origin(), HEAD_ORIGIN_GROWN);
  EXPECT_EQ(history.head.source_head_id(), child_.genome().heads(1).id());
  EXPECT_EQ(history.head.extra_key_width(), 6);
  ASSERT_EQ(history.growth.size(), 1u);
  EXPECT_EQ(history.growth[0].added_key_width(), 2);
  EXPECT_DOUBLE_EQ(history.growth[0].measured_loss_change(), 0.01);
  EXPECT_DOUBLE_EQ(history.growth[0].predicted_loss_change(), -0.25);
  EXPECT_DOUBLE_EQ(history.growth[0].scale(), 0.5);
  // Its sources: the head it grew from (with that growth's record), then the root's head.
  ASSERT_EQ(history.sources.size(), 2u);
  EXPECT_EQ(history.sources[0].head.id(), child_.genome().heads(1).id());
  EXPECT_EQ(history.sources[0].created_candidate_id, child_.id());
  EXPECT_EQ(history.sources[0].head.extra_key_width(), 4);
  ASSERT_EQ(history.sources[0].growth.size(), 1u);
  EXPECT_DOUBLE_EQ(history.sources[0].growth[0].measured_loss_change(), -0.2);
  EXPECT_EQ(history.sources[1].head.id(), root_.genome().heads(1).id());
  EXPECT_EQ(history.sources[1].head.extra_key_width(), 0);
  EXPECT_TRUE(history.sources[1].growth.empty());

  // The root's head lists the head grown from it, and has neither growth nor sources.
  ASSERT_OK_AND_ASSIGN(storage::HeadHistory root_head,
                       store_->GetHeadHistory(root_.genome().heads(1).id()));
  EXPECT_EQ(root_head.copies, (std::vector<int64_t>{child_.genome().heads(1).id()}));
  EXPECT_TRUE(root_head.growth.empty());
  EXPECT_TRUE(root_head.sources.empty());
}

}  // namespace
}  // namespace headevo::testing
