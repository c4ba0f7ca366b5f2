// Opening a store: files, pragmas, schema versions, read-only access, locking.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "storage/local_filesystem.h"
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

  // A reader in the middle of a snapshot does not block the writer, and keeps its snapshot.
  {
    ASSERT_OK_AND_ASSIGN(
        storage::Transaction snapshot,
        storage::Transaction::Begin(reader->database(), storage::Transaction::Mode::kRead));
    ASSERT_OK_AND_ASSIGN(std::string before, reader->database().QueryText(
                                                 "SELECT state FROM searches WHERE id = 1"));
    ASSERT_OK(writer->SetSearchState(1, headevo::v1::SEARCH_STATE_PAUSED));
    ASSERT_OK_AND_ASSIGN(std::string during, reader->database().QueryText(
                                                 "SELECT state FROM searches WHERE id = 1"));
    EXPECT_EQ(during, before);
  }
  // What the writer commits, the reader sees.
  ASSERT_OK(writer->SetSearchState(1, headevo::v1::SEARCH_STATE_DONE));
  ASSERT_OK_AND_ASSIGN(search, reader->GetSearch(1));
  EXPECT_EQ(search.state, headevo::v1::SEARCH_STATE_DONE);
}

TEST(OpenTest, SecondWriterIsRefusedNamingTheHolderAndTheFileIsUntouched) {
  TempDir dir;
  const std::string path = dir.File("lineage.db");
  MakeDatabase(path);
  const std::string before = ReadFileBytes(path);
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> first, Store::Open(path));
    absl::StatusOr<std::unique_ptr<Store>> second = Store::Open(path);
    EXPECT_TRUE(
        IsError(second.status(), absl::StatusCode::kFailedPrecondition,
                absl::StrCat("database ", path, " is already open for writing by pid ", getpid())));
    EXPECT_TRUE(IsError(second.status(), absl::StatusCode::kFailedPrecondition, "read-only"));
    // Readers are welcome beside the writer.
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> reader, Store::Open(path, ReadOnly()));
    ASSERT_OK_AND_ASSIGN(storage::SearchRecord search, reader->GetSearch(1));
    EXPECT_EQ(search.name, "kept");
    ASSERT_OK(first->SetSearchState(1, headevo::v1::SEARCH_STATE_DONE));
  }
  // Once the first writer is gone, the next one may write.
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> next, Store::Open(path));
  ASSERT_OK_AND_ASSIGN(storage::SearchRecord search, next->GetSearch(1));
  EXPECT_EQ(search.state, headevo::v1::SEARCH_STATE_DONE);
}

TEST(OpenTest, ConnectionOutsideTheStoreHoldingTheWriteLockTimesOutAsUnavailable) {
  TempDir dir;
  const std::string path = dir.File("lineage.db");
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, Store::Open(path, BusyTimeout(50)));
  // A connection that bypasses the writer lock (the sqlite3 shell, say) holds SQLite's lock.
  std::unique_ptr<Database> raw = RawOpen(path);
  ASSERT_NE(raw, nullptr);
  ASSERT_OK_AND_ASSIGN(storage::Transaction held,
                       storage::Transaction::Begin(*raw, storage::Transaction::Mode::kWrite));
  EXPECT_EQ(store->CreateSearch({0, "blocked", "", 1}).status().code(),
            absl::StatusCode::kUnavailable);
  ASSERT_OK(held.Commit());
  EXPECT_OK(store->CreateSearch({0, "after", "", 1}));
}

