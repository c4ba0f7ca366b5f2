// Opening a store: files, pragmas, schema versions, read-only access, locking.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "storage/schema.h"
#include "storage/sqlite_db.h"
#include "storage/sqlite_store.h"
#include "storage/store.h"
#include "storage/transaction.h"
#include "tests/storage/candidate_builders.h"
#include "tests/storage/storage_test_util.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::testing {
namespace {

using storage::Database;
using storage::SqliteStore;
using storage::Store;
using storage::StoreOptions;

StoreOptions ReadOnly() {
  StoreOptions options;
  options.read_only = true;
  return options;
}

StoreOptions BusyTimeout(int ms) {
  StoreOptions options;
  options.busy_timeout_ms = ms;
  return options;
}

// Opens `path` with a raw connection, behind the store's back.
std::unique_ptr<Database> RawOpen(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(path, SQLITE_OPEN_READWRITE, 1000);
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? *std::move(db) : nullptr;
}

// A file holding one search "kept" with one candidate.
void MakeDatabase(const std::string& path) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, Store::Open(path));
  ASSERT_OK_AND_ASSIGN(int64_t search, store->CreateSearch({0, "kept", "a = 1\n", 99}));
  ASSERT_OK(store->InsertCandidates({MakeRoot(search)}));
}

TEST(OpenTest, OpensInMemory) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, Store::Open(":memory:"));
  ASSERT_OK_AND_ASSIGN(int64_t id, store->CreateSearch({0, "s", "", 1}));
  EXPECT_EQ(id, 1);
}

TEST(OpenTest, FileIsWalWithForeignKeysAndFullSync) {
  TempDir dir;
  const std::string path = dir.File("lineage.db");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStore> store, SqliteStore::Open(path, {}));
  EXPECT_TRUE(std::filesystem::exists(path));
  Database& db = store->database();
  ASSERT_OK_AND_ASSIGN(std::string mode, db.QueryText("PRAGMA journal_mode"));
  EXPECT_EQ(mode, "wal");
  ASSERT_OK_AND_ASSIGN(int64_t foreign_keys, db.QueryInt64("PRAGMA foreign_keys"));
  EXPECT_EQ(foreign_keys, 1);
  ASSERT_OK_AND_ASSIGN(int64_t synchronous, db.QueryInt64("PRAGMA synchronous"));
  EXPECT_EQ(synchronous, 2);  // FULL
  ASSERT_OK_AND_ASSIGN(int64_t version, db.QueryInt64("PRAGMA user_version"));
  EXPECT_EQ(version, storage::LatestSchemaVersion());
}

TEST(OpenTest, ForeignKeysAreEnforced) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStore> store, SqliteStore::Open(":memory:", {}));
  absl::Status status = store->database().Exec(
      "INSERT INTO candidates(search_id, generation, state, num_layers) "
      "VALUES (12, 0, 'PENDING', 1)",
      "inserting an orphan");
  EXPECT_TRUE(IsError(status, absl::StatusCode::kFailedPrecondition, "FOREIGN KEY"));
}

TEST(OpenTest, ReopenedFileHasTheData) {
  TempDir dir;
  const std::string path = dir.File("lineage.db");
  MakeDatabase(path);
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, Store::Open(path));
  ASSERT_OK_AND_ASSIGN(storage::SearchRecord search, store->GetSearch(1));
  EXPECT_EQ(search.name, "kept");
  EXPECT_EQ(search.seed, 99u);
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate candidate, store->GetCandidate(1));
  EXPECT_EQ(candidate.genome().heads_size(), 3);
  EXPECT_EQ(candidate.genome().heads(2).offsets().offsets(0), -1);
  // Ids continue where they stopped.
  ASSERT_OK_AND_ASSIGN(int64_t next, store->CreateSearch({0, "next", "", 1}));
  EXPECT_EQ(next, 2);
}

TEST(OpenTest, NewerSchemaIsRefusedAndTheFileLeftAlone) {
  TempDir dir;
  const std::string path = dir.File("future.db");
  MakeDatabase(path);
  {
    std::unique_ptr<Database> raw = RawOpen(path);
    ASSERT_NE(raw, nullptr);
    ASSERT_OK(raw->Exec("PRAGMA user_version = 99", "bumping the version"));
  }
  const std::string before = ReadFileBytes(path);

  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
  EXPECT_TRUE(IsError(store.status(), absl::StatusCode::kFailedPrecondition,
                      absl::StrCat("database ", path,
                                   " has schema version 99, this headevo "
                                   "understands up to ",
                                   storage::LatestSchemaVersion())));
  EXPECT_TRUE(IsError(store.status(), absl::StatusCode::kFailedPrecondition, "upgrade headevo"));
  store = Store::Open(path, ReadOnly());
  EXPECT_TRUE(IsError(store.status(), absl::StatusCode::kFailedPrecondition, "schema version 99"));

  EXPECT_EQ(ReadFileBytes(path), before);
  std::unique_ptr<Database> raw = RawOpen(path);
  ASSERT_NE(raw, nullptr);
  ASSERT_OK_AND_ASSIGN(int64_t version, raw->QueryInt64("PRAGMA user_version"));
  EXPECT_EQ(version, 99);
  ASSERT_OK_AND_ASSIGN(std::string name, raw->QueryText("SELECT name FROM searches"));
  EXPECT_EQ(name, "kept");
}

