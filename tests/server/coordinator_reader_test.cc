// Queries on the reader (CoordinatorOptions::reader): they run outside the coordinator's lock,
// so a long read never holds up a worker, and they see every change already answered.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "server/engine/coordinator.h"
#include "storage/store.h"
#include "tests/server/coordinator_fixture.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::server {
namespace {

constexpr char kConfig[] =
    "[search]\nseed = 3\npopulation = 4\ngenerations = 2\nschedule = \"steady_state\"\n"
    "compare_with_dense = false\n[selection]\nparents = 2\n[model]\nseq_len = 16\n"
    "[task]\nplanted_offsets = [-1, -3]\n[initial]\nwindow = 6\n";

class CoordinatorReaderTest : public CoordinatorFixture {};

TEST_F(CoordinatorReaderTest, AReadInProgressHoldsUpNoWorker) {
  const int64_t id = Create(kConfig);
  std::promise<void> reading;
  std::promise<void> worker_done;
  std::future<void> worker_done_future = worker_done.get_future();
  bool worker_went_on = false;
  std::thread query([&] {
    worker_went_on = coordinator_->WithStore([&](storage::Store&) {
      reading.set_value();
      // A worker stuck behind this read would leave it waiting the whole minute: the lease
      // below must complete while the read is still in progress.
      return worker_done_future.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
    });
  });
  reading.get_future().wait();
  std::optional<storage::Lease> lease = Lease();
  ASSERT_TRUE(lease.has_value());
  Finish(*lease);
  worker_done.set_value();
  query.join();
  EXPECT_TRUE(worker_went_on) << "the lease waited for the query to finish";
  // The reader sees what was answered.
  const headevo::v1::SearchSummary summary = Summary(id);
  EXPECT_EQ(summary.done(), 1);
  EXPECT_EQ(summary.candidates(), 4);
  ASSERT_OK_AND_ASSIGN(CoordinatorStats stats, coordinator_->Stats());
  ASSERT_EQ(stats.searches.size(), 1u);
  EXPECT_EQ(stats.searches[0].done, 1);
  EXPECT_EQ(stats.searches[0].queued, 3);
}

TEST(StoreReaderTest, AnInMemoryDatabaseHasNoReaderAndAMissingFileIsNotFound) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::Store> none,
                       storage::Store::OpenReader(":memory:"));
  EXPECT_EQ(none, nullptr);
  EXPECT_EQ(storage::Store::OpenReader("/nonexistent/headevo.db").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace headevo::server
