// Reference models (dense attention, baselines) as jobs of their search: written with their
// jobs, leased with their genome, recorded once, failed and expired like a candidate's job,
// refused when malformed; and the version-4 file upgraded with its jobs kept.
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

using storage::JobState;
using storage::NewReference;

NewReference Dense(int max_attempts = 2) {
  NewReference reference;
  reference.kind = "dense";
  reference.description = "dense attention";
  reference.role = "baseline";
  reference.genome.set_num_layers(1);
  reference.genome.add_heads()->set_layer(0);
  reference.genome.add_heads()->set_layer(0);
  reference.job.training.set_seed(99);
  reference.job.training.mutable_model()->set_attention(headevo::v1::ATTENTION_KIND_DENSE);
  reference.job.max_attempts = max_attempts;
  return reference;
}

class ReferencesTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK_AND_ASSIGN(worker_, store_->RegisterWorker({0, "host", "cpu", 0, 0, 0}, 100));
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

  int64_t worker_ = 0;
};

TEST_F(ReferencesTest, AReferenceIsLeasedWithItsGenomeAndRecordedOnce) {
  ASSERT_OK_AND_ASSIGN(auto written, store_->InsertReferencesWithJobs(search_id_, {Dense()}, 100));
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].state(), headevo::v1::CANDIDATE_STATE_PENDING);
  EXPECT_NE(written[0].job_id(), 0);
  EXPECT_EQ(CountRows("candidates"), 0) << "a reference model is not a candidate";

  std::optional<storage::Lease> lease = Lease();
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->request.reference_id(), written[0].id());
  EXPECT_EQ(lease->request.candidate_id(), 0);
  EXPECT_EQ(lease->request.genome().heads_size(), 2);
  EXPECT_EQ(lease->request.training().seed(), 99u);
  ASSERT_OK_AND_ASSIGN(auto listed, store_->ListReferences(search_id_));
  EXPECT_EQ(listed[0].state(), headevo::v1::CANDIDATE_STATE_RUNNING);

  headevo::v1::EvaluationResult wrong;
  wrong.set_candidate_id(5);
  wrong.mutable_metrics()->set_val_loss(1.0);
  EXPECT_TRUE(IsError(store_->CompleteJob(lease->job_id, lease->attempt, wrong, 300).status(),
                      absl::StatusCode::kInvalidArgument, "trains reference model"));

  headevo::v1::EvaluationResult result;
  result.mutable_metrics()->set_val_loss(1.25);
  result.mutable_metrics()->set_connections(32);
  ASSERT_OK_AND_ASSIGN(auto outcome, store_->CompleteJob(lease->job_id, lease->attempt, result, 300));
  EXPECT_EQ(outcome, storage::ReportOutcome::kRecorded);
  ASSERT_OK_AND_ASSIGN(outcome, store_->CompleteJob(lease->job_id, lease->attempt, result, 301));
  EXPECT_EQ(outcome, storage::ReportOutcome::kAlreadyRecorded);
  ASSERT_OK_AND_ASSIGN(listed, store_->ListReferences(search_id_));
  EXPECT_EQ(listed[0].state(), headevo::v1::CANDIDATE_STATE_DONE);
  EXPECT_EQ(listed[0].metrics().val_loss(), 1.25);
  EXPECT_EQ(listed[0].metrics().connections(), 32);
  ASSERT_OK_AND_ASSIGN(storage::JobRecord job, store_->GetJob(lease->job_id));
  EXPECT_EQ(job.state, JobState::kDone);
  EXPECT_EQ(job.reference_id, written[0].id());
  EXPECT_EQ(job.candidate_id, 0);
  EXPECT_EQ(job.finished_ms, 300);
  EXPECT_FALSE(Lease().has_value());
}

