// A cluster spread over three hosts on one machine: the coordinator and two workers each in its
// own Linux network namespace, joined by veth pairs to a bridge and talking gRPC over real
// addresses with a bearer token (plaintext, so the coordinator needs --insecure). One worker's
// link is cut while it holds a lease and comes back after the lease has moved on: a network
// partition, where cluster_test.cc has SIGKILL and SIGSTOP. The worker stays alive through it,
// finishes training and reports late; the fencing must refuse that report.
//
// Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2; skipped, saying why, without them.
// Namespace names and the subnet come from the pid, so parallel runs never meet.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "storage/store.h"
#include "tests/testutil/child_process.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "tests/testutil/tiny_config.h"

namespace headevo {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ChildProcess;
using testing::Prefixed;
using testing::WaitFor;

constexpr char kSkipReason[] = "needs root and `ip netns` (CAP_SYS_ADMIN, CAP_NET_ADMIN): ";
constexpr int kPort = 50051;  // the coordinator's namespace is ours alone
// How a failed setup command counts: the machine cannot do it (skip), or a bug (fail).
constexpr absl::StatusCode kCannot = absl::StatusCode::kUnavailable;
constexpr absl::StatusCode kBug = absl::StatusCode::kInternal;

// `ip ARGS`: OK, or `code` with the command and what it printed.
absl::Status Ip(const std::vector<std::string>& args, absl::StatusCode code = kBug) {
  std::string output;
  const int exit_code = testing::RunCommand(Prefixed({"ip"}, args), &output, seconds(30));
  if (exit_code == 0) return absl::OkStatus();
  return absl::Status(code, absl::StrCat("`ip ", absl::StrJoin(args, " "), "` exited with ",
                                         exit_code, ": ", output));
}

// Three hosts on one machine. Namespace hv<pid>c is the coordinator's: a bridge br0 with
// 10.A.B.1/24. Namespace hv<pid>w<i> is worker i's: eth0 with 10.A.B.<i+1>/24, a veth pair
// whose other end (p<i>) is a port of the bridge. Every namespace it created is deleted when
// the object goes away (processes still inside keep theirs until they exit).
class Network {
 public:
  // Errors that mean "this machine cannot do it" (no `ip`, no CAP_SYS_ADMIN or CAP_NET_ADMIN,
  // no veth or bridge in the kernel, `ip netns exec` refused) are Unavailable, with the command
  // and its output; anything else is Internal.
  static absl::StatusOr<std::unique_ptr<Network>> Create(int workers) {
    const int pid = static_cast<int>(getpid());
    std::unique_ptr<Network> network(new Network());
    network->prefix_ = absl::StrCat("hv", pid);
    network->subnet_ = absl::StrCat("10.", 16 + pid % 224, ".", (pid / 224) % 250, ".");
    const std::string hub = network->coordinator_namespace();
    std::vector<std::string> names{hub};
    for (int i = 1; i <= workers; ++i) names.push_back(network->worker_namespace(i));
    for (const std::string& name : names) {
      // A leftover of an earlier run with our pid (killed before its guard ran).
      if (std::filesystem::exists("/run/netns/" + name)) {
        Ip({"netns", "delete", name}).IgnoreError();
      }
      if (absl::Status s = Ip({"netns", "add", name}, kCannot); !s.ok()) return s;
      network->created_.push_back(name);
    }
    std::string output;
    if (testing::RunCommand({"ip", "netns", "exec", hub, "true"}, &output, seconds(30)) != 0) {
      return absl::UnavailableError(absl::StrCat("`ip netns exec ", hub, " true`: ", output));
    }
    // Each command with the code its failure gets: kCannot for the first use of CAP_NET_ADMIN
    // (lo up) and of each kernel feature (bridge, veth), kBug for the rest.
    std::vector<std::pair<std::vector<std::string>, absl::StatusCode>> commands;
    for (const std::string& name : names) {
      commands.push_back({{"-n", name, "link", "set", "lo", "up"}, kCannot});
    }
    commands.push_back({{"-n", hub, "link", "add", "br0", "type", "bridge"}, kCannot});
    commands.push_back(
        {{"-n", hub, "addr", "add", network->address(0) + "/24", "dev", "br0"}, kBug});
    commands.push_back({{"-n", hub, "link", "set", "br0", "up"}, kBug});
    for (int i = 1; i <= workers; ++i) {
      const std::string port = absl::StrCat("p", i);
      commands.push_back({{"-n", hub, "link", "add", port, "type", "veth", "peer", "name", "eth0",
                           "netns", names[i]},
                          kCannot});
      commands.push_back({{"-n", hub, "link", "set", port, "master", "br0"}, kBug});
      commands.push_back({{"-n", hub, "link", "set", port, "up"}, kBug});
      commands.push_back(
          {{"-n", names[i], "addr", "add", network->address(i) + "/24", "dev", "eth0"}, kBug});
      commands.push_back({{"-n", names[i], "link", "set", "eth0", "up"}, kBug});
    }
    for (const auto& [args, code] : commands) {
      if (absl::Status s = Ip(args, code); !s.ok()) return s;
    }
    return network;
  }

