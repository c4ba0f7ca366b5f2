// Where the coordinator's time goes: a Store that forwards every call to the real one and adds
// up the wall and thread-CPU seconds spent in each method, and in breeding.
#ifndef HEADEVO_BENCH_COORDINATOR_TIMED_STORE_H_
#define HEADEVO_BENCH_COORDINATOR_TIMED_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/coordinator/flags.h"
#include "storage/store.h"

namespace headevo::bench_coordinator {

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
  // WaitDurable: how long answers waited for group commit's fsync (wall only; no CPU spent).
  Tally DurableWait() const {
    std::lock_guard<std::mutex> lock(mu_);
    return durable_wait_;
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
  absl::StatusOr<int64_t> QueuePromotion(int64_t candidate_id, const storage::NewJob& job,
                                         int64_t now_ms) override {
    return Timed("QueuePromotion", [&] { return inner_->QueuePromotion(candidate_id, job, now_ms); });
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
  uint64_t CommitTicket() override { return inner_->CommitTicket(); }
  // Called outside the coordinator's mutex, by every thread about to answer: tallied apart.
  absl::Status WaitDurable(uint64_t ticket) override {
    const Clock::time_point wall = Clock::now();
    absl::Status status = inner_->WaitDurable(ticket);
    const double wall_s = Seconds(wall);
    std::lock_guard<std::mutex> lock(mu_);
    ++durable_wait_.calls;
    durable_wait_.wall_s += wall_s;
    return status;
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
  Tally durable_wait_;
};

}  // namespace headevo::bench_coordinator

#endif  // HEADEVO_BENCH_COORDINATOR_TIMED_STORE_H_
