// GetCandidate, ListWorkers, GetSearchConfig and DeleteSearch end to end, in process: a real
// server on 127.0.0.1, real stubs, a real SQLite file and checkpoint directory. Each RPC is
// checked for its answer and for every status code it documents; a refused DeleteSearch
// changes nothing, an accepted one takes its search's rows and files and nothing else.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "headevo/v1/search_service.grpc.pb.h"
#include "headevo/v1/worker_service.grpc.pb.h"
#include "server/engine/checkpoint_store.h"
#include "server/engine/coordinator.h"
#include "server/rpc/grpc_server.h"
#include "storage/store.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "tests/testutil/tiny_config.h"
#include "worker/coordinator_channel.h"

namespace headevo::server {
namespace {

namespace fs = std::filesystem;
namespace v1 = headevo::v1;

constexpr std::chrono::seconds kDeadline(5);
constexpr int64_t kLeaseMs = 10'000;

// 4 jobs (generation 0 only). A comment and odd spacing: the config must come back byte for byte.
std::string Config(const std::string& name) {
  return "# launched by the test\n" +
         testing::TinySearchConfig("name   = \"" + name +
                                   "\"\nseed = 7\npopulation = 4\ngenerations = 0\n"
                                   "compare_with_dense = false\n");
}

#define EXPECT_GRPC_CODE(expr, code)                                              \
  do {                                                                            \
    const ::grpc::Status grpc_status_ = (expr);                                   \
    EXPECT_EQ(grpc_status_.error_code(), (code)) << grpc_status_.error_message(); \
  } while (0)
#define ASSERT_GRPC_OK(expr)                                                  \
  do {                                                                        \
    const ::grpc::Status grpc_status_ = (expr);                               \
    ASSERT_TRUE(grpc_status_.ok())                                            \
        << grpc_status_.error_code() << ": " << grpc_status_.error_message(); \
  } while (0)

class GrpcNewRpcsTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(""); }

