// The Store on one SQLite file. Private to storage/: everyone else holds a Store from
// Store::Open. Tests of this implementation, and the storage features built on it later
// (jobs and leases, workers, events), may use the SqliteStore and its Database directly.
//
// A store that may write first takes the writer lock ("<file>.lock", writer_lock.h) and
// checks the file is not on a network filesystem (local_filesystem.h). The connection is
// configured on open: journal_mode=WAL (readers never block the one writer; ":memory:" stays
// in memory mode), synchronous=FULL (a committed transaction survives power loss; NORMAL if
// the options ask for kNormal or kGroup), foreign_keys=ON, busy_timeout from the options.
//
// Thread safety: one thread at a time, like Store.
#ifndef HEADEVO_STORAGE_SQLITE_STORE_H_
#define HEADEVO_STORAGE_SQLITE_STORE_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/group_sync.h"
#include "storage/sqlite_db.h"
#include "storage/store.h"
#include "storage/transaction.h"
#include "storage/writer_lock.h"

namespace headevo::storage {

class SqliteStore final : public Store {
 public:
  // As Store::Open. Errors: InvalidArgument for bad options or an empty path; NotFound for a
  // read-only open of a file that does not exist; FailedPrecondition for a file that is not
  // an SQLite database, one with a newer schema than this code (left untouched), or a
  // read-only open of a file whose schema is older than this code (it cannot be migrated).
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                           const StoreOptions& options);

  absl::StatusOr<int64_t> CreateSearch(const SearchRecord& search) override;
  absl::StatusOr<SearchRecord> GetSearch(int64_t search_id) override;
  absl::Status SetSearchState(int64_t search_id, headevo::v1::SearchState state) override;
  // Search-level reads and the strategy state: sqlite_store_searches.cc.
  absl::StatusOr<std::vector<SearchRecord>> ListSearches() override;
  absl::StatusOr<SearchCounts> CountSearch(int64_t search_id) override;
  absl::StatusOr<std::optional<headevo::v1::StrategyState>> LoadStrategyState(
      int64_t search_id) override;
  absl::Status SaveStrategyState(int64_t search_id,
                                 const headevo::v1::StrategyState& state) override;
  absl::StatusOr<CandidatePage> ListCandidateSummaries(const CandidateFilter& filter) override;
  absl::StatusOr<std::vector<LineageNode>> BestCandidates(int64_t search_id, int limit) override;
  absl::StatusOr<std::vector<headevo::v1::Candidate>> InsertCandidates(
      const std::vector<headevo::v1::Candidate>& candidates) override;
  absl::Status RecordResult(const headevo::v1::EvaluationResult& result) override;
  absl::Status RecordFailure(int64_t candidate_id, const std::string& error) override;
  absl::StatusOr<headevo::v1::Candidate> GetCandidate(int64_t candidate_id) override;
  absl::StatusOr<std::vector<headevo::v1::Candidate>> ListCandidates(int64_t search_id) override;
  absl::StatusOr<std::vector<CandidateHeadRow>> ListCandidateHeads(int64_t search_id) override;
  absl::StatusOr<headevo::v1::Head> GetHead(int64_t head_id) override;
  absl::StatusOr<std::vector<headevo::v1::Candidate>> Ancestors(int64_t candidate_id) override;

  // Jobs, workers, checkpoints, events: sqlite_store_jobs.cc.
  absl::StatusOr<std::vector<headevo::v1::Candidate>> InsertCandidatesWithJobs(
      const std::vector<headevo::v1::Candidate>& candidates, const std::vector<NewJob>& jobs,
      int64_t now_ms, const headevo::v1::StrategyState* strategy_state = nullptr) override;
  absl::StatusOr<std::vector<headevo::v1::Reference>> InsertReferencesWithJobs(
      int64_t search_id, const std::vector<NewReference>& references, int64_t now_ms) override;
  absl::StatusOr<std::vector<headevo::v1::Reference>> ListReferences(int64_t search_id) override;
  absl::StatusOr<int64_t> RegisterWorker(const WorkerRecord& worker, int64_t now_ms) override;
  absl::StatusOr<WorkerRecord> GetWorker(int64_t worker_id) override;
  absl::StatusOr<std::optional<Lease>> LeaseJob(const LeaseOptions& options) override;
  absl::Status Heartbeat(int64_t job_id, int attempt, int64_t worker_id, int64_t now_ms,
                         int64_t lease_ms) override;
  absl::StatusOr<ReportOutcome> CompleteJob(int64_t job_id, int attempt,
                                            const headevo::v1::EvaluationResult& result,
                                            int64_t now_ms) override;
  absl::StatusOr<JobState> FailJob(int64_t job_id, int attempt, const std::string& error,
                                   bool permanent, int64_t now_ms) override;
  absl::StatusOr<std::vector<JobRecord>> ExpireLeases(int64_t now_ms) override;
  absl::Status ReleaseJob(int64_t job_id, int attempt, int64_t worker_id,
                          const std::string& reason, int64_t now_ms) override;
  absl::StatusOr<std::vector<std::string>> OpenJobParentCheckpoints() override;
  absl::StatusOr<int64_t> QueuePromotion(int64_t candidate_id, const NewJob& job,
                                         int64_t now_ms) override;
  absl::StatusOr<JobRecord> GetJob(int64_t job_id) override;
  absl::StatusOr<JobRecord> GetJobOfCandidate(int64_t candidate_id) override;
  absl::StatusOr<std::vector<JobRecord>> ListJobs(int64_t search_id) override;
  absl::StatusOr<std::vector<CheckpointRecord>> ListCheckpoints(int64_t search_id) override;
  absl::StatusOr<int64_t> AppendEvent(const EventRecord& event) override;
  absl::StatusOr<std::vector<EventRecord>> ListEvents(int64_t search_id, int64_t after_id,
                                                      int limit) override;