TEST(OpenTest, GarbageFileIsNamedAsNotADatabase) {
  TempDir dir;
  const std::string path = dir.File("notes.txt");
  std::string garbage;
  for (int i = 0; i < 200; ++i) garbage += "these are my notes, not a database\n";
  WriteFileBytes(path, garbage);

  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
  EXPECT_TRUE(IsError(store.status(), absl::StatusCode::kFailedPrecondition,
                      absl::StrCat(path, " is not an SQLite database")));
  store = Store::Open(path, ReadOnly());
  EXPECT_TRUE(IsError(store.status(), absl::StatusCode::kFailedPrecondition, path));
  EXPECT_EQ(ReadFileBytes(path), garbage);
}

TEST(OpenTest, ReadOnlyOfMissingFileIsNotFoundAndCreatesNothing) {
  TempDir dir;
  const std::string path = dir.File("absent.db");
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path, ReadOnly());
  EXPECT_TRUE(IsError(store.status(), absl::StatusCode::kNotFound, path));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(OpenTest, ReadOnlyOfUnmigratedFileAsksForAnUpgrade) {
  TempDir dir;
  const std::string path = dir.File("empty.db");
  WriteFileBytes(path, "");
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path, ReadOnly());
  EXPECT_TRUE(IsError(store.status(), absl::StatusCode::kFailedPrecondition,
                      "open it once without read_only"));
  // Read-write, the same file is migrated.
  ASSERT_OK(Store::Open(path));
  ASSERT_OK(Store::Open(path, ReadOnly()));
}

TEST(OpenTest, ReadOnlyStoreReadsButDoesNotWrite) {
  TempDir dir;
  const std::string path = dir.File("lineage.db");
  MakeDatabase(path);
  // A writer may stay open beside the reader (WAL).
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> writer, Store::Open(path));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStore> reader, SqliteStore::Open(path, ReadOnly()));

  ASSERT_OK_AND_ASSIGN(storage::SearchRecord search, reader->GetSearch(1));
  EXPECT_EQ(search.name, "kept");
  ASSERT_OK_AND_ASSIGN(std::vector<headevo::v1::Candidate> listed, reader->ListCandidates(1));
  EXPECT_EQ(listed.size(), 1u);

  EXPECT_TRUE(IsError(reader->CreateSearch({0, "no", "", 1}).status(),
                      absl::StatusCode::kFailedPrecondition, "read-only"));
  EXPECT_TRUE(
      IsError(reader->RecordFailure(1, "no"), absl::StatusCode::kFailedPrecondition, "read-only"));
  // SQLite itself refuses too: the connection was opened SQLITE_OPEN_READONLY.
  EXPECT_TRUE(IsError(reader->database().Exec("DELETE FROM searches", "deleting"),
                      absl::StatusCode::kFailedPrecondition, "readonly"));

  // What the writer commits, the reader sees.
  ASSERT_OK(writer->SetSearchState(1, headevo::v1::SEARCH_STATE_DONE));
  ASSERT_OK_AND_ASSIGN(search, reader->GetSearch(1));
  EXPECT_EQ(search.state, headevo::v1::SEARCH_STATE_DONE);
}

TEST(OpenTest, SecondWriterTimesOutAsUnavailable) {
  TempDir dir;
  const std::string path = dir.File("lineage.db");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStore> first, SqliteStore::Open(path, {}));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> second, Store::Open(path, BusyTimeout(50)));
  ASSERT_OK_AND_ASSIGN(
      storage::Transaction held,
      storage::Transaction::Begin(first->database(), storage::Transaction::Mode::kWrite));
  EXPECT_EQ(second->CreateSearch({0, "blocked", "", 1}).status().code(),
            absl::StatusCode::kUnavailable);
  ASSERT_OK(held.Commit());
  EXPECT_OK(second->CreateSearch({0, "after", "", 1}));
}

TEST(OpenTest, RejectsBadOptionsAndEmptyPath) {
  EXPECT_TRUE(IsError(Store::Open(":memory:", BusyTimeout(-1)).status(),
                      absl::StatusCode::kInvalidArgument, "busy_timeout_ms"));
  EXPECT_EQ(Store::Open("").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace headevo::testing
