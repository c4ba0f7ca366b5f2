// A full disk and damaged checkpoint files, with real processes: `headevo serve` keeping its
// database and checkpoints on a small tmpfs that fills mid-search, a real `headevo worker`
// training a tiny model, and the search checked afterwards from the database itself.
//
// Full disk: the coordinator keeps answering reads, refuses what it cannot write with
// RESOURCE_EXHAUSTED naming the file, the worker keeps its result and sends it again, and once
// space is freed the search finishes with every evaluation recorded once and the file intact.
// Mounting needs root; elsewhere those tests skip, saying so.
//
// Damaged checkpoint: a parent's file damaged in the coordinator's directory is refused as
// DATA_LOSS when a worker fetches it, so the child fails for good, naming it, instead of
// training from garbage.
//
// Every wait on a process is bounded (WaitFor with a deadline); nothing asserts on time.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "server/engine/checkpoint_store.h"
#include "storage/sqlite_db.h"
#include "storage/store.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/small_filesystem.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "tests/testutil/tiny_config.h"

namespace headevo {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing::ChildProcess;
using testing::Prefixed;
using testing::WaitFor;

constexpr milliseconds kStartup(30'000);
constexpr milliseconds kSearch(240'000);

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Steady state, every child inheriting its parent's weights, so every candidate writes a
// checkpoint the coordinator stores.
std::string Config(int population, int generations, int steps) {
  return testing::TinySearchConfig(
      "name = \"full-disk\"\nseed = 3\npopulation = " + std::to_string(population) +
          "\ngenerations = " + std::to_string(generations) +
          "\ncompare_with_dense = false\ninherit_weights = true\n",
      std::min(2, population), steps);
}

// The checkpoint files under their final names in `dir` (not uploads in progress, not
// quarantined ones).
std::vector<fs::path> Checkpoints(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".ckpt") files.push_back(entry.path());
  }
  return files;
}

// `headevo serve` + workers on loopback; the database and checkpoints wherever a test says.
class ServedSearch {
 public:
  ServedSearch(const fs::path& log_dir, std::string db, std::string checkpoints)
      : log_dir_(log_dir),
        db_(std::move(db)),
        checkpoints_(std::move(checkpoints)),
        address_("127.0.0.1:" + std::to_string(testing::FreePort())) {}

  const std::string& address() const { return address_; }
  const std::string& db() const { return db_; }
  const std::string& checkpoints() const { return checkpoints_; }

