// The coordinator's gRPC services end to end, in process: a real server on 127.0.0.1, real
// stubs, a real SQLite file. Every refused call is checked twice: for its exact status code,
// and for leaving the database exactly as it was.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
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

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::chrono::seconds kDeadline(5);

// Parses, validates and queues exactly 8 jobs: generations = 0 means generation 0 only.
const std::string kConfig = testing::TinySearchConfig(
    "name = \"grpc\"\nseed = 7\npopulation = 8\ngenerations = 0\ncompare_with_dense = false\n");

#define EXPECT_GRPC_CODE(expr, code)                                    \
  do {                                                                  \
    const ::grpc::Status grpc_status_ = (expr);                         \
    EXPECT_EQ(grpc_status_.error_code(), (code)) << grpc_status_.error_message(); \
  } while (0)
#define ASSERT_GRPC_OK(expr)                                            \
  do {                                                                  \
    const ::grpc::Status grpc_status_ = (expr);                         \
    ASSERT_TRUE(grpc_status_.ok()) << grpc_status_.error_code() << ": " \
                                   << grpc_status_.error_message();     \
  } while (0)

// A valid, finite result for a leased job: one HeadStats per head of its genome. `loss`
// tells results apart.
v1::ReportResultRequest ValidReport(int64_t worker_id, const v1::LeaseJobResponse& lease,
                                    double loss) {
  v1::ReportResultRequest report;
  report.set_worker_id(worker_id);
  report.set_job_id(lease.job_id());
  report.set_attempt(lease.attempt());
  v1::EvaluationResult& result = *report.mutable_result();
  result.set_candidate_id(lease.request().candidate_id());
  int64_t connections = 0;
  int slot = 0;
  for (const v1::Head& head : lease.request().genome().heads()) {
    connections += head.offsets().offsets_size();
    v1::HeadStats& stats = *result.add_head_stats();
    stats.set_head_id(head.id());
    stats.set_layer(head.layer());
    stats.set_entropy(0.25 + 0.01 * slot);
    stats.set_independence(0.5);
    stats.set_weight_norm(1.0 + loss);
    stats.set_importance(0.125 * slot);
    ++slot;
  }
  v1::Metrics& m = *result.mutable_metrics();
  m.set_val_loss(loss);
  m.set_train_loss(loss + 0.5);
  m.set_connections(connections);
  m.set_steps(15);
  m.set_train_seconds(1.5);
  return report;
}

