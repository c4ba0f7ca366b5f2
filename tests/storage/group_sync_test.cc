// Group commit (storage/group_sync.h, StoreOptions::Durability::kGroup): tickets stand for
// what was written, waiters share fsyncs, a failed fsync is DataLoss for good, and stores that
// sync otherwise (kFull, kNormal, ":memory:") never make anyone wait.
#include "storage/group_sync.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "storage/sqlite_store.h"
#include "storage/store.h"
#include "tests/storage/storage_test_util.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::testing {
namespace {

using storage::GroupSync;
using storage::SearchRecord;
using storage::SqliteStore;
using storage::Store;
using storage::StoreOptions;

StoreOptions Group() {
  StoreOptions options;
  options.durability = StoreOptions::Durability::kGroup;
  return options;
}

SearchRecord Search(const std::string& name) {
  SearchRecord search;
  search.name = name;
  return search;
}

TEST(GroupSyncTest, AGroupStoreCommitsWithoutFsyncAndTicketsFollowTheWrites) {
  TempDir dir;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStore> store,
                       SqliteStore::Open(dir.File("g.db"), Group()));
  ASSERT_OK_AND_ASSIGN(int64_t synchronous, store->database().QueryInt64("PRAGMA synchronous"));
  EXPECT_EQ(synchronous, 1);  // NORMAL: the fsync is WaitDurable's
  const uint64_t before = store->CommitTicket();
  ASSERT_OK_AND_ASSIGN(int64_t id, store->CreateSearch(Search("a")));
  const uint64_t written = store->CommitTicket();
  EXPECT_GT(written, before);
  // A read writes nothing: the same ticket again.
  ASSERT_OK(store->GetSearch(id).status());
  EXPECT_EQ(store->CommitTicket(), written);
  EXPECT_OK(store->WaitDurable(written));
  EXPECT_OK(store->WaitDurable(written));  // already durable
  // What was acknowledged is there after a reopen.
  store.reset();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> reopened, Store::Open(dir.File("g.db")));
  ASSERT_OK_AND_ASSIGN(SearchRecord read, reopened->GetSearch(id));
  EXPECT_EQ(read.name, "a");
}

TEST(GroupSyncTest, ConcurrentWaitersShareFsyncsAndAllReturn) {
  TempDir dir;
  const std::string wal = dir.File("x.db-wal");
  WriteFileBytes(wal, "frames");
  GroupSync sync(wal);
  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < kRounds; ++r) {
        if (!sync.WaitDurable(sync.Mark(/*changed=*/true)).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  // Every ticket needed a sync that began after it, but one sync may serve many tickets.
  EXPECT_GE(sync.syncs(), 1u);
  EXPECT_LE(sync.syncs(), static_cast<uint64_t>(kThreads * kRounds));
  // Nothing new written: the last ticket again, durable already, no further sync.
  const uint64_t syncs = sync.syncs();
  EXPECT_OK(sync.WaitDurable(sync.Mark(/*changed=*/false)));
  EXPECT_EQ(sync.syncs(), syncs);
}

TEST(GroupSyncTest, AFailedFsyncIsDataLossForEveryLaterWait) {
  TempDir dir;
  GroupSync sync(dir.File("missing/x.db-wal"));
  EXPECT_OK(sync.WaitDurable(0));  // nothing written, nothing to sync
  const uint64_t ticket = sync.Mark(/*changed=*/true);
  EXPECT_TRUE(IsError(sync.WaitDurable(ticket), absl::StatusCode::kDataLoss, "x.db-wal"));
  // Even once the file exists: the pages an fsync dropped are not vouched for by a later one.
  std::filesystem::create_directories(dir.File("missing"));
  WriteFileBytes(dir.File("missing/x.db-wal"), "frames");
  EXPECT_TRUE(IsError(sync.WaitDurable(sync.Mark(/*changed=*/true)), absl::StatusCode::kDataLoss,
                      "restart the coordinator"));
}

TEST(GroupSyncTest, StoresThatAreNotGroupNeverWait) {
  TempDir dir;
  StoreOptions full;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> synced, Store::Open(dir.File("f.db"), full));
  ASSERT_OK(synced->CreateSearch(Search("f")).status());
  EXPECT_EQ(synced->CommitTicket(), 0u);  // each commit was its own fsync
  EXPECT_OK(synced->WaitDurable(synced->CommitTicket()));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> memory, Store::Open(":memory:", Group()));
  ASSERT_OK(memory->CreateSearch(Search("m")).status());
  EXPECT_EQ(memory->CommitTicket(), 0u);  // nothing on disk to wait for
  EXPECT_OK(memory->WaitDurable(memory->CommitTicket()));
}

}  // namespace
}  // namespace headevo::testing
