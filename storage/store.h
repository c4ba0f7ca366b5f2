// The lineage store: searches, candidates, heads, head statistics and lineage links in one
// SQLite file. Every method that writes is one transaction (BEGIN IMMEDIATE): it happens
// whole or not at all. Errors come back as absl::Status naming the problem; SQLite codes and
// exceptions never cross this boundary.
//
// Thread safety: a Store is used by one thread at a time. One writer per file: a store opened
// for writing holds "<file>.lock" (see writer_lock.h) until it is destroyed, and a second one
// is refused. Any number of read-only stores may read beside it (WAL: readers never block the
// writer, and see each committed transaction whole).
//
// Error codes used throughout: NotFound for an id that names nothing (the message names the
// id); InvalidArgument for input that contradicts itself or what is stored (the message names
// the field, slot or head id); FailedPrecondition for a write the stored state forbids (a
// second result, a read-only store); Unavailable when the file stayed locked past
// busy_timeout_ms (retry); DataLoss for a file whose contents make no sense.
#ifndef HEADEVO_STORAGE_STORE_H_
#define HEADEVO_STORAGE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/search_service.pb.h"
#include "headevo/v1/search_state.pb.h"
#include "storage/job_types.h"
#include "storage/lineage_types.h"

namespace headevo::storage {

struct StoreOptions {
  // Open without the right to write (queries from the CLI, dashboards).
  bool read_only = false;
  // How long a statement waits on another connection's lock before failing, in ms. >= 0.
  int busy_timeout_ms = 5000;
  // kFull (default): a transaction that Commit() acknowledged survives a power cut (fsync per
  // commit). kNormal: survives a crash of this process, but the last commits may be lost if
  // the machine loses power; for bulk loads and benchmarks, never for a real search.
  // kGroup: group commit. Transactions commit as with kNormal; a caller makes them survive a
  // power cut with WaitDurable(CommitTicket()) before it tells anyone what they did, and many
  // callers share one fsync (storage/group_sync.h). For a server that answers many clients.
  enum class Durability { kFull, kNormal, kGroup };
  Durability durability = Durability::kFull;

  // InvalidArgument naming the first bad field.
  absl::Status Validate() const;
};

struct SearchRecord {
  int64_t id = 0;
  std::string name;
  std::string config_toml;  // the config exactly as the user wrote it
  uint64_t seed = 0;        // all 64 bits round-trip
  headevo::v1::SearchState state = headevo::v1::SEARCH_STATE_RUNNING;
  int64_t created_ms = 0;  // as CreateSearch was told; read back by GetSearch/ListSearches
};

// Where a search stands: its candidates by state and its jobs in flight.
struct SearchCounts {
  int64_t candidates = 0;
  int64_t done = 0;
  int64_t failed = 0;
  int64_t queued = 0;   // jobs waiting for a worker
  int64_t leased = 0;   // jobs a worker holds
  int max_generation = -1;  // -1 before the first candidate
};

// Which candidates ListCandidateSummaries returns.
struct CandidateFilter {
  int64_t search_id = 0;
  headevo::v1::CandidateState state = headevo::v1::CANDIDATE_STATE_UNSPECIFIED;  // any
  int min_generation = 0;
  int max_generation = -1;  // < 0: no limit
  bool order_by_val_loss = false;  // else by id; by loss: lowest first, unevaluated last
  int64_t offset = 0;
  int limit = 100;  // > 0
};
struct CandidatePage {
  std::vector<LineageNode> candidates;
  int64_t total = 0;  // matching candidates over all pages
};

// One row of a head's appearance in a candidate, for lineage checks and queries.
struct CandidateHeadRow {
  int64_t candidate_id = 0;
  int64_t head_id = 0;
  int32_t slot = 0;                  // index in the candidate's genome
  headevo::v1::HeadOrigin origin{};  // INHERITED, SAMPLED or INITIAL in this candidate
};

// A registered worker and the jobs it holds now (Store::ListWorkers).
struct WorkerStatus {
  WorkerRecord worker;
  std::vector<JobRecord> leased_jobs;  // its LEASED jobs by id; usually none or one
};

// What Store::DeleteSearch removed.
struct DeletedSearch {
  int64_t candidates = 0;
  int64_t reference_models = 0;
  // The checkpoints the search's rows named that no row left in the database names: their
  // files may be removed. Sorted.
  std::vector<std::string> dropped_checkpoints;
};

class Store {
 public:
  virtual ~Store() = default;

