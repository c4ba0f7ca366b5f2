// Multi-fidelity in the store: a promotion is a second job for the same candidate and rung,
// leased with the checkpoint it continues from; its result moves the candidate up a rung and
// adds to its learning curve; malformed or out-of-order promotions are refused with nothing
// written; a failed promotion leaves the candidate as it was; a version-6 file keeps its
// results as rung 0.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/schema.h"
#include "storage/sqlite_db.h"
#include "storage/sqlite_store.h"
#include "tests/storage/candidate_builders.h"
#include "tests/storage/storage_test_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace headevo::testing {
namespace {

constexpr char kFirst[] = "aaaa";   // the rung-0 checkpoint (any text: the store checks none)
constexpr char kSecond[] = "bbbb";  // the rung-1 checkpoint

class RungsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK_AND_ASSIGN(worker_, store_->RegisterWorker({0, "host", "cpu", 0, 0, 0}, 100));
    storage::NewJob job;
    job.training.set_steps(10);
    job.training.set_schedule_steps(90);
    ASSERT_OK_AND_ASSIGN(auto written,
                         store_->InsertCandidatesWithJobs({MakeRoot(search_id_)}, {job}, 100));
    candidate_ = written.front();
    auto lease = Lease();
    ASSERT_TRUE(lease.has_value());
    ASSERT_OK(store_->CompleteJob(lease->job_id, lease->attempt, Result(10, 1.5, kFirst), 300));
  }

  std::optional<storage::Lease> Lease(int64_t now_ms = 200) {
    storage::LeaseOptions options;
    options.worker_id = worker_;
    options.now_ms = now_ms;
    options.lease_ms = 1000;
    absl::StatusOr<std::optional<storage::Lease>> lease = store_->LeaseJob(options);
    EXPECT_TRUE(lease.ok()) << lease.status();
    return lease.ok() ? *lease : std::nullopt;
  }

  headevo::v1::EvaluationResult Result(int steps, double val_loss, const std::string& sha) {
    headevo::v1::EvaluationResult result;
    result.set_candidate_id(candidate_.id());
    result.mutable_metrics()->set_val_loss(val_loss);
    result.mutable_metrics()->set_train_loss(val_loss + 0.1);
    result.mutable_metrics()->set_connections(6);
    result.mutable_metrics()->set_steps(steps);
    result.mutable_metrics()->set_tokens(steps * 64);
    result.mutable_metrics()->set_train_seconds(0.5);
    for (const auto& head : candidate_.genome().heads()) {
      auto* stats = result.add_head_stats();
      stats->set_head_id(head.id());
      stats->set_layer(head.layer());
      stats->set_entropy(val_loss);  // tells the rungs' statistics apart
    }
    result.set_checkpoint_sha256(sha);
    return result;
  }

  storage::NewJob Promotion(int rung, const std::string& resume) {
    storage::NewJob job;
    job.training.set_steps(rung == 1 ? 30 : 90);
    job.training.set_schedule_steps(90);
    job.rung = rung;
    job.resume_checkpoint_sha256 = resume;
    return job;
  }

  int64_t worker_ = 0;
  headevo::v1::Candidate candidate_;
};

TEST_F(RungsTest, APromotionContinuesFromItsCheckpointAndMovesTheCandidateUpARung) {
  ASSERT_OK_AND_ASSIGN(int64_t job_id,
                       store_->QueuePromotion(candidate_.id(), Promotion(1, kFirst), 400));
  auto lease = Lease(500);
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->job_id, job_id);
  EXPECT_EQ(lease->request.candidate_id(), candidate_.id());
  EXPECT_EQ(lease->request.resume_checkpoint_sha256(), kFirst);
  EXPECT_EQ(lease->request.training().steps(), 30);
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate running, store_->GetCandidate(candidate_.id()));
  EXPECT_EQ(running.state(), headevo::v1::CANDIDATE_STATE_DONE) << "it keeps its rung-0 result";
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> kept, store_->OpenJobParentCheckpoints());
  EXPECT_EQ(kept, std::vector<std::string>({kFirst})) << "the checkpoint it continues from";

  ASSERT_OK(store_->CompleteJob(lease->job_id, lease->attempt, Result(30, 1.1, kSecond), 600));
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate c, store_->GetCandidate(candidate_.id()));
  EXPECT_EQ(c.rung(), 1);
  EXPECT_EQ(c.metrics().val_loss(), 1.1);
  EXPECT_EQ(c.metrics().steps(), 30);
  EXPECT_EQ(c.metrics().tokens(), 30 * 64);
  EXPECT_EQ(c.checkpoint_sha256(), kSecond);
  ASSERT_EQ(c.head_stats_size(), 3);
  EXPECT_EQ(c.head_stats(0).entropy(), 1.1) << "the newest rung's statistics";
  ASSERT_EQ(c.rungs_size(), 2);
  EXPECT_EQ(c.rungs(0).val_loss(), 1.5);
  EXPECT_EQ(c.rungs(0).checkpoint_sha256(), kFirst);
  EXPECT_EQ(c.rungs(1).steps(), 30);
  EXPECT_DOUBLE_EQ(c.rungs(1).train_loss(), 1.1 + 0.1);
  ASSERT_OK_AND_ASSIGN(storage::JobRecord job, store_->GetJob(job_id));
  EXPECT_EQ(job.state, storage::JobState::kDone);
  EXPECT_EQ(job.rung, 1);
  // Both checkpoints belong to the candidate now (kept or collected like any other).
  EXPECT_EQ(CountRows("checkpoints"), 2);
}