  void Start(const std::string& token) {
    ASSERT_OK_AND_ASSIGN(store_, storage::Store::Open(dir_.File("headevo.db")));
    ASSERT_OK_AND_ASSIGN(checkpoints_, CheckpointStore::Open(dir_.File("ckpt")));
    CoordinatorOptions options;
    options.lease_ms = kLeaseMs;
    options.clock = [this] { return now_ms_.load(); };
    ASSERT_OK_AND_ASSIGN(coordinator_, Coordinator::Create(store_.get(), options));
    ServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    server_options.max_lease_wait_ms = 0;
    server_options.token = token;
    ASSERT_OK_AND_ASSIGN(
        server_, CoordinatorServer::Start(coordinator_.get(), checkpoints_.get(), server_options));
    worker::ChannelOptions channel;
    channel.address = absl::StrCat("127.0.0.1:", server_->port());
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<grpc::Channel> ch, worker::MakeChannel(channel));
    workers_ = v1::WorkerService::NewStub(ch);
    searches_ = v1::SearchService::NewStub(ch);
  }

  template <typename Fn>
  grpc::Status Call(Fn fn, const std::string& token = "") {
    grpc::ClientContext context;
    worker::PrepareCall(context, token, kDeadline);
    return fn(&context);
  }

  int64_t Register(const std::string& name, const std::string& device, int64_t memory) {
    v1::RegisterRequest request;
    request.set_device(device);
    request.set_name(name);
    request.set_memory_bytes(memory);
    v1::RegisterResponse response;
    const grpc::Status s =
        Call([&](grpc::ClientContext* c) { return workers_->Register(c, request, &response); });
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.worker_id();
  }

  int64_t CreateSearch(const std::string& config) {
    v1::CreateSearchRequest request;
    request.set_config_toml(config);
    v1::CreateSearchResponse response;
    const grpc::Status s = Call(
        [&](grpc::ClientContext* c) { return searches_->CreateSearch(c, request, &response); });
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.search_id();
  }

  v1::LeaseJobResponse Lease(int64_t worker_id) {
    v1::LeaseJobRequest request;
    request.set_worker_id(worker_id);
    v1::LeaseJobResponse response;
    const grpc::Status s =
        Call([&](grpc::ClientContext* c) { return workers_->LeaseJob(c, request, &response); });
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(response.has_job());
    return response;
  }

  // Uploads `bytes` as a checkpoint; returns its sha256.
  std::string Upload(const std::string& bytes) {
    const std::string path = dir_.File("upload.bin");
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    absl::StatusOr<std::string> sha = Sha256OfFile(path);
    EXPECT_TRUE(sha.ok()) << sha.status();
    grpc::ClientContext context;
    worker::PrepareCall(context, "", kDeadline);
    v1::UploadCheckpointResponse response;
    auto writer = workers_->UploadCheckpoint(&context, &response);
    v1::UploadCheckpointRequest message;
    message.set_sha256(*sha);
    message.set_total_bytes(static_cast<int64_t>(bytes.size()));
    message.set_data(bytes);
    EXPECT_TRUE(writer->Write(message));
    writer->WritesDone();
    const grpc::Status s = writer->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return *sha;
  }

  // Reports a finite result for the lease, naming `sha` as its checkpoint ("" for none).
  grpc::Status Report(int64_t worker_id, const v1::LeaseJobResponse& lease, double loss,
                      const std::string& sha) {
    v1::ReportResultRequest report;
    report.set_worker_id(worker_id);
    report.set_job_id(lease.job_id());
    report.set_attempt(lease.attempt());
    v1::EvaluationResult& result = *report.mutable_result();
    result.set_candidate_id(lease.request().candidate_id());
    result.set_checkpoint_sha256(sha);
    int64_t connections = 0;
    for (const v1::Head& head : lease.request().genome().heads()) {
      connections += head.offsets().offsets_size();
      v1::HeadStats& stats = *result.add_head_stats();
      stats.set_head_id(head.id());
      stats.set_layer(head.layer());
      stats.set_entropy(0.25);
      stats.set_independence(0.5);
      stats.set_weight_norm(1.0);
      stats.set_importance(0.125);
    }
    v1::Metrics& m = *result.mutable_metrics();
    m.set_val_loss(loss);
    m.set_train_loss(loss + 0.5);
    m.set_connections(connections);
    m.set_steps(15);
    m.set_train_seconds(1.5);
    v1::ReportResultResponse response;
    return Call(
        [&](grpc::ClientContext* c) { return workers_->ReportResult(c, report, &response); });
  }

  grpc::Status GetCandidate(int64_t id, v1::Candidate* out, const std::string& token = "") {
    v1::GetCandidateRequest request;
    request.set_candidate_id(id);
    return Call([&](grpc::ClientContext* c) { return searches_->GetCandidate(c, request, out); },
                token);
  }
  grpc::Status ListWorkers(v1::ListWorkersResponse* out, const std::string& token = "") {
    return Call(
        [&](grpc::ClientContext* c) {
          return searches_->ListWorkers(c, v1::ListWorkersRequest(), out);
        },
        token);
  }
  grpc::Status GetConfig(int64_t id, v1::SearchConfig* out, const std::string& token = "") {
    v1::GetSearchRequest request;
    request.set_search_id(id);
    return Call([&](grpc::ClientContext* c) { return searches_->GetSearchConfig(c, request, out); },
                token);
  }
  grpc::Status Delete(int64_t id, v1::DeleteSearchResponse* out, const std::string& token = "") {
    v1::DeleteSearchRequest request;
    request.set_search_id(id);
    return Call([&](grpc::ClientContext* c) { return searches_->DeleteSearch(c, request, out); },
                token);
  }
  grpc::Status Stop(int64_t id) {
    v1::SearchControlRequest request;
    request.set_search_id(id);
    v1::SearchSummary summary;
    return Call(
        [&](grpc::ClientContext* c) { return searches_->StopSearch(c, request, &summary); });
  }
  grpc::Status Pause(int64_t id) {
    v1::SearchControlRequest request;
    request.set_search_id(id);
    v1::SearchSummary summary;
    return Call(
        [&](grpc::ClientContext* c) { return searches_->PauseSearch(c, request, &summary); });
  }

  // Everything the store answers about one search, as text.
  std::string Describe(int64_t search_id) {
    return coordinator_->WithStore([&](storage::Store& store) -> std::string {
      std::string out;
      auto search = store.GetSearch(search_id);
      if (!search.ok()) return search.status().ToString();
      absl::StrAppend(&out, search->name, " ", search->state, "\n");
      auto candidates = store.ListCandidates(search_id);
      if (!candidates.ok()) return candidates.status().ToString();
      for (const auto& c : *candidates) absl::StrAppend(&out, c.ShortDebugString(), "\n");
      auto jobs = store.ListJobs(search_id);
      if (!jobs.ok()) return jobs.status().ToString();
      for (const auto& j : *jobs) {
        absl::StrAppend(&out, "job ", j.id, " ", storage::JobStateName(j.state), " ", j.attempt,
                        " ", j.worker_id, "\n");
      }
      auto ckpts = store.ListCheckpoints(search_id);
      if (!ckpts.ok()) return ckpts.status().ToString();
      for (const auto& k : *ckpts) absl::StrAppend(&out, "ckpt ", k.sha256, "\n");
      auto events = store.ListEvents(search_id, 0, 1000);
      if (!events.ok()) return events.status().ToString();
      for (const auto& e : *events) absl::StrAppend(&out, "event ", e.id, " ", e.kind, "\n");
      return out;
    });
  }

  // Declared in construction order: the server goes first, the directory last.
  testing::TempDir dir_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<CheckpointStore> checkpoints_;
  std::unique_ptr<Coordinator> coordinator_;
  std::unique_ptr<CoordinatorServer> server_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
  std::unique_ptr<v1::SearchService::Stub> searches_;
};

