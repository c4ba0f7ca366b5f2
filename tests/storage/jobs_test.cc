// Jobs and leases: candidates and their jobs land together; a lease is fenced by its attempt;
// a result is recorded exactly once with its statistics, checkpoint and the job's completion.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/storage/candidate_builders.h"
#include "tests/storage/storage_test_util.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::testing {
namespace {

using headevo::v1::Candidate;
using headevo::v1::EvaluationResult;
using storage::JobRecord;
using storage::JobState;
using storage::Lease;
using storage::NewJob;
using storage::ReportOutcome;

constexpr int64_t kLeaseMs = 1000;

NewJob JobWithSeed(uint64_t seed, int max_attempts = 3) {
  NewJob job;
  job.training.set_seed(seed);
  job.training.set_steps(50);
  job.max_attempts = max_attempts;
  return job;
}

EvaluationResult ResultFor(const Candidate& c, double val_loss) {
  EvaluationResult result;
  result.mutable_metrics()->set_val_loss(val_loss);
  result.mutable_metrics()->set_connections(6);
  result.set_checkpoint_sha256(std::string(64, 'c'));
  for (const auto& head : c.genome().heads()) {
    auto* stats = result.add_head_stats();
    stats->set_head_id(head.id());
    stats->set_layer(head.layer());
    stats->set_entropy(0.5);
  }
  return result;
}

class JobsTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    ASSERT_OK_AND_ASSIGN(worker_, store_->RegisterWorker({0, "host-a", "cuda:0", 80, 0, 0}, 100));
  }

  // Inserts `count` roots with jobs seeded 1..count at time 100.
  std::vector<Candidate> InsertWithJobs(int count, int max_attempts = 3) {
    std::vector<Candidate> roots(count, MakeRoot(search_id_));
    std::vector<NewJob> jobs;
    for (int i = 0; i < count; ++i) jobs.push_back(JobWithSeed(i + 1, max_attempts));
    absl::StatusOr<std::vector<Candidate>> written =
        store_->InsertCandidatesWithJobs(roots, jobs, 100);
    EXPECT_TRUE(written.ok()) << written.status();
    return written.value_or(std::vector<Candidate>{});
  }

  Lease MustLease(int64_t now_ms) {
    absl::StatusOr<std::optional<Lease>> lease = store_->LeaseJob({worker_, now_ms, kLeaseMs, 0});
    EXPECT_TRUE(lease.ok()) << lease.status();
    EXPECT_TRUE(lease.ok() && lease->has_value()) << "no job to lease";
    return lease.ok() && lease->has_value() ? **lease : Lease{};
  }

  JobRecord Job(int64_t job_id) {
    absl::StatusOr<JobRecord> job = store_->GetJob(job_id);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.value_or(JobRecord{});
  }

  int64_t worker_ = 0;
};

TEST_F(JobsTest, CandidatesAndJobsLandTogetherOrNotAtAll) {
  std::vector<Candidate> written = InsertWithJobs(2);
  ASSERT_EQ(written.size(), 2u);
  ASSERT_OK_AND_ASSIGN(std::vector<JobRecord> jobs, store_->ListJobs(search_id_));
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0].candidate_id, written[0].id());
  EXPECT_EQ(jobs[0].state, JobState::kQueued);
  EXPECT_EQ(jobs[0].attempt, 0);
  EXPECT_EQ(jobs[0].created_ms, 100);

  // A bad second candidate rolls back the first candidate and its job as well.
  Candidate bad = MakeRoot(search_id_);
  bad.mutable_genome()->mutable_heads(0)->set_layer(9);
  EXPECT_TRUE(IsError(store_
                          ->InsertCandidatesWithJobs({MakeRoot(search_id_), bad},
                                                     {JobWithSeed(1), JobWithSeed(2)}, 200)
                          .status(),
                      absl::StatusCode::kInvalidArgument, "candidates[1]"));
  EXPECT_EQ(CountRows("candidates"), 2);
  EXPECT_EQ(CountRows("jobs"), 2);

  EXPECT_TRUE(IsError(
      store_->InsertCandidatesWithJobs({MakeRoot(search_id_)}, {JobWithSeed(1), JobWithSeed(2)}, 1)
          .status(),
      absl::StatusCode::kInvalidArgument, "1 candidates but 2 jobs"));
  EXPECT_TRUE(IsError(
      store_->InsertCandidatesWithJobs({MakeRoot(search_id_)}, {JobWithSeed(1, 0)}, 1).status(),
      absl::StatusCode::kInvalidArgument, "max_attempts"));
  EXPECT_EQ(CountRows("candidates"), 2);
}