  // Opens (creating if absent, unless read_only) the database at `path` (":memory:" works),
  // applies pending schema migrations, and refuses a file written by a newer headevo.
  // Errors: InvalidArgument for bad options or an empty path; NotFound for a read_only open of
  // a missing file; FailedPrecondition naming the path for a file that is not an SQLite
  // database, one whose schema is newer than this code (the file is left untouched), or a
  // read_only open of a file with an older schema (open it read-write once to upgrade it).
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     const StoreOptions& options = {});
  // A second, read-only connection to the database at `path`, which a writer has opened (and
  // upgraded): queries on it read their own snapshot and never wait for the writer (WAL). Null
  // for ":memory:", which no second connection can see. Errors as Open with read_only.
  static absl::StatusOr<std::unique_ptr<Store>> OpenReader(const std::string& path);

  // Creates a search; returns its id (ids start at 1 and increase, and are never reused).
  // `search.id` is ignored. InvalidArgument for state UNSPECIFIED.
  virtual absl::StatusOr<int64_t> CreateSearch(const SearchRecord& search) = 0;
  // NotFound names the id when there is no such search.
  virtual absl::StatusOr<SearchRecord> GetSearch(int64_t search_id) = 0;
  // NotFound for an unknown search; InvalidArgument for state UNSPECIFIED.
  virtual absl::Status SetSearchState(int64_t search_id, headevo::v1::SearchState state) = 0;
  // Every search by id.
  virtual absl::StatusOr<std::vector<SearchRecord>> ListSearches() = 0;
  // NotFound for an unknown search.
  virtual absl::StatusOr<SearchCounts> CountSearch(int64_t search_id) = 0;
  // The strategy state last written for the search (with its children, or by
  // SaveStrategyState); nullopt when none was. NotFound for an unknown search; DataLoss when the
  // stored bytes do not parse.
  virtual absl::StatusOr<std::optional<headevo::v1::StrategyState>> LoadStrategyState(
      int64_t search_id) = 0;
  virtual absl::Status SaveStrategyState(int64_t search_id,
                                         const headevo::v1::StrategyState& state) = 0;

  // Writes a new candidate (state PENDING) with its genome, mutation and parent link, and
  // every head it carries. Heads with id 0 are new: they are inserted and given ids; their
  // origin must be INITIAL or SAMPLED. Heads with an id must already exist in the same search
  // with the same layer and offsets (inherited; their origin in the input is ignored). The
  // returned candidate is the input with candidate id and all head ids filled in
  // (mutation.pruned_head_ids untouched), carried heads as stored with origin INHERITED,
  // mutation.added_head_slots = the slots of the new heads, and result fields cleared: exactly
  // what GetCandidate returns afterwards.
  // One transaction for a whole batch: a generation's candidates land together or not at all.
  // A candidate may name as parent one written earlier in the same batch.
  // Errors, prefixed "candidates[i]: ": NotFound for an unknown search; InvalidArgument for a
  // non-zero candidate id, a parent outside the search, a head id that is unknown or from
  // another search (naming the head id), a layer out of range, offsets that are empty or not
  // sorted and unique, a head twice in one genome, or a pruned head id that is not a head of
  // the parent or is still in the genome.
  virtual absl::StatusOr<std::vector<headevo::v1::Candidate>> InsertCandidates(
      const std::vector<headevo::v1::Candidate>& candidates) = 0;

  // Records an evaluation: metrics, per-head statistics, state DONE. FailedPrecondition
  // "candidate N already has a result" if it has one (a result is recorded exactly once; the
  // first is kept); NotFound for an unknown candidate; InvalidArgument if a HeadStats names a
  // head not in the candidate's genome, names one twice, or gives another layer. A FAILED
  // candidate still accepts a (late) result, which clears its error. A job of the candidate
  // that is not DONE is completed with it (CompleteJob is how workers report; this is for
  // results that come from elsewhere).
  virtual absl::Status RecordResult(const headevo::v1::EvaluationResult& result) = 0;
  // Marks a candidate FAILED with the error text. NotFound / FailedPrecondition as
  // RecordResult.
  virtual absl::Status RecordFailure(int64_t candidate_id, const std::string& error) = 0;