TEST_F(GrpcNewRpcsTest, GetCandidateAnswersTheWholeCandidate) {
  const int64_t worker = Register("w", "cpu", 0);
  CreateSearch(Config("c"));
  const v1::LeaseJobResponse lease = Lease(worker);
  const int64_t id = lease.request().candidate_id();

  v1::Candidate pending;
  ASSERT_GRPC_OK(GetCandidate(id, &pending));
  EXPECT_EQ(pending.id(), id);
  EXPECT_EQ(pending.state(), v1::CANDIDATE_STATE_RUNNING);
  EXPECT_EQ(pending.genome().heads_size(), lease.request().genome().heads_size());
  EXPECT_EQ(pending.head_stats_size(), 0);

  ASSERT_GRPC_OK(Report(worker, lease, 1.25, ""));
  v1::Candidate done;
  ASSERT_GRPC_OK(GetCandidate(id, &done));
  absl::StatusOr<v1::Candidate> stored =
      coordinator_->WithStore([&](storage::Store& s) { return s.GetCandidate(id); });
  ASSERT_OK(stored.status());
  EXPECT_EQ(done.SerializeAsString(), stored->SerializeAsString());
  EXPECT_EQ(done.state(), v1::CANDIDATE_STATE_DONE);
  EXPECT_EQ(done.metrics().val_loss(), 1.25);
  EXPECT_EQ(done.head_stats_size(), done.genome().heads_size());
  EXPECT_FALSE(done.mutation().description().empty());

  v1::Candidate ignored;
  EXPECT_GRPC_CODE(GetCandidate(0, &ignored), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(GetCandidate(-3, &ignored), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(GetCandidate(9999, &ignored), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcNewRpcsTest, ListWorkersShowsWhoHoldsWhichJob) {
  v1::ListWorkersResponse none;
  ASSERT_GRPC_OK(ListWorkers(&none));
  EXPECT_EQ(none.workers_size(), 0);

  const int64_t busy = Register("gpu-host", "cuda:0", int64_t{80} << 30);
  now_ms_ += 500;
  const int64_t idle = Register("cpu-host", "cpu", 0);
  const int64_t search = CreateSearch(Config("w"));
  now_ms_ += 1000;
  const v1::LeaseJobResponse lease = Lease(busy);

  v1::ListWorkersResponse listed;
  ASSERT_GRPC_OK(ListWorkers(&listed));
  ASSERT_EQ(listed.workers_size(), 2);
  const v1::WorkerSummary& b = listed.workers(0);
  EXPECT_EQ(b.id(), busy);
  EXPECT_EQ(b.name(), "gpu-host");
  EXPECT_EQ(b.device(), "cuda:0");
  EXPECT_EQ(b.memory_bytes(), int64_t{80} << 30);
  EXPECT_EQ(b.registered_ms(), 1'700'000'000'000);
  EXPECT_EQ(b.last_seen_ms(), 1'700'000'001'500);
  ASSERT_EQ(b.jobs_size(), 1);
  EXPECT_EQ(b.jobs(0).job_id(), lease.job_id());
  EXPECT_EQ(b.jobs(0).search_id(), search);
  EXPECT_EQ(b.jobs(0).candidate_id(), lease.request().candidate_id());
  EXPECT_EQ(b.jobs(0).reference_id(), 0);
  EXPECT_EQ(b.jobs(0).attempt(), lease.attempt());
  EXPECT_EQ(b.jobs(0).lease_expires_ms(), lease.lease_expires_ms());
  const v1::WorkerSummary& i = listed.workers(1);
  EXPECT_EQ(i.id(), idle);
  EXPECT_EQ(i.registered_ms(), 1'700'000'000'500);
  EXPECT_EQ(i.jobs_size(), 0);

  // Reported: the worker holds nothing any more.
  ASSERT_GRPC_OK(Report(busy, lease, 1.5, ""));
  ASSERT_GRPC_OK(ListWorkers(&listed));
  EXPECT_EQ(listed.workers(0).jobs_size(), 0);
}

TEST_F(GrpcNewRpcsTest, GetSearchConfigIsTheTomlByteForByte) {
  const std::string config = Config("cfg") + "\n\n# trailing comment, no newline at the end";
  const int64_t search = CreateSearch(config);
  v1::SearchConfig got;
  ASSERT_GRPC_OK(GetConfig(search, &got));
  EXPECT_EQ(got.search_id(), search);
  EXPECT_EQ(got.config_toml(), config);

  EXPECT_GRPC_CODE(GetConfig(0, &got), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(GetConfig(-1, &got), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(GetConfig(search + 1, &got), grpc::StatusCode::NOT_FOUND);
}

TEST_F(GrpcNewRpcsTest, DeleteSearchTakesItsRowsAndFilesAndNothingElse) {
  const int64_t worker = Register("w", "cpu", 0);
  const int64_t doomed = CreateSearch(Config("doomed"));
  // One result of the doomed search with a checkpoint, one of its jobs still out.
  const v1::LeaseJobResponse reported = Lease(worker);
  const std::string doomed_sha = Upload(std::string(5000, 'd'));
  ASSERT_GRPC_OK(Report(worker, reported, 1.25, doomed_sha));
  const v1::LeaseJobResponse still_out = Lease(worker);

  // Running (and paused) searches are refused, and nothing changes.
  const std::string doomed_before = Describe(doomed);
  v1::DeleteSearchResponse response;
  EXPECT_GRPC_CODE(Delete(doomed, &response), grpc::StatusCode::FAILED_PRECONDITION);
  {
    v1::DeleteSearchResponse r;
    const grpc::Status s = Delete(doomed, &r);
    EXPECT_NE(s.error_message().find("stop it first"), std::string::npos) << s.error_message();
  }
  EXPECT_EQ(Describe(doomed), doomed_before);
  ASSERT_GRPC_OK(Pause(doomed));
  const std::string paused_before = Describe(doomed);
  EXPECT_GRPC_CODE(Delete(doomed, &response), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Describe(doomed), paused_before);
  EXPECT_TRUE(checkpoints_->Has(doomed_sha));

  // The search that stays: its own result and checkpoint.
  ASSERT_GRPC_OK(Stop(doomed));
  // A watcher of the stopped search (a job is still out, so its stream stays open).
  grpc::ClientContext watch_context;
  worker::PrepareCall(watch_context, "", kDeadline);
  v1::WatchSearchRequest watch_request;
  watch_request.set_search_id(doomed);
  auto watch = searches_->WatchSearch(&watch_context, watch_request);
  v1::SearchEvent first_event;
  ASSERT_TRUE(watch->Read(&first_event));
  EXPECT_EQ(first_event.kind(), "search_started");
  const int64_t kept = CreateSearch(Config("kept"));
  const v1::LeaseJobResponse kept_lease = Lease(worker);
  ASSERT_EQ(kept_lease.request().candidate_id() > still_out.request().candidate_id(), true);
  const std::string kept_sha = Upload(std::string(5000, 'k'));
  ASSERT_GRPC_OK(Report(worker, kept_lease, 1.5, kept_sha));
  const std::string kept_before = Describe(kept);

  ASSERT_GRPC_OK(Delete(doomed, &response));
  EXPECT_EQ(response.candidates_deleted(), 4);
  EXPECT_EQ(response.checkpoints_deleted(), 1);
  EXPECT_FALSE(checkpoints_->Has(doomed_sha));
  EXPECT_TRUE(checkpoints_->Has(kept_sha));
  EXPECT_EQ(Describe(kept), kept_before);

  v1::SearchSummary summary;
  v1::GetSearchRequest get;
  get.set_search_id(doomed);
  EXPECT_GRPC_CODE(
      Call([&](grpc::ClientContext* c) { return searches_->GetSearch(c, get, &summary); }),
      grpc::StatusCode::NOT_FOUND);
  v1::Candidate gone;
  EXPECT_GRPC_CODE(GetCandidate(reported.request().candidate_id(), &gone),
                   grpc::StatusCode::NOT_FOUND);
  // The job that was out went with its search: its worker is told so.
  v1::HeartbeatRequest beat;
  beat.set_worker_id(worker);
  beat.set_job_id(still_out.job_id());
  beat.set_attempt(still_out.attempt());
  v1::HeartbeatResponse beat_response;
  EXPECT_GRPC_CODE(
      Call([&](grpc::ClientContext* c) { return workers_->Heartbeat(c, beat, &beat_response); }),
      grpc::StatusCode::NOT_FOUND);
  EXPECT_GRPC_CODE(Report(worker, still_out, 1.0, ""), grpc::StatusCode::NOT_FOUND);

  // The watcher learns the search is gone.
  v1::SearchEvent event;
  while (watch->Read(&event)) {
  }
  EXPECT_GRPC_CODE(watch->Finish(), grpc::StatusCode::NOT_FOUND);

  EXPECT_GRPC_CODE(Delete(doomed, &response), grpc::StatusCode::NOT_FOUND);
  EXPECT_GRPC_CODE(Delete(0, &response), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(Delete(-2, &response), grpc::StatusCode::INVALID_ARGUMENT);
  const std::string integrity = coordinator_->WithStore([](storage::Store& s) {
    return s.ListSearches().ok() ? std::string("ok") : std::string("broken");
  });
  EXPECT_EQ(integrity, "ok");
  EXPECT_EQ(Describe(kept), kept_before);
}

class GrpcNewRpcsTokenTest : public GrpcNewRpcsTest {
 protected:
  void SetUp() override { Start("secret"); }
};

TEST_F(GrpcNewRpcsTokenTest, EveryNewRpcNeedsTheToken) {
  v1::Candidate candidate;
  v1::ListWorkersResponse workers;
  v1::SearchConfig config;
  v1::DeleteSearchResponse deleted;
  EXPECT_GRPC_CODE(GetCandidate(1, &candidate), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_GRPC_CODE(ListWorkers(&workers), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_GRPC_CODE(GetConfig(1, &config), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_GRPC_CODE(Delete(1, &deleted), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_GRPC_CODE(Delete(1, &deleted, "wrong"), grpc::StatusCode::UNAUTHENTICATED);
  // With it, the calls get through to their own checks.
  EXPECT_GRPC_CODE(GetCandidate(1, &candidate, "secret"), grpc::StatusCode::NOT_FOUND);
  EXPECT_GRPC_CODE(ListWorkers(&workers, "secret"), grpc::StatusCode::OK);
  EXPECT_GRPC_CODE(GetConfig(1, &config, "secret"), grpc::StatusCode::NOT_FOUND);
  EXPECT_GRPC_CODE(Delete(1, &deleted, "secret"), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace headevo::server