TEST_F(RungsTest, OutOfOrderOrMalformedPromotionsAreRefusedAndNothingIsWritten) {
  const int64_t jobs = CountRows("jobs");
  EXPECT_TRUE(IsError(store_->QueuePromotion(candidate_.id(), Promotion(2, kFirst), 400).status(),
                      absl::StatusCode::kFailedPrecondition, "needs it DONE at rung 1"));
  EXPECT_TRUE(IsError(store_->QueuePromotion(candidate_.id(), Promotion(1, ""), 400).status(),
                      absl::StatusCode::kInvalidArgument, "resume checkpoint"));
  EXPECT_TRUE(IsError(store_->QueuePromotion(candidate_.id(), Promotion(0, kFirst), 400).status(),
                      absl::StatusCode::kInvalidArgument, "rung >= 1"));
  EXPECT_TRUE(IsError(store_->QueuePromotion(999, Promotion(1, kFirst), 400).status(),
                      absl::StatusCode::kNotFound, "candidate 999"));
  EXPECT_EQ(CountRows("jobs"), jobs);
  ASSERT_OK(store_->QueuePromotion(candidate_.id(), Promotion(1, kFirst), 400).status());
  EXPECT_TRUE(IsError(store_->QueuePromotion(candidate_.id(), Promotion(1, kFirst), 400).status(),
                      absl::StatusCode::kFailedPrecondition, "already has a rung-1 job"));
  EXPECT_EQ(CountRows("jobs"), jobs + 1);

  // A promotion reporting growth records is refused whole: heads grow only at the start.
  auto lease = Lease(500);
  ASSERT_TRUE(lease.has_value());
  headevo::v1::EvaluationResult grown = Result(30, 1.0, kSecond);
  grown.add_growth()->set_head_id(candidate_.genome().heads(0).id());
  EXPECT_TRUE(IsError(store_->CompleteJob(lease->job_id, lease->attempt, grown, 600).status(),
                      absl::StatusCode::kInvalidArgument, "growth"));
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate c, store_->GetCandidate(candidate_.id()));
  EXPECT_EQ(c.rung(), 0);
  EXPECT_EQ(c.rungs_size(), 1);
}

TEST_F(RungsTest, AFailedPromotionLeavesTheCandidateAsItWas) {
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate before, store_->GetCandidate(candidate_.id()));
  ASSERT_OK_AND_ASSIGN(int64_t job_id,
                       store_->QueuePromotion(candidate_.id(), Promotion(1, kFirst), 400));
  auto lease = Lease(500);
  ASSERT_TRUE(lease.has_value());
  ASSERT_OK_AND_ASSIGN(storage::JobState state,
                       store_->FailJob(job_id, lease->attempt, "checkpoint unreadable", true, 600));
  EXPECT_EQ(state, storage::JobState::kFailed);
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate after, store_->GetCandidate(candidate_.id()));
  EXPECT_EQ(after.SerializeAsString(), before.SerializeAsString());
}

TEST(RungsMigrationTest, VersionSixResultsBecomeRungZero) {
  TempDir dir;
  const std::string path = dir.File("v6.db");
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::Database> raw,
                         storage::Database::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                                 1000));
    ASSERT_OK(storage::MigrateTo(*raw, 6));
    ASSERT_OK(raw->Exec(
        "INSERT INTO searches(name, config_toml, seed, state, created_ms) "
        "  VALUES ('old', '', 5, 'RUNNING', 1000);"
        "INSERT INTO candidates(search_id, generation, state, num_layers, train_loss, val_loss, "
        "  connections, steps, train_seconds, checkpoint_sha256) "
        "  VALUES (1, 0, 'DONE', 1, 1.25, 1.5, 2, 40, 0.5, 'cafe');"
        "INSERT INTO candidates(search_id, generation, state, num_layers) "
        "  VALUES (1, 0, 'PENDING', 1);"
        "INSERT INTO jobs(candidate_id, search_id, state, training, max_attempts, created_ms, "
        "  finished_ms) VALUES (1, 1, 'DONE', x'', 3, 1000, 2000);"
        "INSERT INTO jobs(candidate_id, search_id, state, training, max_attempts, created_ms)"
        "  VALUES (2, 1, 'QUEUED', x'', 3, 1000);",
        "writing version-6 rows"));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::SqliteStore> store,
                       storage::SqliteStore::Open(path, {}));
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate done, store->GetCandidate(1));
  EXPECT_EQ(done.rung(), 0);
  ASSERT_EQ(done.rungs_size(), 1);
  EXPECT_EQ(done.rungs(0).val_loss(), 1.5);
  EXPECT_EQ(done.rungs(0).steps(), 40);
  EXPECT_EQ(done.rungs(0).checkpoint_sha256(), "cafe");
  ASSERT_OK_AND_ASSIGN(int64_t finished,
                       store->database().QueryInt64("SELECT finished_ms FROM rung_results"));
  EXPECT_EQ(finished, 2000) << "the job's finish time";
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate pending, store->GetCandidate(2));
  EXPECT_EQ(pending.rungs_size(), 0);
  ASSERT_OK_AND_ASSIGN(auto jobs, store->ListJobs(1));
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].rung, 0);
  EXPECT_EQ(jobs[1].state, storage::JobState::kQueued);
  ASSERT_OK_AND_ASSIGN(std::string integrity,
                       store->database().QueryText("PRAGMA integrity_check"));
  EXPECT_EQ(integrity, "ok");
}

}  // namespace
}  // namespace headevo::testing
