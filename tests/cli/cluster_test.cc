// Multi-process tests of the coordinator and its workers: real `headevo serve` and `headevo
// worker` processes on loopback, a real SQLite file, real (tiny) LibTorch training, and
// processes killed with SIGKILL or paused with SIGSTOP at seeded instants. Every wait is
// bounded; a test that cannot reach its state fails with what it last saw.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
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
using testing::Slurp;
using testing::WaitFor;

// `steps` sets how long a job takes.
std::string TinyConfig(int population, int generations, int steps, uint64_t seed = 5) {
  return testing::TinySearchConfig(
      "name = \"cluster\"\nseed = " + std::to_string(seed) + "\npopulation = " +
          std::to_string(population) + "\ngenerations = " + std::to_string(generations) +
          "\ncompare_with_dense = false\ninherit_weights = true\n",
      std::min(2, population), steps);
}

// `headevo ARGS` as a child process in `dir`, logging to dir/log_name.
std::unique_ptr<ChildProcess> Headevo(const fs::path& dir, const std::string& log_name,
                                      const std::vector<std::string>& args) {
  return std::make_unique<ChildProcess>(dir, log_name, Prefixed({HEADEVO_BINARY}, args));
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = testing::FreePort();
    address_ = "127.0.0.1:" + std::to_string(port_);
  }

  std::string Db() const { return dir_.File("cluster.db"); }

  // A coordinator on the test's address and database; each start logs to its own file.
  std::unique_ptr<ChildProcess> Serve(double lease_seconds) {
    auto serve = Headevo(dir_.path(), "serve-" + std::to_string(++serve_starts_) + ".log",
                         {"serve", "--db", "cluster.db", "--listen", address_, "--lease-seconds",
                          std::to_string(lease_seconds), "--gc-seconds", "1"});
    const bool up = WaitFor([&] { return serve->LogContains("listening on"); }, milliseconds(30000));
    EXPECT_TRUE(up) << serve->Log();
    return serve;
  }

  std::unique_ptr<ChildProcess> Worker(const std::string& name, double exit_when_idle = 0) {
    std::vector<std::string> args{"worker",        "--coordinator", address_, "--threads", "1",
                                  "--name",        name,            "--checkpoints",
                                  name + ".ckpt"};
    if (exit_when_idle > 0) {
      args.push_back("--exit-when-idle");
      args.push_back(std::to_string(exit_when_idle));
    }
    return Headevo(dir_.path(), name + ".log", args);
  }

  // `headevo ARGS` to completion; its exit code (stdout+stderr in out).
  int Cli(const std::string& args, std::string* out = nullptr) {
    const std::string command = "cd '" + dir_.path().string() + "' && '" HEADEVO_BINARY "' " +
                                args + " >cli.txt 2>&1";
    const int status = std::system(command.c_str());
    if (out != nullptr) *out = Slurp(dir_.path() / "cli.txt");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  void Launch(const std::string& config) {
    std::ofstream(dir_.path() / "search.toml") << config;
    std::string out;
    ASSERT_EQ(Cli("launch search.toml --coordinator " + address_, &out), 0) << out;
    ASSERT_NE(out.find("launched search 1"), std::string::npos) << out;
  }

  std::unique_ptr<storage::Store> Reader() {
    storage::StoreOptions options;
    options.read_only = true;
    auto store = storage::Store::Open(Db(), options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  headevo::v1::SearchState SearchState(int64_t search_id = 1) {
    auto reader = Reader();
    if (reader == nullptr) return headevo::v1::SEARCH_STATE_UNSPECIFIED;
    auto search = reader->GetSearch(search_id);
    return search.ok() ? search->state : headevo::v1::SEARCH_STATE_UNSPECIFIED;
  }

  bool SearchDone() { return SearchState() == headevo::v1::SEARCH_STATE_DONE; }

  // The first job LEASED to anyone, or 0.
  int64_t LeasedJob(int* attempt = nullptr) {
    auto reader = Reader();
    if (reader == nullptr) return 0;
    auto jobs = reader->ListJobs(1);
    if (!jobs.ok()) return 0;
    for (const storage::JobRecord& job : *jobs) {
      if (job.state == storage::JobState::kLeased) {
        if (attempt != nullptr) *attempt = job.attempt;
        return job.id;
      }
    }
    return 0;
  }

  // The finished search as the database has it: every job finished once, every candidate
  // DONE with a result, lineage links resolvable, the file intact.
  void ExpectCompleteAndConsistent(int64_t planned) {
    auto reader = Reader();
    ASSERT_NE(reader, nullptr);
    ASSERT_OK_AND_ASSIGN(storage::SearchRecord search, reader->GetSearch(1));
    EXPECT_EQ(search.state, headevo::v1::SEARCH_STATE_DONE);
    ASSERT_OK_AND_ASSIGN(std::vector<headevo::v1::Candidate> candidates,
                         reader->ListCandidates(1));
    EXPECT_EQ(static_cast<int64_t>(candidates.size()), planned);
    ASSERT_OK_AND_ASSIGN(std::vector<storage::JobRecord> jobs, reader->ListJobs(1));
    EXPECT_EQ(jobs.size(), candidates.size());
    std::set<int64_t> ids;
    for (const headevo::v1::Candidate& c : candidates) ids.insert(c.id());
    for (const headevo::v1::Candidate& c : candidates) {
      SCOPED_TRACE(c.id());
      EXPECT_EQ(c.state(), headevo::v1::CANDIDATE_STATE_DONE) << c.error();
      EXPECT_EQ(c.head_stats_size(), c.genome().heads_size());
      if (c.parent_id() != 0) {
        EXPECT_TRUE(ids.count(c.parent_id()));
      }
      ASSERT_OK_AND_ASSIGN(std::vector<storage::LineageNode> chain, reader->AncestorChain(c.id()));
      EXPECT_EQ(chain.back().parent_id, 0) << "every chain ends at a root";
    }
    for (const storage::JobRecord& job : jobs) {
      EXPECT_EQ(job.state, storage::JobState::kDone) << "job " << job.id;
    }
  }

  testing::TempDir dir_;
  int port_ = 0;
  std::string address_;
  int serve_starts_ = 0;
};

TEST_F(ClusterTest, ThreeWorkersCompleteASearchAndClientsReadIt) {
  auto serve = Serve(10);
  auto w1 = Worker("w1");
  auto w2 = Worker("w2");
  auto w3 = Worker("w3");
  Launch(TinyConfig(/*population=*/4, /*generations=*/3, /*steps=*/15));
  ASSERT_TRUE(WaitFor([&] { return SearchDone(); }, milliseconds(120000))) << serve->Log();
  ExpectCompleteAndConsistent(16);

  // Every worker took part, and each job went to exactly one worker once.
  auto reader = Reader();
  ASSERT_OK_AND_ASSIGN(auto jobs, reader->ListJobs(1));
  std::set<int64_t> workers;
  for (const auto& job : jobs) {
    EXPECT_EQ(job.attempt, 1) << "job " << job.id;
    workers.insert(job.worker_id);
  }
  EXPECT_EQ(workers.size(), 3u);

  // The client commands, online and offline, agree.
  std::string online;
  std::string offline;
  ASSERT_EQ(Cli("status 1 --coordinator " + address_, &online), 0) << online;
  ASSERT_EQ(Cli("status 1 --db cluster.db", &offline), 0) << offline;
  EXPECT_NE(online.find("16/16"), std::string::npos) << online;
  EXPECT_EQ(online, offline);
  std::string lineage;
  ASSERT_EQ(Cli("lineage 16 --format dot --db cluster.db", &lineage), 0) << lineage;
  EXPECT_NE(lineage.find("digraph"), std::string::npos) << lineage;
  std::string exported;
  ASSERT_EQ(Cli("export 1 --count 2 -o best.json --coordinator " + address_, &exported), 0)
      << exported;
  // The export starts a new search.
  std::ofstream(dir_.path() / "next.toml") << TinyConfig(4, 0, 15);
  std::string launched;
  ASSERT_EQ(Cli("launch next.toml --start-from best.json --coordinator " + address_, &launched),
            0)
      << launched;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = Reader();
        auto s = r ? r->GetSearch(2) : absl::StatusOr<storage::SearchRecord>(absl::UnknownError(""));
        return s.ok() && s->state == headevo::v1::SEARCH_STATE_DONE;
      },
      milliseconds(60000)));
  ASSERT_OK_AND_ASSIGN(auto second, Reader()->ListCandidates(2));
  ASSERT_OK_AND_ASSIGN(auto first, Reader()->ListCandidates(1));
  ASSERT_EQ(second.size(), 4u);
  EXPECT_EQ(second[0].mutation().description(), "initial: given genome");
  EXPECT_EQ(second[2].mutation().description(), "initial: uniform sample");

  // A second coordinator on the same database is refused, naming the one that holds it.
  std::string refused;
  EXPECT_EQ(Cli("serve --db cluster.db --listen 127.0.0.1:0", &refused), 1) << refused;
  EXPECT_NE(refused.find("already open for writing"), std::string::npos) << refused;

  // SIGTERM: a clean stop.
  serve->Kill(SIGTERM);
  EXPECT_NE(serve->Log().find("stopped cleanly"), std::string::npos) << serve->Log();
}

