// The coordinator's engine: every search the database holds, the job queue workers lease from,
// and the strategy that breeds children. The gRPC services (server/rpc/worker_service.h,
// server/rpc/search_service.h) and the embedded `headevo run` call exactly these methods, so one
// process or many go through the same code.
//
// Everything a search trains is a job of this queue, leased to any worker, fenced and recorded
// once: its candidates, its reference models (dense attention, the [baselines]) and, in a
// k-sweep, every step. The parts, one concept per file:
//   coordinator.cc           construction, loading and resuming searches from the store
//   coordinator_lifecycle.cc creating, pausing, resuming, stopping and ending searches; summaries
//   coordinator_breeding.cc  what a search queues next: generations, steady-state children,
//                            k-sweep steps, reference models (Advance)
//   coordinator_jobs.cc      workers, leasing, heartbeats, reports, releases, lease expiry
//   coordinator_events.cc    the event stream (stored and live) and Finished
//   coordinator_stats.cc     metrics snapshots and the checkpoints to keep
//
// Evolution schedules (search::Schedule):
//   steady state (default): generation 0 is queued at creation; afterwards a worker that finds
//     no queued job gets a new child at once, bred from every candidate evaluated so far
//     (Strategy::NextChild). No generation barrier: nobody waits for the slowest evaluation.
//   generational: the next generation is queued when every candidate of the last finished.
// The strategy's state is written in the same transaction as the children it made, so a
// coordinator restarted on the same database (Create) continues every RUNNING or PAUSED search
// exactly where it stood: queued jobs wait, leased jobs keep their lease (a live worker goes
// on heartbeating and reports; a dead one's lease expires and the job is queued again), and
// with a deterministic evaluator and one worker the final population equals that of an
// uninterrupted run.
//
// Reference models: an evolution queues them once its budget is spent and every candidate
// finished (a baseline's window or rank may be the best candidate's mean k), and ends DONE
// when they finished too; a failed reference costs only its comparison. A k-sweep queues the
// dense model first, then one step of random head sets at a time until a k falls behind dense
// (search/k_sweep_plan.h), then its baselines; a k-sweep whose dense model fails fails.
//
// Results are recorded exactly once: a report names (job, attempt), the attempt being the
// lease's epoch; a stale epoch is refused (FailedPrecondition) and never counted, a repeat of
// an accepted report is answered OK again (ReportOutcome::kAlreadyRecorded).
//
// Thread safety: every method may be called from any thread (one mutex guards the store and
// the searches). Times come from options.clock; randomness from each search's seed.
//
// Durability: a method that changes anything answers only once its writes survive a power cut.
// On a store opened with StoreOptions::Durability::kGroup (as `headevo serve` and `run` open
// theirs) that is group commit: the writes are committed under the mutex without an fsync, and
// the answer waits outside it for one fsync shared with every caller writing meanwhile.
#ifndef HEADEVO_SERVER_ENGINE_COORDINATOR_H_
#define HEADEVO_SERVER_ENGINE_COORDINATOR_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "headevo/v1/search_service.pb.h"
#include "search/reference_models.h"
#include "search/search_options.h"
#include "search/strategy.h"
#include "server/engine/activity_counters.h"
#include "server/engine/clock.h"
#include "storage/store.h"

