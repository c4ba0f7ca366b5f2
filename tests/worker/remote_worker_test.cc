// The remote worker against a scripted coordinator (tests/worker/fake_coordinator.h): a stop
// mid-training hands the job back and joins the training thread, an evaluator's exception
// becomes the job's reported failure, and the backoff and idle exit run on a fake clock. A
// coordinator whose disk is full (RESOURCE_EXHAUSTED) or that stopped mid-call (CANCELLED)
// gets the same result again until it takes it; a damaged parent checkpoint is never trained from.
#include "worker/remote_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "tests/worker/fake_coordinator.h"
#include "tests/worker/test_evaluators.h"
#include "tests/worker/test_requests.h"
#include "worker/checkpoint.h"

namespace headevo::worker {
namespace {

using testing::BlockingEvaluator;
using testing::FakeCoordinator;
using testing::FixedResultEvaluator;
using testing::ThrowingEvaluator;
using testing::TinyPlantedRequest;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A clock that moves only when the worker sleeps on it (or a test moves it).
struct FakeClock {
  std::atomic<int64_t> now_ms{1'000'000};
  std::mutex mu;
  std::vector<int64_t> sleeps;  // every sleep_ms call, guarded by mu

  void Install(RemoteWorkerOptions& options) {
    options.now_ms = [this] { return now_ms.load(); };
    options.sleep_ms = [this](int64_t ms) {
      std::lock_guard<std::mutex> lock(mu);
      sleeps.push_back(ms);
      now_ms += ms;
    };
  }
  int64_t TotalSlept() {
    std::lock_guard<std::mutex> lock(mu);
    int64_t total = 0;
    for (int64_t ms : sleeps) total += ms;
    return total;
  }
};

class RemoteWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(coordinator_.started()); }

  RemoteWorkerOptions Options() {
    RemoteWorkerOptions options;
    options.channel.address = coordinator_.address();
    options.checkpoint_dir = dir_.File("cache");
    options.name = "test-worker";
    options.lease_wait_ms = 10'000;
    options.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.push_back(line);
    };
    clock_.Install(options);
    return options;
  }

  std::string Log() {
    std::lock_guard<std::mutex> lock(log_mu_);
    std::string all;
    for (const std::string& line : log_) all += line + "\n";
    return all;
  }

  headevo::testing::TempDir dir_;
  FakeCoordinator coordinator_;
  FakeClock clock_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_F(RemoteWorkerTest, StopMidTrainingHandsTheJobBackAndJoinsTheTraining) {
  coordinator_.AddJob(TinyPlantedRequest());
  BlockingEvaluator evaluator;
  RemoteWorkerOptions options = Options();
  // Stop as soon as training is under way: the evaluator would never end on its own.
  options.stop = [&evaluator] { return evaluator.started.load(); };

  ASSERT_OK_AND_ASSIGN(const RemoteWorkerStats stats, RunRemoteWorker(options, &evaluator));

  // The training call had returned (after seeing the cancellation) before RunRemoteWorker did.
  EXPECT_EQ(evaluator.calls.load(), 1);
  EXPECT_EQ(evaluator.running.load(), 0) << "a training thread outlived RunRemoteWorker";
  EXPECT_TRUE(evaluator.saw_cancel.load());
  EXPECT_EQ(stats.jobs, 1);
  EXPECT_EQ(stats.handed_back, 1);
  EXPECT_EQ(stats.reported + stats.failed + stats.dropped, 0);
  const FakeCoordinator::Calls calls = coordinator_.calls();
  ASSERT_EQ(calls.releases.size(), 1u) << Log();
  EXPECT_EQ(calls.releases[0].worker_id(), 42);
  EXPECT_EQ(calls.releases[0].job_id(), 1);
  EXPECT_EQ(calls.releases[0].attempt(), 1);
  EXPECT_EQ(calls.releases[0].reason(), "worker shutting down");
  EXPECT_TRUE(calls.reports.empty()) << "a handed-back job must not be reported";
  EXPECT_TRUE(Contains(Log(), "handed back")) << Log();
}

