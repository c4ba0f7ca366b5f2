// The coordinator under load: a real coordinator in this process (its SQLite database and
// checkpoint directory in a fresh temp directory, WorkerService and SearchService on
// 127.0.0.1:0) and --workers fake workers that never train: each registers, then loops
// LeaseJob -> ReportResult with a result synthesized from the job id (finite losses, the
// genome's connection count, statistics for every head, as steady state needs to rank heads
// and breed). Measures evaluations dispatched and recorded per second, and LeaseJob and
// ReportResult latency as a worker sees it.
//
//   build/bench/bench_coordinator [--workers 64] [--jobs 20000] [--seconds 60]
//                                 [--durability full|normal] [--think-ms 0] [--keep]
//
// The run ends after --jobs jobs or --seconds, whichever comes first (about a minute by
// default). The coordinator breeds each child from every candidate so far, so its cost per job
// grows with the run: compare runs of the same --jobs that all finished their jobs.
//
// Each fake worker is a thread with its own channel on its own TCP connection (a local
// subchannel pool per channel), as separate worker processes would have. The search is the
// default steady-state schedule with a population of 64 and a small model (2 layers x 4 heads,
// seq_len 32), with enough generations that its budget outlasts the run.
//
// Where the time goes: every Store call the coordinator makes goes through a timing wrapper
// (TimedStore below), which adds up wall and thread-CPU seconds per method. The coordinator
// holds its one mutex around every store call, so store seconds / wall seconds is the share of
// the run the store alone kept the coordinator busy; wall minus CPU inside the store is mostly
// fsync (or, on a busy machine, time the thread was descheduled). Breeding (Strategy::NextChild, between an empty LeaseJob and the child's insert) is
// timed the same way.
//
// The last line is machine-readable:
//   RESULT jobs_per_s=<n> lease_p99_ms=<t>
#include <grpcpp/grpcpp.h>
#include <stdlib.h>  // mkdtemp
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "headevo/v1/search_service.grpc.pb.h"
#include "headevo/v1/worker_service.grpc.pb.h"
#include "server/engine/checkpoint_store.h"
#include "server/engine/coordinator.h"
#include "server/rpc/grpc_server.h"
#include "storage/store.h"

namespace {

namespace fs = std::filesystem;
namespace storage = headevo::storage;
namespace server = headevo::server;
namespace v1 = headevo::v1;
using Clock = std::chrono::steady_clock;

struct Flags {
  int workers = 64;
  int64_t jobs = 20'000;
  double seconds = 60;  // stop after this long even if --jobs were not all done
  std::string durability = "full";
  int64_t wait_ms = 1000;
  // Mean pause between a report and the next lease (uniform in [0.5, 1.5] x this), standing
  // in for training: 0 is the most load; W workers offer at most W / think jobs per second.
  double think_ms = 0;
  int population = 64;
  bool keep = false;
};

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

double CpuSeconds(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) + t.tv_nsec * 1e-9;
}
double ThreadCpuSeconds() { return CpuSeconds(CLOCK_THREAD_CPUTIME_ID); }
double ProcessCpuSeconds() { return CpuSeconds(CLOCK_PROCESS_CPUTIME_ID); }

// --- Where the coordinator's time goes -------------------------------------------------------

// Every Store call timed: wall and CPU seconds of the calling thread, per method. The
// coordinator calls the store with its mutex held (one call at a time), but WithStore reads and
// the housekeeping thread come from other threads, so the tallies take their own lock.
class TimedStore final : public storage::Store {
 public:
  struct Tally {
    int64_t calls = 0;
    double wall_s = 0;
    double cpu_s = 0;
  };

  explicit TimedStore(std::unique_ptr<storage::Store> inner) : inner_(std::move(inner)) {}

  std::map<std::string, Tally> Tallies() const {
    std::lock_guard<std::mutex> lock(mu_);
    return tallies_;
  }
  // Between a LeaseJob that found the queue empty and the insert of the child it bred, on the
  // same thread: Strategy::NextChild and the strategy state's serialisation.
  Tally Breeding() const {
    std::lock_guard<std::mutex> lock(mu_);
    return breeding_;
  }

