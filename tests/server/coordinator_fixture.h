// A coordinator on a real SQLite file, with a fake evaluator, a fake clock and one registered
// worker: the fixture of the engine's tests that drive jobs by hand.
#ifndef HEADEVO_TESTS_SERVER_COORDINATOR_FIXTURE_H_
#define HEADEVO_TESTS_SERVER_COORDINATOR_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "server/config/search_config.h"
#include "server/engine/coordinator.h"
#include "storage/store.h"
#include "tests/testutil/fake_evaluator.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace headevo::server {

class CoordinatorFixture : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  // A new coordinator (and store) on `file`; the same file again is a restart.
  void Open(const std::string& file = "c.db") {
    coordinator_.reset();
    reader_.reset();
    store_.reset();
    // Group commit, as `headevo serve` runs: every answer waits for its fsync.
    storage::StoreOptions store_options;
    store_options.durability = storage::StoreOptions::Durability::kGroup;
    ASSERT_OK_AND_ASSIGN(store_, storage::Store::Open(dir_.File(file), store_options));
    // Queries on their own connection, as `headevo serve` reads.
    ASSERT_OK_AND_ASSIGN(reader_, storage::Store::OpenReader(dir_.File(file)));
    CoordinatorOptions options;
    options.reader = reader_.get();
    options.lease_ms = 1000;
    options.max_attempts = 2;
    options.keep_best_checkpoints = 1;
    options.clock = [this] { return now_ms_; };
    ASSERT_OK_AND_ASSIGN(coordinator_, Coordinator::Create(store_.get(), options));
    ASSERT_OK_AND_ASSIGN(WorkerRegistration w, coordinator_->RegisterWorker({0, "t", "cpu"}));
    worker_ = w.worker_id;
  }

  int64_t Create(const std::string& toml) {
    auto options = ParseSearchConfig(toml, "test.toml");
    EXPECT_TRUE(options.ok()) << options.status();
    auto id = coordinator_->CreateSearch(*options, toml, {});
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : 0;
  }

  std::optional<storage::Lease> Lease() {
    auto lease = coordinator_->LeaseJob(worker_);
    EXPECT_TRUE(lease.ok()) << lease.status();
    return lease.ok() ? *lease : std::nullopt;
  }

  JobReport Finish(const storage::Lease& lease) {
    auto result = evaluator_.Evaluate(lease.request);
    EXPECT_TRUE(result.ok());
    auto report = coordinator_->ReportResult(worker_, lease.job_id, lease.attempt, *result);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : JobReport();
  }

  int Drain() {
    int n = 0;
    while (auto lease = Lease()) {
      Finish(*lease);
      ++n;
    }
    return n;
  }

  headevo::v1::SearchState State(int64_t id) {
    auto summary = coordinator_->Summary(id);
    return summary.ok() ? summary->state() : headevo::v1::SEARCH_STATE_UNSPECIFIED;
  }

  headevo::v1::SearchSummary Summary(int64_t id) {
    auto summary = coordinator_->Summary(id);
    EXPECT_TRUE(summary.ok()) << summary.status();
    return summary.ok() ? *summary : headevo::v1::SearchSummary();
  }

  headevo::testing::TempDir dir_;
  int64_t now_ms_ = 1'000'000;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<storage::Store> reader_;
  std::unique_ptr<Coordinator> coordinator_;
  int64_t worker_ = 0;
  headevo::testing::FakeEvaluator evaluator_{{-1, -3}};
};

}  // namespace headevo::server

#endif  // HEADEVO_TESTS_SERVER_COORDINATOR_FIXTURE_H_