TEST_F(ClusterTest, AWorkerKilledMidJobHasItsJobLeasedAgainAndCountedOnce) {
  auto serve = Serve(/*lease_seconds=*/1.5);
  auto doomed = Worker("doomed");
  Launch(TinyConfig(/*population=*/2, /*generations=*/1, /*steps=*/400));
  int attempt = 0;
  int64_t job = 0;
  ASSERT_TRUE(WaitFor([&] { return (job = LeasedJob(&attempt)) != 0; }, milliseconds(60000)))
      << doomed->Log();
  doomed->Kill(SIGKILL);
  auto survivor = Worker("survivor");
  ASSERT_TRUE(WaitFor([&] { return SearchDone(); }, milliseconds(120000))) << serve->Log();
  ExpectCompleteAndConsistent(4);
  ASSERT_OK_AND_ASSIGN(storage::JobRecord record, Reader()->GetJob(job));
  EXPECT_EQ(record.attempt, 2) << "leased again after the lease expired";
  ASSERT_OK_AND_ASSIGN(auto events, Reader()->ListEvents(1, 0, 1000));
  int expiries = 0;
  for (const auto& e : events) {
    expiries += e.kind == "lease_expired" &&
                e.message.find("job " + std::to_string(job) + " ") != std::string::npos;
  }
  EXPECT_EQ(expiries, 1);
}