  absl::StatusOr<int64_t> CreateSearch(const storage::SearchRecord& search) override {
    return Timed("CreateSearch", [&] { return inner_->CreateSearch(search); });
  }
  absl::StatusOr<storage::SearchRecord> GetSearch(int64_t search_id) override {
    return Timed("GetSearch", [&] { return inner_->GetSearch(search_id); });
  }
  absl::Status SetSearchState(int64_t search_id, v1::SearchState state) override {
    return Timed("SetSearchState", [&] { return inner_->SetSearchState(search_id, state); });
  }
  absl::StatusOr<std::vector<storage::SearchRecord>> ListSearches() override {
    return Timed("ListSearches", [&] { return inner_->ListSearches(); });
  }
  absl::StatusOr<storage::SearchCounts> CountSearch(int64_t search_id) override {
    return Timed("CountSearch", [&] { return inner_->CountSearch(search_id); });
  }
  absl::StatusOr<std::optional<v1::StrategyState>> LoadStrategyState(int64_t search_id) override {
    return Timed("LoadStrategyState", [&] { return inner_->LoadStrategyState(search_id); });
  }
  absl::Status SaveStrategyState(int64_t search_id, const v1::StrategyState& state) override {
    return Timed("SaveStrategyState", [&] { return inner_->SaveStrategyState(search_id, state); });
  }
  absl::StatusOr<std::vector<v1::Candidate>> InsertCandidates(
      const std::vector<v1::Candidate>& candidates) override {
    return Timed("InsertCandidates", [&] { return inner_->InsertCandidates(candidates); });
  }
  absl::Status RecordResult(const v1::EvaluationResult& result) override {
    return Timed("RecordResult", [&] { return inner_->RecordResult(result); });
  }
  absl::Status RecordFailure(int64_t candidate_id, const std::string& error) override {
    return Timed("RecordFailure", [&] { return inner_->RecordFailure(candidate_id, error); });
  }
  absl::StatusOr<v1::Candidate> GetCandidate(int64_t candidate_id) override {
    return Timed("GetCandidate", [&] { return inner_->GetCandidate(candidate_id); });
  }
  absl::StatusOr<std::vector<v1::Candidate>> ListCandidates(int64_t search_id) override {
    return Timed("ListCandidates", [&] { return inner_->ListCandidates(search_id); });
  }
  absl::StatusOr<std::vector<storage::CandidateHeadRow>> ListCandidateHeads(
      int64_t search_id) override {
    return Timed("ListCandidateHeads", [&] { return inner_->ListCandidateHeads(search_id); });
  }
  absl::StatusOr<v1::Head> GetHead(int64_t head_id) override {
    return Timed("GetHead", [&] { return inner_->GetHead(head_id); });
  }
  absl::StatusOr<std::vector<v1::Candidate>> Ancestors(int64_t candidate_id) override {
    return Timed("Ancestors", [&] { return inner_->Ancestors(candidate_id); });
  }
  absl::StatusOr<std::vector<v1::Candidate>> InsertCandidatesWithJobs(
      const std::vector<v1::Candidate>& candidates, const std::vector<storage::NewJob>& jobs,
      int64_t now_ms, const v1::StrategyState* strategy_state) override {
    EndBreeding();
    return Timed("InsertCandidatesWithJobs", [&] {
      return inner_->InsertCandidatesWithJobs(candidates, jobs, now_ms, strategy_state);
    });
  }
  absl::StatusOr<std::vector<v1::Reference>> InsertReferencesWithJobs(
      int64_t search_id, const std::vector<storage::NewReference>& references,
      int64_t now_ms) override {
    return Timed("InsertReferencesWithJobs", [&] {
      return inner_->InsertReferencesWithJobs(search_id, references, now_ms);
    });
  }
  absl::StatusOr<std::vector<v1::Reference>> ListReferences(int64_t search_id) override {
    return Timed("ListReferences", [&] { return inner_->ListReferences(search_id); });
  }
  absl::StatusOr<int64_t> RegisterWorker(const storage::WorkerRecord& worker,
                                         int64_t now_ms) override {
    return Timed("RegisterWorker", [&] { return inner_->RegisterWorker(worker, now_ms); });
  }
  absl::StatusOr<storage::WorkerRecord> GetWorker(int64_t worker_id) override {
    return Timed("GetWorker", [&] { return inner_->GetWorker(worker_id); });
  }
  absl::StatusOr<std::optional<storage::Lease>> LeaseJob(
      const storage::LeaseOptions& options) override {
    absl::StatusOr<std::optional<storage::Lease>> lease =
        Timed("LeaseJob", [&] { return inner_->LeaseJob(options); });
    if (lease.ok() && !lease->has_value()) StartBreeding();
    return lease;
  }
  absl::Status Heartbeat(int64_t job_id, int attempt, int64_t worker_id, int64_t now_ms,
                         int64_t lease_ms) override {
    return Timed("Heartbeat", [&] {
      return inner_->Heartbeat(job_id, attempt, worker_id, now_ms, lease_ms);
    });
  }
  absl::StatusOr<storage::ReportOutcome> CompleteJob(int64_t job_id, int attempt,
                                                     const v1::EvaluationResult& result,
                                                     int64_t now_ms) override {
    return Timed("CompleteJob",
                 [&] { return inner_->CompleteJob(job_id, attempt, result, now_ms); });
  }
  absl::StatusOr<storage::JobState> FailJob(int64_t job_id, int attempt, const std::string& error,
                                            bool permanent, int64_t now_ms) override {
    return Timed("FailJob",
                 [&] { return inner_->FailJob(job_id, attempt, error, permanent, now_ms); });
  }
  absl::StatusOr<std::vector<storage::JobRecord>> ExpireLeases(int64_t now_ms) override {
    return Timed("ExpireLeases", [&] { return inner_->ExpireLeases(now_ms); });
  }
  absl::Status ReleaseJob(int64_t job_id, int attempt, int64_t worker_id,
                          const std::string& reason, int64_t now_ms) override {
    return Timed("ReleaseJob", [&] {
      return inner_->ReleaseJob(job_id, attempt, worker_id, reason, now_ms);
    });
  }
  absl::StatusOr<std::vector<std::string>> OpenJobParentCheckpoints() override {
    return Timed("OpenJobParentCheckpoints", [&] { return inner_->OpenJobParentCheckpoints(); });
  }
  absl::StatusOr<storage::JobRecord> GetJob(int64_t job_id) override {
    return Timed("GetJob", [&] { return inner_->GetJob(job_id); });
  }
  absl::StatusOr<storage::JobRecord> GetJobOfCandidate(int64_t candidate_id) override {
    return Timed("GetJobOfCandidate", [&] { return inner_->GetJobOfCandidate(candidate_id); });
  }
  absl::StatusOr<std::vector<storage::JobRecord>> ListJobs(int64_t search_id) override {
    return Timed("ListJobs", [&] { return inner_->ListJobs(search_id); });
  }
  absl::StatusOr<std::vector<storage::CheckpointRecord>> ListCheckpoints(
      int64_t search_id) override {
    return Timed("ListCheckpoints", [&] { return inner_->ListCheckpoints(search_id); });
  }
  absl::StatusOr<int64_t> AppendEvent(const storage::EventRecord& event) override {
    return Timed("AppendEvent", [&] { return inner_->AppendEvent(event); });
  }
  absl::StatusOr<std::vector<storage::EventRecord>> ListEvents(int64_t search_id,
                                                               int64_t after_id,
                                                               int limit) override {
    return Timed("ListEvents", [&] { return inner_->ListEvents(search_id, after_id, limit); });
  }
  absl::StatusOr<std::vector<storage::LineageNode>> AncestorChain(int64_t candidate_id) override {
    return Timed("AncestorChain", [&] { return inner_->AncestorChain(candidate_id); });
  }
  absl::StatusOr<std::vector<storage::LineageNode>> Descendants(int64_t candidate_id,
                                                                int max_depth) override {
    return Timed("Descendants", [&] { return inner_->Descendants(candidate_id, max_depth); });
  }
  absl::StatusOr<std::vector<storage::WorkerStatus>> ListWorkers() override {
    return Timed("ListWorkers", [&] { return inner_->ListWorkers(); });
  }
  absl::StatusOr<storage::DeletedSearch> DeleteSearch(int64_t search_id) override {
    return Timed("DeleteSearch", [&] { return inner_->DeleteSearch(search_id); });
  }
  absl::StatusOr<storage::HeadHistory> GetHeadHistory(int64_t head_id) override {
    return Timed("GetHeadHistory", [&] { return inner_->GetHeadHistory(head_id); });
  }
  absl::StatusOr<std::vector<storage::OffsetSurvival>> OffsetSurvivalStats(
      int64_t search_id) override {
    return Timed("OffsetSurvivalStats", [&] { return inner_->OffsetSurvivalStats(search_id); });
  }
  absl::StatusOr<std::vector<storage::LineageNode>> ParetoFront(int64_t search_id) override {
    return Timed("ParetoFront", [&] { return inner_->ParetoFront(search_id); });
  }
  absl::StatusOr<storage::CandidatePage> ListCandidateSummaries(
      const storage::CandidateFilter& filter) override {
    return Timed("ListCandidateSummaries", [&] { return inner_->ListCandidateSummaries(filter); });
  }
  absl::StatusOr<std::vector<storage::LineageNode>> BestCandidates(int64_t search_id,
                                                                   int limit) override {
    return Timed("BestCandidates", [&] { return inner_->BestCandidates(search_id, limit); });
  }
  absl::StatusOr<std::vector<storage::LineageNode>> BestPerGeneration(int64_t search_id) override {
    return Timed("BestPerGeneration", [&] { return inner_->BestPerGeneration(search_id); });
  }