TEST_F(ReferencesTest, AnExpiredOrFailedReferenceIsRetriedThenFailed) {
  ASSERT_OK_AND_ASSIGN(auto written, store_->InsertReferencesWithJobs(search_id_, {Dense()}, 100));
  ASSERT_TRUE(Lease(200).has_value());
  ASSERT_OK_AND_ASSIGN(auto expired, store_->ExpireLeases(5000));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].state, JobState::kQueued);
  EXPECT_EQ(expired[0].reference_id, written[0].id());
  ASSERT_OK_AND_ASSIGN(auto listed, store_->ListReferences(search_id_));
  EXPECT_EQ(listed[0].state(), headevo::v1::CANDIDATE_STATE_PENDING);

  std::optional<storage::Lease> second = Lease(6000);
  ASSERT_TRUE(second.has_value());
  ASSERT_OK_AND_ASSIGN(JobState state, store_->FailJob(second->job_id, second->attempt,
                                                       "out of memory", false, 6100));
  EXPECT_EQ(state, JobState::kFailed) << "two attempts spent";
  ASSERT_OK_AND_ASSIGN(listed, store_->ListReferences(search_id_));
  EXPECT_EQ(listed[0].state(), headevo::v1::CANDIDATE_STATE_FAILED);
  EXPECT_EQ(listed[0].error(), "out of memory (attempt 2 of 2)");
}

TEST_F(ReferencesTest, MalformedReferencesAreRefusedAndNothingIsWritten) {
  NewReference no_heads = Dense();
  no_heads.genome.clear_heads();
  NewReference no_kind = Dense();
  no_kind.kind.clear();
  NewReference with_parent = Dense();
  with_parent.job.parent_checkpoint_sha256 = std::string(64, 'a');
  NewReference no_attempts = Dense(/*max_attempts=*/0);
  for (const NewReference& bad : {no_heads, no_kind, with_parent, no_attempts}) {
    EXPECT_EQ(store_->InsertReferencesWithJobs(search_id_, {Dense(), bad}, 100).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(IsError(store_->InsertReferencesWithJobs(search_id_ + 9, {Dense()}, 100).status(),
                      absl::StatusCode::kNotFound, "search"));
  EXPECT_EQ(CountRows("reference_models"), 0);
  EXPECT_EQ(CountRows("jobs"), 0);
  // The schema itself refuses a job of neither or both a candidate and a reference model.
  EXPECT_FALSE(store_->database()
                   .Exec("INSERT INTO jobs(search_id, state, training, max_attempts, created_ms) "
                         "VALUES (1, 'QUEUED', x'', 1, 0)",
                         "a job of nothing")
                   .ok());
}

TEST(ReferencesMigrationTest, VersionFourJobsAreKeptAndReferencesWork) {
  TempDir dir;
  const std::string path = dir.File("v4.db");
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::Database> raw,
                         storage::Database::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                                 1000));
    ASSERT_OK(storage::MigrateTo(*raw, 4));
    ASSERT_OK(raw->Exec(
        "INSERT INTO searches(name, config_toml, seed, state, created_ms) "
        "  VALUES ('old', '', 5, 'RUNNING', 1000);"
        "INSERT INTO candidates(search_id, generation, state, num_layers) "
        "  VALUES (1, 0, 'PENDING', 1);"
        "INSERT INTO heads(search_id, layer, offsets, k, origin, sampler, created_candidate_id)"
        "  VALUES (1, 0, '-2,-1', 2, 'INITIAL', 'UNIFORM', 1);"
        "INSERT INTO candidate_heads VALUES (1, 0, 1, 'INITIAL');"
        "INSERT INTO jobs(candidate_id, search_id, state, training, max_attempts, created_ms)"
        "  VALUES (1, 1, 'QUEUED', x'', 3, 1000);",
        "writing version-4 rows"));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::SqliteStore> store,
                       storage::SqliteStore::Open(path, {}));
  ASSERT_OK_AND_ASSIGN(int64_t version, store->database().QueryInt64("PRAGMA user_version"));
  EXPECT_EQ(version, storage::LatestSchemaVersion());
  ASSERT_OK_AND_ASSIGN(storage::JobRecord job, store->GetJob(1));
  EXPECT_EQ(job.candidate_id, 1);
  EXPECT_EQ(job.reference_id, 0);
  EXPECT_EQ(job.max_attempts, 3);
  ASSERT_OK_AND_ASSIGN(auto written, store->InsertReferencesWithJobs(1, {Dense()}, 2000));
  ASSERT_OK_AND_ASSIGN(auto jobs, store->ListJobs(1));
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[1].reference_id, written[0].id());
  ASSERT_OK_AND_ASSIGN(std::string integrity,
                       store->database().QueryText("PRAGMA integrity_check"));
  EXPECT_EQ(integrity, "ok");
}

}  // namespace
}  // namespace headevo::testing