TEST_F(RemoteWorkerTest, HeartbeatsWhileTrainingFollowTheFakeClock) {
  constexpr int64_t kHour = 3'600'000;
  coordinator_.heartbeat_interval_ms = kHour;  // never due in real time during this test
  coordinator_.AddJob(TinyPlantedRequest());
  BlockingEvaluator evaluator;
  RemoteWorkerOptions options = Options();
  // Every poll of `stop` moves the fake clock half an interval, so a heartbeat falls due every
  // second poll while training. Bounded, so a worker reading the real clock fails instead of
  // hanging.
  int polls = 0;
  options.stop = [&] {
    clock_.now_ms += kHour / 2;
    return coordinator_.calls().heartbeats >= 3 || ++polls >= 40;
  };

  ASSERT_OK_AND_ASSIGN(const RemoteWorkerStats stats, RunRemoteWorker(options, &evaluator));

  EXPECT_EQ(coordinator_.calls().heartbeats, 3);
  EXPECT_EQ(stats.handed_back, 1);
  EXPECT_EQ(evaluator.running.load(), 0);
}

TEST_F(RemoteWorkerTest, AnEvaluatorsExceptionIsReportedAsTheJobsFailure) {
  coordinator_.AddJob(TinyPlantedRequest());
  ThrowingEvaluator evaluator("tokenizer exploded");
  RemoteWorkerOptions options = Options();
  options.max_jobs = 1;

  ASSERT_OK_AND_ASSIGN(const RemoteWorkerStats stats, RunRemoteWorker(options, &evaluator));

  EXPECT_EQ(stats.jobs, 1);
  EXPECT_EQ(stats.failed, 1);
  EXPECT_EQ(stats.reported, 0);
  const FakeCoordinator::Calls calls = coordinator_.calls();
  ASSERT_EQ(calls.reports.size(), 1u) << Log();
  const headevo::v1::ReportResultRequest& report = calls.reports[0];
  EXPECT_FALSE(report.has_result());
  EXPECT_TRUE(Contains(report.error(), "INTERNAL")) << report.error();
  EXPECT_TRUE(Contains(report.error(), "candidate 7")) << report.error();
  EXPECT_TRUE(Contains(report.error(), "tokenizer exploded")) << report.error();
  // An unexplained failure inside evaluation would recur on any worker.
  EXPECT_TRUE(report.permanent());
}

TEST_F(RemoteWorkerTest, BackoffDoublesUpToItsCapOnTheFakeClock) {
  coordinator_.unavailable_registers = 6;
  BlockingEvaluator evaluator;  // never called: no job is offered
  RemoteWorkerOptions options = Options();
  options.max_backoff_ms = 1'000;
  options.max_jobs = 0;
  options.exit_when_idle_ms = 1;  // leave after the first empty lease
  coordinator_.on_empty_lease = [this](int64_t wait_ms) { clock_.now_ms += wait_ms; };

  ASSERT_OK_AND_ASSIGN(const RemoteWorkerStats stats, RunRemoteWorker(options, &evaluator));

  EXPECT_EQ(coordinator_.calls().registers, 7);
  // 100, 200, 400, 800, then capped at 1000 twice, all of it on the fake clock, in slices
  // short enough to notice a stop.
  EXPECT_EQ(clock_.TotalSlept(), 100 + 200 + 400 + 800 + 1'000 + 1'000);
  {
    std::lock_guard<std::mutex> lock(clock_.mu);
    for (int64_t ms : clock_.sleeps) EXPECT_LE(ms, 100);
  }
  const std::string log = Log();
  EXPECT_TRUE(Contains(log, "retrying in 800 ms")) << log;
  EXPECT_TRUE(Contains(log, "retrying in 1000 ms")) << log;
  EXPECT_FALSE(Contains(log, "retrying in 1600 ms")) << log;
  EXPECT_EQ(stats.jobs, 0);
  EXPECT_EQ(evaluator.calls.load(), 0);
}

TEST_F(RemoteWorkerTest, IdleExitWaitsForExitWhenIdleMsOfTheFakeClock) {
  BlockingEvaluator evaluator;
  RemoteWorkerOptions options = Options();
  options.exit_when_idle_ms = 25'000;
  // Each empty long poll takes lease_wait_ms (10 s) of the fake clock.
  coordinator_.on_empty_lease = [this](int64_t wait_ms) { clock_.now_ms += wait_ms; };

  ASSERT_OK_AND_ASSIGN(const RemoteWorkerStats stats, RunRemoteWorker(options, &evaluator));

  // Idle 10 s, 20 s: keep polling; 30 s >= 25 s: exit.
  EXPECT_EQ(coordinator_.calls().leases, 3) << Log();
  EXPECT_EQ(stats.jobs, 0);
  EXPECT_EQ(clock_.TotalSlept(), 0);
  EXPECT_TRUE(Contains(Log(), "no job for a while")) << Log();
}