TEST_F(JobsTest, LeaseHandsOutTheOldestJobWithEverythingToEvaluateIt) {
  std::vector<Candidate> written = InsertWithJobs(2);
  Lease lease = MustLease(1000);
  EXPECT_EQ(lease.attempt, 1);
  EXPECT_EQ(lease.lease_expires_ms, 1000 + kLeaseMs);
  EXPECT_EQ(lease.request.candidate_id(), written[0].id());
  EXPECT_EQ(lease.request.training().seed(), 1u);
  EXPECT_EQ(lease.request.training().steps(), 50);
  EXPECT_EQ(lease.request.genome().SerializeAsString(), written[0].genome().SerializeAsString());

  ASSERT_OK_AND_ASSIGN(Candidate running, store_->GetCandidate(written[0].id()));
  EXPECT_EQ(running.state(), headevo::v1::CANDIDATE_STATE_RUNNING);
  ASSERT_OK_AND_ASSIGN(storage::WorkerRecord worker, store_->GetWorker(worker_));
  EXPECT_EQ(worker.last_seen_ms, 1000);
  EXPECT_EQ(worker.device, "cuda:0");

  EXPECT_EQ(MustLease(1001).request.candidate_id(), written[1].id());
  ASSERT_OK_AND_ASSIGN(std::optional<Lease> none, store_->LeaseJob({worker_, 1002, kLeaseMs, 0}));
  EXPECT_FALSE(none.has_value());
}

TEST_F(JobsTest, PausedSearchesAndOtherSearchesAreNotLeased) {
  InsertWithJobs(1);
  ASSERT_OK(store_->SetSearchState(search_id_, headevo::v1::SEARCH_STATE_PAUSED));
  ASSERT_OK_AND_ASSIGN(std::optional<Lease> none, store_->LeaseJob({worker_, 1, kLeaseMs, 0}));
  EXPECT_FALSE(none.has_value());
  ASSERT_OK(store_->SetSearchState(search_id_, headevo::v1::SEARCH_STATE_RUNNING));
  ASSERT_OK_AND_ASSIGN(none, store_->LeaseJob({worker_, 1, kLeaseMs, search_id_ + 1}));
  EXPECT_FALSE(none.has_value());
  ASSERT_OK_AND_ASSIGN(none, store_->LeaseJob({worker_, 1, kLeaseMs, search_id_}));
  EXPECT_TRUE(none.has_value());
}

TEST_F(JobsTest, LeaseRejectsUnknownWorkerAndBadDuration) {
  InsertWithJobs(1);
  EXPECT_TRUE(IsError(store_->LeaseJob({worker_ + 7, 1, kLeaseMs, 0}).status(),
                      absl::StatusCode::kNotFound, "worker"));
  EXPECT_TRUE(IsError(store_->LeaseJob({worker_, 1, 0, 0}).status(),
                      absl::StatusCode::kInvalidArgument, "lease_ms"));
  EXPECT_EQ(Job(1).state, JobState::kQueued);
}

TEST_F(JobsTest, CompleteJobRecordsResultStatsCheckpointAndCompletionOnce) {
  std::vector<Candidate> written = InsertWithJobs(1);
  Lease lease = MustLease(1000);
  ASSERT_OK_AND_ASSIGN(ReportOutcome first, store_->CompleteJob(lease.job_id, lease.attempt,
                                                                ResultFor(written[0], 2.5), 1500));
  EXPECT_EQ(first, ReportOutcome::kRecorded);
  JobRecord job = Job(lease.job_id);
  EXPECT_EQ(job.state, JobState::kDone);
  EXPECT_EQ(job.finished_ms, 1500);
  ASSERT_OK_AND_ASSIGN(Candidate done, store_->GetCandidate(written[0].id()));
  EXPECT_EQ(done.state(), headevo::v1::CANDIDATE_STATE_DONE);
  EXPECT_DOUBLE_EQ(done.metrics().val_loss(), 2.5);
  EXPECT_EQ(done.head_stats_size(), 3);
  ASSERT_OK_AND_ASSIGN(std::vector<storage::CheckpointRecord> checkpoints,
                       store_->ListCheckpoints(search_id_));
  ASSERT_EQ(checkpoints.size(), 1u);
  EXPECT_EQ(checkpoints[0].sha256, std::string(64, 'c'));
  EXPECT_EQ(checkpoints[0].candidate_id, written[0].id());

  // The same report again (the reply was lost): OK, and nothing changes.
  ASSERT_OK_AND_ASSIGN(ReportOutcome again, store_->CompleteJob(lease.job_id, lease.attempt,
                                                                ResultFor(written[0], 2.5), 1600));
  EXPECT_EQ(again, ReportOutcome::kAlreadyRecorded);
  // Another result for the same lease is not the one recorded: refused, and nothing changes.
  EXPECT_TRUE(IsError(store_->CompleteJob(lease.job_id, lease.attempt,
                                          ResultFor(written[0], 9.0), 1700)
                          .status(),
                      absl::StatusCode::kFailedPrecondition, "different result"));
  ASSERT_OK_AND_ASSIGN(done, store_->GetCandidate(written[0].id()));
  EXPECT_DOUBLE_EQ(done.metrics().val_loss(), 2.5);
  EXPECT_EQ(CountRows("head_stats"), 3);
  EXPECT_EQ(Job(lease.job_id).finished_ms, 1500);
}