namespace headevo::server {

struct CoordinatorOptions {
  // A lease lasts this long without a heartbeat (workers send one every lease_ms / 3).
  int64_t lease_ms = 60'000;
  // Leases a job gets before its candidate is marked FAILED with the last error.
  int max_attempts = 3;
  // Checkpoints kept per search however it ends (its best candidates'), besides those a
  // running search may still breed from.
  int keep_best_checkpoints = 5;
  // Milliseconds since the Unix epoch; only for lease expiry and event times. Empty: the
  // system clock.
  std::function<int64_t()> clock;
  // A read-only store on the same database (Store::Open with read_only), not owned; it must
  // outlive the coordinator. Queries (WithStore, Summary, ListSummaries, the counts of Stats)
  // then read from their own snapshot without the coordinator's lock, so that a summary of a
  // million candidates (seconds) never holds up a worker's lease. Null: they read through the
  // writer, under the lock (an in-memory database has no second connection).
  storage::Store* reader = nullptr;
  // Monotonic milliseconds for how long WaitForJob and NextEvents wait. Empty: steady_clock.
  // A waiter also wakes at least every 200 ms of real time to read it (and to notice a
  // cancelled call), so a test moving a fake clock sees its deadline pass within that.
  std::function<int64_t()> wait_clock;
};

// One RUNNING or PAUSED search as the metrics endpoint shows it.
struct SearchStats {
  int64_t search_id = 0;
  headevo::v1::SearchState state = headevo::v1::SEARCH_STATE_UNSPECIFIED;
  int64_t planned = 0;  // evaluations the budget allows
  int64_t done = 0;     // candidates evaluated
  int64_t failed = 0;   // candidates failed for good
  int64_t queued = 0;   // jobs waiting for a worker
  int64_t running = 0;  // jobs a worker holds
  bool has_best = false;
  double best_fitness = 0;  // search::Fitness of the best candidate (lower is better)
  double best_val_loss = 0;
  int64_t best_connections = 0;
  // Multi-fidelity (one entry each without [fidelity]): the rungs' budgets in steps, lowest
  // first, and how many candidates finished each (a candidate at rung r finished 0..r).
  std::vector<int> rung_steps;
  std::vector<int64_t> rung_finished;
  int64_t steps_committed = 0;  // training steps of every candidate job created so far
  int64_t budget_steps = 0;     // [search] budget_steps; 0 = no limit
};

// A snapshot of the coordinator for its metrics (server/ops/metrics_exporter.h). Totals count
// since this coordinator started; the rest is the present.
struct CoordinatorStats {
  int64_t jobs_queued = 0;   // over RUNNING and PAUSED searches
  int64_t jobs_running = 0;
  int64_t evaluations_total = 0;     // results recorded
  int64_t failures_total = 0;        // failures workers reported
  int64_t lease_expiries_total = 0;  // leases that ran out (dead or cut-off workers)
  double evaluations_per_second = 0;  // over the last minute
  int64_t live_workers = 0;           // heard from within one lease
  std::vector<SearchStats> searches;  // RUNNING and PAUSED, by id
};

// What a report did, and what it recorded: callers need not read the candidate again.
struct JobReport {
  storage::JobState job_state = storage::JobState::kQueued;  // the job's state afterwards
  bool already_recorded = false;  // the same report again (a retry): nothing changed
  // What the job evaluates, as the database holds it after the report: its candidate, or the
  // reference model it trained. Exactly one is set.
  std::optional<headevo::v1::Candidate> candidate;
  std::optional<headevo::v1::Reference> reference;
};

// A worker's registration as the coordinator answers it.
struct WorkerRegistration {
  int64_t worker_id = 0;
  int64_t lease_ms = 0;
  int64_t heartbeat_interval_ms = 0;
};

class Coordinator {
 public:
  // Takes over `store` (not owned; it must outlive the coordinator): expires nothing, loads
  // every RUNNING or PAUSED search, restores its strategy state, and makes any children that
  // were due when the last coordinator stopped. InvalidArgument for bad options; a stored
  // search whose config no longer parses is marked FAILED with the reason (an event says so)
  // rather than blocking the others.
  static absl::StatusOr<std::unique_ptr<Coordinator>> Create(storage::Store* store,
                                                             CoordinatorOptions options);
  ~Coordinator();