  // A candidate with genome, mutation, metrics and head stats as stored: heads in slot order
  // with their origin in this candidate, pruned ids in the order written, metrics set only
  // once a result is recorded (a NaN loss reads back as NaN), head_stats in slot order.
  // NotFound for an unknown id.
  virtual absl::StatusOr<headevo::v1::Candidate> GetCandidate(int64_t candidate_id) = 0;
  // All candidates of a search ordered by id. NotFound for an unknown search.
  virtual absl::StatusOr<std::vector<headevo::v1::Candidate>> ListCandidates(int64_t search_id) = 0;
  // Every (candidate, head) appearance in a search, ordered by candidate id then slot.
  // NotFound for an unknown search.
  virtual absl::StatusOr<std::vector<CandidateHeadRow>> ListCandidateHeads(int64_t search_id) = 0;
  // A head as first written (layer, offsets, origin INITIAL or SAMPLED, sampler, source head).
  // NotFound for an unknown id.
  virtual absl::StatusOr<headevo::v1::Head> GetHead(int64_t head_id) = 0;
  // The candidate and its ancestors up to the root, child first. NotFound for an unknown id.
  virtual absl::StatusOr<std::vector<headevo::v1::Candidate>> Ancestors(int64_t candidate_id) = 0;

  // --- Jobs: the queue of evaluations, leased to workers -------------------------------------

  // InsertCandidates plus one QUEUED job per candidate (jobs[i] for candidates[i]), all in one
  // transaction, and, when `strategy_state` is not null, the search's strategy state (so a
  // resumed search finds the state that made exactly the children stored). InvalidArgument
  // when the sizes differ or a max_attempts is < 1, besides InsertCandidates' errors.
  virtual absl::StatusOr<std::vector<headevo::v1::Candidate>> InsertCandidatesWithJobs(
      const std::vector<headevo::v1::Candidate>& candidates, const std::vector<NewJob>& jobs,
      int64_t now_ms, const headevo::v1::StrategyState* strategy_state = nullptr) = 0;

  // Writes the search's reference models (PENDING) with one QUEUED job each, in one
  // transaction, and returns them as stored. NotFound for an unknown search; InvalidArgument
  // for an empty kind, role or genome, a parent checkpoint, or a max_attempts < 1.
  virtual absl::StatusOr<std::vector<headevo::v1::Reference>> InsertReferencesWithJobs(
      int64_t search_id, const std::vector<NewReference>& references, int64_t now_ms) = 0;

  // Multi-fidelity: queues the promotion of a candidate to job.rung (> 0), a job that continues
  // its training from job.resume_checkpoint_sha256, and returns the job's id. NotFound for an
  // unknown candidate; FailedPrecondition unless it is DONE at rung job.rung - 1 with no job at
  // job.rung yet; InvalidArgument for rung < 1, no resume checkpoint, a parent checkpoint or
  // max_attempts < 1. Nothing is written then.
  virtual absl::StatusOr<int64_t> QueuePromotion(int64_t candidate_id, const NewJob& job,
                                                 int64_t now_ms) = 0;
  // The search's reference models in the order they were written. NotFound for an unknown
  // search.
  virtual absl::StatusOr<std::vector<headevo::v1::Reference>> ListReferences(
      int64_t search_id) = 0;

  // Registers a worker (`worker.id` is ignored; registered_ms = last_seen_ms = now_ms) and
  // returns its id. InvalidArgument for an empty device.
  virtual absl::StatusOr<int64_t> RegisterWorker(const WorkerRecord& worker, int64_t now_ms) = 0;
  // NotFound for an unknown id.
  virtual absl::StatusOr<WorkerRecord> GetWorker(int64_t worker_id) = 0;

