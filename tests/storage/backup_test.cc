// BackupDatabase: a consistent, checked copy of a live lineage database, never a torn file.
#include "storage/backup.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "storage/schema.h"
#include "storage/sqlite_db.h"
#include "storage/sqlite_store.h"
#include "storage/store.h"
#include "storage/transaction.h"
#include "tests/storage/candidate_builders.h"
#include "tests/storage/storage_test_util.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace headevo::testing {
namespace {

using google::protobuf::util::MessageDifferencer;
using headevo::v1::Candidate;
using storage::BackupDatabase;
using storage::SearchRecord;
using storage::Store;

// A root with a result and a child that carries one head, prunes one and samples one. The
// pruned_heads row draws SQLite 3.40's false "NULL value in pruned_heads.head_id" from
// integrity_check, which a backup must see through.
void WriteLineage(Store& store, int64_t search_id) {
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> roots, store.InsertCandidates({MakeRoot(search_id)}));
  const Candidate& root = roots[0];
  headevo::v1::EvaluationResult result;
  result.set_candidate_id(root.id());
  result.mutable_metrics()->set_val_loss(3.5);
  result.mutable_metrics()->set_connections(6);
  ASSERT_OK(store.RecordResult(result));
  Candidate child = MakeCandidate(
      search_id, 1, root.id(), 2,
      {Carry(root, 0), Carry(root, 2), NewHead(1, {-9, -4}, headevo::v1::HEAD_ORIGIN_SAMPLED)},
      {root.genome().heads(1).id()}, "prune one, sample one");
  ASSERT_OK(store.InsertCandidates({child}));
}

void ExpectSameSearch(const SearchRecord& got, const SearchRecord& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.config_toml, want.config_toml);
  EXPECT_EQ(got.seed, want.seed);
  EXPECT_EQ(got.state, want.state);
}

void ExpectSameCandidates(const std::vector<Candidate>& got, const std::vector<Candidate>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(got[i], want[i])) << "candidate " << i << ": got\n"
                                                             << got[i].DebugString() << "want\n"
                                                             << want[i].DebugString();
  }
}

bool Exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

class BackupTest : public ::testing::Test {
 protected:
  // A closed database file with one search "lineage" holding two candidates.
  void MakeSource() {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, Store::Open(source_));
    ASSERT_OK_AND_ASSIGN(
        search_id_, store->CreateSearch({0, "lineage", "[model]\nd = 64\n", 0xfedcba9876543210u}));
    WriteLineage(*store, search_id_);
  }

  // Fails the test unless the backup exists, holds no ".partial" beside it, and opens.
  std::unique_ptr<Store> OpenBackup() {
    EXPECT_FALSE(Exists(partial_)) << partial_ << " was left behind";
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(backup_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  TempDir dir_;
  const std::string source_ = dir_.File("lineage.db");
  const std::string backup_ = dir_.File("lineage-backup.db");
  const std::string partial_ = backup_ + ".partial";
  int64_t search_id_ = 0;
};

TEST_F(BackupTest, CopyHasTheSameSearchAndCandidates) {
  MakeSource();
  ASSERT_OK(BackupDatabase(source_, backup_));

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> original, Store::Open(source_));
  std::unique_ptr<Store> copy = OpenBackup();
  ASSERT_NE(copy, nullptr);
  ASSERT_OK_AND_ASSIGN(SearchRecord want_search, original->GetSearch(search_id_));
  ASSERT_OK_AND_ASSIGN(SearchRecord got_search, copy->GetSearch(search_id_));
  ExpectSameSearch(got_search, want_search);
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> want, original->ListCandidates(search_id_));
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> got, copy->ListCandidates(search_id_));
  EXPECT_EQ(want.size(), 2u);
  ExpectSameCandidates(got, want);
  // Ids continue in the copy as in the original.
  ASSERT_OK_AND_ASSIGN(int64_t next, copy->CreateSearch({0, "next", "", 1}));
  EXPECT_EQ(next, search_id_ + 1);
}