  // --- Searches ------------------------------------------------------------------------------
  // Creates a search from validated options (config_toml is stored as written) and queues its
  // generation 0: `initial_genomes` first (as fresh heads), filled up with samples to
  // population_size; a k-sweep queues its dense model instead (initial genomes are refused).
  // InvalidArgument for options that do not validate, or an initial genome that does not fit
  // the model (the message names genome, head and offset).
  absl::StatusOr<int64_t> CreateSearch(const search::SearchOptions& options,
                                       const std::string& config_toml,
                                       const std::vector<headevo::v1::Genome>& initial_genomes);
  // RUNNING -> PAUSED: no new job of the search is leased; leased ones finish and count.
  // FailedPrecondition for a search that is not RUNNING; NotFound for an unknown id.
  absl::StatusOr<headevo::v1::SearchSummary> Pause(int64_t search_id);
  // PAUSED -> RUNNING. FailedPrecondition for a search that is not PAUSED.
  absl::StatusOr<headevo::v1::SearchSummary> Resume(int64_t search_id);
  // RUNNING or PAUSED -> STOPPED: nothing more is leased or bred; results of jobs still out
  // are recorded. FailedPrecondition for a search already DONE, FAILED or STOPPED.
  absl::StatusOr<headevo::v1::SearchSummary> Stop(int64_t search_id);
  absl::StatusOr<headevo::v1::SearchSummary> Summary(int64_t search_id);
  absl::StatusOr<std::vector<headevo::v1::SearchSummary>> ListSummaries();
  // Deletes a DONE, FAILED or STOPPED search and every row of it (Store::DeleteSearch): its
  // jobs still out (a STOPPED search's) go too, and their workers' reports get NotFound.
  // Returns what went, with the checkpoints no other search names: the caller removes their
  // files (CheckpointStore::Remove). FailedPrecondition while the search is RUNNING or PAUSED
  // (stop it first); NotFound for an unknown id.
  absl::StatusOr<storage::DeletedSearch> DeleteSearch(int64_t search_id);

  // --- Workers and jobs ----------------------------------------------------------------------
  absl::StatusOr<WorkerRegistration> RegisterWorker(const storage::WorkerRecord& worker);
  // A job for the worker, or nullopt when none can be had now. Leases the oldest queued job
  // of a RUNNING search (of `search_id` only, if not 0); when none is queued, breeds a
  // steady-state child and leases it. NotFound for an unknown worker.
  absl::StatusOr<std::optional<storage::Lease>> LeaseJob(int64_t worker_id, int64_t search_id = 0);
  // LeaseJob, waiting up to wait_ms for a job to appear (a long poll). Returns early with
  // nullopt once `cancelled` returns true or Shutdown() was called.
  absl::StatusOr<std::optional<storage::Lease>> WaitForJob(int64_t worker_id, int64_t wait_ms,
                                                           const std::function<bool()>& cancelled);
  // Extends the lease; returns its new expiry. FailedPrecondition for a stale epoch (the
  // worker should drop the job); NotFound for an unknown job.
  absl::StatusOr<int64_t> Heartbeat(int64_t worker_id, int64_t job_id, int attempt, int step,
                                    double train_loss);
  // Records a result (see the class comment). InvalidArgument for a non-finite loss (the one
  // place that rule is checked: report a permanent failure instead), or statistics or growth
  // records that are malformed or do not match the genome (nothing is recorded then).
  absl::StatusOr<JobReport> ReportResult(int64_t worker_id, int64_t job_id, int attempt,
                                         const headevo::v1::EvaluationResult& result);
  // Records a failure; a permanent one (or the last attempt) fails the candidate or reference
  // model, any other queues the job again.
  absl::StatusOr<JobReport> ReportFailure(int64_t worker_id, int64_t job_id, int attempt,
                                          const std::string& error, bool permanent);
  // A worker shutting down hands its job back (queued again, no attempt spent).
  absl::Status ReleaseJob(int64_t worker_id, int64_t job_id, int attempt,
                          const std::string& reason);
  // Queues again (or fails, attempts spent) every job whose lease has run out. The server
  // calls it about once a second.
  absl::Status ExpireLeases();

