// What an outside worker's calls may and may not do (fake evaluator, fake clock): a repeat
// report is recognised only from the lease's worker with the same result, unknown workers get
// NOT_FOUND and never count as live, every candidate's end is a stored, replayable event, and
// "no value" is NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>

#include "server/engine/coordinator.h"
#include "tests/server/coordinator_fixture.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::server {
namespace {

constexpr char kConfig[] =
    "[search]\nseed = 4\npopulation = 2\ngenerations = 1\nschedule = \"generational\"\n"
    "compare_with_dense = false\n[selection]\nparents = 2\n[model]\nseq_len = 16\n"
    "[task]\nplanted_offsets = [-1, -3]\n[initial]\nwindow = 6\n";

class CoordinatorReportsTest : public CoordinatorFixture {
 protected:
  void SetUp() override {
    CoordinatorFixture::SetUp();
    search_ = Create(kConfig);
    lease_ = Lease();
    ASSERT_TRUE(lease_.has_value());
    auto result = evaluator_.Evaluate(lease_->request);
    ASSERT_TRUE(result.ok());
    result_ = *result;
  }

  // The candidate of the lease as stored, to show a refused call changed nothing.
  std::string Stored() {
    auto c = store_->GetCandidate(lease_->request.candidate_id());
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? c->SerializeAsString() : "";
  }

  int64_t search_ = 0;
  std::optional<storage::Lease> lease_;
  headevo::v1::EvaluationResult result_;
};

TEST_F(CoordinatorReportsTest, ARepeatIsRecognisedOnlyFromTheLeasesWorkerWithTheSameResult) {
  ASSERT_OK_AND_ASSIGN(JobReport first,
                       coordinator_->ReportResult(worker_, lease_->job_id, lease_->attempt, result_));
  EXPECT_FALSE(first.already_recorded);
  const std::string recorded = Stored();

  ASSERT_OK_AND_ASSIGN(JobReport again,
                       coordinator_->ReportResult(worker_, lease_->job_id, lease_->attempt, result_));
  EXPECT_TRUE(again.already_recorded) << "the same report after a lost reply";
  ASSERT_TRUE(again.candidate.has_value());

  headevo::v1::EvaluationResult other = result_;
  other.mutable_metrics()->set_val_loss(result_.metrics().val_loss() + 0.5);
  absl::StatusOr<JobReport> different =
      coordinator_->ReportResult(worker_, lease_->job_id, lease_->attempt, other);
  ASSERT_FALSE(different.ok());
  EXPECT_EQ(different.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(different.status().message().find("different result"), std::string::npos)
      << different.status();

  absl::StatusOr<JobReport> stranger =
      coordinator_->ReportResult(worker_ + 100, lease_->job_id, lease_->attempt, result_);
  ASSERT_FALSE(stranger.ok());
  EXPECT_EQ(stranger.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(stranger.status().message().find("not registered"), std::string::npos);

  ASSERT_OK_AND_ASSIGN(WorkerRegistration other_worker,
                       coordinator_->RegisterWorker({0, "other", "cpu"}));
  absl::StatusOr<JobReport> someone_else = coordinator_->ReportResult(
      other_worker.worker_id, lease_->job_id, lease_->attempt, result_);
  ASSERT_FALSE(someone_else.ok());
  EXPECT_EQ(someone_else.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Stored(), recorded) << "no refused report changed the candidate";
}

TEST_F(CoordinatorReportsTest, UnknownWorkersGetNotFoundAndNeverCountAsLive) {
  ASSERT_OK_AND_ASSIGN(CoordinatorStats before, coordinator_->Stats());
  EXPECT_EQ(before.live_workers, 1);
  const std::string stored = Stored();
  const int64_t ghost = worker_ + 7;
  EXPECT_EQ(coordinator_->ReportResult(ghost, lease_->job_id, lease_->attempt, result_)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(coordinator_->ReportFailure(ghost, lease_->job_id, lease_->attempt, "x", true)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(coordinator_->ReleaseJob(ghost, lease_->job_id, lease_->attempt, "bye").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(coordinator_->Heartbeat(ghost, lease_->job_id, lease_->attempt, 1, 1.0)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(CoordinatorStats after, coordinator_->Stats());
  EXPECT_EQ(after.live_workers, 1) << "refused calls create no live worker";
  EXPECT_EQ(Stored(), stored);

  // A registered worker whose call is refused (another's lease) is not made live by it either.
  ASSERT_OK_AND_ASSIGN(WorkerRegistration late, coordinator_->RegisterWorker({0, "late", "cpu"}));
  now_ms_ += 10'000;  // both registrations are now older than a lease
  EXPECT_FALSE(
      coordinator_->ReleaseJob(late.worker_id, lease_->job_id, lease_->attempt, "no").ok());
  ASSERT_OK_AND_ASSIGN(after, coordinator_->Stats());
  EXPECT_EQ(after.live_workers, 0);
  ASSERT_OK(coordinator_->Heartbeat(worker_, lease_->job_id, lease_->attempt, 1, 1.0).status());
  ASSERT_OK_AND_ASSIGN(after, coordinator_->Stats());
  EXPECT_EQ(after.live_workers, 1) << "an accepted call counts";
}

TEST_F(CoordinatorReportsTest, EveryCandidatesEndIsAStoredReplayableEvent) {
  ASSERT_OK(coordinator_->ReportResult(worker_, lease_->job_id, lease_->attempt, result_).status());
  Coordinator::EventCursor first_watch;
  ASSERT_OK_AND_ASSIGN(auto seen, coordinator_->NextEvents(search_, first_watch, 0));
  ASSERT_FALSE(seen.empty());
  const int64_t last_seen = seen.back().id();
  bool saw_finished = false;
  for (const auto& event : seen) {
    EXPECT_GT(event.id(), 0) << event.kind() << ": a stored event has an id";
    saw_finished |= event.kind() == "candidate_finished";
  }
  EXPECT_TRUE(saw_finished);
  Drain();  // the rest happens while the watcher is away

  // Reconnecting after the last id replays everything since, in order, each with its id.
  Coordinator::EventCursor second_watch;
  second_watch.stored_after = last_seen;
  ASSERT_OK_AND_ASSIGN(auto replay, coordinator_->NextEvents(search_, second_watch, 0));
  int finished = 0;
  int64_t previous = last_seen;
  for (const auto& event : replay) {
    EXPECT_GT(event.id(), previous) << event.kind();
    previous = event.id();
    finished += event.kind() == "candidate_finished";
  }
  ASSERT_OK_AND_ASSIGN(auto all, store_->ListCandidates(search_));
  EXPECT_EQ(finished, static_cast<int>(all.size()) - 1);
  EXPECT_EQ(replay.back().kind(), "search_done");
}

TEST_F(CoordinatorReportsTest, NoValueIsNaNUntilAResultExists) {
  headevo::v1::SearchSummary summary = Summary(search_);
  EXPECT_EQ(summary.best_candidate_id(), 0);
  EXPECT_TRUE(std::isnan(summary.best_val_loss())) << summary.best_val_loss();
  ASSERT_OK(coordinator_->ReportResult(worker_, lease_->job_id, lease_->attempt, result_).status());
  summary = Summary(search_);
  EXPECT_EQ(summary.best_candidate_id(), lease_->request.candidate_id());
  EXPECT_EQ(summary.best_val_loss(), result_.metrics().val_loss());
}

}  // namespace
}  // namespace headevo::server
