// `headevo candidate`, `workers`, `config` and `delete`, as a user runs them: against a real
// `headevo serve` (with a real worker) and offline (--db) on a database `headevo run` wrote.
// Online and offline answers agree; delete asks for --yes, refuses a running search, and
// leaves the other searches as they were.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "storage/store.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "tests/testutil/tiny_config.h"

namespace headevo {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing::ChildProcess;
using testing::Prefixed;
using testing::RunCommand;
using testing::Slurp;
using testing::WaitFor;

// Two candidates per generation; generations = 1 makes four. Inherit weights: checkpoints.
std::string TinyConfig(const std::string& name) {
  return testing::TinySearchConfig("# as written, comments included\nname = \"" + name +
                                   "\"\nseed = 5\npopulation = 2\ngenerations = 1\n"
                                   "compare_with_dense = false\ninherit_weights = true\n");
}

class RecordCommandsTest : public ::testing::Test {
 protected:
  // `headevo ARGS`: its exit code, stdout and stderr together in *out.
  int Headevo(const std::vector<std::string>& args, std::string* out) {
    return RunCommand(Prefixed({HEADEVO_BINARY}, args), out, std::chrono::seconds(120));
  }

  std::string Path(const std::string& name) const { return dir_.File(name); }

  int CountFiles(const std::string& dir) const {
    int n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) n += e.is_regular_file() ? 1 : 0;
    return n;
  }