  ~Network() {
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
      if (absl::Status s = Ip({"netns", "delete", *it}); !s.ok()) {
        std::cerr << "cleaning up: " << s << "\n";
      }
    }
  }
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  std::string coordinator_namespace() const { return prefix_ + "c"; }
  std::string worker_namespace(int i) const { return absl::StrCat(prefix_, "w", i); }
  // The coordinator's address for i = 0, worker i's for i >= 1.
  std::string address(int i) const { return absl::StrCat(subnet_, i + 1); }

  // Worker i's interface down (its route to the coordinator goes with it) or up again.
  absl::Status SetWorkerLink(int i, bool up) {
    return Ip({"-n", worker_namespace(i), "link", "set", "eth0", up ? "up" : "down"});
  }

 private:
  Network() = default;

  std::string prefix_;  // "hv<pid>"
  std::string subnet_;  // "10.A.B."
  std::vector<std::string> created_;
};

// Wall-clock ms, the coordinator's clock (same machine), for comparing with finished_ms.
int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Describe(const storage::JobRecord& job) {
  return absl::StrCat("job ", job.id, " ", storage::JobStateName(job.state), " attempt ",
                      job.attempt, " worker ", job.worker_id, " error '", job.last_error, "'");
}

class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << kSkipReason << "not root";
    absl::StatusOr<std::unique_ptr<Network>> network = Network::Create(/*workers=*/2);
    if (absl::IsUnavailable(network.status())) {
      GTEST_SKIP() << kSkipReason << network.status().message();
    }
    ASSERT_TRUE(network.ok()) << network.status();
    network_ = *std::move(network);
    address_ = absl::StrCat(network_->address(0), ":", kPort);
    std::ofstream(dir_.File("token")) << "netns-test-token\n";
  }

  // `headevo ARGS` inside namespace `ns`.
  std::vector<std::string> InNamespace(const std::string& ns,
                                       const std::vector<std::string>& args) const {
    return Prefixed({"ip", "netns", "exec", ns, HEADEVO_BINARY}, args);
  }

  void StartCoordinator() {
    serve_ = std::make_unique<ChildProcess>(
        dir_.path(), "serve.log",
        InNamespace(
            network_->coordinator_namespace(),
            {"serve", "--db", dir_.File("netns.db"), "--listen", address_, "--token-file",
             dir_.File("token"), "--insecure", "--lease-seconds", "3", "--gc-seconds", "1"}));
    ASSERT_TRUE(WaitFor([&] { return serve_->LogContains("listening on"); }, seconds(30)))
        << serve_->Log();
  }

  std::unique_ptr<ChildProcess> StartWorker(int i) {
    const std::string name = absl::StrCat("w", i);
    return std::make_unique<ChildProcess>(
        dir_.path(), name + ".log",
        InNamespace(
            network_->worker_namespace(i),
            {"worker", "--coordinator", address_, "--token-file", dir_.File("token"), "--threads",
             "1", "--name", name, "--checkpoints", dir_.File(name + ".ckpt")}));
  }

  // Launched from the coordinator's namespace: the test's own namespace has no route there.
  void Launch(const std::string& config) {
    std::ofstream(dir_.File("search.toml")) << config;
    std::string out;
    ASSERT_EQ(testing::RunCommand(InNamespace(network_->coordinator_namespace(),
                                              {"launch", dir_.File("search.toml"), "--coordinator",
                                               address_, "--token-file", dir_.File("token")}),
                                  &out, seconds(60)),
              0)
        << out;
    ASSERT_NE(out.find("launched search 1"), std::string::npos) << out;
  }

  // The database, read-only, from the test's namespace (the file system is shared).
  std::unique_ptr<storage::Store> Reader() {
    storage::StoreOptions options;
    options.read_only = true;
    auto store = storage::Store::Open(dir_.File("netns.db"), options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // The id the worker registered under `name`, or 0 while it has not.
  int64_t WorkerId(const std::string& name) {
    auto reader = Reader();
    for (int64_t id = 1; reader != nullptr; ++id) {
      absl::StatusOr<storage::WorkerRecord> worker = reader->GetWorker(id);
      if (!worker.ok()) return 0;
      if (worker->name == name) return id;
    }
    return 0;
  }

  std::vector<storage::JobRecord> Jobs() {
    auto reader = Reader();
    if (reader == nullptr) return {};
    absl::StatusOr<std::vector<storage::JobRecord>> jobs = reader->ListJobs(1);
    return jobs.ok() ? *std::move(jobs) : std::vector<storage::JobRecord>{};
  }

  std::string DescribeJobs() {
    std::string text;
    for (const storage::JobRecord& job : Jobs()) absl::StrAppend(&text, "\n  ", Describe(job));
    return text;
  }

  storage::JobRecord Job(int64_t id) {
    auto reader = Reader();
    absl::StatusOr<storage::JobRecord> job =
        reader ? reader->GetJob(id) : absl::StatusOr<storage::JobRecord>(absl::UnknownError(""));
    return job.ok() ? *job : storage::JobRecord{};
  }

  headevo::v1::SearchState SearchState() {
    auto reader = Reader();
    if (reader == nullptr) return headevo::v1::SEARCH_STATE_UNSPECIFIED;
    auto search = reader->GetSearch(1);
    return search.ok() ? search->state : headevo::v1::SEARCH_STATE_UNSPECIFIED;
  }

  int LeaseExpiries(int64_t job_id) {
    auto reader = Reader();
    if (reader == nullptr) return -1;
    absl::StatusOr<std::vector<storage::EventRecord>> events = reader->ListEvents(1, 0, 10000);
    if (!events.ok()) return -1;
    int expiries = 0;
    for (const storage::EventRecord& e : *events) {
      expiries += e.kind == "lease_expired" &&
                  e.message.find(absl::StrCat("job ", job_id, " ")) != std::string::npos;
    }
    return expiries;
  }

  // Members are destroyed bottom-up: the processes die, then the namespaces go, then the
  // directory.
  testing::TempDir dir_;
  std::unique_ptr<Network> network_;
  std::string address_;
  std::unique_ptr<ChildProcess> serve_;
  std::unique_ptr<ChildProcess> w1_;
  std::unique_ptr<ChildProcess> w2_;
};

TEST_F(NetnsTest, AWorkerCutOffPastItsLeaseIsFencedAndWorksOnWhenItsLinkReturns) {
  constexpr int kPopulation = 3;
  constexpr int kGenerations = 3;
  constexpr int kPlanned = kPopulation * (kGenerations + 1);
  ASSERT_NO_FATAL_FAILURE(StartCoordinator());
  w1_ = StartWorker(1);
  w2_ = StartWorker(2);
  ASSERT_NO_FATAL_FAILURE(Launch(testing::TinySearchConfig(
      absl::StrCat("name = \"netns\"\nseed = 3\npopulation = ", kPopulation, "\ngenerations = ",
                   kGenerations, "\ncompare_with_dense = false\ninherit_weights = true\n"),
      /*parents=*/2, /*steps=*/300)));
  int64_t w1 = 0;
  int64_t w2 = 0;
  ASSERT_TRUE(WaitFor([&] { return (w1 = WorkerId("w1")) != 0 && (w2 = WorkerId("w2")) != 0; },
                      seconds(60)))
      << "registered: w1 as " << w1 << ", w2 as " << w2 << "\nw1:\n"
      << w1_->Log() << "\nw2:\n"
      << w2_->Log();

  // Cut w1 off while it holds a lease, and wait for the lease to move on to w2. Should w1's
  // report beat the cut (the job DONE under attempt 1), bring the link back and try its next.
  storage::JobRecord cut;
  for (int tries = 0; cut.id == 0; ++tries) {
    ASSERT_LT(tries, 3) << "w1 reported every job it held before its link went down";
    storage::JobRecord held;
    ASSERT_TRUE(WaitFor(
        [&] {
          for (const storage::JobRecord& job : Jobs()) {
            if (job.state == storage::JobState::kLeased && job.worker_id == w1) held = job;
          }
          return held.id != 0;
        },
        seconds(60)))
        << "w1 (worker " << w1 << ") never held a lease; jobs:" << DescribeJobs() << "\nw1:\n"
        << w1_->Log();
    const absl::Status down = network_->SetWorkerLink(1, false);
    ASSERT_TRUE(down.ok()) << down;
    storage::JobRecord now;
    ASSERT_TRUE(WaitFor(
        [&] {
          now = Job(held.id);
          return now.attempt >= 2 || now.state == storage::JobState::kDone;
        },
        seconds(60)))
        << "the job w1 held was neither leased again nor done; last seen: " << Describe(now)
        << "\ncoordinator:\n"
        << serve_->Log();
    if (now.attempt >= 2) {
      cut = held;
    } else {
      const absl::Status up = network_->SetWorkerLink(1, true);
      ASSERT_TRUE(up.ok()) << up;
    }
  }
  const std::string cut_job = absl::StrCat("job ", cut.id);

  // w2 finishes it under attempt 2.
  storage::JobRecord finished;
  ASSERT_TRUE(WaitFor([&] { return (finished = Job(cut.id)).state == storage::JobState::kDone; },
                      seconds(60)))
      << "last seen: " << Describe(finished) << "\nw2:\n"
      << w2_->Log();
  EXPECT_EQ(finished.attempt, 2) << Describe(finished);
  EXPECT_EQ(finished.worker_id, w2) << Describe(finished);
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate candidate_before,
                       Reader()->GetCandidate(finished.candidate_id));

  // w2 leaves (SIGTERM: it hands back any job it holds), so the work left is w1's alone: that
  // it goes on working once its link returns is then certain, not a matter of luck.
  w2_->Signal(SIGTERM);
  EXPECT_EQ(w2_->Wait(seconds(30)), 0) << w2_->Log();
  ASSERT_NE(SearchState(), headevo::v1::SEARCH_STATE_DONE)
      << "the search ended before w1's link came back; plan more candidates";

  // The link returns. w1 finishes what it trained through the partition and reports it late:
  // refused, and nothing it sent changed the job or the candidate.
  const int64_t restored_ms = NowMs();
  const absl::Status up = network_->SetWorkerLink(1, true);
  ASSERT_TRUE(up.ok()) << up;
  ASSERT_TRUE(WaitFor([&] { return w1_->LogContains(cut_job + ": result refused"); }, seconds(60)))
      << "w1 never reported " << cut_job << " after its link came back; w1:\n"
      << w1_->Log();
  const storage::JobRecord after = Job(cut.id);
  ASSERT_OK_AND_ASSIGN(headevo::v1::Candidate candidate_after,
                       Reader()->GetCandidate(finished.candidate_id));
  EXPECT_EQ(Describe(after), Describe(finished));
  EXPECT_EQ(after.finished_ms, finished.finished_ms);
  EXPECT_EQ(after.lease_expires_ms, finished.lease_expires_ms);
  EXPECT_EQ(candidate_after.SerializeAsString(), candidate_before.SerializeAsString());

  // w1 finishes the search alone.
  ASSERT_TRUE(WaitFor([&] { return SearchState() == headevo::v1::SEARCH_STATE_DONE; }, seconds(90)))
      << "jobs:" << DescribeJobs() << "\nw1:\n"
      << w1_->Log() << "\ncoordinator:\n"
      << serve_->Log();

  // The finished search: every job DONE once, every candidate with one result.
  auto reader = Reader();
  ASSERT_NE(reader, nullptr);
  ASSERT_OK_AND_ASSIGN(std::vector<headevo::v1::Candidate> candidates, reader->ListCandidates(1));
  ASSERT_OK_AND_ASSIGN(std::vector<storage::JobRecord> jobs, reader->ListJobs(1));
  ASSERT_OK_AND_ASSIGN(std::vector<storage::CheckpointRecord> checkpoints,
                       reader->ListCheckpoints(1));
  EXPECT_EQ(candidates.size(), static_cast<size_t>(kPlanned));
  EXPECT_EQ(jobs.size(), candidates.size());
  for (const headevo::v1::Candidate& c : candidates) {
    SCOPED_TRACE(absl::StrCat("candidate ", c.id()));
    EXPECT_EQ(c.state(), headevo::v1::CANDIDATE_STATE_DONE) << c.error();
    EXPECT_TRUE(c.has_metrics());
    EXPECT_EQ(c.head_stats_size(), c.genome().heads_size());
    int jobs_of_candidate = 0;
    for (const storage::JobRecord& job : jobs) jobs_of_candidate += job.candidate_id == c.id();
    EXPECT_EQ(jobs_of_candidate, 1);
    int checkpoints_of_candidate = 0;
    for (const auto& checkpoint : checkpoints) {
      checkpoints_of_candidate += checkpoint.candidate_id == c.id();
    }
    EXPECT_LE(checkpoints_of_candidate, 1);
  }
  int finished_by_w1_later = 0;
  for (const storage::JobRecord& job : jobs) {
    EXPECT_EQ(job.state, storage::JobState::kDone) << Describe(job);
    if (job.finished_ms >= restored_ms) {
      EXPECT_EQ(job.worker_id, w1) << "only w1 was left: " << Describe(job);
      ++finished_by_w1_later;
    }
  }
  EXPECT_GE(finished_by_w1_later, 1) << "w1 did no work after its link came back";
  EXPECT_EQ(LeaseExpiries(cut.id), 1) << cut_job;
  std::cout << "w1 cut off holding " << cut_job << "; after its link came back it finished "
            << finished_by_w1_later << " of " << jobs.size() << " jobs\n";
}

}  // namespace
}  // namespace headevo