TEST_F(RemoteWorkerTest, StopDuringBackoffReturnsTheLastError) {
  coordinator_.unavailable_registers = 1'000'000;
  BlockingEvaluator evaluator;
  RemoteWorkerOptions options = Options();
  // Stop once 3 s of fake time have gone by in backoff.
  const int64_t start = clock_.now_ms.load();
  options.stop = [this, start] { return clock_.now_ms.load() - start >= 3'000; };

  const absl::StatusOr<RemoteWorkerStats> stats = RunRemoteWorker(options, &evaluator);

  EXPECT_EQ(stats.status().code(), absl::StatusCode::kUnavailable) << stats.status();
  EXPECT_GE(clock_.TotalSlept(), 3'000);
  EXPECT_LT(clock_.TotalSlept(), 3'000 + 100);  // noticed within one poll slice
}

TEST_F(RemoteWorkerTest, AReportRefusedForAFullDiskIsKeptAndSentAgainUntilRecorded) {
  coordinator_.exhausted_reports = 3;
  coordinator_.AddJob(TinyPlantedRequest());
  FixedResultEvaluator evaluator;
  RemoteWorkerOptions options = Options();
  options.max_jobs = 1;
  std::vector<bool> connection;  // on_connection runs on the calling thread
  options.on_connection = [&connection](bool connected) { connection.push_back(connected); };

  ASSERT_OK_AND_ASSIGN(const RemoteWorkerStats stats, RunRemoteWorker(options, &evaluator));

  EXPECT_EQ(evaluator.calls.load(), 1) << "trained once, reported until taken";
  EXPECT_EQ(stats.reported, 1);
  EXPECT_EQ(stats.failed + stats.dropped, 0);
  const FakeCoordinator::Calls calls = coordinator_.calls();
  EXPECT_EQ(calls.refused_reports, 3);
  ASSERT_EQ(calls.reports.size(), 4u) << Log();
  ASSERT_TRUE(calls.reports[0].has_result()) << calls.reports[0].error();
  EXPECT_EQ(calls.reports[0].result().metrics().val_loss(), 1.5);
  for (const auto& report : calls.reports) {
    EXPECT_EQ(report.SerializeAsString(), calls.reports[0].SerializeAsString());
  }
  // Backed off on the fake clock between tries: 100, 200, 400 ms.
  EXPECT_EQ(clock_.TotalSlept(), 100 + 200 + 400);
  EXPECT_TRUE(Contains(Log(), "report: RESOURCE_EXHAUSTED: disk full writing")) << Log();
  // The coordinator answered every time: the worker stayed connected (ready).
  EXPECT_EQ(connection, std::vector<bool>{true});
}

TEST_F(RemoteWorkerTest, AnUploadRefusedForAFullDiskIsSentAgainAndTheResultKept) {
  coordinator_.exhausted_uploads = 2;
  coordinator_.AddJob(TinyPlantedRequest());
  RemoteWorkerOptions options = Options();
  options.max_jobs = 1;
  FixedResultEvaluator evaluator(options.checkpoint_dir, "trained weights");
  const std::string sha = Sha256Hex("trained weights");

  ASSERT_OK_AND_ASSIGN(const RemoteWorkerStats stats, RunRemoteWorker(options, &evaluator));

  EXPECT_EQ(evaluator.calls.load(), 1);
  EXPECT_EQ(stats.reported, 1);
  EXPECT_EQ(stats.failed + stats.dropped, 0);
  const FakeCoordinator::Calls calls = coordinator_.calls();
  EXPECT_EQ(calls.uploads, 3);
  EXPECT_EQ(calls.checkpoints.count(sha), 1u);
  EXPECT_EQ(calls.checkpoints.at(sha), "trained weights");
  // Reported once, after the upload went through, with the result and its checkpoint (not as
  // a failure that would spend an attempt and train the candidate again).
  ASSERT_EQ(calls.reports.size(), 1u) << Log();
  ASSERT_TRUE(calls.reports[0].has_result()) << calls.reports[0].error();
  EXPECT_EQ(calls.reports[0].result().checkpoint_sha256(), sha);
  EXPECT_TRUE(Contains(Log(), "upload: RESOURCE_EXHAUSTED: disk full writing")) << Log();
}

// A coordinator stopped for a restart cancels the calls in flight: the upload is sent again
// (to the coordinator that comes back) rather than the job failing, which would spend an
// attempt and train the candidate again (seen with Slurm: tests/deploy/slurm_cluster_test.py).
TEST_F(RemoteWorkerTest, AnUploadCancelledByAStoppingCoordinatorIsSentAgain) {
  coordinator_.cancelled_uploads = 1;
  coordinator_.AddJob(TinyPlantedRequest());
  RemoteWorkerOptions options = Options();
  options.max_jobs = 1;
  FixedResultEvaluator evaluator(options.checkpoint_dir, "trained weights");

  ASSERT_OK_AND_ASSIGN(const RemoteWorkerStats stats, RunRemoteWorker(options, &evaluator));

  EXPECT_EQ(evaluator.calls.load(), 1);
  EXPECT_EQ(stats.reported, 1);
  EXPECT_EQ(stats.failed + stats.dropped, 0);
  const FakeCoordinator::Calls calls = coordinator_.calls();
  EXPECT_EQ(calls.uploads, 2);
  ASSERT_EQ(calls.reports.size(), 1u) << Log();
  ASSERT_TRUE(calls.reports[0].has_result()) << calls.reports[0].error();
  EXPECT_EQ(calls.reports[0].result().checkpoint_sha256(), Sha256Hex("trained weights"));
  EXPECT_TRUE(Contains(Log(), "upload: CANCELLED")) << Log();
}

TEST_F(RemoteWorkerTest, ADamagedCachedParentIsDiscardedAndFetchedAgain) {
  const std::string parent = "parent weights";
  const std::string sha = Sha256Hex(parent);
  coordinator_.PutCheckpoint(sha, parent);
  headevo::v1::EvaluationRequest request = TinyPlantedRequest();
  request.set_parent_checkpoint_sha256(sha);
  coordinator_.AddJob(request);
  coordinator_.AddJob(request);
  RemoteWorkerOptions options = Options();
  options.max_jobs = 2;
  // The cache holds the parent with one byte flipped on disk.
  const std::string cached = options.checkpoint_dir + "/" + sha + ".ckpt";
  std::filesystem::create_directories(options.checkpoint_dir);
  std::string damaged = parent;
  damaged[3] ^= 0x20;
  std::ofstream(cached, std::ios::binary) << damaged;
  FixedResultEvaluator evaluator(options.checkpoint_dir, "");

  ASSERT_OK_AND_ASSIGN(const RemoteWorkerStats stats, RunRemoteWorker(options, &evaluator));

  EXPECT_EQ(stats.reported, 2);
  EXPECT_EQ(evaluator.calls.load(), 2);
  EXPECT_TRUE(evaluator.parent_intact.load()) << "trained from the damaged bytes";
  // Fetched once: the second job found the good copy in the cache.
  EXPECT_EQ(coordinator_.calls().downloads, 1);
  ASSERT_OK_AND_ASSIGN(const std::string now, Sha256HexOfFile(cached));
  EXPECT_EQ(now, sha);
  EXPECT_TRUE(Contains(Log(), "cached checkpoint " + cached + " is damaged")) << Log();
}

// The coordinator's copy of the parent is damaged: it either says so (DATA_LOSS) or sends
// bytes that do not hash to the name. Either way the job fails for good, nothing is cached,
// and the evaluator never runs.
TEST_F(RemoteWorkerTest, ADamagedParentAtTheCoordinatorFailsTheJobForGoodUntrained) {
  for (const bool coordinator_noticed : {true, false}) {
    SCOPED_TRACE(coordinator_noticed ? "DATA_LOSS from the coordinator" : "bytes hash otherwise");
    FakeCoordinator coordinator;
    ASSERT_TRUE(coordinator.started());
    const std::string sha = Sha256Hex("parent weights");
    if (coordinator_noticed) {
      coordinator.download_error = grpc::Status(
          grpc::StatusCode::DATA_LOSS, "checkpoint file /ckpt/" + sha + ".ckpt is damaged on disk");
    } else {
      coordinator.PutCheckpoint(sha, "parent weighTs");
    }
    headevo::v1::EvaluationRequest request = TinyPlantedRequest();
    request.set_parent_checkpoint_sha256(sha);
    coordinator.AddJob(request);
    RemoteWorkerOptions options = Options();
    options.channel.address = coordinator.address();
    options.checkpoint_dir = dir_.File(coordinator_noticed ? "cache-a" : "cache-b");
    options.max_jobs = 1;
    FixedResultEvaluator evaluator(options.checkpoint_dir, "");

    ASSERT_OK_AND_ASSIGN(const RemoteWorkerStats stats, RunRemoteWorker(options, &evaluator));

    EXPECT_EQ(evaluator.calls.load(), 0);
    EXPECT_EQ(stats.failed, 1);
    const FakeCoordinator::Calls calls = coordinator.calls();
    ASSERT_EQ(calls.reports.size(), 1u);
    EXPECT_FALSE(calls.reports[0].has_result());
    EXPECT_TRUE(calls.reports[0].permanent());
    EXPECT_TRUE(Contains(calls.reports[0].error(), "DATA_LOSS")) << calls.reports[0].error();
    EXPECT_TRUE(Contains(calls.reports[0].error(), sha)) << calls.reports[0].error();
    EXPECT_FALSE(std::filesystem::exists(options.checkpoint_dir + "/" + sha + ".ckpt"));
  }
}

// A promotion's resume checkpoint comes the way a parent does: downloaded by its digest into
// the cache, checked, and handed to the evaluator; a copy the coordinator has damaged fails
// the job for good, naming the resume checkpoint.
TEST_F(RemoteWorkerTest, AResumeCheckpointIsFetchedByItsDigestLikeAParent) {
  const std::string rung = "weights at the last rung";
  const std::string sha = Sha256Hex(rung);
  coordinator_.PutCheckpoint(sha, rung);
  headevo::v1::EvaluationRequest request = TinyPlantedRequest();
  request.mutable_training()->set_schedule_steps(120);
  request.set_resume_checkpoint_sha256(sha);
  coordinator_.AddJob(request);
  RemoteWorkerOptions options = Options();
  options.max_jobs = 1;
  std::filesystem::create_directories(options.checkpoint_dir);  // as the evaluator makes it
  FixedResultEvaluator evaluator(options.checkpoint_dir, "");

  ASSERT_OK_AND_ASSIGN(const RemoteWorkerStats stats, RunRemoteWorker(options, &evaluator));

  EXPECT_EQ(stats.reported, 1) << Log();
  EXPECT_EQ(evaluator.calls.load(), 1);
  EXPECT_TRUE(evaluator.resume_intact.load());
  EXPECT_EQ(coordinator_.calls().downloads, 1);
  ASSERT_OK_AND_ASSIGN(const std::string cached,
                       Sha256HexOfFile(options.checkpoint_dir + "/" + sha + ".ckpt"));
  EXPECT_EQ(cached, sha);

  FakeCoordinator damaged;
  ASSERT_TRUE(damaged.started());
  damaged.PutCheckpoint(sha, "weights at the last runG");
  damaged.AddJob(request);
  options.channel.address = damaged.address();
  options.checkpoint_dir = dir_.File("cache-damaged");
  FixedResultEvaluator untouched(options.checkpoint_dir, "");
  ASSERT_OK_AND_ASSIGN(const RemoteWorkerStats failed, RunRemoteWorker(options, &untouched));
  EXPECT_EQ(untouched.calls.load(), 0);
  EXPECT_EQ(failed.failed, 1);
  const FakeCoordinator::Calls calls = damaged.calls();
  ASSERT_EQ(calls.reports.size(), 1u);
  EXPECT_TRUE(calls.reports[0].permanent());
  EXPECT_TRUE(Contains(calls.reports[0].error(), "fetching resume checkpoint"))
      << calls.reports[0].error();
  EXPECT_TRUE(Contains(calls.reports[0].error(), sha)) << calls.reports[0].error();
}

TEST(RemoteWorkerOptionsTest, NullEvaluatorIsInvalidArgument) {
  RemoteWorkerOptions options;
  options.channel.address = "127.0.0.1:1";
  options.checkpoint_dir = "/tmp";
  EXPECT_EQ(RunRemoteWorker(options, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(IsPermanentFailureTest, OnlyConditionsThatWouldRecurAnywhereArePermanent) {
  EXPECT_TRUE(IsPermanentFailure(absl::InternalError("NaN loss")));
  EXPECT_TRUE(IsPermanentFailure(absl::InvalidArgumentError("bad shapes")));
  EXPECT_FALSE(IsPermanentFailure(absl::ResourceExhaustedError("out of memory")));
  EXPECT_FALSE(IsPermanentFailure(absl::CancelledError("training cancelled")));
  EXPECT_FALSE(IsPermanentFailure(absl::UnavailableError("coordinator down")));
}

}  // namespace
}  // namespace headevo::worker