TEST(OpenTest, VersionOneFileIsUpgradedWithItsDataKept) {
  TempDir dir;
  const std::string path = dir.File("v1.db");
  {
    // The file as headevo with schema version 1 left it.
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Database> raw,
                         Database::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000));
    ASSERT_OK(storage::MigrateTo(*raw, 1));
    ASSERT_OK(raw->Exec(
        "INSERT INTO searches(name, config_toml, seed, state) VALUES ('old', '', 5, 'DONE');"
        "INSERT INTO candidates(search_id, generation, state, num_layers, val_loss, connections)"
        "  VALUES (1, 0, 'DONE', 1, 2.5, 3);"
        "INSERT INTO heads(search_id, layer, offsets, k, origin, sampler, created_candidate_id)"
        "  VALUES (1, 0, '-2,-1', 2, 'INITIAL', 'UNIFORM', 1);"
        "INSERT INTO candidate_heads VALUES (1, 1, 0, 'INITIAL');"
        "INSERT INTO head_stats(candidate_id, head_id, layer, entropy) VALUES (1, 1, 0, 0.5);",
        "writing version-1 rows"));
    ASSERT_OK_AND_ASSIGN(int64_t version, raw->QueryInt64("PRAGMA user_version"));
    ASSERT_EQ(version, 1);
  }
  // A reader cannot upgrade it, and says how to.
  EXPECT_TRUE(IsError(Store::Open(path, ReadOnly()).status(), absl::StatusCode::kFailedPrecondition,
                      "open it once without read_only"));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStore> store, SqliteStore::Open(path, {}));
  ASSERT_OK_AND_ASSIGN(int64_t version, store->database().QueryInt64("PRAGMA user_version"));
  EXPECT_EQ(version, storage::LatestSchemaVersion());
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate old, store->GetCandidate(1));
  EXPECT_DOUBLE_EQ(old.metrics().val_loss(), 2.5);
  ASSERT_EQ(old.head_stats_size(), 1);
  EXPECT_DOUBLE_EQ(old.head_stats(0).entropy(), 0.5);
  EXPECT_EQ(old.head_stats(0).most_similar_head_id(), 0);  // a column version 1 did not have
  ASSERT_EQ(old.genome().heads_size(), 1);
  EXPECT_EQ(old.genome().heads(0).offsets().offsets(0), -2);
  ASSERT_OK_AND_ASSIGN(std::string integrity,
                       store->database().QueryText("PRAGMA integrity_check"));
  EXPECT_EQ(integrity, "ok");
  // The new tables work on the upgraded file.
  ASSERT_OK_AND_ASSIGN(int64_t worker, store->RegisterWorker({0, "w", "cpu", 0, 0, 0}, 1));
  EXPECT_EQ(worker, 1);
  ASSERT_OK_AND_ASSIGN(std::vector<storage::LineageNode> front, store->ParetoFront(1));
  ASSERT_EQ(front.size(), 1u);
  EXPECT_EQ(front[0].connections, 3);
}

