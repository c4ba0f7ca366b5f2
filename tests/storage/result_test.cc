// RecordResult and RecordFailure: a result is recorded exactly once, whole or not at all.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/storage/candidate_builders.h"
#include "tests/storage/storage_test_util.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::testing {
namespace {

using headevo::v1::Candidate;
using headevo::v1::EvaluationResult;

EvaluationResult MakeResult(const Candidate& c, double val_loss) {
  EvaluationResult result;
  result.set_candidate_id(c.id());
  result.mutable_metrics()->set_train_loss(val_loss - 0.25);
  result.mutable_metrics()->set_val_loss(val_loss);
  result.mutable_metrics()->set_connections(6);
  result.mutable_metrics()->set_steps(200);
  result.mutable_metrics()->set_train_seconds(1.5);
  result.set_checkpoint_sha256(std::string(64, 'a'));
  // Stats deliberately not in slot order: they come back in slot order.
  for (int slot : {2, 0, 1}) {
    const auto& head = c.genome().heads(slot);
    auto* stats = result.add_head_stats();
    stats->set_head_id(head.id());
    stats->set_layer(head.layer());
    stats->set_entropy(0.1 * (slot + 1));
    stats->set_independence(0.5);
    stats->set_weight_norm(2.0 + slot);
    stats->set_importance(0.01 * slot);
  }
  return result;
}

TEST_F(StoreTest, RecordsAResultOnceAndKeepsTheFirst) {
  Candidate c = Insert(MakeRoot(search_id_));
  ASSERT_OK(store_->RecordResult(MakeResult(c, 3.0)));

  ASSERT_OK_AND_ASSIGN(Candidate got, store_->GetCandidate(c.id()));
  EXPECT_EQ(got.state(), headevo::v1::CANDIDATE_STATE_DONE);
  ASSERT_TRUE(got.has_metrics());
  EXPECT_DOUBLE_EQ(got.metrics().val_loss(), 3.0);
  EXPECT_DOUBLE_EQ(got.metrics().train_loss(), 2.75);
  EXPECT_EQ(got.metrics().connections(), 6);
  EXPECT_EQ(got.metrics().steps(), 200);
  EXPECT_DOUBLE_EQ(got.metrics().train_seconds(), 1.5);
  EXPECT_EQ(got.checkpoint_sha256(), std::string(64, 'a'));
  ASSERT_EQ(got.head_stats_size(), 3);
  for (int slot = 0; slot < 3; ++slot) {
    EXPECT_EQ(got.head_stats(slot).head_id(), c.genome().heads(slot).id());
    EXPECT_EQ(got.head_stats(slot).layer(), c.genome().heads(slot).layer());
    EXPECT_DOUBLE_EQ(got.head_stats(slot).entropy(), 0.1 * (slot + 1));
    EXPECT_DOUBLE_EQ(got.head_stats(slot).weight_norm(), 2.0 + slot);
  }

  absl::Status again = store_->RecordResult(MakeResult(c, 1.0));
  EXPECT_TRUE(IsError(again, absl::StatusCode::kFailedPrecondition,
                      absl::StrCat("candidate ", c.id(), " already has a result")));
  ASSERT_OK_AND_ASSIGN(got, store_->GetCandidate(c.id()));
  EXPECT_DOUBLE_EQ(got.metrics().val_loss(), 3.0);
  EXPECT_EQ(CountRows("head_stats"), 3);
  EXPECT_TRUE(IsError(store_->RecordFailure(c.id(), "late"), absl::StatusCode::kFailedPrecondition,
                      "already has a result"));
}

TEST_F(StoreTest, StatsForAForeignHeadRejectTheWholeResult) {
  Candidate c = Insert(MakeRoot(search_id_));
  Candidate other = Insert(MakeRoot(search_id_));
  EvaluationResult result = MakeResult(c, 3.0);
  result.mutable_head_stats(1)->set_head_id(other.genome().heads(0).id());
  EXPECT_TRUE(IsError(store_->RecordResult(result), absl::StatusCode::kInvalidArgument,
                      absl::StrCat("head ", other.genome().heads(0).id())));

  result = MakeResult(c, 3.0);
  result.mutable_head_stats(0)->set_layer(0);  // slot 2's head is in layer 1
  EXPECT_TRUE(IsError(store_->RecordResult(result), absl::StatusCode::kInvalidArgument, "layer"));

  ASSERT_OK_AND_ASSIGN(Candidate got, store_->GetCandidate(c.id()));
  EXPECT_EQ(got.state(), headevo::v1::CANDIDATE_STATE_PENDING);
  EXPECT_FALSE(got.has_metrics());
  EXPECT_EQ(CountRows("head_stats"), 0);
}

// A head reported twice is refused at the door (server/checks/request_checks.h); a caller that skips
// the door still cannot store it twice: the schema's key refuses it and nothing is written.
TEST_F(StoreTest, StatsNamingAHeadTwiceAreRefusedByTheSchema) {
  Candidate c = Insert(MakeRoot(search_id_));
  EvaluationResult result = MakeResult(c, 3.0);
  *result.add_head_stats() = result.head_stats(0);
  EXPECT_EQ(store_->RecordResult(result).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_OK_AND_ASSIGN(Candidate got, store_->GetCandidate(c.id()));
  EXPECT_EQ(got.state(), headevo::v1::CANDIDATE_STATE_PENDING);
  EXPECT_EQ(CountRows("head_stats"), 0);
}

TEST_F(StoreTest, UnknownCandidateIsNotFound) {
  EvaluationResult result;
  result.set_candidate_id(909);
  EXPECT_TRUE(IsError(store_->RecordResult(result), absl::StatusCode::kNotFound, "909"));
  EXPECT_TRUE(IsError(store_->RecordFailure(909, "x"), absl::StatusCode::kNotFound, "909"));
}

TEST_F(StoreTest, NanSignalsRoundTrip) {
  Candidate c = Insert(MakeRoot(search_id_));
  EvaluationResult result = MakeResult(c, std::numeric_limits<double>::quiet_NaN());
  result.mutable_head_stats(0)->set_entropy(std::numeric_limits<double>::quiet_NaN());
  ASSERT_OK(store_->RecordResult(result));
  ASSERT_OK_AND_ASSIGN(Candidate got, store_->GetCandidate(c.id()));
  EXPECT_EQ(got.state(), headevo::v1::CANDIDATE_STATE_DONE);
  EXPECT_TRUE(std::isnan(got.metrics().val_loss()));
  EXPECT_TRUE(std::isnan(got.head_stats(2).entropy()));  // slot 2 was listed first
  EXPECT_FALSE(std::isnan(got.head_stats(0).entropy()));
}

TEST_F(StoreTest, FailureRecordsTheErrorAndALateResultStillLands) {
  Candidate c = Insert(MakeRoot(search_id_));
  ASSERT_OK(store_->RecordFailure(c.id(), "CUDA out of memory"));
  ASSERT_OK_AND_ASSIGN(Candidate got, store_->GetCandidate(c.id()));
  EXPECT_EQ(got.state(), headevo::v1::CANDIDATE_STATE_FAILED);
  EXPECT_EQ(got.error(), "CUDA out of memory");
  EXPECT_FALSE(got.has_metrics());

  ASSERT_OK(store_->RecordResult(MakeResult(c, 2.0)));
  ASSERT_OK_AND_ASSIGN(got, store_->GetCandidate(c.id()));
  EXPECT_EQ(got.state(), headevo::v1::CANDIDATE_STATE_DONE);
  EXPECT_EQ(got.error(), "");
  EXPECT_DOUBLE_EQ(got.metrics().val_loss(), 2.0);
}

}  // namespace
}  // namespace headevo::testing