 private:
  struct Mark {
    Clock::time_point wall;
    double cpu = 0;
  };

  template <typename Call>
  decltype(std::declval<Call>()()) Timed(const char* method, Call call) {
    const Clock::time_point wall = Clock::now();
    const double cpu = ThreadCpuSeconds();
    auto result = call();
    const double cpu_s = ThreadCpuSeconds() - cpu;
    const double wall_s = Seconds(wall);
    std::lock_guard<std::mutex> lock(mu_);
    Tally& tally = tallies_[method];
    ++tally.calls;
    tally.wall_s += wall_s;
    tally.cpu_s += cpu_s;
    return result;
  }

  static std::optional<Mark>& EmptyLeaseMark() {
    thread_local std::optional<Mark> mark;
    return mark;
  }
  void StartBreeding() { EmptyLeaseMark() = Mark{Clock::now(), ThreadCpuSeconds()}; }
  void EndBreeding() {
    std::optional<Mark>& mark = EmptyLeaseMark();
    if (!mark.has_value()) return;
    const double wall_s = Seconds(mark->wall);
    const double cpu_s = ThreadCpuSeconds() - mark->cpu;
    mark.reset();
    std::lock_guard<std::mutex> lock(mu_);
    ++breeding_.calls;
    breeding_.wall_s += wall_s;
    breeding_.cpu_s += cpu_s;
  }