TEST(OpenTest, VersionThreeFileGainsGrowthWithItsDataKept) {
  TempDir dir;
  const std::string path = dir.File("v3.db");
  {
    // The file as headevo with schema version 3 left it: a root and a child with a sampled head.
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Database> raw,
                         Database::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000));
    ASSERT_OK(storage::MigrateTo(*raw, 3));
    ASSERT_OK(raw->Exec(
        "INSERT INTO searches(name, config_toml, seed, state, created_ms) "
        "  VALUES ('old', '', 5, 'DONE', 1000);"
        "INSERT INTO candidates(search_id, generation, state, num_layers, val_loss, connections)"
        "  VALUES (1, 0, 'DONE', 1, 2.5, 3);"
        "INSERT INTO candidates(search_id, generation, parent_id, state, num_layers)"
        "  VALUES (1, 1, 1, 'PENDING', 1);"
        "INSERT INTO heads(search_id, layer, offsets, k, origin, sampler, created_candidate_id)"
        "  VALUES (1, 0, '-2,-1', 2, 'INITIAL', 'UNIFORM', 1);"
        "INSERT INTO heads(search_id, layer, offsets, k, origin, sampler, source_head_id,"
        "  created_candidate_id) VALUES (1, 0, '-3', 1, 'SAMPLED', 'BEST', 1, 2);"
        "INSERT INTO candidate_heads VALUES (1, 0, 1, 'INITIAL');"
        "INSERT INTO candidate_heads VALUES (2, 0, 1, 'INHERITED');"
        "INSERT INTO candidate_heads VALUES (2, 1, 2, 'SAMPLED');"
        "INSERT INTO head_stats(candidate_id, head_id, layer, entropy) VALUES (1, 1, 0, 0.5);",
        "writing version-3 rows"));
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStore> store, SqliteStore::Open(path, {}));
  ASSERT_OK_AND_ASSIGN(int64_t version, store->database().QueryInt64("PRAGMA user_version"));
  EXPECT_EQ(version, storage::LatestSchemaVersion());
  EXPECT_GE(version, 4);
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate old, store->GetCandidate(1));
  EXPECT_DOUBLE_EQ(old.metrics().val_loss(), 2.5);
  ASSERT_EQ(old.head_stats_size(), 1);
  EXPECT_EQ(old.growth_size(), 0);
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate child, store->GetCandidate(2));
  ASSERT_EQ(child.genome().heads_size(), 2);
  EXPECT_EQ(child.genome().heads(1).source_head_id(), 1);
  EXPECT_EQ(child.genome().heads(1).sampler(), headevo::v1::SAMPLER_BEST);
  for (const headevo::v1::Head& head : child.genome().heads()) {
    EXPECT_EQ(head.extra_key_width(), 0);  // a column version 3 did not have
  }
  ASSERT_OK_AND_ASSIGN(std::string integrity,
                       store->database().QueryText("PRAGMA integrity_check"));
  EXPECT_EQ(integrity, "ok");
  // Growth works on the upgraded file: a result with a record for the child's new head.
  headevo::v1::EvaluationResult result;
  result.set_candidate_id(2);
  result.mutable_metrics()->set_val_loss(1.0);
  headevo::v1::HeadGrowth* growth = result.add_growth();
  growth->set_head_id(2);
  growth->set_kind(headevo::v1::GROWTH_KIND_NEW_HEAD);
  growth->set_added_key_width(8);
  ASSERT_OK(store->RecordResult(result));
  ASSERT_OK_AND_ASSIGN(child, store->GetCandidate(2));
  ASSERT_EQ(child.growth_size(), 1);
  EXPECT_EQ(child.growth(0).kind(), headevo::v1::GROWTH_KIND_NEW_HEAD);
}

TEST(OpenTest, NetworkFilesystemsAreNamed) {
  EXPECT_EQ(storage::NetworkFilesystemName(0x6969), "nfs");
  EXPECT_EQ(storage::NetworkFilesystemName(0xFF534D42), "cifs");
  EXPECT_EQ(storage::NetworkFilesystemName(0x0BD00BD0), "lustre");
  EXPECT_EQ(storage::NetworkFilesystemName(0xEF53), "");      // ext4
  EXPECT_EQ(storage::NetworkFilesystemName(0x01021994), "");  // tmpfs
  // The test's own temporary directory is local.
  TempDir dir;
  EXPECT_OK(storage::RequireLocalFilesystem(dir.File("x.db")));
}

TEST(OpenTest, NormalDurabilityIsOptIn) {
  TempDir dir;
  StoreOptions options;
  options.durability = StoreOptions::Durability::kNormal;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStore> store,
                       SqliteStore::Open(dir.File("bulk.db"), options));
  ASSERT_OK_AND_ASSIGN(int64_t synchronous, store->database().QueryInt64("PRAGMA synchronous"));
  EXPECT_EQ(synchronous, 1);  // NORMAL
}

TEST(OpenTest, RejectsBadOptionsAndEmptyPath) {
  EXPECT_TRUE(IsError(Store::Open(":memory:", BusyTimeout(-1)).status(),
                      absl::StatusCode::kInvalidArgument, "busy_timeout_ms"));
  EXPECT_EQ(Store::Open("").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace headevo::testing