  // Leases the oldest QUEUED job of a RUNNING search (of options.search_id only, if set) to
  // the worker: attempt + 1, state LEASED until now + lease_ms, its candidate RUNNING, the
  // worker's last_seen = now. nullopt when no job waits. NotFound for an unknown worker;
  // InvalidArgument for lease_ms <= 0.
  virtual absl::StatusOr<std::optional<Lease>> LeaseJob(const LeaseOptions& options) = 0;
  // Extends the lease of (job, attempt) held by `worker_id` to now + lease_ms.
  // FailedPrecondition "job J attempt A no longer holds a lease ..." when the job is no longer
  // LEASED under that attempt to that worker (it expired and moved on, or was reported): the
  // worker should drop the job. NotFound for an unknown job.
  virtual absl::Status Heartbeat(int64_t job_id, int attempt, int64_t worker_id, int64_t now_ms,
                                 int64_t lease_ms) = 0;
  // Records the result of (job, attempt) and completes the job, in one transaction: metrics,
  // head statistics, the checkpoint reference, job DONE, candidate DONE (or, for a reference
  // model's job, its metrics and job DONE). The same (job, attempt) reporting the same result
  // again (by digest, storage/report_digest.h) gets kAlreadyRecorded and changes nothing; a
  // different result for it is FailedPrecondition. FailedPrecondition also when the attempt
  // no longer holds the lease (expired, or another attempt reported): such a result is never
  // counted. `result.candidate_id` may be 0 (it is the job's candidate);
  // another id is InvalidArgument. NotFound for an unknown job; RecordResult's checks apply.
  virtual absl::StatusOr<ReportOutcome> CompleteJob(int64_t job_id, int attempt,
                                                    const headevo::v1::EvaluationResult& result,
                                                    int64_t now_ms) = 0;
  // Records that (job, attempt) failed with `error`. A permanent failure (bad input, NaN loss)
  // or the last allowed attempt marks the job and its candidate FAILED; any other failure
  // queues the job again. Returns the job's state afterwards. Repeats and stale attempts as
  // CompleteJob (a repeat returns the state it left).
  virtual absl::StatusOr<JobState> FailJob(int64_t job_id, int attempt, const std::string& error,
                                           bool permanent, int64_t now_ms) = 0;
  // Every LEASED job whose lease ended before `now_ms` is queued again (candidate PENDING) or,
  // with its attempts spent, FAILED with "lease expired" as its error. Returns those jobs as
  // they are afterwards, by id.
  virtual absl::StatusOr<std::vector<JobRecord>> ExpireLeases(int64_t now_ms) = 0;
  // A worker hands (job, attempt) back unfinished (it is shutting down): the job is queued
  // again at once and max_attempts grows by one, so the hand-back costs no attempt. Stale
  // attempts as Heartbeat; a repeat (the job already QUEUED past this attempt with this
  // reason) is OK.
  virtual absl::Status ReleaseJob(int64_t job_id, int attempt, int64_t worker_id,
                                  const std::string& reason, int64_t now_ms) = 0;
  // The checkpoints jobs not yet finished (QUEUED or LEASED) start from, their parents' and
  // the ones promotions resume from: they must be kept.
  virtual absl::StatusOr<std::vector<std::string>> OpenJobParentCheckpoints() = 0;
  // NotFound for an unknown id.
  virtual absl::StatusOr<JobRecord> GetJob(int64_t job_id) = 0;
  // The job of a candidate; NotFound when it has none.
  virtual absl::StatusOr<JobRecord> GetJobOfCandidate(int64_t candidate_id) = 0;
  // All jobs of a search by id. NotFound for an unknown search.
  virtual absl::StatusOr<std::vector<JobRecord>> ListJobs(int64_t search_id) = 0;
  // The checkpoints the search's results named, by candidate id. NotFound for an unknown search.
  virtual absl::StatusOr<std::vector<CheckpointRecord>> ListCheckpoints(int64_t search_id) = 0;

  // Every registered worker by id, with the jobs LEASED to it now.
  virtual absl::StatusOr<std::vector<WorkerStatus>> ListWorkers() = 0;

