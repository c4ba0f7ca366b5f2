// serve's periodic chores driven round by round with a fake clock: leases expire once the clock
// passes them, checkpoints are collected only when a collection is due, the health endpoint is
// beaten every round, and Stop() does not wait out the pause between rounds.
#include "server/ops/housekeeping.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include "absl/strings/str_format.h"
#include "server/engine/checkpoint_store.h"
#include "server/engine/coordinator.h"
#include "server/ops/health_endpoint.h"
#include "server/config/search_config.h"
#include "storage/store.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "tests/testutil/tiny_config.h"
#include "worker/health_probe.h"

namespace headevo::server {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kLeaseMs = 1'000;
constexpr int64_t kGcEveryMs = 60'000;
constexpr int64_t kHourMs = int64_t{3600} * 1000;

class HousekeepingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(store_, storage::Store::Open(dir_.File("h.db")));
    CoordinatorOptions options;
    options.lease_ms = kLeaseMs;
    options.max_attempts = 3;
    options.clock = [this] { return now_ms_.load(); };
    ASSERT_OK_AND_ASSIGN(coordinator_, Coordinator::Create(store_.get(), options));
    ASSERT_OK_AND_ASSIGN(WorkerRegistration w, coordinator_->RegisterWorker({0, "t", "cpu"}));
    worker_ = w.worker_id;
    ASSERT_OK_AND_ASSIGN(checkpoints_, CheckpointStore::Open(dir_.File("ckpt")));
  }

  HousekeepingOptions Options() {
    HousekeepingOptions options;
    options.gc_every_ms = kGcEveryMs;
    // Files are dated by the real file system: an hour either way leaves no race.
    options.checkpoint_min_age_ms = kHourMs;
    options.now_ms = [this] { return now_ms_.load(); };
    return options;
  }

  // A checkpoint file nothing needs; `old` dates it two hours back, past checkpoint_min_age_ms.
  std::string UnneededCheckpoint(char digit, bool old) {
    const std::string path = checkpoints_->PathOf(std::string(64, digit));
    std::ofstream(path) << "weights";
    if (old) fs::last_write_time(path, fs::last_write_time(path) - std::chrono::hours(2));
    return path;
  }

  testing::TempDir dir_;
  std::atomic<int64_t> now_ms_{0};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<CheckpointStore> checkpoints_;
  int64_t worker_ = 0;
};

TEST_F(HousekeepingTest, LeasesExpireOnceTheClockPassesThem) {
  const std::string toml = testing::TinySearchConfig("population = 1\ngenerations = 0\n", 1);
  ASSERT_OK_AND_ASSIGN(search::SearchOptions search, ParseSearchConfig(toml, "test.toml"));
  ASSERT_OK(coordinator_->CreateSearch(search, toml, {}).status());
  ASSERT_OK_AND_ASSIGN(std::optional<storage::Lease> first, coordinator_->LeaseJob(worker_));
  ASSERT_TRUE(first.has_value());
  Housekeeping housekeeping(coordinator_.get(), checkpoints_.get(), nullptr, Options());

  now_ms_ = kLeaseMs - 1;
  ASSERT_OK(housekeeping.RunOnce(now_ms_).leases);
  ASSERT_OK_AND_ASSIGN(std::optional<storage::Lease> none, coordinator_->LeaseJob(worker_));
  EXPECT_FALSE(none.has_value()) << "the lease still runs: its job is not queued again";

  now_ms_ = kLeaseMs + 1;
  ASSERT_OK(housekeeping.RunOnce(now_ms_).leases);
  ASSERT_OK_AND_ASSIGN(std::optional<storage::Lease> second, coordinator_->LeaseJob(worker_));
  ASSERT_TRUE(second.has_value()) << "an expired lease's job is queued again";
  EXPECT_EQ(second->job_id, first->job_id);
  EXPECT_EQ(second->attempt, 2);
}

TEST_F(HousekeepingTest, CheckpointsAreCollectedOnlyWhenACollectionIsDue) {
  Housekeeping housekeeping(coordinator_.get(), checkpoints_.get(), nullptr, Options());
  const std::string fresh = UnneededCheckpoint('a', /*old=*/false);
  const std::string first = UnneededCheckpoint('b', /*old=*/true);
  now_ms_ = 5'000;
  HousekeepingRound round = housekeeping.RunOnce(now_ms_);
  ASSERT_TRUE(round.collected.has_value()) << "the first round collects";
  ASSERT_OK_AND_ASSIGN(int removed, *round.collected);
  EXPECT_EQ(removed, 1);
  EXPECT_FALSE(fs::exists(first));
  EXPECT_TRUE(fs::exists(fresh)) << "younger than checkpoint_min_age_ms: maybe not reported yet";

  const std::string second = UnneededCheckpoint('c', /*old=*/true);
  now_ms_ = 5'000 + kGcEveryMs - 1;
  round = housekeeping.RunOnce(now_ms_);
  EXPECT_FALSE(round.collected.has_value()) << "not due yet";
  EXPECT_TRUE(fs::exists(second));

  now_ms_ = 5'000 + kGcEveryMs;
  round = housekeeping.RunOnce(now_ms_);
  ASSERT_TRUE(round.collected.has_value()) << "due again";
  ASSERT_OK_AND_ASSIGN(removed, *round.collected);
  EXPECT_EQ(removed, 1);
  EXPECT_FALSE(fs::exists(second));
  EXPECT_TRUE(fs::exists(fresh));
}

TEST_F(HousekeepingTest, EachRoundBeatsTheHealthEndpoint) {
  HealthEndpointOptions health_options;
  health_options.listen = "127.0.0.1:0";
  health_options.stale_after_ms = 500;
  health_options.refresh_ms = 24 * kHourMs;  // only the test refreshes
  health_options.now_ms = [this] { return now_ms_.load(); };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<HealthEndpoint> health,
                       HealthEndpoint::Start(health_options));
  worker::ChannelOptions channel;
  channel.address = absl::StrFormat("127.0.0.1:%d", health->port());
  auto live = [&] {
    health->Refresh();
    auto status = worker::ProbeHealth(channel, "", 5'000);
    EXPECT_TRUE(status.ok()) << status.status();
    return status.ok() && *status == worker::ServingStatus::kServing;
  };
  Housekeeping housekeeping(coordinator_.get(), checkpoints_.get(), health.get(), Options());

  now_ms_ = 1'000;
  EXPECT_FALSE(live()) << "no beat for 1000 ms of 500";
  housekeeping.RunOnce(now_ms_);
  EXPECT_TRUE(live()) << "a round beats";
  now_ms_ = 1'600;
  EXPECT_FALSE(live());
  housekeeping.RunOnce(now_ms_);
  EXPECT_TRUE(live());
}

TEST_F(HousekeepingTest, StopDoesNotWaitForTheNextRound) {
  HousekeepingOptions options = Options();
  options.expire_every_ms = 24 * kHourMs;
  std::mutex mu;
  std::condition_variable ran;
  int rounds = 0;
  options.on_round = [&](const HousekeepingRound&) {
    std::lock_guard<std::mutex> lock(mu);
    ++rounds;
    ran.notify_all();
  };
  Housekeeping housekeeping(coordinator_.get(), checkpoints_.get(), nullptr, options);
  housekeeping.Start();
  {
    std::unique_lock<std::mutex> lock(mu);
    ran.wait(lock, [&] { return rounds > 0; });  // the first round runs at once
  }
  housekeeping.Stop();  // would hang for a day if it waited out the pause
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(rounds, 1);
}

}  // namespace
}  // namespace headevo::server