  const std::unique_ptr<storage::Store> inner_;
  mutable std::mutex mu_;
  std::map<std::string, Tally> tallies_;
  Tally breeding_;
};

// --- The coordinator -------------------------------------------------------------------------

// A fresh temp directory, removed (with everything in it) unless kept.
class TempDir {
 public:
  static absl::StatusOr<std::unique_ptr<TempDir>> Create(bool keep) {
    std::error_code ec;
    std::string dir = (fs::temp_directory_path(ec) / "bench_coordinator.XXXXXX").string();
    if (ec || mkdtemp(dir.data()) == nullptr) {
      return absl::UnavailableError(absl::StrCat("cannot create a directory like ", dir));
    }
    return std::unique_ptr<TempDir>(new TempDir(dir, keep));
  }
  ~TempDir() {
    if (keep_) {
      std::printf("kept %s\n", path_.c_str());
      return;
    }
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  TempDir(std::string path, bool keep) : path_(std::move(path)), keep_(keep) {}
  const std::string path_;
  const bool keep_;
};

// What `headevo serve` runs, in this process: store, checkpoints, coordinator, gRPC server,
// and the housekeeping thread that expires leases every second. Members go in reverse order.
class InProcessCoordinator {
 public:
  static absl::StatusOr<std::unique_ptr<InProcessCoordinator>> Start(const std::string& dir,
                                                             const Flags& flags) {
    std::unique_ptr<InProcessCoordinator> c(new InProcessCoordinator());
    storage::StoreOptions store_options;
    store_options.durability = flags.durability == "normal"
                                   ? storage::StoreOptions::Durability::kNormal
                                   : storage::StoreOptions::Durability::kFull;
    absl::StatusOr<std::unique_ptr<storage::Store>> store =
        storage::Store::Open(dir + "/headevo.db", store_options);
    if (!store.ok()) return store.status();
    c->store_ = std::make_unique<TimedStore>(*std::move(store));
    absl::StatusOr<std::unique_ptr<server::CheckpointStore>> checkpoints =
        server::CheckpointStore::Open(dir + "/checkpoints");
    if (!checkpoints.ok()) return checkpoints.status();
    c->checkpoints_ = *std::move(checkpoints);
    absl::StatusOr<std::unique_ptr<server::Coordinator>> coordinator =
        server::Coordinator::Create(c->store_.get(), server::CoordinatorOptions{});
    if (!coordinator.ok()) return coordinator.status();
    c->coordinator_ = *std::move(coordinator);
    server::ServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<server::CoordinatorServer>> grpc_server =
        server::CoordinatorServer::Start(c->coordinator_.get(), c->checkpoints_.get(),
                                         server_options);
    if (!grpc_server.ok()) return grpc_server.status();
    c->server_ = *std::move(grpc_server);
    c->housekeeping_ = std::thread([raw = c.get()] { raw->Housekeeping(); });
    return c;
  }

  ~InProcessCoordinator() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (housekeeping_.joinable()) housekeeping_.join();
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
      server_->Wait();
    }
  }

  std::string address() const { return absl::StrCat("127.0.0.1:", server_->port()); }
  const TimedStore& store() const { return *store_; }

 private:
  InProcessCoordinator() = default;

  void Housekeeping() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
      lock.unlock();
      if (absl::Status s = coordinator_->ExpireLeases(); !s.ok()) {
        std::fprintf(stderr, "bench_coordinator: expiring leases: %s\n", s.ToString().c_str());
      }
      lock.lock();
    }
  }

  std::unique_ptr<TimedStore> store_;
  std::unique_ptr<server::CheckpointStore> checkpoints_;
  std::unique_ptr<server::Coordinator> coordinator_;
  std::unique_ptr<server::CoordinatorServer> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread housekeeping_;
};