  // Deletes a search and every row of it in one transaction: candidates, heads,
  // candidate_heads, pruned_heads, head_stats, head_growth, jobs, reference models, checkpoint
  // rows, events and the search row (storage/search_deletion.h). A checkpoint row of the
  // search whose sha256 a candidate of another search also names is handed to that candidate
  // instead of deleted. Workers stay. Returns what went, with the checkpoints no row names any
  // more. NotFound for an unknown search; FailedPrecondition while the search is RUNNING or
  // PAUSED (stop it first), when a row outside the search still names one of its rows
  // (nothing is deleted then), or on a read-only store.
  virtual absl::StatusOr<DeletedSearch> DeleteSearch(int64_t search_id) = 0;

  // --- Events: what happened, for people -----------------------------------------------------

  // Appends an event (search_id 0: not about one search) and returns its id. NotFound for an
  // unknown search; InvalidArgument for an empty kind.
  virtual absl::StatusOr<int64_t> AppendEvent(const EventRecord& event) = 0;
  // Events of the search with id > after_id, oldest first, at most `limit` (> 0).
  virtual absl::StatusOr<std::vector<EventRecord>> ListEvents(int64_t search_id, int64_t after_id,
                                                              int limit) = 0;

  // --- Group commit (StoreOptions::Durability::kGroup) --------------------------------------

  // A ticket for every write made on this store so far (same thread rule as every other
  // method). Hand it to WaitDurable before answering for those writes.
  virtual uint64_t CommitTicket() = 0;
  // Returns once every write `ticket` stands for survives a power cut: one fsync of the WAL
  // for all callers waiting together. The one method that may be called from any thread while
  // another uses the store. Returns at once unless the store is kGroup (kFull synced every
  // commit; kNormal and ":memory:" promise nothing). DataLoss when an fsync failed (then
  // every later call fails too: reopen the store).
  virtual absl::Status WaitDurable(uint64_t ticket) = 0;

  // --- Lineage queries -----------------------------------------------------------------------

  // The candidate and its ancestors to the root, child first (depth 0, 1, ...), as summaries:
  // one indexed walk, fast at any depth. NotFound for an unknown id.
  virtual absl::StatusOr<std::vector<LineageNode>> AncestorChain(int64_t candidate_id) = 0;
  // The candidate and all its descendants as a tree in depth-first order (children by id),
  // depth counted from it; at most `max_depth` levels below it (< 0: no limit).
  // NotFound for an unknown id.
  virtual absl::StatusOr<std::vector<LineageNode>> Descendants(int64_t candidate_id,
                                                               int max_depth) = 0;
  // Where a head came from and what became of it: as first written, every candidate that
  // carried it with its statistics there, every child that pruned it, the heads copied or
  // grown from it, what the growth step recorded for it, and its chain of source heads (each
  // with its growth records). NotFound for an unknown id.
  virtual absl::StatusOr<HeadHistory> GetHeadHistory(int64_t head_id) = 0;
  // Per (layer, offset), how long the search's heads that had it lived, longest mean lifetime
  // first (ties: layer, then offset). NotFound for an unknown search.
  virtual absl::StatusOr<std::vector<OffsetSurvival>> OffsetSurvivalStats(int64_t search_id) = 0;
  // The DONE candidates no other beats on both val_loss and connections (a tie on both keeps
  // the older), fewest connections first, among those of the highest rung reached (with
  // multi-fidelity; all of them otherwise). NaN losses never enter. NotFound for an unknown
  // search.
  virtual absl::StatusOr<std::vector<LineageNode>> ParetoFront(int64_t search_id) = 0;
  // One page of the candidates the filter selects, as summaries, and how many match in all.
  // NotFound for an unknown search; InvalidArgument for limit <= 0 or offset < 0.
  virtual absl::StatusOr<CandidatePage> ListCandidateSummaries(const CandidateFilter& filter) = 0;
  // The `limit` (> 0) DONE candidates with a finite val_loss, best first: the highest rung
  // first (multi-fidelity), then the lowest val_loss (ties: the older). NotFound for an
  // unknown search.
  virtual absl::StatusOr<std::vector<LineageNode>> BestCandidates(int64_t search_id,
                                                                  int limit) = 0;
  // For each generation with a finite val_loss at the highest rung reached (see ParetoFront),
  // its lowest (ties: the older candidate), in generation order. NotFound for an unknown search.
  virtual absl::StatusOr<std::vector<LineageNode>> BestPerGeneration(int64_t search_id) = 0;
};

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_STORE_H_