TEST_F(ClusterTest, AWorkerPausedPastItsLeaseHasItsLateResultRefused) {
  auto serve = Serve(/*lease_seconds=*/1.5);
  auto paused = Worker("paused");
  Launch(TinyConfig(/*population=*/1, /*generations=*/0, /*steps=*/600));
  int64_t job = 0;
  ASSERT_TRUE(WaitFor([&] { return (job = LeasedJob()) != 0; }, milliseconds(60000)))
      << paused->Log();
  paused->Signal(SIGSTOP);
  // Its lease expires (no heartbeat), the job is queued again and another worker finishes it.
  auto other = Worker("other");
  ASSERT_TRUE(WaitFor([&] { return SearchDone(); }, milliseconds(120000))) << serve->Log();
  ASSERT_OK_AND_ASSIGN(storage::JobRecord before, Reader()->GetJob(job));
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate candidate_before,
                       Reader()->GetCandidate(before.candidate_id));
  EXPECT_EQ(before.attempt, 2);
  EXPECT_EQ(before.state, storage::JobState::kDone);

  paused->Signal(SIGCONT);
  ASSERT_TRUE(WaitFor([&] { return paused->LogContains("refused"); }, milliseconds(60000)))
      << paused->Log();
  ASSERT_OK_AND_ASSIGN(storage::JobRecord after, Reader()->GetJob(job));
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate candidate_after,
                       Reader()->GetCandidate(before.candidate_id));
  EXPECT_EQ(after.attempt, before.attempt);
  EXPECT_EQ(after.worker_id, before.worker_id);
  EXPECT_EQ(after.finished_ms, before.finished_ms);
  EXPECT_EQ(candidate_after.SerializeAsString(), candidate_before.SerializeAsString());
}