TEST_F(JobsTest, ABadResultChangesNothing) {
  std::vector<Candidate> written = InsertWithJobs(1);
  Lease lease = MustLease(1000);
  EvaluationResult bad = ResultFor(written[0], 2.5);
  bad.mutable_head_stats(0)->set_head_id(999);
  EXPECT_TRUE(IsError(store_->CompleteJob(lease.job_id, lease.attempt, bad, 1500).status(),
                      absl::StatusCode::kInvalidArgument, "head 999"));
  EvaluationResult other = ResultFor(written[0], 2.5);
  other.set_candidate_id(written[0].id() + 1);
  EXPECT_TRUE(IsError(store_->CompleteJob(lease.job_id, lease.attempt, other, 1500).status(),
                      absl::StatusCode::kInvalidArgument, "evaluates candidate"));
  EXPECT_TRUE(
      IsError(store_->CompleteJob(lease.job_id + 5, 1, ResultFor(written[0], 1), 1).status(),
              absl::StatusCode::kNotFound, "job"));
  EXPECT_EQ(Job(lease.job_id).state, JobState::kLeased);
  EXPECT_EQ(CountRows("head_stats"), 0);
  EXPECT_EQ(CountRows("checkpoints"), 0);
}

TEST_F(JobsTest, ExpiredLeaseIsQueuedAgainAndItsLateResultRefused) {
  std::vector<Candidate> written = InsertWithJobs(1);
  Lease stale = MustLease(1000);
  // Before the lease ends, nothing expires; a heartbeat extends it.
  ASSERT_OK_AND_ASSIGN(std::vector<JobRecord> expired, store_->ExpireLeases(1999));
  EXPECT_TRUE(expired.empty());
  ASSERT_OK(store_->Heartbeat(stale.job_id, stale.attempt, worker_, 1900, kLeaseMs));
  ASSERT_OK_AND_ASSIGN(expired, store_->ExpireLeases(2500));
  EXPECT_TRUE(expired.empty());

  ASSERT_OK_AND_ASSIGN(expired, store_->ExpireLeases(3000));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].state, JobState::kQueued);
  EXPECT_NE(expired[0].last_error.find("lease expired"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(Candidate pending, store_->GetCandidate(written[0].id()));
  EXPECT_EQ(pending.state(), headevo::v1::CANDIDATE_STATE_PENDING);

  Lease fresh = MustLease(3100);
  EXPECT_EQ(fresh.job_id, stale.job_id);
  EXPECT_EQ(fresh.attempt, 2);
  // The first worker wakes up: its heartbeat and its result are refused, nothing is counted.
  EXPECT_TRUE(IsError(store_->Heartbeat(stale.job_id, stale.attempt, worker_, 3200, kLeaseMs),
                      absl::StatusCode::kFailedPrecondition, "no longer holds a lease"));
  EXPECT_TRUE(IsError(
      store_->CompleteJob(stale.job_id, stale.attempt, ResultFor(written[0], 7.0), 3200).status(),
      absl::StatusCode::kFailedPrecondition, "attempt 1 no longer holds"));
  EXPECT_EQ(CountRows("head_stats"), 0);
  ASSERT_OK(store_->CompleteJob(fresh.job_id, fresh.attempt, ResultFor(written[0], 1.0), 3300));
  // A stale report after the job is done is still refused, and the result stands.
  EXPECT_TRUE(IsError(
      store_->CompleteJob(stale.job_id, stale.attempt, ResultFor(written[0], 7.0), 3400).status(),
      absl::StatusCode::kFailedPrecondition, "DONE"));
  ASSERT_OK_AND_ASSIGN(Candidate done, store_->GetCandidate(written[0].id()));
  EXPECT_DOUBLE_EQ(done.metrics().val_loss(), 1.0);
}

TEST_F(JobsTest, HeartbeatFromAnotherWorkerIsRefused) {
  InsertWithJobs(1);
  Lease lease = MustLease(1000);
  ASSERT_OK_AND_ASSIGN(int64_t other, store_->RegisterWorker({0, "host-b", "cpu", 0, 0, 0}, 5));
  EXPECT_TRUE(IsError(store_->Heartbeat(lease.job_id, lease.attempt, other, 1100, kLeaseMs),
                      absl::StatusCode::kFailedPrecondition, "leased to worker"));
  EXPECT_EQ(Job(lease.job_id).lease_expires_ms, 1000 + kLeaseMs);
}

TEST_F(JobsTest, AttemptsRunOutAndTheCandidateFailsWithTheLastError) {
  std::vector<Candidate> written = InsertWithJobs(1, /*max_attempts=*/2);
  Lease first = MustLease(1000);
  ASSERT_OK_AND_ASSIGN(JobState state, store_->FailJob(first.job_id, first.attempt,
                                                       "CUDA out of memory", false, 1100));
  EXPECT_EQ(state, JobState::kQueued);
  // The same failure reported twice is not a second attempt.
  ASSERT_OK_AND_ASSIGN(
      state, store_->FailJob(first.job_id, first.attempt, "CUDA out of memory", false, 1150));
  EXPECT_EQ(state, JobState::kQueued);
  Lease second = MustLease(1200);
  EXPECT_EQ(second.attempt, 2);
  ASSERT_OK_AND_ASSIGN(std::vector<JobRecord> expired, store_->ExpireLeases(1200 + kLeaseMs + 1));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].state, JobState::kFailed);
  ASSERT_OK_AND_ASSIGN(Candidate failed, store_->GetCandidate(written[0].id()));
  EXPECT_EQ(failed.state(), headevo::v1::CANDIDATE_STATE_FAILED);
  EXPECT_NE(failed.error().find("lease expired"), std::string::npos) << failed.error();
  EXPECT_NE(failed.error().find("attempt 2 of 2"), std::string::npos) << failed.error();
  ASSERT_OK_AND_ASSIGN(std::optional<Lease> none, store_->LeaseJob({worker_, 9999, kLeaseMs, 0}));
  EXPECT_FALSE(none.has_value());
}