std::string SearchConfig(const Flags& flags) {
  // Enough generations that the budget outlasts the run: the search never ends under it.
  const int64_t generations = (flags.jobs + flags.population - 1) / flags.population + 1;
  return absl::StrCat(
      "[search]\nname = \"bench_coordinator\"\nseed = 1\npopulation = ", flags.population,
      "\ngenerations = ", generations,
      "\nschedule = \"steady_state\"\ncompare_with_dense = false\n\n"
      "[model]\nlayers = 2\nheads_per_layer = 4\nseq_len = 32\n");
}

// Each its own connection: channels to one address would otherwise share one subchannel.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

absl::Status FromGrpc(const char* rpc, const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(rpc, ": ", s.error_message()));
}

absl::StatusOr<int64_t> CreateSearch(const std::string& address, const Flags& flags) {
  std::unique_ptr<v1::SearchService::Stub> stub = v1::SearchService::NewStub(NewChannel(address));
  v1::CreateSearchRequest request;
  request.set_config_toml(SearchConfig(flags));
  request.set_source_name("bench_coordinator");
  v1::CreateSearchResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (absl::Status s = FromGrpc("CreateSearch", stub->CreateSearch(&context, request, &response));
      !s.ok()) {
    return s;
  }
  return response.search_id();
}

absl::StatusOr<v1::SearchSummary> GetSearch(const std::string& address, int64_t search_id) {
  std::unique_ptr<v1::SearchService::Stub> stub = v1::SearchService::NewStub(NewChannel(address));
  v1::GetSearchRequest request;
  request.set_search_id(search_id);
  v1::SearchSummary summary;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (absl::Status s = FromGrpc("GetSearch", stub->GetSearch(&context, request, &summary));
      !s.ok()) {
    return s;
  }
  return summary;
}

// --- The fake workers ------------------------------------------------------------------------

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A uniform number in [0, 1), the n-th drawn from `seed`.
double Unit(uint64_t seed, uint64_t n) {
  return static_cast<double>(SplitMix(seed * 1'000'003 + n) >> 11) * 0x1.0p-53;
}

// What a worker would report, without training: deterministic from the job id.
v1::EvaluationResult FakeResult(int64_t job_id, const v1::EvaluationRequest& request) {
  const uint64_t seed = static_cast<uint64_t>(job_id);
  v1::EvaluationResult result;
  result.set_candidate_id(request.candidate_id());
  v1::Metrics& m = *result.mutable_metrics();
  m.set_val_loss(1.5 + 1.5 * Unit(seed, 0));
  m.set_train_loss(m.val_loss() - 0.05 * Unit(seed, 1));
  m.set_steps(request.training().steps());
  int64_t connections = 0;
  uint64_t n = 2;
  for (const v1::Head& head : request.genome().heads()) {
    connections += head.offsets().offsets_size();
    v1::HeadStats& s = *result.add_head_stats();
    s.set_head_id(head.id());
    s.set_layer(head.layer());
    s.set_entropy(Unit(seed, n++));
    s.set_independence(Unit(seed, n++));
    s.set_weight_norm(0.5 + Unit(seed, n++));
    s.set_importance(0.01 * Unit(seed, n++));
  }
  m.set_connections(connections);
  return result;
}

// What one worker measured.
struct WorkerLog {
  std::vector<double> lease_ms;   // LeaseJob calls that got a job
  std::vector<double> report_ms;  // ReportResult calls
  std::vector<double> done_at_s;  // when each report returned, seconds after the start
  int64_t empty_polls = 0;        // LeaseJob answered has_job = false
  double cpu_s = 0;               // this thread's CPU: the client side of gRPC
};

// Shared by the workers: the job budget, the start signal and the first error.
class Run {
 public:
  Run(const Flags& flags, std::string address)
      : flags_(flags), address_(std::move(address)) {}

  const Flags& flags() const { return flags_; }
  const std::string& address() const { return address_; }

  // Registered workers wait here until every one is ready; the clock starts then.
  void Ready() {
    std::unique_lock<std::mutex> lock(mu_);
    if (++ready_ == flags_.workers) {
      start_ = Clock::now();
      cv_.notify_all();
    }
    cv_.wait(lock, [this] { return ready_ >= flags_.workers; });
  }
  Clock::time_point start() const { return start_; }
  // True while there is budget left (time, jobs, no error); takes one job from the budget.
  bool TakeJob() {
    if (failed_.load() || Seconds(start_) >= flags_.seconds) return false;
    return claimed_.fetch_add(1) < flags_.jobs;
  }
  void GiveBack() { claimed_.fetch_sub(1); }
  void Fail(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    if (first_error_.ok()) first_error_ = std::move(status);
    failed_ = true;
    ready_ = flags_.workers;  // nobody waits for a worker that failed to register
    cv_.notify_all();
  }
  absl::Status error() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_error_;
  }

 private:
  const Flags flags_;
  const std::string address_;
  std::mutex mu_;
  std::condition_variable cv_;
  int ready_ = 0;
  Clock::time_point start_;
  std::atomic<int64_t> claimed_{0};
  std::atomic<bool> failed_{false};
  absl::Status first_error_;
};