TEST_F(ClusterTest, AWorkerStoppedWithSigtermHandsItsJobBackAtOnce) {
  auto serve = Serve(/*lease_seconds=*/60);
  auto leaving = Worker("leaving");
  Launch(TinyConfig(/*population=*/1, /*generations=*/0, /*steps=*/3000));
  int64_t job = 0;
  ASSERT_TRUE(WaitFor([&] { return (job = LeasedJob()) != 0; }, milliseconds(60000)))
      << leaving->Log();
  leaving->Signal(SIGTERM);
  EXPECT_EQ(leaving->Wait(milliseconds(10000)), 0) << leaving->Log();
  EXPECT_TRUE(leaving->LogContains("handed back")) << leaving->Log();
  // Its training saw the cancellation and ended before the process did (no _Exit past it).
  EXPECT_TRUE(leaving->LogContains("training of job " + std::to_string(job) +
                                   " ended (CANCELLED: training cancelled before step"))
      << leaving->Log();
  // Queued again long before its 60 s lease would have run out, with no attempt spent.
  ASSERT_OK_AND_ASSIGN(storage::JobRecord record, Reader()->GetJob(job));
  EXPECT_EQ(record.state, storage::JobState::kQueued);
  EXPECT_EQ(record.attempt, 1);
  EXPECT_EQ(record.max_attempts, 4);
}

TEST_F(ClusterTest, ACoordinatorKilledTwentyTimesLosesAndDoublesNothing) {
  std::mt19937 rng(20261124);
  auto serve = Serve(/*lease_seconds=*/30);
  auto w1 = Worker("w1");
  auto w2 = Worker("w2");
  Launch(TinyConfig(/*population=*/4, /*generations=*/8, /*steps=*/40));
  int killed_mid_search = 0;
  for (int kill = 0; kill < 20; ++kill) {
    std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(50, 700)(rng)));
    killed_mid_search += SearchState() == headevo::v1::SEARCH_STATE_RUNNING;
    serve->Kill(SIGKILL);
    serve = Serve(30);
  }
  ASSERT_TRUE(WaitFor([&] { return SearchDone(); }, milliseconds(180000))) << serve->Log();
  ExpectCompleteAndConsistent(36);
  // The file survived twenty deaths of its writer.
  storage::StoreOptions writable;
  serve->Kill(SIGTERM);
  ASSERT_OK_AND_ASSIGN(auto store, storage::Store::Open(Db(), writable));
  ASSERT_OK_AND_ASSIGN(auto candidates, store->ListCandidates(1));
  EXPECT_EQ(candidates.size(), 36u);
  EXPECT_GT(killed_mid_search, 5) << "most kills should land while the search runs";
  std::cout << "coordinator killed " << killed_mid_search << " of 20 times mid-search\n";
}

TEST_F(ClusterTest, AResumedSearchEndsWithTheUninterruptedPopulation) {
  // Uninterrupted: `headevo run` in one process.
  std::ofstream(dir_.path() / "search.toml") << TinyConfig(3, 4, 20, /*seed=*/11);
  std::string out;
  ASSERT_EQ(Cli("run search.toml --db straight.db --threads 1 -q", &out), 0) << out;

  // Interrupted: a coordinator SIGKILLed five times under one worker.
  std::mt19937 rng(7);
  auto serve = Serve(/*lease_seconds=*/30);
  auto worker = Worker("solo");
  Launch(TinyConfig(3, 4, 20, /*seed=*/11));
  for (int kill = 0; kill < 5 && !SearchDone(); ++kill) {
    std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(100, 600)(rng)));
    serve->Kill(SIGKILL);
    serve = Serve(30);
  }
  ASSERT_TRUE(WaitFor([&] { return SearchDone(); }, milliseconds(120000))) << serve->Log();

  storage::StoreOptions read_only;
  read_only.read_only = true;
  ASSERT_OK_AND_ASSIGN(auto straight,
                       storage::Store::Open(dir_.File("straight.db"), read_only));
  ASSERT_OK_AND_ASSIGN(auto expected, straight->ListCandidates(1));
  ASSERT_OK_AND_ASSIGN(auto resumed, Reader()->ListCandidates(1));
  ASSERT_EQ(resumed.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(resumed[i].parent_id(), expected[i].parent_id());
    EXPECT_EQ(resumed[i].genome().SerializeAsString(), expected[i].genome().SerializeAsString());
    EXPECT_EQ(resumed[i].mutation().SerializeAsString(),
              expected[i].mutation().SerializeAsString());
    EXPECT_EQ(resumed[i].metrics().val_loss(), expected[i].metrics().val_loss());
    EXPECT_EQ(resumed[i].checkpoint_sha256(), expected[i].checkpoint_sha256());
  }
}