  // Group commit: here (sqlite_store.cc).
  uint64_t CommitTicket() override;
  absl::Status WaitDurable(uint64_t ticket) override;

  // Workers and their jobs, deleting a search: sqlite_store_admin.cc.
  absl::StatusOr<std::vector<WorkerStatus>> ListWorkers() override;
  absl::StatusOr<DeletedSearch> DeleteSearch(int64_t search_id) override;

  // Lineage queries: sqlite_store_queries.cc.
  absl::StatusOr<std::vector<LineageNode>> AncestorChain(int64_t candidate_id) override;
  absl::StatusOr<std::vector<LineageNode>> Descendants(int64_t candidate_id,
                                                       int max_depth) override;
  absl::StatusOr<HeadHistory> GetHeadHistory(int64_t head_id) override;
  absl::StatusOr<std::vector<OffsetSurvival>> OffsetSurvivalStats(int64_t search_id) override;
  absl::StatusOr<std::vector<LineageNode>> ParetoFront(int64_t search_id) override;
  absl::StatusOr<std::vector<LineageNode>> BestPerGeneration(int64_t search_id) override;

  // The connection. Owned by this store; valid while it lives.
  Database& database() { return *db_; }

  // Batches of this many candidates or more are written with SQLite's foreign key enforcement
  // off (the writer checks every reference itself; see WriteCandidates), smaller ones with it.
  static constexpr size_t kBatchWithoutForeignKeys = 32;

 private:
  SqliteStore(std::unique_ptr<WriterLock> lock, std::unique_ptr<Database> db,
              const StoreOptions& options, std::unique_ptr<GroupSync> group_sync)
      : lock_(std::move(lock)),
        db_(std::move(db)),
        options_(options),
        group_sync_(std::move(group_sync)) {}

  // InsertCandidates, plus jobs[i] for candidates[i] when `jobs` is not null, plus the
  // strategy state when not null.
  absl::StatusOr<std::vector<headevo::v1::Candidate>> WriteCandidates(
      const std::vector<headevo::v1::Candidate>& candidates, const std::vector<NewJob>* jobs,
      int64_t now_ms, const headevo::v1::StrategyState* strategy_state);
  // Inside the caller's write transaction.
  absl::Status WriteStrategyState(int64_t search_id, const headevo::v1::StrategyState& state);
  // BEGIN IMMEDIATE; FailedPrecondition "store <path> is open read-only" on a read-only store.
  absl::StatusOr<Transaction> BeginWrite();
  // BEGIN: one snapshot for a read made of several queries.
  absl::StatusOr<Transaction> BeginRead();
  // The candidates with these ids, read in one snapshot.
  absl::StatusOr<std::vector<headevo::v1::Candidate>> LoadCandidates(
      const std::vector<int64_t>& ids);

  // Declared first so it is released last, after the connection is closed.
  std::unique_ptr<WriterLock> lock_;  // null for read-only and ":memory:" stores
  std::unique_ptr<Database> db_;
  StoreOptions options_;
  // kGroup on a file only; destroyed before the connection closes (it only reads the WAL).
  std::unique_ptr<GroupSync> group_sync_;
  int64_t changes_at_last_ticket_ = 0;  // sqlite3_total_changes64 when the last ticket was made
};

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_SQLITE_STORE_H_