  // --- Events --------------------------------------------------------------------------------
  // Events of the search with id > after_id: stored ones from the database, then live ones as
  // they happen (candidate started/finished carry id 0: they are streamed, not stored). Blocks
  // up to wait_ms for the first new event. `cursor` carries the live position between calls
  // (start with 0). NotFound for an unknown search.
  struct EventCursor {
    int64_t stored_after = 0;   // last stored event id seen
    uint64_t live_after = 0;    // last live sequence number seen
    bool replayed = false;
  };
  absl::StatusOr<std::vector<headevo::v1::SearchEvent>> NextEvents(int64_t search_id,
                                                                    EventCursor& cursor,
                                                                    int64_t wait_ms);
  // True when the search will change no more (DONE, FAILED, STOPPED with no job out).
  absl::StatusOr<bool> Finished(int64_t search_id);

  // --- Metrics -------------------------------------------------------------------------------
  absl::StatusOr<CoordinatorStats> Stats();

  // --- Checkpoints ---------------------------------------------------------------------------
  // The checkpoints to keep: those queued jobs start from, those of candidates a RUNNING or
  // PAUSED search may still select as parents, and the best keep_best_checkpoints of every
  // search. Everything else may be collected.
  absl::StatusOr<std::vector<std::string>> CheckpointsToKeep();

  // Runs `read` on the store (queries for the SearchService and the dashboard): on the reader
  // when there is one, serialised with other reads only; else on the writer under the
  // coordinator's lock. Either way it sees every change already answered.
  template <typename Read>
  auto WithStore(Read read) {
    if (options_.reader != nullptr) {
      std::lock_guard<std::mutex> lock(reader_mu_);
      return read(*options_.reader);
    }
    std::lock_guard<std::mutex> lock(mu_);
    return read(*store_);
  }

  // Wakes every waiter (WaitForJob, NextEvents) and makes them return: the server is going.
  void Shutdown();

 private:
  struct ActiveSearch;
  struct LiveEvent {
    uint64_t seq = 0;
    headevo::v1::SearchEvent event;
  };

  Coordinator(storage::Store* store, CoordinatorOptions options);

  // Group commit: runs `locked` with mu_ held, then, with mu_ released (so others go on
  // writing into the next group), waits until every write made so far survives a power cut
  // (Store::WaitDurable) before the answer may go out. A failed sync replaces the answer: the
  // caller retries, and the exactly-once rules make a retry safe.
  template <typename Locked>
  auto Durably(Locked locked) -> decltype(locked()) {
    uint64_t ticket = 0;
    decltype(locked()) answer = [&] {
      std::lock_guard<std::mutex> lock(mu_);
      decltype(locked()) locked_answer = locked();
      ticket = store_->CommitTicket();
      return locked_answer;
    }();
    if (absl::Status synced = store_->WaitDurable(ticket); !synced.ok()) return synced;
    return answer;
  }