TEST_F(BackupTest, CopyOfALiveStoreHasEverythingCommittedAndNothingLater) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> writer, Store::Open(source_));
  ASSERT_OK_AND_ASSIGN(search_id_, writer->CreateSearch({0, "live", "", 5}));
  WriteLineage(*writer, search_id_);
  // The commits sit in the WAL, not yet in the main file: a byte copy of it would miss them.
  std::error_code ec;
  EXPECT_GT(std::filesystem::file_size(source_ + "-wal", ec), 0u) << ec.message();

  ASSERT_OK(BackupDatabase(source_, backup_));
  ASSERT_OK(writer->SetSearchState(search_id_, headevo::v1::SEARCH_STATE_DONE));
  ASSERT_OK(writer->CreateSearch({0, "after the backup", "", 6}));

  std::unique_ptr<Store> copy = OpenBackup();
  ASSERT_NE(copy, nullptr);
  ASSERT_OK_AND_ASSIGN(SearchRecord search, copy->GetSearch(search_id_));
  EXPECT_EQ(search.name, "live");
  EXPECT_EQ(search.state, headevo::v1::SEARCH_STATE_RUNNING);
  EXPECT_EQ(copy->GetSearch(search_id_ + 1).status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> want, writer->ListCandidates(search_id_));
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> got, copy->ListCandidates(search_id_));
  ExpectSameCandidates(got, want);
}

TEST_F(BackupTest, DoesNotWaitForAnOpenWriteTransactionNorCopyIt) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::SqliteStore> writer,
                       storage::SqliteStore::Open(source_, {}));
  ASSERT_OK_AND_ASSIGN(search_id_, writer->CreateSearch({0, "committed", "", 5}));
  {
    ASSERT_OK_AND_ASSIGN(
        storage::Transaction open,
        storage::Transaction::Begin(writer->database(), storage::Transaction::Mode::kWrite));
    ASSERT_OK(
        writer->database().Exec("INSERT INTO searches(name, config_toml, seed, state) "
                                "VALUES ('uncommitted', '', 1, 'RUNNING')",
                                "writing inside the open transaction"));
    ASSERT_OK(BackupDatabase(source_, backup_));
    // `open` rolls back here.
  }
  std::unique_ptr<Store> copy = OpenBackup();
  ASSERT_NE(copy, nullptr);
  ASSERT_OK_AND_ASSIGN(SearchRecord search, copy->GetSearch(search_id_));
  EXPECT_EQ(search.name, "committed");
  EXPECT_EQ(copy->GetSearch(search_id_ + 1).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(BackupTest, ExistingDestinationIsAlreadyExistsAndLeftUntouched) {
  MakeSource();
  const std::string before = "yesterday's backup, precious\n";
  WriteFileBytes(backup_, before);
  EXPECT_TRUE(IsError(BackupDatabase(source_, backup_), absl::StatusCode::kAlreadyExists, backup_));
  EXPECT_EQ(ReadFileBytes(backup_), before);
  EXPECT_FALSE(Exists(partial_));
}

TEST_F(BackupTest, MissingSourceIsNotFound) {
  EXPECT_TRUE(IsError(BackupDatabase(source_, backup_), absl::StatusCode::kNotFound, source_));
  EXPECT_FALSE(Exists(source_));
  EXPECT_FALSE(Exists(backup_));
  EXPECT_FALSE(Exists(partial_));
}

TEST_F(BackupTest, GarbageSourceIsFailedPrecondition) {
  std::string garbage;
  for (int i = 0; i < 200; ++i) garbage += "not a database at all\n";
  WriteFileBytes(source_, garbage);
  EXPECT_TRUE(IsError(BackupDatabase(source_, backup_), absl::StatusCode::kFailedPrecondition,
                      source_ + " is not an SQLite database"));
  EXPECT_EQ(ReadFileBytes(source_), garbage);
  EXPECT_FALSE(Exists(backup_));
  EXPECT_FALSE(Exists(partial_));
}

TEST_F(BackupTest, NewerSchemaIsFailedPrecondition) {
  MakeSource();
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::Database> raw,
                         storage::Database::Open(source_, SQLITE_OPEN_READWRITE, 1000));
    ASSERT_OK(raw->Exec("PRAGMA user_version = 99", "bumping the version"));
  }
  EXPECT_TRUE(IsError(BackupDatabase(source_, backup_), absl::StatusCode::kFailedPrecondition,
                      "upgrade headevo"));
  EXPECT_FALSE(Exists(backup_));
  EXPECT_FALSE(Exists(partial_));
}