  // Starts the coordinator; false (with its log in the failure) when it did not come up. The
  // lease is long and housekeeping's collection far off: only the disk interrupts the search.
  ::testing::AssertionResult Serve() {
    serve_ = Headevo("serve.log", {"serve", "--db", db_, "--checkpoints", checkpoints_, "--listen",
                                   address_, "--lease-seconds", "300", "--gc-seconds", "3600"});
    if (WaitFor([&] { return serve_->LogContains("listening on"); }, kStartup)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << serve_->Log();
  }

  // A worker with a cache of its own (on the ordinary disk), logging to <name>.log.
  ChildProcess& Worker(const std::string& name, const std::vector<std::string>& extra = {}) {
    const std::string cache = (log_dir_ / (name + ".cache")).string();
    std::vector<std::string> args{"worker", "--coordinator", address_, "--threads", "1", "--name",
                                  name,     "--checkpoints", cache};
    args.insert(args.end(), extra.begin(), extra.end());
    workers_.push_back(Headevo(name + ".log", args));
    return *workers_.back();
  }

  ChildProcess& serve() { return *serve_; }

  // `headevo ARGS` to completion: its exit code, stdout and stderr in *out.
  int Cli(const std::vector<std::string>& args, std::string* out) const {
    return testing::RunCommand(Prefixed({HEADEVO_BINARY}, args), out, milliseconds(60'000));
  }

  ::testing::AssertionResult Launch(const std::string& config) {
    const fs::path toml = log_dir_ / "search.toml";
    std::ofstream(toml) << config;
    std::string out;
    if (Cli({"launch", toml.string(), "--coordinator", address_}, &out) == 0 &&
        Contains(out, "launched search 1")) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << out;
  }

  std::unique_ptr<storage::Store> Reader() const {
    storage::StoreOptions options;
    options.read_only = true;
    absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::Open(db_, options);
    return store.ok() ? *std::move(store) : nullptr;
  }

  headevo::v1::SearchState State() const {
    std::unique_ptr<storage::Store> reader = Reader();
    if (reader == nullptr) return headevo::v1::SEARCH_STATE_UNSPECIFIED;
    absl::StatusOr<storage::SearchRecord> search = reader->GetSearch(1);
    return search.ok() ? search->state : headevo::v1::SEARCH_STATE_UNSPECIFIED;
  }

  // Every process, workers first, so none is left writing to a filesystem about to go.
  void StopAll() {
    workers_.clear();
    serve_.reset();
  }

 private:
  std::unique_ptr<ChildProcess> Headevo(const std::string& log_name,
                                        const std::vector<std::string>& args) {
    return std::make_unique<ChildProcess>(log_dir_, log_name, Prefixed({HEADEVO_BINARY}, args));
  }

  fs::path log_dir_;
  std::string db_;
  std::string checkpoints_;
  std::string address_;
  std::unique_ptr<ChildProcess> serve_;
  std::vector<std::unique_ptr<ChildProcess>> workers_;
};

// `PRAGMA integrity_check` of the database file, opened read-only: "ok" when whole.
std::string IntegrityCheck(const std::string& path) {
  absl::StatusOr<std::unique_ptr<storage::Database>> db =
      storage::Database::Open(path, SQLITE_OPEN_READONLY, 5'000);
  if (!db.ok()) return db.status().ToString();
  absl::StatusOr<std::string> result = (*db)->QueryText("PRAGMA integrity_check");
  return result.ok() ? *result : result.status().ToString();
}

class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!disk_.unavailable().empty()) GTEST_SKIP() << disk_.unavailable();
  }
  void TearDown() override { search_.StopAll(); }

  testing::TempDir logs_;
  // 8 MiB: room for the search once the filler is gone; the filler decides when it is full.
  testing::SmallFilesystem disk_{8 << 20};
  ServedSearch search_{logs_.path(), disk_.File("x.db"), disk_.File("ckpt")};
};

TEST_F(FullDiskTest, ACoordinatorOnAFullDiskAnswersReadsAndLosesNoResult) {
  constexpr int kPlanned = 8;  // population 2, three generations after the first
  ASSERT_TRUE(search_.Serve());
  ChildProcess& worker = search_.Worker("w");
  ASSERT_TRUE(search_.Launch(Config(/*population=*/2, /*generations=*/3, /*steps=*/400)));

  // Fill the disk once the first checkpoint is stored: what stays free is half a
  // checkpoint, so the next upload cannot fit, whatever the model's size.
  std::vector<fs::path> stored;
  ASSERT_TRUE(
      WaitFor([&] { return !(stored = Checkpoints(search_.checkpoints())).empty(); }, kSearch))
      << worker.Log() << search_.serve().Log();
  const int64_t checkpoint_bytes = static_cast<int64_t>(fs::file_size(stored[0]));
  const int64_t free_bytes = disk_.FreeBytes();
  ASSERT_GT(free_bytes, checkpoint_bytes);
  const int64_t filler = free_bytes - checkpoint_bytes / 2;
  ASSERT_GT(disk_.Fill("filler", filler), 0);
  ASSERT_NE(search_.State(), headevo::v1::SEARCH_STATE_DONE)
      << "the search ended before the disk filled; give its candidates more steps";

  // Refused with the code and the file named, and retried rather than dropped.
  const std::string refusal = "RESOURCE_EXHAUSTED: disk full writing " + disk_.path().string();
  ASSERT_TRUE(WaitFor([&] { return worker.LogContains(refusal); }, kSearch)) << worker.Log();
  EXPECT_TRUE(worker.LogContains("retrying in")) << worker.Log();

  // Full, the coordinator still answers reads.
  std::string status;
  EXPECT_EQ(search_.Cli({"status", "1", "--coordinator", search_.address()}, &status), 0) << status;
  EXPECT_TRUE(Contains(status, "/" + std::to_string(kPlanned))) << status;
  std::string candidates;
  EXPECT_EQ(search_.Cli({"candidates", "1", "--coordinator", search_.address()}, &candidates), 0)
      << candidates;
  EXPECT_NE(search_.State(), headevo::v1::SEARCH_STATE_DONE);

  // Space comes back: the retries go through and the search ends.
  fs::remove(disk_.File("filler"));
  ASSERT_TRUE(WaitFor([&] { return search_.State() == headevo::v1::SEARCH_STATE_DONE; }, kSearch))
      << worker.Log() << search_.serve().Log();

  // Every evaluation recorded once: one job per candidate, leased once (attempt 1: no result
  // was lost and trained again), every candidate DONE with its checkpoint stored whole.
  std::unique_ptr<storage::Store> reader = search_.Reader();
  ASSERT_NE(reader, nullptr);
  ASSERT_OK_AND_ASSIGN(std::vector<headevo::v1::Candidate> all, reader->ListCandidates(1));
  ASSERT_EQ(static_cast<int>(all.size()), kPlanned);
  ASSERT_OK_AND_ASSIGN(std::vector<storage::JobRecord> jobs, reader->ListJobs(1));
  ASSERT_EQ(jobs.size(), all.size());
  std::set<int64_t> jobs_per_candidate;
  for (const storage::JobRecord& job : jobs) {
    SCOPED_TRACE("job " + std::to_string(job.id));
    EXPECT_EQ(job.state, storage::JobState::kDone);
    EXPECT_EQ(job.attempt, 1) << job.last_error;
    EXPECT_TRUE(jobs_per_candidate.insert(job.candidate_id).second) << "a second job";
  }
  for (const headevo::v1::Candidate& c : all) {
    SCOPED_TRACE("candidate " + std::to_string(c.id()));
    EXPECT_EQ(c.state(), headevo::v1::CANDIDATE_STATE_DONE) << c.error();
    EXPECT_EQ(jobs_per_candidate.count(c.id()), 1u);
    ASSERT_FALSE(c.checkpoint_sha256().empty());
    const std::string file = search_.checkpoints() + "/" + c.checkpoint_sha256() + ".ckpt";
    ASSERT_OK_AND_ASSIGN(const std::string sha, server::Sha256OfFile(file));
    EXPECT_EQ(sha, c.checkpoint_sha256());
  }
  EXPECT_FALSE(worker.LogContains(" failed: ")) << worker.Log();
  EXPECT_FALSE(worker.LogContains("refused (")) << worker.Log();
  EXPECT_FALSE(worker.LogContains("report failed")) << worker.Log();
  EXPECT_EQ(IntegrityCheck(search_.db()), "ok");
}

// SQLite's own refusal, without processes: a database on a full filesystem is
// ResourceExhausted naming it, keeps answering reads, and takes the same write once freed.
TEST_F(FullDiskTest, SqliteOnAFullDiskIsResourceExhaustedAndReadable) {
  const std::string path = disk_.File("plain.db");
  ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<storage::Database> db,
      storage::Database::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1'000));
  ASSERT_OK(db->Exec("PRAGMA journal_mode = WAL", "journal mode"));
  ASSERT_OK(db->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)", "create"));
  ASSERT_OK(db->Exec("INSERT INTO t (payload) VALUES (zeroblob(1000))", "first row"));
  const int64_t filler = disk_.FreeBytes() - 32 * 1024;
  ASSERT_GT(disk_.Fill("filler", filler), 0);

  const std::string big = "INSERT INTO t (payload) VALUES (zeroblob(1000000))";
  const absl::Status full = db->Exec(big, "inserting a big row");
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_TRUE(Contains(std::string(full.message()), "disk full writing " + path)) << full;
  ASSERT_OK_AND_ASSIGN(const int64_t rows, db->QueryInt64("SELECT count(*) FROM t"));
  EXPECT_EQ(rows, 1);

  fs::remove(disk_.File("filler"));
  ASSERT_OK(db->Exec(big, "inserting a big row"));
  ASSERT_OK_AND_ASSIGN(const int64_t after, db->QueryInt64("SELECT count(*) FROM t"));
  EXPECT_EQ(after, 2);
  ASSERT_OK_AND_ASSIGN(const std::string integrity, db->QueryText("PRAGMA integrity_check"));
  EXPECT_EQ(integrity, "ok");
}

// No tmpfs needed: the damage is done by hand.
TEST(DamagedCheckpointTest, AChildOfADamagedParentFailsForGoodNamingItUntrained) {
  testing::TempDir dir;
  ServedSearch search(dir.path(), dir.File("x.db"), dir.File("ckpt"));
  ASSERT_TRUE(search.Serve());
  // Population 1, one generation after it: candidate 1, then its child. The first worker
  // trains candidate 1 and leaves before the child is bred, so the child goes to a worker
  // without the parent in its cache, which must fetch it.
  ChildProcess& first = search.Worker("first", {"--max-jobs", "1"});
  ASSERT_TRUE(search.Launch(Config(/*population=*/1, /*generations=*/1, /*steps=*/15)));
  ASSERT_EQ(first.Wait(kSearch), 0) << first.Log();
  std::vector<fs::path> stored = Checkpoints(search.checkpoints());
  ASSERT_EQ(stored.size(), 1u) << first.Log();
  const std::string parent_sha = stored[0].stem().string();
  {
    // One byte flipped on the coordinator's disk.
    std::fstream file(stored[0], std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(200);
    const char byte = static_cast<char>(file.get());
    file.seekp(200);
    file.put(static_cast<char>(byte ^ 0x10));
  }

  ChildProcess& second = search.Worker("second");
  ASSERT_TRUE(WaitFor([&] { return search.State() == headevo::v1::SEARCH_STATE_DONE; }, kSearch))
      << second.Log() << search.serve().Log();

  std::unique_ptr<storage::Store> reader = search.Reader();
  ASSERT_NE(reader, nullptr);
  ASSERT_OK_AND_ASSIGN(std::vector<headevo::v1::Candidate> all, reader->ListCandidates(1));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].state(), headevo::v1::CANDIDATE_STATE_DONE) << all[0].error();
  EXPECT_EQ(all[0].checkpoint_sha256(), parent_sha);
  const headevo::v1::Candidate& child = all[1];
  EXPECT_EQ(child.parent_id(), all[0].id());
  EXPECT_EQ(child.state(), headevo::v1::CANDIDATE_STATE_FAILED);
  EXPECT_TRUE(Contains(child.error(), "DATA_LOSS")) << child.error();
  EXPECT_TRUE(Contains(child.error(), stored[0].string())) << child.error();
  EXPECT_TRUE(child.checkpoint_sha256().empty()) << "trained from the damaged parent";
  // Failed for good at once: no attempt spent on another worker.
  ASSERT_OK_AND_ASSIGN(std::vector<storage::JobRecord> jobs, reader->ListJobs(1));
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[1].attempt, 1);
  EXPECT_EQ(jobs[1].state, storage::JobState::kFailed);
  // Quarantined where an operator can look at it, said so in the coordinator's log, and
  // never cached by the worker.
  EXPECT_FALSE(fs::exists(stored[0]));
  EXPECT_TRUE(fs::exists(stored[0].string() + ".damaged"));
  EXPECT_TRUE(search.serve().LogContains("quarantined")) << search.serve().Log();
  EXPECT_FALSE(fs::exists(dir.path() / "second.cache" / (parent_sha + ".ckpt")));
  search.StopAll();
}

}  // namespace
}  // namespace headevo