  // Everything below runs with mu_ held.
  absl::Status LoadSearch(const storage::SearchRecord& record);
  // Queues the candidates with one job each and the strategy's state, in one transaction, and
  // adds them to the search's population.
  absl::Status Enqueue(ActiveSearch& search, std::vector<headevo::v1::Candidate> candidates);
  // Queues the reference models with one job each and adds them to the search.
  absl::Status EnqueueReferences(ActiveSearch& search, std::vector<search::ReferencePlan> plans);
  // Queues what the search needs next, or ends it (see the class comment). Idempotent: it
  // reads where the search stands from its population and references, so a restarted
  // coordinator continues with it.
  absl::Status Advance(ActiveSearch& search);
  // Advance for an evolution: generations, then the baselines; fails the search when all of
  // generation 0 failed.
  absl::Status AdvanceEvolution(ActiveSearch& search);
  // Advance for a k-sweep: dense, the steps, then the baselines.
  absl::Status AdvanceKSweep(ActiveSearch& search);
  // Once the candidates are done: queues the baselines not yet queued, and ends the search
  // DONE when every reference model finished.
  absl::Status FinishWithBaselines(ActiveSearch& search, const std::string& done_message);
  // Steady state: breeds and queues one child of a RUNNING search; false when it cannot yet.
  absl::StatusOr<bool> BreedChild(ActiveSearch& search);
  // Multi-fidelity: queues the promotion ASHA's rule picks (search/fidelity.h), if any and if
  // the budget allows; false when there is none.
  absl::StatusOr<bool> Promote(ActiveSearch& search);
  // Makes `candidate` the search's best if it ranks above the current one (a higher rung,
  // then fitness), with a new_best event.
  void NoteIfBest(ActiveSearch& search, const headevo::v1::Candidate& candidate);
  // The multi-fidelity state of a loaded search, from its jobs: open and failed promotions,
  // the steps committed.
  absl::Status LoadJobsState(ActiveSearch& search);
  // Re-reads what a finished job evaluated, updates the search (population, best, references)
  // and the events, advances the search, and says what was recorded.
  absl::StatusOr<JobReport> OnJobFinished(const storage::JobRecord& job);
  absl::StatusOr<headevo::v1::Candidate> OnCandidateFinished(int64_t candidate_id);
  absl::StatusOr<headevo::v1::Reference> OnReferenceFinished(const storage::JobRecord& job);
  absl::StatusOr<headevo::v1::Candidate> OnPromotionFinished(const storage::JobRecord& job);
  // What a job evaluates, as stored now (for a report that changed nothing).
  absl::StatusOr<JobReport> DescribeJob(const storage::JobRecord& job);
  // Whether the search already holds the job's end (its candidate or reference finished).
  bool AppliedToSearch(const storage::JobRecord& job);
  // The candidate or reference model of a job queued again shows PENDING.
  void MarkPending(const storage::JobRecord& job);
  // Pause and Resume: `from` -> `to`, or FailedPrecondition naming the state it is in.
  absl::StatusOr<headevo::v1::SearchSummary> Transition(int64_t search_id,
                                                        headevo::v1::SearchState from,
                                                        headevo::v1::SearchState to,
                                                        const std::string& event_kind,
                                                        const std::string& message);
  absl::Status EndSearch(ActiveSearch& search, headevo::v1::SearchState state,
                         const std::string& why);
  absl::StatusOr<headevo::v1::SearchSummary> SummaryLocked(int64_t search_id);
  // Stores the event (when `persist`) and streams it to watchers.
  void Publish(int64_t search_id, const std::string& kind, const std::string& message,
               bool persist);
  ActiveSearch* Find(int64_t search_id);
  absl::StatusOr<int64_t> SearchOfJob(int64_t job_id);
  // NotFound unless the worker is registered (in the store, so it survives a restart).
  absl::Status RequireWorker(int64_t worker_id);
  // The job a report names. NotFound for an unknown worker or job; FailedPrecondition when
  // that attempt was leased to another worker.
  absl::StatusOr<storage::JobRecord> JobReportedBy(int64_t worker_id, int64_t job_id,
                                                   int attempt);

  storage::Store* store_;
  CoordinatorOptions options_;
  std::mutex mu_;
  std::mutex reader_mu_;  // options_.reader is one connection: one read at a time
  std::condition_variable work_cv_;   // a job may be available
  std::condition_variable event_cv_;  // an event was published
  bool shutting_down_ = false;
  std::map<int64_t, std::unique_ptr<ActiveSearch>> searches_;  // RUNNING and PAUSED, by id
  std::map<int64_t, int64_t> search_of_job_;  // cache: job id -> search id
  std::deque<LiveEvent> live_events_;  // the newest, bounded
  uint64_t live_seq_ = 0;
  ActivityCounters activity_;
};

// The seed of the ordinal-th candidate's training: independent of database ids, so a search
// replayed into another database trains every candidate identically.
uint64_t CandidateTrainingSeed(uint64_t search_seed, int64_t ordinal);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_ENGINE_COORDINATOR_H_