TEST_F(BackupTest, SourceAsDestinationOrEmptyPathIsInvalidArgument) {
  MakeSource();
  const std::string before = ReadFileBytes(source_);
  EXPECT_TRUE(
      IsError(BackupDatabase(source_, source_), absl::StatusCode::kInvalidArgument, source_));
  const std::string respelled = (dir_.path() / "." / "lineage.db").string();
  EXPECT_EQ(BackupDatabase(source_, respelled).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BackupDatabase("", backup_).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BackupDatabase(source_, "").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadFileBytes(source_), before);
}

TEST_F(BackupTest, DestinationWhoseTemporaryFileIsTheSourceIsInvalidArgument) {
  const std::string source = dir_.File("odd.db.partial");
  { ASSERT_OK_AND_ASSIGN(std::unique_ptr<Store> store, Store::Open(source)); }
  EXPECT_TRUE(IsError(BackupDatabase(source, dir_.File("odd.db")),
                      absl::StatusCode::kInvalidArgument, "would be the source"));
  EXPECT_TRUE(Exists(source));
}

TEST_F(BackupTest, MissingDestinationDirectoryIsNotFound) {
  MakeSource();
  const std::string destination = dir_.File("no/such/dir/backup.db");
  EXPECT_TRUE(IsError(BackupDatabase(source_, destination), absl::StatusCode::kNotFound,
                      "create it first"));
  EXPECT_FALSE(Exists(destination));
}

TEST_F(BackupTest, LeftoverPartialFileIsReplacedAndNoneRemains) {
  MakeSource();
  WriteFileBytes(partial_, "half of an earlier, failed backup");
  ASSERT_OK(BackupDatabase(source_, backup_));
  std::unique_ptr<Store> copy = OpenBackup();
  ASSERT_NE(copy, nullptr);
  ASSERT_OK_AND_ASSIGN(std::vector<Candidate> got, copy->ListCandidates(search_id_));
  EXPECT_EQ(got.size(), 2u);
}

TEST_F(BackupTest, SourceThatFailsIntegrityCheckIsDataLoss) {
  MakeSource();
  {
    // A NULL in a NOT NULL column, smuggled in behind SQLite's back: VACUUM INTO copies it
    // as is, and integrity_check on the copy finds it.
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::Database> raw,
                         storage::Database::Open(source_, SQLITE_OPEN_READWRITE, 1000));
    ASSERT_OK(
        raw->Exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
                  "INSERT INTO notes VALUES (1, NULL);"
                  "PRAGMA writable_schema = ON;"
                  "UPDATE sqlite_schema SET sql = replace(sql, 'body TEXT', 'body TEXT NOT NULL') "
                  "WHERE name = 'notes';"
                  "PRAGMA writable_schema = OFF;",
                  "damaging the file"));
  }
  EXPECT_TRUE(IsError(BackupDatabase(source_, backup_), absl::StatusCode::kDataLoss,
                      "NULL value in notes.body"));
  EXPECT_FALSE(Exists(backup_));
  EXPECT_FALSE(Exists(partial_));
}

TEST_F(BackupTest, CopyHasTheSchemaVersionAndNoDanglingReferences) {
  MakeSource();
  ASSERT_OK(BackupDatabase(source_, backup_));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<storage::Database> raw,
                       storage::Database::Open(backup_, SQLITE_OPEN_READONLY, 1000));
  ASSERT_OK_AND_ASSIGN(int64_t version, raw->QueryInt64("PRAGMA user_version"));
  EXPECT_EQ(version, storage::LatestSchemaVersion());
  ASSERT_OK_AND_ASSIGN(int64_t dangling,
                       raw->QueryInt64("SELECT count(*) FROM pragma_foreign_key_check"));
  EXPECT_EQ(dangling, 0);
}

}  // namespace
}  // namespace headevo::testing