  std::unique_ptr<storage::Store> Reader(const std::string& db) {
    storage::StoreOptions options;
    options.read_only = true;
    auto store = storage::Store::Open(db, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  testing::TempDir dir_;
};

TEST_F(RecordCommandsTest, OfflineOnADatabaseThatRunWrote) {
  const std::string config = TinyConfig("offline");
  std::ofstream(Path("tiny.toml"), std::ios::binary) << config;
  const std::string db = Path("run.db");
  std::string out;
  ASSERT_EQ(Headevo({"run", Path("tiny.toml"), "--db", db, "-q"}, &out), 0) << out;
  ASSERT_EQ(Headevo({"run", Path("tiny.toml"), "--db", db, "-q"}, &out), 0) << out;

  ASSERT_EQ(Headevo({"candidate", "3", "--db", db}, &out), 0) << out;
  EXPECT_NE(out.find("candidate #3 of search 1, generation 1, parent #"), std::string::npos) << out;
  EXPECT_NE(out.find("heads ("), std::string::npos) << out;
  EXPECT_NE(out.find("checkpoint   "), std::string::npos) << out;
  EXPECT_EQ(Headevo({"candidate", "99", "--db", db}, &out), 1) << out;
  EXPECT_NE(out.find("candidate 99 not found"), std::string::npos) << out;

  ASSERT_EQ(Headevo({"workers", "--db", db}, &out), 0) << out;
  EXPECT_NE(out.find("embedded"), std::string::npos) << out;
  EXPECT_NE(out.find("idle"), std::string::npos) << out;

  ASSERT_EQ(Headevo({"config", "2", "--db", db}, &out), 0) << out;
  EXPECT_EQ(out, config) << "byte for byte";

  // Without --yes: what would go, and nothing goes.
  EXPECT_EQ(Headevo({"delete", "1", "--db", db}, &out), 2) << out;
  EXPECT_NE(out.find("would delete search 1 'offline' (done)"), std::string::npos) << out;
  EXPECT_NE(out.find("add --yes"), std::string::npos) << out;
  ASSERT_EQ(Headevo({"status", "1", "--db", db}, &out), 0) << out;

  const int files_before = CountFiles(db + ".checkpoints");
  ASSERT_GT(files_before, 0);
  auto before = Reader(db);
  ASSERT_NE(before, nullptr);
  ASSERT_OK_AND_ASSIGN(auto kept_candidates, before->ListCandidates(2));
  ASSERT_OK_AND_ASSIGN(auto kept_checkpoints, before->ListCheckpoints(2));
  before.reset();

  ASSERT_EQ(Headevo({"delete", "1", "--yes", "--db", db}, &out), 0) << out;
  EXPECT_NE(out.find("deleted search 1: 4 candidates"), std::string::npos) << out;
  EXPECT_LT(CountFiles(db + ".checkpoints"), files_before);
  EXPECT_EQ(Headevo({"status", "1", "--db", db}, &out), 1) << out;
  EXPECT_EQ(Headevo({"delete", "1", "--yes", "--db", db}, &out), 1) << out;

  // The other search is as it was, and its checkpoint files are all still there.
  auto after = Reader(db);
  ASSERT_NE(after, nullptr);
  ASSERT_OK_AND_ASSIGN(auto candidates, after->ListCandidates(2));
  ASSERT_EQ(candidates.size(), kept_candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i) {
    EXPECT_EQ(candidates[i].SerializeAsString(), kept_candidates[i].SerializeAsString());
  }
  ASSERT_OK_AND_ASSIGN(auto checkpoints, after->ListCheckpoints(2));
  EXPECT_EQ(checkpoints.size(), kept_checkpoints.size());
  for (const auto& k : checkpoints) {
    EXPECT_TRUE(fs::exists(db + ".checkpoints/" + k.sha256 + ".ckpt")) << k.sha256;
  }
  ASSERT_EQ(Headevo({"candidate", std::to_string(candidates.front().id()), "--db", db}, &out), 0)
      << out;
  // `headevo backup` runs PRAGMA integrity_check on its copy.
  EXPECT_EQ(Headevo({"backup", db, Path("copy.db")}, &out), 0) << out;
}

TEST_F(RecordCommandsTest, OnlineAgainstServeAndAWorker) {
  const std::string address = "127.0.0.1:" + std::to_string(testing::FreePort());
  const std::string db = Path("served.db");
  ChildProcess serve(dir_.path(), "serve.log",
                     {HEADEVO_BINARY, "serve", "--db", db, "--listen", address});
  ASSERT_TRUE(WaitFor([&] { return serve.LogContains("listening on"); }, milliseconds(30000)))
      << serve.Log();
  auto worker = std::make_unique<ChildProcess>(
      dir_.path(), "worker.log",
      std::vector<std::string>{HEADEVO_BINARY, "worker", "--coordinator", address, "--threads", "1",
                               "--name", "w1", "--checkpoints", Path("w1.ckpt")});
  const std::string config = TinyConfig("online");
  std::ofstream(Path("tiny.toml"), std::ios::binary) << config;
  std::string out;
  ASSERT_EQ(Headevo({"launch", Path("tiny.toml"), "--coordinator", address}, &out), 0) << out;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto reader = Reader(db);
        auto search = reader ? reader->GetSearch(1) : absl::NotFoundError("no file");
        return search.ok() && search->state == headevo::v1::SEARCH_STATE_DONE;
      },
      milliseconds(120000)))
      << serve.Log() << worker->Log();

  std::string online;
  std::string offline;
  ASSERT_EQ(Headevo({"candidate", "2", "--coordinator", address}, &online), 0) << online;
  ASSERT_EQ(Headevo({"candidate", "2", "--db", db}, &offline), 0) << offline;
  EXPECT_EQ(online, offline);
  EXPECT_NE(online.find("candidate #2 of search 1"), std::string::npos) << online;
  ASSERT_EQ(Headevo({"workers", "--coordinator", address}, &online), 0) << online;
  EXPECT_NE(online.find("w1"), std::string::npos) << online;
  ASSERT_EQ(Headevo({"workers", "--db", db}, &offline), 0) << offline;
  EXPECT_NE(offline.find("w1"), std::string::npos) << offline;
  ASSERT_EQ(Headevo({"config", "1", "--coordinator", address}, &online), 0) << online;
  EXPECT_EQ(online, config);
  EXPECT_EQ(Headevo({"candidate", "0", "--coordinator", address}, &online), 1) << online;
  EXPECT_NE(online.find("GetCandidate.candidate_id must be > 0"), std::string::npos) << online;

  // A second search with no worker left to train it stays RUNNING: delete refuses it.
  worker.reset();
  ASSERT_EQ(Headevo({"launch", Path("tiny.toml"), "--coordinator", address}, &out), 0) << out;
  EXPECT_EQ(Headevo({"delete", "2", "--yes", "--coordinator", address}, &out), 1) << out;
  EXPECT_NE(out.find("stop it first"), std::string::npos) << out;
  EXPECT_EQ(Headevo({"delete", "2", "--coordinator", address}, &out), 2) << out;
  EXPECT_NE(out.find("stop it first (headevo stop 2)"), std::string::npos) << out;
  // The coordinator holds the file: an offline delete is refused by the writer lock.
  EXPECT_NE(Headevo({"delete", "1", "--yes", "--db", db}, &out), 0) << out;
  EXPECT_NE(out.find("already open for writing"), std::string::npos) << out;

  ASSERT_EQ(Headevo({"stop", "2", "--coordinator", address}, &out), 0) << out;
  ASSERT_EQ(Headevo({"delete", "2", "--yes", "--coordinator", address}, &out), 0) << out;
  EXPECT_NE(out.find("deleted search 2: 2 candidates"), std::string::npos) << out;
  EXPECT_EQ(Headevo({"status", "2", "--coordinator", address}, &out), 1) << out;
  ASSERT_EQ(Headevo({"status", "1", "--coordinator", address}, &out), 0) << out;
  EXPECT_NE(out.find("4/4"), std::string::npos) << out;
}

}  // namespace
}  // namespace headevo