// The 1-minute load average: on a shared machine, how many others wanted the cores too.
std::string LoadAverage() {
  double one = 0;
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return "unknown";
  const int read = std::fscanf(f, "%lf", &one);
  std::fclose(f);
  return read == 1 ? absl::StrCat(one) : "unknown";
}

double MsSince(Clock::time_point t) { return Seconds(t) * 1e3; }

void Deadline(grpc::ClientContext& context, int64_t ms) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
}

// Register, then LeaseJob -> ReportResult until the budget is spent.
void FakeWorker(Run& run, int index, WorkerLog& log) {
  const double cpu_start = ThreadCpuSeconds();
  std::unique_ptr<v1::WorkerService::Stub> stub =
      v1::WorkerService::NewStub(NewChannel(run.address()));
  v1::RegisterRequest registration;
  registration.set_device("fake");
  registration.set_name(absl::StrCat("bench-worker-", index));
  v1::RegisterResponse registered;
  {
    grpc::ClientContext context;
    Deadline(context, 30'000);
    if (absl::Status s =
            FromGrpc("Register", stub->Register(&context, registration, &registered));
        !s.ok()) {
      run.Fail(s);
      return;
    }
  }
  run.Ready();
  std::mt19937_64 rng(static_cast<uint64_t>(index));
  std::uniform_real_distribution<double> think(0.5, 1.5);
  if (run.flags().think_ms > 0) {
    // A staggered start, as a fleet's workers would be mid-training, rather than 64 at once.
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(
        run.flags().think_ms * std::uniform_real_distribution<double>(0, 1)(rng)));
  }
  while (run.TakeJob()) {
    v1::LeaseJobRequest lease_request;
    lease_request.set_worker_id(registered.worker_id());
    lease_request.set_wait_ms(run.flags().wait_ms);
    v1::LeaseJobResponse lease;
    grpc::ClientContext lease_context;
    Deadline(lease_context, run.flags().wait_ms + 30'000);
    const Clock::time_point lease_start = Clock::now();
    if (absl::Status s = FromGrpc("LeaseJob", stub->LeaseJob(&lease_context, lease_request, &lease));
        !s.ok()) {
      run.Fail(s);
      break;
    }
    if (!lease.has_job()) {
      ++log.empty_polls;
      run.GiveBack();
      continue;
    }
    log.lease_ms.push_back(MsSince(lease_start));
    v1::ReportResultRequest report;
    report.set_worker_id(registered.worker_id());
    report.set_job_id(lease.job_id());
    report.set_attempt(lease.attempt());
    *report.mutable_result() = FakeResult(lease.job_id(), lease.request());
    v1::ReportResultResponse reported;
    grpc::ClientContext report_context;
    Deadline(report_context, 30'000);
    const Clock::time_point report_start = Clock::now();
    if (absl::Status s =
            FromGrpc("ReportResult", stub->ReportResult(&report_context, report, &reported));
        !s.ok()) {
      run.Fail(absl::Status(s.code(), absl::StrCat(s.message(), " (job ", lease.job_id(), ")")));
      break;
    }
    log.report_ms.push_back(MsSince(report_start));
    log.done_at_s.push_back(Seconds(run.start()));
    if (run.flags().think_ms > 0) {
      // Jittered, so the workers do not stay in lockstep and arrive in bursts.
      std::this_thread::sleep_for(
          std::chrono::duration<double, std::milli>(run.flags().think_ms * think(rng)));
    }
  }
  log.cpu_s = ThreadCpuSeconds() - cpu_start;
}

// --- Figures ---------------------------------------------------------------------------------

// Nearest-rank percentile of sorted values; 0 for none.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

struct Figures {
  int64_t jobs = 0;
  double wall_s = 0;
  std::vector<double> lease_ms, report_ms, done_at_s;
  int64_t empty_polls = 0;
  double client_cpu_s = 0;
  double process_cpu_s = 0;

  double JobsPerSecond() const { return wall_s > 0 ? jobs / wall_s : 0; }
};

Figures Gather(const std::vector<WorkerLog>& logs, double wall_s, double process_cpu_s) {
  Figures f;
  f.wall_s = wall_s;
  f.process_cpu_s = process_cpu_s;
  for (const WorkerLog& log : logs) {
    f.lease_ms.insert(f.lease_ms.end(), log.lease_ms.begin(), log.lease_ms.end());
    f.report_ms.insert(f.report_ms.end(), log.report_ms.begin(), log.report_ms.end());
    f.done_at_s.insert(f.done_at_s.end(), log.done_at_s.begin(), log.done_at_s.end());
    f.empty_polls += log.empty_polls;
    f.client_cpu_s += log.cpu_s;
  }
  f.jobs = static_cast<int64_t>(f.report_ms.size());
  std::sort(f.lease_ms.begin(), f.lease_ms.end());
  std::sort(f.report_ms.begin(), f.report_ms.end());
  std::sort(f.done_at_s.begin(), f.done_at_s.end());
  return f;
}

// The rate over each quarter of the jobs: does it fall as the population grows?
void PrintQuarters(const Figures& f) {
  if (f.done_at_s.size() < 8) return;
  std::printf("jobs/s by quarter of the run (by job count):");
  const size_t n = f.done_at_s.size();
  double from = 0;
  for (int q = 1; q <= 4; ++q) {
    const size_t last = n * q / 4 - 1;
    const double to = f.done_at_s[last];
    std::printf(" %.0f", to > from ? (n / 4.0) / (to - from) : 0.0);
    from = to;
  }
  std::printf("\n");
}

void PrintLatency(const char* rpc, const std::vector<double>& ms) {
  std::printf("%-12s %7zu calls: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", rpc,
              ms.size(), Percentile(ms, 0.5), Percentile(ms, 0.9), Percentile(ms, 0.99),
              ms.empty() ? 0.0 : ms.back());
}

// The store's share of the run, busiest methods first.
void PrintStoreTime(const TimedStore& store, const Figures& f) {
  std::map<std::string, TimedStore::Tally> tallies = store.Tallies();
  std::vector<std::pair<std::string, TimedStore::Tally>> rows(tallies.begin(), tallies.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.wall_s > b.second.wall_s; });
  double wall = 0, cpu = 0;
  std::printf("\nwhere the coordinator's time goes (Store calls, each made under the "
              "coordinator's one mutex):\n");
  std::printf("  %-26s %8s %9s %9s %11s %10s\n", "method", "calls", "wall s", "CPU s",
              "mean ms", "per job ms");
  for (const auto& [method, t] : rows) {
    wall += t.wall_s;
    cpu += t.cpu_s;
    std::printf("  %-26s %8lld %9.2f %9.2f %11.3f %10.3f\n", method.c_str(),
                static_cast<long long>(t.calls), t.wall_s, t.cpu_s, 1e3 * t.wall_s / t.calls,
                f.jobs > 0 ? 1e3 * t.wall_s / f.jobs : 0.0);
  }
  const TimedStore::Tally breeding = store.Breeding();
  std::printf("  %-26s %8lld %9.2f %9.2f %11.3f %10.3f\n", "(breeding: NextChild)",
              static_cast<long long>(breeding.calls), breeding.wall_s, breeding.cpu_s,
              breeding.calls > 0 ? 1e3 * breeding.wall_s / breeding.calls : 0.0,
              f.jobs > 0 ? 1e3 * breeding.wall_s / f.jobs : 0.0);
  std::printf(
      "store: %.2f s wall (%.0f%% of the run), of which %.2f s CPU and %.2f s waiting "
      "(fsync, or descheduled on a busy machine); breeding %.2f s (%.0f%%); per job: store %.3f ms, breeding %.3f ms\n",
      wall, 100 * wall / f.wall_s, cpu, wall - cpu, breeding.wall_s,
      100 * breeding.wall_s / f.wall_s, f.jobs > 0 ? 1e3 * wall / f.jobs : 0.0,
      f.jobs > 0 ? 1e3 * breeding.wall_s / f.jobs : 0.0);
  std::printf(
      "CPU: process %.2f s over %.2f s wall (%.2f cores busy); fake-worker threads %.2f s "
      "(client side of gRPC), the rest (server: gRPC, coordinator, store) %.2f s\n",
      f.process_cpu_s, f.wall_s, f.process_cpu_s / f.wall_s, f.client_cpu_s,
      f.process_cpu_s - f.client_cpu_s);
}

void PrintVerdict(const Figures& f, const Flags& flags) {
  const double rate = f.JobsPerSecond();
  const double p99 = Percentile(f.lease_ms, 0.99);
  if (flags.think_ms == 0 && rate > 0) {
    // Little's law for a closed loop: workers = throughput x cycle time.
    std::printf(
        "\nnote: %d workers with no think time always have a call outstanding, so a worker's "
        "lease+report cycle averages workers / throughput = %.1f ms here (%.1f ms even at "
        "2000 jobs/s): lease latency under this load is mostly queueing behind the other "
        "workers. Use --think-ms to measure it at an offered load below capacity.\n",
        flags.workers, 1e3 * flags.workers / rate, 1e3 * flags.workers / 2000.0);
  }
  std::printf("\n");
  std::printf("target jobs_per_s >= 2000:  %s (%.0f)\n", rate >= 2000 ? "met" : "MISSED", rate);
  std::printf("target lease_p99_ms < 10:   %s (%.2f)\n", p99 < 10 ? "met" : "MISSED", p99);
  std::printf("RESULT jobs_per_s=%ld lease_p99_ms=%.2f\n", std::lround(rate), p99);
}

absl::Status RunBench(const Flags& flags) {
  absl::StatusOr<std::unique_ptr<TempDir>> dir = TempDir::Create(flags.keep);
  if (!dir.ok()) return dir.status();
  absl::StatusOr<std::unique_ptr<InProcessCoordinator>> coordinator =
      InProcessCoordinator::Start((*dir)->path(), flags);
  if (!coordinator.ok()) return coordinator.status();
  const std::string address = (*coordinator)->address();
  absl::StatusOr<int64_t> search_id = CreateSearch(address, flags);
  if (!search_id.ok()) return search_id.status();
  std::printf(
      "coordinator on %s: database %s/headevo.db with durability %s (%s), leases expired "
      "every second as `headevo serve` does\n",
      address.c_str(), (*dir)->path().c_str(), flags.durability.c_str(),
      flags.durability == "full" ? "fsync per commit: the coordinator's real setting"
                                 : "no fsync per commit: NOT what the coordinator runs with");
  std::printf(
      "search %lld: steady_state, population %d, model 2 layers x 4 heads, seq_len 32\n"
      "%d fake workers: one thread, channel and TCP connection each; LeaseJob wait_ms %lld; "
      "no training: each result is synthesized at once, then %g ms of think time\n"
      "budget: %lld jobs or %.0f s, whichever comes first; %u CPU cores, load average %s\n",
      static_cast<long long>(*search_id), flags.population, flags.workers,
      static_cast<long long>(flags.wait_ms), flags.think_ms, static_cast<long long>(flags.jobs),
      flags.seconds, std::thread::hardware_concurrency(), LoadAverage().c_str());
  std::fflush(stdout);

  Run run(flags, address);
  std::vector<WorkerLog> logs(flags.workers);
  std::vector<std::thread> threads;
  const double cpu_start = ProcessCpuSeconds();
  for (int i = 0; i < flags.workers; ++i) {
    threads.emplace_back([&run, &logs, i] { FakeWorker(run, i, logs[i]); });
  }
  for (std::thread& t : threads) t.join();
  const double wall_s = Seconds(run.start());
  if (absl::Status s = run.error(); !s.ok()) return s;
  const Figures f = Gather(logs, wall_s, ProcessCpuSeconds() - cpu_start);

  absl::StatusOr<v1::SearchSummary> summary = GetSearch(address, *search_id);
  if (!summary.ok()) return summary.status();
  std::printf("\n%lld jobs leased and reported in %.2f s = %.0f jobs/s (%lld empty polls); "
              "the search counts %lld candidates done, %lld queued, %lld running\n",
              static_cast<long long>(f.jobs), f.wall_s, f.JobsPerSecond(),
              static_cast<long long>(f.empty_polls), static_cast<long long>(summary->done()),
              static_cast<long long>(summary->queued()),
              static_cast<long long>(summary->running()));
  std::printf("the run ended on %s; load average at the end: %s\n",
              f.jobs >= flags.jobs ? "its job budget" : "its time limit (--seconds)",
              LoadAverage().c_str());
  PrintQuarters(f);
  PrintLatency("LeaseJob", f.lease_ms);
  PrintLatency("ReportResult", f.report_ms);
  PrintStoreTime((*coordinator)->store(), f);
  PrintVerdict(f, flags);
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  CLI::App app{
      "bench_coordinator: the coordinator's job throughput and lease latency.\n\n"
      "Starts a coordinator in this process (SQLite database and checkpoints in a temp\n"
      "directory, gRPC on 127.0.0.1:0), creates a steady-state search (population 64, a\n"
      "2 x 4-head model), and runs --workers fake workers that lease jobs and report\n"
      "synthesized results at once. Reports jobs/s, LeaseJob and ReportResult latency as the\n"
      "workers see them, and the time the coordinator spent in each Store call.",
      "bench_coordinator"};
  app.add_option("--workers", flags.workers, "Fake workers (threads, one connection each)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--jobs", flags.jobs, "Jobs to lease and report in all")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--seconds", flags.seconds, "Stop after this long even if jobs remain")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--durability", flags.durability,
                 "The store's durability: full (fsync per commit, the coordinator's real "
                 "setting) or normal (no fsync per commit; shows what fsync costs)")
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "normal"}));
  app.add_option("--wait-ms", flags.wait_ms, "LeaseJob long-poll wait")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--think-ms", flags.think_ms,
                 "Mean pause after each report before the next lease, uniform in [0.5, 1.5] x "
                 "this (stands in for training; W workers offer at most W / think jobs/s)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--population", flags.population, "The search's population")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--keep", flags.keep, "Keep the temp directory (database, checkpoints)");
  CLI11_PARSE(app, argc, argv);
  if (absl::Status s = RunBench(flags); !s.ok()) {
    std::fprintf(stderr, "bench_coordinator: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