TEST_F(JobsTest, PermanentFailureIsNotRetried) {
  std::vector<Candidate> written = InsertWithJobs(1, /*max_attempts=*/5);
  Lease lease = MustLease(1000);
  ASSERT_OK_AND_ASSIGN(JobState state,
                       store_->FailJob(lease.job_id, lease.attempt, "loss is NaN", true, 1100));
  EXPECT_EQ(state, JobState::kFailed);
  EXPECT_EQ(Job(lease.job_id).finished_ms, 1100);
  ASSERT_OK_AND_ASSIGN(Candidate failed, store_->GetCandidate(written[0].id()));
  EXPECT_EQ(failed.error(), "loss is NaN");
  ASSERT_OK_AND_ASSIGN(std::optional<Lease> none, store_->LeaseJob({worker_, 1200, kLeaseMs, 0}));
  EXPECT_FALSE(none.has_value());
}

TEST_F(JobsTest, RecordResultOutsideALeaseCompletesTheJob) {
  std::vector<Candidate> written = InsertWithJobs(1);
  EvaluationResult result = ResultFor(written[0], 3.0);
  result.set_candidate_id(written[0].id());
  ASSERT_OK(store_->RecordResult(result));
  EXPECT_EQ(Job(1).state, JobState::kDone);
  ASSERT_OK_AND_ASSIGN(std::optional<Lease> none, store_->LeaseJob({worker_, 1, kLeaseMs, 0}));
  EXPECT_FALSE(none.has_value());
}

TEST_F(JobsTest, EventsAreListedInOrderPerSearch) {
  ASSERT_OK_AND_ASSIGN(int64_t a, store_->AppendEvent({0, search_id_, 10, "search_started", "go"}));
  ASSERT_OK_AND_ASSIGN(int64_t b, store_->AppendEvent({0, 0, 11, "coordinator_started", "up"}));
  ASSERT_OK_AND_ASSIGN(int64_t c, store_->AppendEvent({0, search_id_, 12, "new_best", "1.5"}));
  ASSERT_OK_AND_ASSIGN(std::vector<storage::EventRecord> events,
                       store_->ListEvents(search_id_, 0, 10));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, a);
  EXPECT_EQ(events[1].id, c);
  EXPECT_EQ(events[1].kind, "new_best");
  ASSERT_OK_AND_ASSIGN(events, store_->ListEvents(search_id_, a, 10));
  ASSERT_EQ(events.size(), 1u);
  ASSERT_OK_AND_ASSIGN(events, store_->ListEvents(0, 0, 10));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, b);
  EXPECT_TRUE(IsError(store_->AppendEvent({0, search_id_ + 3, 1, "x", ""}).status(),
                      absl::StatusCode::kNotFound, "search"));
  EXPECT_TRUE(IsError(store_->AppendEvent({0, search_id_, 1, "", ""}).status(),
                      absl::StatusCode::kInvalidArgument, "kind"));
}

}  // namespace
}  // namespace headevo::testing