// A genome as "layer:offsets origin" per head: comparable across databases, whose ids differ.
std::string HeadsWithoutIds(const headevo::v1::Candidate& c) {
  std::string out;
  for (const headevo::v1::Head& h : c.genome().heads()) {
    out += std::to_string(h.layer()) + ":";
    for (int offset : h.offsets().offsets()) out += std::to_string(offset) + ",";
    out += " " + headevo::v1::HeadOrigin_Name(h.origin()) + "; ";
    // The offset policy's provenance names no ids, so it must match too.
    if (h.sampler() == headevo::v1::SAMPLER_POLICY) out += h.sampler_params() + "; ";
  }
  return out;
}

// One config with the dense comparison and two baselines through `headevo run` (one process)
// and through `headevo serve` + 2 workers + `headevo launch`: the same lineage, the same
// reference models with the same losses; then a k-sweep config both ways, with the same
// steps and verdict. Every client command reads the references and the verdict.
TEST_F(ClusterTest, RunAndServeGiveTheSameLineageReferencesAndKSweep) {
  // Generational, so the lineage does not depend on which of two workers finishes first.
  const std::string evolve =
      testing::TinySearchConfig(
          "name = \"both\"\nseed = 13\npopulation = 3\ngenerations = 2\n"
          "schedule = \"generational\"\ncompare_with_dense = true\ninherit_weights = true\n",
          2, 20) +
      "\n[baselines]\nrun = [\"local\", \"random\"]\n"
      // The learned sampler is an arm: its proposals and its updates must not depend on who
      // trains the children either.
      "\n[resampling]\nsampler = \"adaptive\"\narms = [\"best\", \"policy\"]\n";
  const std::string k_sweep = testing::TinySearchConfig(
      "name = \"sweep\"\nseed = 17\nmode = \"k_sweep\"\n", 2, 20) +
      "\n[k_sweep]\nk_start = 4\nk_factor = 0.5\nk_min = 1\nrepeats = 2\ntolerance = 0.5\n";
  std::ofstream(dir_.path() / "evolve.toml") << evolve;
  std::ofstream(dir_.path() / "sweep.toml") << k_sweep;
  std::string out;
  ASSERT_EQ(Cli("run evolve.toml --db run-evolve.db --threads 1 -q", &out), 0) << out;
  ASSERT_EQ(Cli("run sweep.toml --db run-sweep.db --threads 1 -q", &out), 0) << out;
  EXPECT_NE(out.find("smallest mean k that held"), std::string::npos) << out;

  auto serve = Serve(/*lease_seconds=*/30);
  auto a = Worker("a");
  auto b = Worker("b");
  ASSERT_EQ(Cli("launch evolve.toml --coordinator " + address_, &out), 0) << out;
  ASSERT_EQ(Cli("launch sweep.toml --coordinator " + address_, &out), 0) << out;
  ASSERT_TRUE(WaitFor([&] { return SearchDone() && SearchState(2) == headevo::v1::SEARCH_STATE_DONE; },
                      milliseconds(180000)))
      << serve->Log() << a->Log() << b->Log();

  storage::StoreOptions read_only;
  read_only.read_only = true;
  const std::pair<std::string, int64_t> pairs[] = {{"run-evolve.db", 1}, {"run-sweep.db", 2}};
  for (const auto& [run_db, served_id] : pairs) {
    SCOPED_TRACE(run_db);
    ASSERT_OK_AND_ASSIGN(auto straight, storage::Store::Open(dir_.File(run_db), read_only));
    auto cluster = Reader();
    ASSERT_OK_AND_ASSIGN(auto expected, straight->ListCandidates(1));
    ASSERT_OK_AND_ASSIGN(auto served, cluster->ListCandidates(served_id));
    ASSERT_EQ(served.size(), expected.size());
    ASSERT_GE(expected.size(), 6u);
    for (size_t i = 0; i < expected.size(); ++i) {
      SCOPED_TRACE(i);
      EXPECT_EQ(served[i].generation(), expected[i].generation());
      EXPECT_EQ(HeadsWithoutIds(served[i]), HeadsWithoutIds(expected[i]));
      EXPECT_EQ(served[i].mutation().description(), expected[i].mutation().description());
      EXPECT_EQ(served[i].state(), headevo::v1::CANDIDATE_STATE_DONE) << served[i].error();
      EXPECT_EQ(served[i].metrics().val_loss(), expected[i].metrics().val_loss());
      // The parent as a position in the population: ids differ between the databases.
      EXPECT_EQ(served[i].parent_id() == 0 ? -1 : served[i].parent_id() - served[0].id(),
                expected[i].parent_id() == 0 ? -1 : expected[i].parent_id() - expected[0].id());
    }
    ASSERT_OK_AND_ASSIGN(auto expected_refs, straight->ListReferences(1));
    ASSERT_OK_AND_ASSIGN(auto served_refs, cluster->ListReferences(served_id));
    ASSERT_EQ(served_refs.size(), expected_refs.size());
    for (size_t i = 0; i < expected_refs.size(); ++i) {
      SCOPED_TRACE(expected_refs[i].description());
      EXPECT_EQ(served_refs[i].description(), expected_refs[i].description());
      EXPECT_EQ(served_refs[i].role(), expected_refs[i].role());
      EXPECT_EQ(served_refs[i].state(), headevo::v1::CANDIDATE_STATE_DONE) << served_refs[i].error();
      EXPECT_EQ(served_refs[i].metrics().val_loss(), expected_refs[i].metrics().val_loss());
    }
    ASSERT_OK_AND_ASSIGN(auto jobs, cluster->ListJobs(served_id));
    EXPECT_EQ(jobs.size(), served.size() + served_refs.size()) << "one job each, run once";
    for (const auto& job : jobs) EXPECT_EQ(job.state, storage::JobState::kDone) << job.id;
  }
  // Dense and the two baselines for the evolution; the k-sweep's bar for the sweep.
  ASSERT_OK_AND_ASSIGN(auto evolve_refs, Reader()->ListReferences(1));
  ASSERT_EQ(evolve_refs.size(), 3u);
  EXPECT_EQ(evolve_refs[0].kind(), "dense");
  EXPECT_EQ(evolve_refs[1].kind(), "local");
  EXPECT_EQ(evolve_refs[2].kind(), "random");

  // Every client command sees them: status online and offline, and the candidates listing.
  std::string online;
  std::string offline;
  std::string offline_run;
  ASSERT_EQ(Cli("status 2 --coordinator " + address_, &online), 0) << online;
  ASSERT_EQ(Cli("status 2 --db cluster.db", &offline), 0) << offline;
  ASSERT_EQ(Cli("status 1 --db run-sweep.db", &offline_run), 0) << offline_run;
  EXPECT_EQ(online, offline);
  EXPECT_NE(online.find("dense attention (reference #"), std::string::npos) << online;
  const size_t verdict = online.find("the smallest mean k that held is");
  ASSERT_NE(verdict, std::string::npos) << online;
  EXPECT_NE(offline_run.find(online.substr(verdict, online.find('\n', verdict) - verdict)),
            std::string::npos)
      << online << offline_run;
  ASSERT_EQ(Cli("candidates 1 --coordinator " + address_, &out), 0) << out;
  EXPECT_NE(out.find("reference models (outside the lineage)"), std::string::npos) << out;
  EXPECT_NE(out.find("local attention (window"), std::string::npos) << out;
  std::string report;
  ASSERT_EQ(Cli("status 1 --coordinator " + address_, &report), 0) << report;
  EXPECT_NE(report.find("random heads (mean k"), std::string::npos) << report;
  // The policy's distributions, as status shows them, are the same after run and serve.
  const auto policy_lines = [](const std::string& text) {
    std::string lines;
    for (size_t at = text.find("policy L"); at != std::string::npos;
         at = text.find("policy L", at + 1)) {
      lines += text.substr(at, text.find('\n', at) - at) + "\n";
    }
    return lines;
  };
  std::string evolve_run;
  ASSERT_EQ(Cli("status 1 --db run-evolve.db", &evolve_run), 0) << evolve_run;
  EXPECT_NE(policy_lines(report), "") << report;
  EXPECT_NE(report.find("updates 0 -> "), std::string::npos) << report;
  EXPECT_EQ(policy_lines(report), policy_lines(evolve_run));
}