class GrpcServiceTest : public ::testing::Test {
 protected:
  static constexpr int64_t kLeaseMs = 10'000;
  static constexpr int kMaxMessageBytes = 64 * 1024;

  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(store_, storage::Store::Open(dir_.File("headevo.db")));
    ASSERT_OK_AND_ASSIGN(checkpoints_, CheckpointStore::Open(CheckpointDir()));
    CoordinatorOptions options;
    options.lease_ms = kLeaseMs;
    options.clock = [this] { return now_ms_.load(); };
    ASSERT_OK_AND_ASSIGN(coordinator_, Coordinator::Create(store_.get(), options));
    ServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    server_options.max_message_bytes = kMaxMessageBytes;
    server_options.max_lease_wait_ms = 0;
    ASSERT_OK_AND_ASSIGN(server_, CoordinatorServer::Start(coordinator_.get(), checkpoints_.get(),
                                                           server_options));
    worker::ChannelOptions channel;
    channel.address = absl::StrCat("127.0.0.1:", server_->port());
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<grpc::Channel> ch, worker::MakeChannel(channel));
    workers_ = v1::WorkerService::NewStub(ch);
    searches_ = v1::SearchService::NewStub(ch);
  }

  std::string CheckpointDir() const { return dir_.File("ckpt"); }

  // Runs fn(context) with a fresh context carrying a short deadline.
  template <typename Fn>
  grpc::Status Call(Fn fn) {
    grpc::ClientContext context;
    worker::PrepareCall(context, "", kDeadline);
    return fn(&context);
  }

  int64_t Register(const std::string& name) {
    v1::RegisterRequest request;
    request.set_device("cpu");
    request.set_name(name);
    v1::RegisterResponse response;
    const grpc::Status s =
        Call([&](grpc::ClientContext* c) { return workers_->Register(c, request, &response); });
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.worker_id();
  }

  grpc::Status CreateSearch(const v1::CreateSearchRequest& request, int64_t* id = nullptr) {
    v1::CreateSearchResponse response;
    const grpc::Status s = Call([&](grpc::ClientContext* c) {
      return searches_->CreateSearch(c, request, &response);
    });
    if (id != nullptr) *id = response.search_id();
    return s;
  }
  int64_t CreateSearch(const std::string& config = kConfig) {
    v1::CreateSearchRequest request;
    request.set_config_toml(config);
    int64_t id = 0;
    const grpc::Status s = CreateSearch(request, &id);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return id;
  }

  grpc::Status Lease(int64_t worker_id, v1::LeaseJobResponse* response) {
    v1::LeaseJobRequest request;
    request.set_worker_id(worker_id);
    return Call([&](grpc::ClientContext* c) { return workers_->LeaseJob(c, request, response); });
  }
  v1::LeaseJobResponse MustLease(int64_t worker_id) {
    v1::LeaseJobResponse response;
    const grpc::Status s = Lease(worker_id, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(response.has_job());
    return response;
  }

  grpc::Status Report(const v1::ReportResultRequest& request,
                      v1::ReportResultResponse* response = nullptr) {
    v1::ReportResultResponse ignored;
    return Call([&](grpc::ClientContext* c) {
      return workers_->ReportResult(c, request, response ? response : &ignored);
    });
  }

  grpc::Status Heartbeat(int64_t worker_id, int64_t job_id, int attempt) {
    v1::HeartbeatRequest request;
    request.set_worker_id(worker_id);
    request.set_job_id(job_id);
    request.set_attempt(attempt);
    request.set_step(3);
    request.set_train_loss(2.5);
    v1::HeartbeatResponse response;
    return Call([&](grpc::ClientContext* c) { return workers_->Heartbeat(c, request, &response); });
  }

  // Streams `bytes` in `chunk`-byte messages; the first names `sha` and `total`.
  grpc::Status Upload(const std::string& sha, int64_t total, const std::string& bytes,
                      size_t chunk, v1::UploadCheckpointResponse* response) {
    grpc::ClientContext context;
    worker::PrepareCall(context, "", kDeadline);
    std::unique_ptr<grpc::ClientWriter<v1::UploadCheckpointRequest>> writer =
        workers_->UploadCheckpoint(&context, response);
    size_t offset = 0;
    do {
      v1::UploadCheckpointRequest message;
      if (offset == 0) {
        message.set_sha256(sha);
        message.set_total_bytes(total);
      }
      message.set_data(bytes.substr(offset, chunk));
      if (!writer->Write(message)) break;
      offset += chunk;
    } while (offset < bytes.size());
    writer->WritesDone();
    return writer->Finish();
  }

  std::vector<std::string> FilesInCheckpointDir() const {
    std::vector<std::string> names;
    for (const fs::directory_entry& e : fs::directory_iterator(CheckpointDir())) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // Everything the database holds, as text: searches, candidates, jobs, events, checkpoints,
  // strategy states and workers. Equal snapshots mean nothing was written.
  std::string Snapshot() {
    return coordinator_->WithStore([](storage::Store& store) -> std::string {
      std::string out;
      absl::StatusOr<std::vector<storage::SearchRecord>> searches = store.ListSearches();
      if (!searches.ok()) return searches.status().ToString();
      for (const storage::SearchRecord& s : *searches) {
        absl::StrAppend(&out, "search ", s.id, " '", s.name, "' state ", s.state, " seed ",
                        s.seed, " created ", s.created_ms, " config ", s.config_toml.size(),
                        "\n");
        absl::StatusOr<std::vector<v1::Candidate>> candidates = store.ListCandidates(s.id);
        if (!candidates.ok()) return candidates.status().ToString();
        for (const v1::Candidate& c : *candidates) {
          absl::StrAppend(&out, " candidate ", c.ShortDebugString(), "\n");
        }
        absl::StatusOr<std::vector<storage::JobRecord>> jobs = store.ListJobs(s.id);
        if (!jobs.ok()) return jobs.status().ToString();
        for (const storage::JobRecord& j : *jobs) {
          absl::StrAppend(&out, " job ", j.id, " cand ", j.candidate_id, " ",
                          storage::JobStateName(j.state), " attempt ", j.attempt, "/",
                          j.max_attempts, " worker ", j.worker_id, " expires ",
                          j.lease_expires_ms, " finished ", j.finished_ms, " error '",
                          j.last_error, "'\n");
        }
        absl::StatusOr<std::vector<storage::EventRecord>> events =
            store.ListEvents(s.id, 0, 1'000'000);
        if (!events.ok()) return events.status().ToString();
        for (const storage::EventRecord& e : *events) {
          absl::StrAppend(&out, " event ", e.id, " ", e.time_ms, " ", e.kind, ": ", e.message,
                          "\n");
        }
        absl::StatusOr<std::vector<storage::CheckpointRecord>> ckpts = store.ListCheckpoints(s.id);
        if (!ckpts.ok()) return ckpts.status().ToString();
        for (const storage::CheckpointRecord& k : *ckpts) {
          absl::StrAppend(&out, " checkpoint ", k.sha256, " cand ", k.candidate_id, "\n");
        }
        absl::StatusOr<std::optional<v1::StrategyState>> state = store.LoadStrategyState(s.id);
        if (!state.ok()) return state.status().ToString();
        absl::StrAppend(&out, " strategy ",
                        state->has_value() ? (*state)->ShortDebugString() : "none", "\n");
      }
      for (int64_t id = 1;; ++id) {
        absl::StatusOr<storage::WorkerRecord> w = store.GetWorker(id);
        if (!w.ok()) break;
        absl::StrAppend(&out, "worker ", w->id, " ", w->name, " ", w->device, " seen ",
                        w->last_seen_ms, "\n");
      }
      return out;
    });
  }

  storage::JobRecord Job(int64_t job_id) {
    absl::StatusOr<storage::JobRecord> job =
        coordinator_->WithStore([&](storage::Store& s) { return s.GetJob(job_id); });
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? *job : storage::JobRecord{};
  }
  v1::Candidate CandidateById(int64_t id) {
    absl::StatusOr<v1::Candidate> c =
        coordinator_->WithStore([&](storage::Store& s) { return s.GetCandidate(id); });
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : v1::Candidate{};
  }
  size_t SearchCount() {
    absl::StatusOr<std::vector<storage::SearchRecord>> all =
        coordinator_->WithStore([](storage::Store& s) { return s.ListSearches(); });
    EXPECT_TRUE(all.ok()) << all.status();
    return all.ok() ? all->size() : 0;
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

using GrpcErrorsTest = GrpcServiceTest;

// The "nothing changed" checks below are only as good as Snapshot(): it must see each kind of
// write a refused call could make.
TEST_F(GrpcErrorsTest, SnapshotSeesEveryKindOfWrite) {
  std::string last = Snapshot();
  const auto changed = [&] {
    const std::string now = Snapshot();
    const bool differs = now != last;
    last = now;
    return differs;
  };
  const int64_t worker = Register("w");
  EXPECT_TRUE(changed()) << "a new worker";
  CreateSearch();
  EXPECT_TRUE(changed()) << "a new search";
  const v1::LeaseJobResponse lease = MustLease(worker);
  EXPECT_TRUE(changed()) << "a lease";
  now_ms_ += 1;
  ASSERT_GRPC_OK(Heartbeat(worker, lease.job_id(), lease.attempt()));
  EXPECT_TRUE(changed()) << "a heartbeat";
  ASSERT_GRPC_OK(Report(ValidReport(worker, lease, 1.5)));
  EXPECT_TRUE(changed()) << "a result";
  EXPECT_FALSE(changed()) << "nothing";
}

// --- 1. unknown ids --------------------------------------------------------------------------

TEST_F(GrpcErrorsTest, UnknownIdsAreNotFoundAndWriteNothing) {
  const int64_t worker = Register("w");
  ASSERT_EQ(CreateSearch(), 1);
  const std::string before = Snapshot();

  v1::GetSearchRequest get;
  get.set_search_id(999);
  v1::SearchSummary summary;
  EXPECT_GRPC_CODE(Call([&](auto* c) { return searches_->GetSearch(c, get, &summary); }),
                   grpc::StatusCode::NOT_FOUND);
  v1::SearchControlRequest control;
  control.set_search_id(999);
  EXPECT_GRPC_CODE(Call([&](auto* c) { return searches_->PauseSearch(c, control, &summary); }),
                   grpc::StatusCode::NOT_FOUND);
  EXPECT_GRPC_CODE(Call([&](auto* c) { return searches_->ResumeSearch(c, control, &summary); }),
                   grpc::StatusCode::NOT_FOUND);
  EXPECT_GRPC_CODE(Call([&](auto* c) { return searches_->StopSearch(c, control, &summary); }),
                   grpc::StatusCode::NOT_FOUND);
  v1::GetLineageRequest lineage;
  lineage.set_candidate_id(999);
  lineage.set_descendant_depth(-1);
  v1::GetLineageResponse lineage_response;
  EXPECT_GRPC_CODE(
      Call([&](auto* c) { return searches_->GetLineage(c, lineage, &lineage_response); }),
      grpc::StatusCode::NOT_FOUND);
  v1::GetHeadHistoryRequest head;
  head.set_head_id(999);
  v1::GetHeadHistoryResponse head_response;
  EXPECT_GRPC_CODE(
      Call([&](auto* c) { return searches_->GetHeadHistory(c, head, &head_response); }),
      grpc::StatusCode::NOT_FOUND);
  v1::ListCandidatesRequest list;
  list.set_search_id(999);
  v1::ListCandidatesResponse list_response;
  EXPECT_GRPC_CODE(
      Call([&](auto* c) { return searches_->ListCandidates(c, list, &list_response); }),
      grpc::StatusCode::NOT_FOUND);
  v1::GetParetoFrontRequest pareto;
  pareto.set_search_id(999);
  v1::GetParetoFrontResponse pareto_response;
  EXPECT_GRPC_CODE(
      Call([&](auto* c) { return searches_->GetParetoFront(c, pareto, &pareto_response); }),
      grpc::StatusCode::NOT_FOUND);
  v1::ExportBestRequest best;
  best.set_search_id(999);
  v1::ExportedPopulation exported;
  EXPECT_GRPC_CODE(Call([&](auto* c) { return searches_->ExportBest(c, best, &exported); }),
                   grpc::StatusCode::NOT_FOUND);
  {
    v1::WatchSearchRequest watch;
    watch.set_search_id(999);
    grpc::ClientContext context;
    worker::PrepareCall(context, "", kDeadline);
    std::unique_ptr<grpc::ClientReader<v1::SearchEvent>> reader =
        searches_->WatchSearch(&context, watch);
    v1::SearchEvent event;
    EXPECT_FALSE(reader->Read(&event)) << event.ShortDebugString();
    EXPECT_GRPC_CODE(reader->Finish(), grpc::StatusCode::NOT_FOUND);
  }

  EXPECT_GRPC_CODE(Heartbeat(worker, 999, 1), grpc::StatusCode::NOT_FOUND);
  v1::LeaseJobResponse fake_lease;
  fake_lease.set_job_id(999);
  fake_lease.set_attempt(1);
  EXPECT_GRPC_CODE(Report(ValidReport(worker, fake_lease, 1.0)), grpc::StatusCode::NOT_FOUND);

  EXPECT_EQ(Snapshot(), before);
}

// --- 2. malformed TOML -----------------------------------------------------------------------

TEST_F(GrpcErrorsTest, MalformedTomlIsInvalidArgumentNamingTheLine) {
  v1::CreateSearchRequest request;
  request.set_source_name("bad.toml");
  request.set_config_toml("[search]\nname = \"bad\"\npopulation = = 8\n");
  v1::CreateSearchResponse response;
  const grpc::Status s =
      Call([&](auto* c) { return searches_->CreateSearch(c, request, &response); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("bad.toml:3"), std::string::npos) << s.error_message();
  EXPECT_EQ(response.search_id(), 0);
  EXPECT_EQ(SearchCount(), 0u);
}

TEST_F(GrpcErrorsTest, UnknownKeyIsInvalidArgumentNamingTheKey) {
  std::string config = kConfig;
  const std::string section = "[search]\n";
  config.insert(config.find(section) + section.size(), "colour = \"blue\"\n");
  v1::CreateSearchRequest request;
  request.set_source_name("typo.toml");
  request.set_config_toml(config);
  v1::CreateSearchResponse response;
  const grpc::Status s =
      Call([&](auto* c) { return searches_->CreateSearch(c, request, &response); });
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("search.colour"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("typo.toml:2"), std::string::npos) << s.error_message();
  EXPECT_EQ(SearchCount(), 0u);
  // The same config without the typo is accepted: the key alone was the problem.
  EXPECT_EQ(CreateSearch(), 1);
}

// --- 3. oversized messages -------------------------------------------------------------------

TEST_F(GrpcErrorsTest, MessageOverTheServerLimitIsResourceExhausted) {
  ASSERT_EQ(CreateSearch(), 1);
  const std::string before = Snapshot();
  // Under the 1 MiB config limit of the request checks: only the transport refuses it.
  std::string config = kConfig;
  config += "# " + std::string(2 * kMaxMessageBytes, 'x') + "\n";
  v1::CreateSearchRequest request;
  request.set_config_toml(config);
  EXPECT_GRPC_CODE(CreateSearch(request), grpc::StatusCode::RESOURCE_EXHAUSTED);

  // A checkpoint chunk over the limit: refused, and nothing lands in the directory.
  const std::string bytes(2 * kMaxMessageBytes, 'c');
  v1::UploadCheckpointResponse upload;
  EXPECT_GRPC_CODE(Upload(std::string(64, 'a'), static_cast<int64_t>(bytes.size()), bytes,
                          bytes.size(), &upload),
                   grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(FilesInCheckpointDir(), std::vector<std::string>{});
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(SearchCount(), 1u);
}

// --- 4. non-finite losses --------------------------------------------------------------------

TEST_F(GrpcErrorsTest, NonFiniteLossIsInvalidArgumentAndTheJobStaysLeased) {
  const int64_t worker = Register("w");
  CreateSearch();
  const v1::LeaseJobResponse lease = MustLease(worker);
  ASSERT_EQ(lease.attempt(), 1);
  const std::string before = Snapshot();

  v1::ReportResultRequest nan_val = ValidReport(worker, lease, kNaN);
  EXPECT_GRPC_CODE(Report(nan_val), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ReportResultRequest inf_train = ValidReport(worker, lease, 1.0);
  inf_train.mutable_result()->mutable_metrics()->set_train_loss(kInf);
  EXPECT_GRPC_CODE(Report(inf_train), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ReportResultRequest inf_val = ValidReport(worker, lease, kInf);
  EXPECT_GRPC_CODE(Report(inf_val), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ReportResultRequest nan_stats = ValidReport(worker, lease, 1.0);
  nan_stats.mutable_result()->mutable_head_stats(0)->set_entropy(kNaN);
  EXPECT_GRPC_CODE(Report(nan_stats), grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(Snapshot(), before);
  const storage::JobRecord job = Job(lease.job_id());
  EXPECT_EQ(job.state, storage::JobState::kLeased);
  EXPECT_EQ(job.attempt, 1);
  EXPECT_EQ(CandidateById(lease.request().candidate_id()).state(),
            v1::CANDIDATE_STATE_RUNNING);
  // The lease still holds: a finite report of the same attempt is recorded.
  v1::ReportResultResponse response;
  ASSERT_GRPC_OK(Report(ValidReport(worker, lease, 1.0), &response));
  EXPECT_FALSE(response.already_recorded());
}

// --- 5. offsets outside the model ------------------------------------------------------------

v1::Genome TwoLayerGenome(int32_t layer1_offset) {
  v1::Genome genome;
  genome.set_num_layers(2);
  v1::Head* a = genome.add_heads();
  a->set_layer(0);
  a->mutable_offsets()->add_offsets(-1);
  v1::Head* b = genome.add_heads();
  b->set_layer(1);
  b->mutable_offsets()->add_offsets(layer1_offset);
  return genome;
}

TEST_F(GrpcErrorsTest, InitialGenomeOffsetsOutsideTheModelAreInvalidArgument) {
  // seq_len is 16 and the model causal (the default): |offset| < 16 and offset <= 0.
  for (int32_t offset : {-16, -17, 16, 1, 3}) {
    SCOPED_TRACE(absl::StrCat("offset ", offset));
    v1::CreateSearchRequest request;
    request.set_config_toml(kConfig);
    *request.add_initial_genomes() = TwoLayerGenome(offset);
    int64_t id = -1;
    const grpc::Status s = CreateSearch(request, &id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_NE(s.error_message().find(absl::StrCat("offset ", offset)), std::string::npos)
        << s.error_message();
    EXPECT_EQ(SearchCount(), 0u);
  }
  // The edge that fits is accepted, and generation 0 starts with it.
  v1::CreateSearchRequest request;
  request.set_config_toml(kConfig);
  *request.add_initial_genomes() = TwoLayerGenome(-15);
  int64_t id = 0;
  ASSERT_GRPC_OK(CreateSearch(request, &id));
  const v1::Candidate first = CandidateById(1);
  ASSERT_EQ(first.genome().heads_size(), 2);
  EXPECT_EQ(first.genome().heads(1).offsets().offsets(0), -15);
}

// --- 6. checkpoints --------------------------------------------------------------------------

TEST_F(GrpcErrorsTest, CheckpointHashMismatchIsDataLossAndLeavesNoFile) {
  const int64_t worker = Register("w");
  CreateSearch();
  const v1::LeaseJobResponse lease = MustLease(worker);

  // Larger than the fixture's 64 KiB message limit: the download must come in several chunks.
  std::string bytes(100'000, '\0');
  std::mt19937 rng(11);
  for (char& b : bytes) b = static_cast<char>(rng() & 0xff);
  const std::string payload = dir_.File("payload.bin");
  const std::string other = dir_.File("other.bin");
  std::ofstream(payload, std::ios::binary) << bytes;
  std::ofstream(other, std::ios::binary) << bytes.substr(1);
  ASSERT_OK_AND_ASSIGN(const std::string sha, Sha256OfFile(payload));
  ASSERT_OK_AND_ASSIGN(const std::string wrong_sha, Sha256OfFile(other));
  ASSERT_NE(sha, wrong_sha);
  const int64_t size = static_cast<int64_t>(bytes.size());

  v1::UploadCheckpointResponse upload;
  EXPECT_GRPC_CODE(Upload(wrong_sha, size, bytes, 4096, &upload), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(FilesInCheckpointDir(), std::vector<std::string>{});
  // Fewer bytes than announced: the same.
  EXPECT_GRPC_CODE(Upload(sha, size + 10, bytes, 4096, &upload), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(FilesInCheckpointDir(), std::vector<std::string>{});

  // A result naming the checkpoint that never arrived is refused; the lease stays.
  const std::string before = Snapshot();
  v1::ReportResultRequest report = ValidReport(worker, lease, 1.25);
  report.mutable_result()->set_checkpoint_sha256(sha);
  EXPECT_GRPC_CODE(Report(report), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(Job(lease.job_id()).state, storage::JobState::kLeased);

  // A correct upload in several chunks, then the same bytes come back.
  ASSERT_GRPC_OK(Upload(sha, size, bytes, 4096, &upload));
  EXPECT_EQ(upload.bytes(), size);
  EXPECT_FALSE(upload.already_present());
  EXPECT_EQ(FilesInCheckpointDir(), std::vector<std::string>{sha + ".ckpt"});
  v1::HasCheckpointRequest has;
  has.set_sha256(sha);
  v1::HasCheckpointResponse has_response;
  ASSERT_GRPC_OK(Call([&](auto* c) { return workers_->HasCheckpoint(c, has, &has_response); }));
  EXPECT_TRUE(has_response.present());

  grpc::ClientContext context;
  worker::PrepareCall(context, "", kDeadline);
  v1::DownloadCheckpointRequest download;
  download.set_sha256(sha);
  std::unique_ptr<grpc::ClientReader<v1::DownloadCheckpointResponse>> reader =
      workers_->DownloadCheckpoint(&context, download);
  std::string received;
  int64_t total = -1;
  v1::DownloadCheckpointResponse chunk;
  while (reader->Read(&chunk)) {
    if (total < 0) total = chunk.total_bytes();
    received += chunk.data();
  }
  ASSERT_GRPC_OK(reader->Finish());
  EXPECT_EQ(total, size);
  EXPECT_TRUE(received == bytes) << "downloaded " << received.size() << " bytes, differing";

  // Now the result may name it.
  v1::ReportResultResponse response;
  ASSERT_GRPC_OK(Report(report, &response));
  EXPECT_FALSE(response.already_recorded());
  EXPECT_EQ(CandidateById(lease.request().candidate_id()).checkpoint_sha256(), sha);
}

// --- 7. fencing ------------------------------------------------------------------------------

TEST_F(GrpcErrorsTest, StaleAttemptIsFencedOffAfterTheLeaseExpires) {
  const int64_t a = Register("a");
  const int64_t b = Register("b");
  CreateSearch();
  const v1::LeaseJobResponse first = MustLease(a);
  ASSERT_EQ(first.attempt(), 1);
  ASSERT_GRPC_OK(Heartbeat(a, first.job_id(), 1));

  now_ms_ += kLeaseMs + 1;
  ASSERT_OK(coordinator_->ExpireLeases());
  EXPECT_EQ(Job(first.job_id()).state, storage::JobState::kQueued);
  const v1::LeaseJobResponse second = MustLease(b);
  ASSERT_EQ(second.job_id(), first.job_id());
  ASSERT_EQ(second.attempt(), 2);
  ASSERT_GRPC_OK(Heartbeat(b, second.job_id(), 2));

  const std::string before = Snapshot();
  EXPECT_GRPC_CODE(Heartbeat(a, first.job_id(), 1), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_GRPC_CODE(Report(ValidReport(a, first, 0.5)), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_GRPC_CODE(Report(ValidReport(b, first, 0.5)), grpc::StatusCode::FAILED_PRECONDITION);
  // The current epoch from a worker that does not hold it.
  EXPECT_GRPC_CODE(Report(ValidReport(a, second, 0.5)), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_GRPC_CODE(Heartbeat(a, second.job_id(), 2), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Snapshot(), before);

  v1::ReportResultResponse response;
  ASSERT_GRPC_OK(Report(ValidReport(b, second, 0.75), &response));
  EXPECT_FALSE(response.already_recorded());
  const std::string after_first_report = Snapshot();
  ASSERT_GRPC_OK(Report(ValidReport(b, second, 0.75), &response));
  EXPECT_TRUE(response.already_recorded());
  EXPECT_GRPC_CODE(Report(ValidReport(a, first, 0.5)), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Snapshot(), after_first_report);

  const v1::Candidate c = CandidateById(second.request().candidate_id());
  EXPECT_EQ(c.state(), v1::CANDIDATE_STATE_DONE);
  EXPECT_EQ(c.metrics().val_loss(), 0.75);
  EXPECT_EQ(c.head_stats_size(), second.request().genome().heads_size());
  const storage::JobRecord job = Job(second.job_id());
  EXPECT_EQ(job.state, storage::JobState::kDone);
  EXPECT_EQ(job.attempt, 2);
  EXPECT_EQ(job.worker_id, b);
}

// --- 9. garbage requests ---------------------------------------------------------------------

TEST_F(GrpcErrorsTest, GarbageRequestsAreRefusedBeforeTouchingTheDatabase) {
  const int64_t worker = Register("w");
  CreateSearch();
  const std::string before = Snapshot();

  v1::ListCandidatesRequest list;
  list.set_search_id(1);
  list.set_page_size(5000);
  v1::ListCandidatesResponse list_response;
  EXPECT_GRPC_CODE(
      Call([&](auto* c) { return searches_->ListCandidates(c, list, &list_response); }),
      grpc::StatusCode::INVALID_ARGUMENT);
  list.set_page_size(10);
  list.set_page_token("-3");
  EXPECT_GRPC_CODE(
      Call([&](auto* c) { return searches_->ListCandidates(c, list, &list_response); }),
      grpc::StatusCode::INVALID_ARGUMENT);

  v1::LeaseJobResponse lease;
  EXPECT_GRPC_CODE(Lease(0, &lease), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(Lease(-5, &lease), grpc::StatusCode::INVALID_ARGUMENT);
  // Jobs are queued: a lease to a stranger must not take one.
  EXPECT_GRPC_CODE(Lease(worker + 4242, &lease), grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(lease.has_job());

  v1::RegisterRequest bad_device;
  bad_device.set_device("tpu");
  v1::RegisterResponse registered;
  EXPECT_GRPC_CODE(Call([&](auto* c) { return workers_->Register(c, bad_device, &registered); }),
                   grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_GRPC_CODE(Heartbeat(worker, 1, 0), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ReportResultRequest no_metrics;
  no_metrics.set_worker_id(worker);
  no_metrics.set_job_id(1);
  no_metrics.set_attempt(1);
  EXPECT_GRPC_CODE(Report(no_metrics), grpc::StatusCode::INVALID_ARGUMENT);

  EXPECT_EQ(Snapshot(), before);
}

// --- 8. every report 1-5 times, shuffled and concurrent -------------------------------------

using GrpcReportTest = GrpcServiceTest;

TEST_F(GrpcReportTest, RepeatedShuffledConcurrentReportsAreRecordedExactlyOnce) {
  constexpr int kJobs = 8;
  const std::vector<int64_t> workers = {Register("w1"), Register("w2"), Register("w3")};
  const int64_t search_id = CreateSearch();
  ASSERT_EQ(search_id, 1);

  std::vector<v1::ReportResultRequest> reports;
  for (int i = 0; i < kJobs; ++i) {
    const int64_t worker = workers[i % workers.size()];
    const v1::LeaseJobResponse lease = MustLease(worker);
    ASSERT_TRUE(lease.has_job());
    ASSERT_GT(lease.request().genome().heads_size(), 0);
    reports.push_back(ValidReport(worker, lease, 1.0 + 0.125 * i));
  }
  v1::LeaseJobResponse none;
  ASSERT_GRPC_OK(Lease(workers[0], &none));
  EXPECT_FALSE(none.has_job()) << "generations = 0 should queue exactly " << kJobs << " jobs";

  std::mt19937 rng(20240611);
  std::vector<int> calls;  // indices into reports
  for (int i = 0; i < kJobs; ++i) {
    const int times = std::uniform_int_distribution<int>(1, 5)(rng);
    for (int t = 0; t < times; ++t) calls.push_back(i);
  }
  std::shuffle(calls.begin(), calls.end(), rng);

  std::vector<grpc::Status> statuses(calls.size());
  std::vector<int> already(calls.size(), -1);
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (size_t k = next++; k < calls.size(); k = next++) {
        v1::ReportResultResponse response;
        statuses[k] = Report(reports[calls[k]], &response);
        already[k] = response.already_recorded() ? 1 : 0;
      }
    });
  }
  for (std::thread& t : threads) t.join();

  std::map<int, int> first_reports;  // job index -> calls answered already_recorded = false
  for (size_t k = 0; k < calls.size(); ++k) {
    EXPECT_TRUE(statuses[k].ok()) << "call " << k << " (job index " << calls[k]
                                  << "): " << statuses[k].error_message();
    if (statuses[k].ok() && already[k] == 0) ++first_reports[calls[k]];
  }
  for (int i = 0; i < kJobs; ++i) {
    EXPECT_EQ(first_reports[i], 1) << "job index " << i;
  }

  for (const v1::ReportResultRequest& sent : reports) {
    const v1::Candidate c = CandidateById(sent.result().candidate_id());
    SCOPED_TRACE(absl::StrCat("candidate ", c.id()));
    EXPECT_EQ(c.state(), v1::CANDIDATE_STATE_DONE);
    EXPECT_EQ(c.metrics().ShortDebugString(), sent.result().metrics().ShortDebugString());
    ASSERT_EQ(c.head_stats_size(), sent.result().head_stats_size());
    for (int h = 0; h < c.head_stats_size(); ++h) {
      EXPECT_EQ(c.head_stats(h).ShortDebugString(),
                sent.result().head_stats(h).ShortDebugString());
    }
    const storage::JobRecord job = Job(sent.job_id());
    EXPECT_EQ(job.state, storage::JobState::kDone);
    EXPECT_EQ(job.attempt, 1);
  }

  v1::GetSearchRequest get;
  get.set_search_id(search_id);
  v1::SearchSummary summary;
  ASSERT_GRPC_OK(Call([&](auto* c) { return searches_->GetSearch(c, get, &summary); }));
  EXPECT_EQ(summary.state(), v1::SEARCH_STATE_DONE);
  EXPECT_EQ(summary.candidates(), kJobs);
  EXPECT_EQ(summary.planned(), kJobs);
  EXPECT_EQ(summary.done(), kJobs);
  EXPECT_EQ(summary.failed(), 0);
  EXPECT_EQ(summary.running(), 0);
  EXPECT_EQ(summary.queued(), 0);
  EXPECT_NE(summary.best_candidate_id(), 0);

  absl::StatusOr<std::vector<storage::EventRecord>> events = coordinator_->WithStore(
      [&](storage::Store& s) { return s.ListEvents(search_id, 0, 100'000); });
  ASSERT_OK(events);
  std::map<std::string, int> kinds;
  for (const storage::EventRecord& e : *events) ++kinds[e.kind];
  EXPECT_EQ(kinds["search_started"], 1);
  EXPECT_EQ(kinds["search_done"], 1);
  EXPECT_EQ(kinds["search_failed"], 0);
  EXPECT_EQ(kinds["lease_expired"], 0);
  EXPECT_GE(kinds["new_best"], 1);
  EXPECT_LE(kinds["new_best"], kJobs);
  absl::StatusOr<std::vector<v1::Candidate>> all = coordinator_->WithStore(
      [&](storage::Store& s) { return s.ListCandidates(search_id); });
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), static_cast<size_t>(kJobs));
  absl::StatusOr<std::vector<storage::JobRecord>> jobs =
      coordinator_->WithStore([&](storage::Store& s) { return s.ListJobs(search_id); });
  ASSERT_OK(jobs);
  EXPECT_EQ(jobs->size(), static_cast<size_t>(kJobs));
}

}  // namespace
}  // namespace headevo::server