TEST_F(ClusterTest, RunAndServeGiveTheSameRungsAndPromotions) {
  // Multi-fidelity through real workers: rungs of 3, 9 and 27 steps; promotions continue from
  // checkpoints the worker uploaded. One worker, so the lineage is fixed.
  const std::string config =
      testing::TinySearchConfig(
          "name = \"rungs\"\nseed = 19\npopulation = 6\ngenerations = 1\n"
          "compare_with_dense = false\n",
          2, 27) +
      "\n[fidelity]\nenabled = true\nmin_steps = 3\nreduction_factor = 3\n";
  std::ofstream(dir_.path() / "rungs.toml") << config;
  std::string out;
  ASSERT_EQ(Cli("run rungs.toml --db run-rungs.db --threads 1 -q", &out), 0) << out;

  auto serve = Serve(/*lease_seconds=*/30);
  auto worker = Worker("a");
  ASSERT_EQ(Cli("launch rungs.toml --coordinator " + address_, &out), 0) << out;
  ASSERT_TRUE(WaitFor([&] { return SearchDone(); }, milliseconds(180000)))
      << serve->Log() << worker->Log();

  storage::StoreOptions read_only;
  read_only.read_only = true;
  ASSERT_OK_AND_ASSIGN(auto straight, storage::Store::Open(dir_.File("run-rungs.db"), read_only));
  ASSERT_OK_AND_ASSIGN(auto expected, straight->ListCandidates(1));
  ASSERT_OK_AND_ASSIGN(auto served, Reader()->ListCandidates(1));
  ASSERT_EQ(served.size(), 12u);
  ASSERT_EQ(expected.size(), served.size());
  int promoted = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(HeadsWithoutIds(served[i]), HeadsWithoutIds(expected[i]));
    EXPECT_EQ(served[i].rung(), expected[i].rung());
    ASSERT_EQ(served[i].rungs_size(), expected[i].rungs_size());
    for (int r = 0; r < served[i].rungs_size(); ++r) {
      EXPECT_EQ(served[i].rungs(r).steps(), (r == 0 ? 3 : r == 1 ? 9 : 27));
      EXPECT_EQ(served[i].rungs(r).val_loss(), expected[i].rungs(r).val_loss());
      EXPECT_EQ(served[i].rungs(r).tokens(), expected[i].rungs(r).tokens());
    }
    promoted += served[i].rung() > 0;
  }
  EXPECT_GE(promoted, 4) << "the top third of 12 first-rung results went on";
  ASSERT_OK_AND_ASSIGN(auto jobs, Reader()->ListJobs(1));
  for (const auto& job : jobs) EXPECT_EQ(job.state, storage::JobState::kDone) << job.id;

  // The clients show it: the rungs in status, the learning curve of the best.
  ASSERT_EQ(Cli("status 1 --coordinator " + address_, &out), 0) << out;
  EXPECT_NE(out.find("3 steps: 12"), std::string::npos) << out;
  ASSERT_OK_AND_ASSIGN(auto best, Reader()->BestCandidates(1, 1));
  ASSERT_EQ(best.size(), 1u);
  EXPECT_EQ(best[0].rung, 2);
  ASSERT_EQ(Cli("curve " + std::to_string(best[0].candidate_id) + " --db cluster.db", &out), 0)
      << out;
  EXPECT_NE(out.find("3 rungs finished, 27 steps"), std::string::npos) << out;
  EXPECT_NE(out.find("   steps"), std::string::npos) << "the plot's x axis\n" << out;
}

}  // namespace
}  // namespace headevo
