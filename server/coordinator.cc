#include "server/coordinator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "search/random.h"
#include "search/reproduction.h"
#include "search/selection.h"
#include "server/request_checks.h"
#include "server/search_config.h"
#include "server/search_queries.h"

namespace headevo::server {
namespace {

using headevo::v1::Candidate;
using headevo::v1::SearchState;

// Live events kept for watchers that fall behind; older ones are only in the database (or, for
// candidate events, gone: they are progress, not history).
constexpr size_t kMaxLiveEvents = 10'000;

bool IsFinished(const Candidate& c) {
  return c.state() == headevo::v1::CANDIDATE_STATE_DONE ||
         c.state() == headevo::v1::CANDIDATE_STATE_FAILED;
}

std::string StateWord(SearchState state) {
  switch (state) {
    case headevo::v1::SEARCH_STATE_RUNNING: return "running";
    case headevo::v1::SEARCH_STATE_PAUSED: return "paused";
    case headevo::v1::SEARCH_STATE_DONE: return "done";
    case headevo::v1::SEARCH_STATE_FAILED: return "failed";
    case headevo::v1::SEARCH_STATE_STOPPED: return "stopped";
    default: return "unknown";
  }
}

// An initial genome as fresh heads of generation 0: ids cleared, origin INITIAL.
absl::StatusOr<headevo::v1::Genome> FreshGenome(const headevo::v1::Genome& given, int index,
                                                const search::SearchOptions& options) {
  const auto& model = options.training.model();
  headevo::v1::Genome genome = given;
  if (genome.num_layers() == 0) genome.set_num_layers(model.num_layers());
  if (genome.num_layers() != model.num_layers()) {
    return absl::InvalidArgumentError(absl::StrCat("initial genome ", index, " has ",
                                                   genome.num_layers(), " layers; the model has ",
                                                   model.num_layers()));
  }
  std::vector<int> heads_per_layer(model.num_layers(), 0);
  for (int h = 0; h < genome.heads_size(); ++h) {
    headevo::v1::Head& head = *genome.mutable_heads(h);
    if (head.layer() < 0 || head.layer() >= model.num_layers()) {
      return absl::InvalidArgumentError(absl::StrCat("initial genome ", index, " head ", h,
                                                     ": layer ", head.layer(), " is outside [0, ",
                                                     model.num_layers(), ")"));
    }
    ++heads_per_layer[head.layer()];
    const auto& offsets = head.offsets().offsets();
    if (offsets.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("initial genome ", index, " head ", h, " has no offsets"));
    }
    for (int i = 0; i < offsets.size(); ++i) {
      const int32_t offset = offsets[i];
      if (std::abs(static_cast<int64_t>(offset)) >= model.seq_len() ||
          (model.causal() && offset > 0) || (i > 0 && offset <= offsets[i - 1])) {
        return absl::InvalidArgumentError(absl::StrCat(
            "initial genome ", index, " head ", h, ": offset ", offset,
            " is out of range or out of order (offsets must be sorted, unique, |offset| < "
            "seq_len ",
            model.seq_len(), model.causal() ? ", and <= 0 in a causal model)" : ")"));
      }
    }
    head.set_id(0);
    head.set_origin(headevo::v1::HEAD_ORIGIN_INITIAL);
    head.set_source_head_id(0);
  }
  for (int layer = 0; layer < model.num_layers(); ++layer) {
    if (heads_per_layer[layer] == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("initial genome ", index, " has no head in layer ", layer));
    }
  }
  return genome;
}

}  // namespace

uint64_t CandidateTrainingSeed(uint64_t search_seed, int64_t ordinal) {
  return search::DeriveSeed(search_seed, static_cast<uint64_t>(ordinal));
}

int64_t SystemClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Coordinator::ActiveSearch {
  ActiveSearch(int64_t search_id, SearchState search_state, search::SearchOptions search_options)
      : id(search_id),
        state(search_state),
        options(std::move(search_options)),
        strategy(options) {}

  int64_t id;
  SearchState state;
  search::SearchOptions options;
  search::Strategy strategy;
  std::vector<Candidate> population;  // every candidate, in creation order
  std::map<int64_t, size_t> index;    // candidate id -> position in population
  int64_t best_id = 0;                // the fittest DONE candidate so far

  int64_t planned() const {
    return options.PlannedEvaluations();
  }
  bool steady() const { return options.schedule == search::Schedule::kSteadyState; }
};

Coordinator::Coordinator(storage::Store* store, CoordinatorOptions options)
    : store_(store), options_(std::move(options)) {}

Coordinator::~Coordinator() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Coordinator>> Coordinator::Create(storage::Store* store,
                                                                 CoordinatorOptions options) {
  if (options.lease_ms <= 0 || options.max_attempts < 1 || options.keep_best_checkpoints < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "coordinator options: lease_ms ", options.lease_ms, " must be > 0, max_attempts ",
        options.max_attempts, " >= 1, keep_best_checkpoints ", options.keep_best_checkpoints,
        " >= 0"));
  }
  if (!options.clock) options.clock = SystemClockMs;
  std::unique_ptr<Coordinator> coordinator(new Coordinator(store, std::move(options)));
  std::lock_guard<std::mutex> lock(coordinator->mu_);
  absl::StatusOr<std::vector<storage::SearchRecord>> searches = store->ListSearches();
  if (!searches.ok()) return searches.status();
  for (const storage::SearchRecord& record : *searches) {
    if (record.state != headevo::v1::SEARCH_STATE_RUNNING &&
        record.state != headevo::v1::SEARCH_STATE_PAUSED) {
      continue;
    }
    if (absl::Status s = coordinator->LoadSearch(record); !s.ok()) return s;
  }
  return coordinator;
}

absl::Status Coordinator::LoadSearch(const storage::SearchRecord& record) {
  absl::StatusOr<search::SearchOptions> options =
      ParseSearchConfig(record.config_toml, absl::StrCat("search ", record.id, " config"));
  if (!options.ok() || options->mode != search::SearchMode::kEvolve) {
    const std::string why =
        options.ok() ? "a k-sweep cannot be resumed by a coordinator"
                     : absl::StrCat("its stored config no longer parses: ",
                                    options.status().message());
    if (absl::Status s = store_->SetSearchState(record.id, headevo::v1::SEARCH_STATE_FAILED);
        !s.ok()) {
      return s;
    }
    Publish(record.id, "search_failed", absl::StrCat("search ", record.id, " failed: ", why),
            /*persist=*/true);
    return absl::OkStatus();
  }
  auto search = std::make_unique<ActiveSearch>(record.id, record.state, *std::move(options));
  absl::StatusOr<std::optional<headevo::v1::StrategyState>> state =
      store_->LoadStrategyState(record.id);
  if (!state.ok()) return state.status();
  if (state->has_value()) {
    if (absl::Status s = search->strategy.RestoreState(**state); !s.ok()) {
      return absl::DataLossError(
          absl::StrCat("search ", record.id, ": stored strategy state: ", s.message()));
    }
  }
  absl::StatusOr<std::vector<Candidate>> population = store_->ListCandidates(record.id);
  if (!population.ok()) return population.status();
  search->population = *std::move(population);
  for (size_t i = 0; i < search->population.size(); ++i) {
    search->index[search->population[i].id()] = i;
  }
  const auto best = search::RankByFitness(search->population, search->options.selection, 1);
  if (!best.empty()) search->best_id = best.front()->id();

  ActiveSearch& active = *search;
  searches_[record.id] = std::move(search);
  if (active.population.empty()) {
    // Created but stopped before generation 0 was written: write it now.
    std::vector<Candidate> generation;
    for (headevo::v1::Genome& genome : active.strategy.InitialGenomes()) {
      Candidate& c = generation.emplace_back();
      c.set_search_id(active.id);
      *c.mutable_genome() = std::move(genome);
      c.mutable_mutation()->set_description("initial: uniform sample");
    }
    if (absl::Status s = Enqueue(active, std::move(generation)); !s.ok()) return s;
  }
  return Advance(active);
}

absl::StatusOr<int64_t> Coordinator::CreateSearch(
    const search::SearchOptions& options, const std::string& config_toml,
    const std::vector<headevo::v1::Genome>& initial_genomes) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  if (options.mode != search::SearchMode::kEvolve) {
    return absl::InvalidArgumentError(
        "search.mode = \"k_sweep\" runs only in this process: use `headevo run CONFIG`");
  }
  if (static_cast<int>(initial_genomes.size()) > options.population_size) {
    return absl::InvalidArgumentError(absl::StrCat(initial_genomes.size(),
                                                   " initial genomes, but the population is ",
                                                   options.population_size));
  }
  std::vector<headevo::v1::Genome> given;
  for (size_t i = 0; i < initial_genomes.size(); ++i) {
    absl::StatusOr<headevo::v1::Genome> genome =
        FreshGenome(initial_genomes[i], static_cast<int>(i), options);
    if (!genome.ok()) return genome.status();
    given.push_back(*std::move(genome));
  }

  std::lock_guard<std::mutex> lock(mu_);
  storage::SearchRecord record;
  record.name = options.name;
  record.config_toml = config_toml;
  record.seed = options.seed;
  record.created_ms = options_.clock();
  absl::StatusOr<int64_t> id = store_->CreateSearch(record);
  if (!id.ok()) return id.status();
  auto created = std::make_unique<ActiveSearch>(*id, headevo::v1::SEARCH_STATE_RUNNING, options);
  ActiveSearch& search = *created;
  searches_[*id] = std::move(created);

  // The sampled genomes are drawn whatever was given, so a given genome replaces a sample
  // without shifting the random stream of the rest.
  std::vector<headevo::v1::Genome> sampled = search.strategy.InitialGenomes();
  std::vector<Candidate> generation;
  for (int i = 0; i < options.population_size; ++i) {
    Candidate& c = generation.emplace_back();
    c.set_search_id(*id);
    if (i < static_cast<int>(given.size())) {
      *c.mutable_genome() = given[i];
      c.mutable_mutation()->set_description("initial: given genome");
    } else {
      *c.mutable_genome() = std::move(sampled[i]);
      c.mutable_mutation()->set_description("initial: uniform sample");
    }
  }
  Publish(*id, "search_started",
          absl::StrCat("search ", *id, " '", options.name, "' (seed ", options.seed, ", ",
                       search::ScheduleName(options.schedule), ", ", search.planned(),
                       " evaluations) started"),
          /*persist=*/true);
  if (absl::Status s = Enqueue(search, std::move(generation)); !s.ok()) {
    // Nothing was queued: the search cannot run. Say so in the database rather than leave a
    // RUNNING search without candidates.
    (void)store_->SetSearchState(*id, headevo::v1::SEARCH_STATE_FAILED);
    searches_.erase(*id);
    return s;
  }
  return *id;
}

absl::Status Coordinator::Enqueue(ActiveSearch& search, std::vector<Candidate> candidates) {
  if (candidates.empty()) return absl::OkStatus();
  std::vector<storage::NewJob> jobs;
  for (size_t i = 0; i < candidates.size(); ++i) {
    storage::NewJob& job = jobs.emplace_back();
    job.training = search.options.training;
    job.training.set_seed(CandidateTrainingSeed(
        search.options.seed, static_cast<int64_t>(search.population.size() + i)));
    job.max_attempts = options_.max_attempts;
    const int64_t parent_id = candidates[i].parent_id();
    if (search.options.inherit_weights && parent_id != 0) {
      auto parent = search.index.find(parent_id);
      if (parent != search.index.end()) {
        job.parent_checkpoint_sha256 = search.population[parent->second].checkpoint_sha256();
      }
    }
  }
  const headevo::v1::StrategyState state = search.strategy.SaveState();
  absl::StatusOr<std::vector<Candidate>> stored =
      store_->InsertCandidatesWithJobs(candidates, jobs, options_.clock(), &state);
  if (!stored.ok()) return stored.status();
  for (Candidate& c : *stored) {
    search.index[c.id()] = search.population.size();
    search.population.push_back(std::move(c));
  }
  work_cv_.notify_all();
  return absl::OkStatus();
}

absl::StatusOr<bool> Coordinator::BreedChild(ActiveSearch& search) {
  if (!search.steady() || search.state != headevo::v1::SEARCH_STATE_RUNNING ||
      static_cast<int64_t>(search.population.size()) >= search.planned()) {
    return false;
  }
  const bool any_done = std::any_of(search.population.begin(), search.population.end(),
                                    [](const Candidate& c) {
                                      return c.state() == headevo::v1::CANDIDATE_STATE_DONE;
                                    });
  if (!any_done) return false;  // nothing to breed from yet
  absl::StatusOr<search::ChildPlan> plan = search.strategy.NextChild(search.population);
  if (!plan.ok()) return plan.status();
  Candidate child;
  child.set_search_id(search.id);
  child.set_parent_id(plan->parent_id);
  child.set_generation(search.population[search.index.at(plan->parent_id)].generation() + 1);
  *child.mutable_genome() = std::move(plan->genome);
  *child.mutable_mutation() = std::move(plan->mutation);
  std::vector<Candidate> one;
  one.push_back(std::move(child));
  if (absl::Status s = Enqueue(search, std::move(one)); !s.ok()) return s;
  return true;
}

absl::Status Coordinator::Advance(ActiveSearch& search) {
  if (search.state != headevo::v1::SEARCH_STATE_RUNNING) return absl::OkStatus();
  const auto& population = search.population;
  const int64_t finished = std::count_if(population.begin(), population.end(), IsFinished);
  const int64_t done = std::count_if(population.begin(), population.end(), [](const Candidate& c) {
    return c.state() == headevo::v1::CANDIDATE_STATE_DONE;
  });
  const int population_size = search.options.population_size;
  // Generation 0 is the first population_size candidates in both schedules.
  const bool initial_finished =
      static_cast<int64_t>(population.size()) >= population_size &&
      std::all_of(population.begin(), population.begin() + population_size, IsFinished);
  if (initial_finished && done == 0) {
    return EndSearch(search, headevo::v1::SEARCH_STATE_FAILED,
                     absl::StrCat("every candidate of generation 0 failed; last error: ",
                                  population[population_size - 1].error()));
  }
  const bool all_finished = finished == static_cast<int64_t>(population.size());
  const int generation = search.strategy.generation();
  if (!search.steady() && all_finished) {
    Publish(search.id, "generation_done",
            absl::StrCat("generation ", generation, " done: ", finished, " evaluated, ",
                         finished - done, " failed in all"),
            /*persist=*/true);
  }
  if (all_finished && static_cast<int64_t>(population.size()) >= search.planned()) {
    const Candidate& best = population[search.index.at(search.best_id)];
    return EndSearch(search, headevo::v1::SEARCH_STATE_DONE,
                     absl::StrCat("search done: ", done, " evaluated, ", finished - done,
                                  " failed; best candidate ", best.id(), " (val_loss ",
                                  best.metrics().val_loss(), ", ", best.metrics().connections(),
                                  " connections)"));
  }
  if (search.steady() || !all_finished) return absl::OkStatus();
  // Generational, and the last generation is finished: breed the next.
  absl::StatusOr<std::vector<search::ChildPlan>> plans =
      search.strategy.NextGeneration(search.population);
  if (!plans.ok()) return plans.status();
  std::vector<Candidate> children;
  for (search::ChildPlan& plan : *plans) {
    Candidate& child = children.emplace_back();
    child.set_search_id(search.id);
    child.set_generation(generation + 1);
    child.set_parent_id(plan.parent_id);
    *child.mutable_genome() = std::move(plan.genome);
    *child.mutable_mutation() = std::move(plan.mutation);
  }
  return Enqueue(search, std::move(children));
}

absl::Status Coordinator::EndSearch(ActiveSearch& search, SearchState state,
                                    const std::string& why) {
  if (absl::Status s = store_->SetSearchState(search.id, state); !s.ok()) return s;
  search.state = state;
  Publish(search.id, state == headevo::v1::SEARCH_STATE_DONE ? "search_done" : "search_failed",
          why, /*persist=*/true);
  searches_.erase(search.id);  // `search` is gone from here on
  work_cv_.notify_all();
  return absl::OkStatus();
}

Coordinator::ActiveSearch* Coordinator::Find(int64_t search_id) {
  auto it = searches_.find(search_id);
  return it == searches_.end() ? nullptr : it->second.get();
}

absl::StatusOr<headevo::v1::SearchSummary> Coordinator::Pause(int64_t search_id) {
  return Transition(search_id, headevo::v1::SEARCH_STATE_RUNNING,
                    headevo::v1::SEARCH_STATE_PAUSED, "search_paused",
                    absl::StrCat("search ", search_id,
                                 " paused: jobs already leased finish and count"));
}

absl::StatusOr<headevo::v1::SearchSummary> Coordinator::Resume(int64_t search_id) {
  return Transition(search_id, headevo::v1::SEARCH_STATE_PAUSED,
                    headevo::v1::SEARCH_STATE_RUNNING, "search_resumed",
                    absl::StrCat("search ", search_id, " resumed"));
}

absl::StatusOr<headevo::v1::SearchSummary> Coordinator::Transition(
    int64_t search_id, SearchState from, SearchState to, const std::string& event_kind,
    const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  ActiveSearch* search = Find(search_id);
  if (search == nullptr || search->state != from) {
    absl::StatusOr<headevo::v1::SearchSummary> summary = SummaryLocked(search_id);
    if (!summary.ok()) return summary.status();
    return absl::FailedPreconditionError(
        absl::StrCat("search ", search_id, " is ", StateWord(summary->state()), ", not ",
                     StateWord(from), ": it cannot become ", StateWord(to)));
  }
  if (absl::Status s = store_->SetSearchState(search_id, to); !s.ok()) return s;
  search->state = to;
  Publish(search_id, event_kind, message, /*persist=*/true);
  if (absl::Status s = Advance(*search); !s.ok()) return s;
  work_cv_.notify_all();
  return SummaryLocked(search_id);
}

absl::StatusOr<headevo::v1::SearchSummary> Coordinator::Stop(int64_t search_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ActiveSearch* search = Find(search_id);
  if (search == nullptr) {
    absl::StatusOr<headevo::v1::SearchSummary> summary = SummaryLocked(search_id);
    if (!summary.ok()) return summary.status();
    return absl::FailedPreconditionError(absl::StrCat("search ", search_id, " is already ",
                                                      StateWord(summary->state())));
  }
  if (absl::Status s = store_->SetSearchState(search_id, headevo::v1::SEARCH_STATE_STOPPED);
      !s.ok()) {
    return s;
  }
  searches_.erase(search_id);
  Publish(search_id, "search_stopped",
          absl::StrCat("search ", search_id,
                       " stopped by request: nothing more is bred; results of jobs still out "
                       "are recorded"),
          /*persist=*/true);
  return SummaryLocked(search_id);
}

absl::StatusOr<headevo::v1::SearchSummary> Coordinator::Summary(int64_t search_id) {
  std::lock_guard<std::mutex> lock(mu_);
  return SummaryLocked(search_id);
}

absl::StatusOr<std::vector<headevo::v1::SearchSummary>> Coordinator::ListSummaries() {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<std::vector<storage::SearchRecord>> records = store_->ListSearches();
  if (!records.ok()) return records.status();
  std::vector<headevo::v1::SearchSummary> summaries;
  for (const storage::SearchRecord& record : *records) {
    absl::StatusOr<headevo::v1::SearchSummary> summary = SummaryLocked(record.id);
    if (!summary.ok()) return summary.status();
    summaries.push_back(*std::move(summary));
  }
  return summaries;
}

absl::StatusOr<headevo::v1::SearchSummary> Coordinator::SummaryLocked(int64_t search_id) {
  return QuerySummary(*store_, search_id);
}

absl::StatusOr<WorkerRegistration> Coordinator::RegisterWorker(
    const storage::WorkerRecord& worker) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<int64_t> id = store_->RegisterWorker(worker, options_.clock());
  if (!id.ok()) return id.status();
  activity_.WorkerSeen(*id, options_.clock());
  WorkerRegistration registration;
  registration.worker_id = *id;
  registration.lease_ms = options_.lease_ms;
  // Three chances to renew before the lease runs out.
  registration.heartbeat_interval_ms = std::max<int64_t>(1, options_.lease_ms / 3);
  return registration;
}

absl::StatusOr<std::optional<storage::Lease>> Coordinator::LeaseJob(int64_t worker_id,
                                                                    int64_t search_id) {
  std::lock_guard<std::mutex> lock(mu_);
  storage::LeaseOptions lease_options;
  lease_options.worker_id = worker_id;
  lease_options.lease_ms = options_.lease_ms;
  lease_options.search_id = search_id;
  for (int round = 0; round < 2; ++round) {
    lease_options.now_ms = options_.clock();
    absl::StatusOr<std::optional<storage::Lease>> lease = store_->LeaseJob(lease_options);
    // Counted live only once the store knows the worker: garbage ids must not look alive.
    if (lease.ok()) activity_.WorkerSeen(worker_id, lease_options.now_ms);
    if (!lease.ok() || lease->has_value() || round == 1) {
      if (lease.ok() && lease->has_value()) {
        const storage::Lease& leased = **lease;
        absl::StatusOr<int64_t> owner = SearchOfJob(leased.job_id);
        if (!owner.ok()) return owner.status();
        if (ActiveSearch* search = Find(*owner)) {
          auto it = search->index.find(leased.request.candidate_id());
          if (it != search->index.end()) {
            search->population[it->second].set_state(headevo::v1::CANDIDATE_STATE_RUNNING);
          }
        }
        Publish(*owner, "candidate_started",
                absl::StrCat("candidate ", leased.request.candidate_id(), " leased to worker ",
                             worker_id, " (job ", leased.job_id, " attempt ", leased.attempt, ")"),
                /*persist=*/false);
      }
      return lease;
    }
    // Nothing queued: breed a steady-state child of the oldest running search that can.
    bool bred = false;
    for (auto& [id, search] : searches_) {
      if (search_id != 0 && id != search_id) continue;
      absl::StatusOr<bool> made = BreedChild(*search);
      if (!made.ok()) return made.status();
      if (*made) {
        bred = true;
        break;
      }
    }
    if (!bred) return std::optional<storage::Lease>();
  }
  return std::optional<storage::Lease>();
}

absl::StatusOr<std::optional<storage::Lease>> Coordinator::WaitForJob(
    int64_t worker_id, int64_t wait_ms, const std::function<bool()>& cancelled) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    absl::StatusOr<std::optional<storage::Lease>> lease = LeaseJob(worker_id);
    if (!lease.ok() || lease->has_value()) return lease;
    std::unique_lock<std::mutex> lock(mu_);
    if (shutting_down_ || (cancelled && cancelled()) ||
        std::chrono::steady_clock::now() >= deadline) {
      return std::optional<storage::Lease>();
    }
    // Wake on news, and at least every 200 ms to notice a cancelled call.
    work_cv_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                     std::chrono::milliseconds(200)));
  }
}

absl::StatusOr<int64_t> Coordinator::SearchOfJob(int64_t job_id) {
  auto cached = search_of_job_.find(job_id);
  if (cached != search_of_job_.end()) return cached->second;
  absl::StatusOr<storage::JobRecord> job = store_->GetJob(job_id);
  if (!job.ok()) return job.status();
  // Bounded: a job id is looked up while it is out, and finished jobs are dropped below.
  search_of_job_[job_id] = job->search_id;
  return job->search_id;
}

absl::StatusOr<storage::JobRecord> Coordinator::JobReportedBy(int64_t worker_id, int64_t job_id,
                                                              int attempt) {
  absl::StatusOr<storage::JobRecord> job = store_->GetJob(job_id);
  if (!job.ok()) return job.status();
  if (job->worker_id != worker_id && job->state == storage::JobState::kLeased &&
      job->attempt == attempt) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " attempt ", attempt,
                                                      " is leased to worker ", job->worker_id,
                                                      ", not worker ", worker_id));
  }
  return job;
}

absl::StatusOr<int64_t> Coordinator::Heartbeat(int64_t worker_id, int64_t job_id, int attempt,
                                               int /*step*/, double /*train_loss*/) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = options_.clock();
  activity_.WorkerSeen(worker_id, now);
  if (absl::Status s = store_->Heartbeat(job_id, attempt, worker_id, now, options_.lease_ms);
      !s.ok()) {
    return s;
  }
  return now + options_.lease_ms;
}

absl::StatusOr<storage::ReportOutcome> Coordinator::ReportResult(
    int64_t worker_id, int64_t job_id, int attempt, const headevo::v1::EvaluationResult& result) {
  const headevo::v1::Metrics& m = result.metrics();
  if (!std::isfinite(m.val_loss()) || !std::isfinite(m.train_loss())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "job ", job_id, " attempt ", attempt, ": result has a non-finite loss (train ",
        m.train_loss(), ", val ", m.val_loss(), "); report it as a permanent failure"));
  }
  // The gRPC service checked this already; the embedded worker's results come straight here.
  if (absl::Status s = CheckGrowthRecords(result); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("job ", job_id, " attempt ", attempt, ": ", s.message()));
  }
  std::lock_guard<std::mutex> lock(mu_);
  activity_.WorkerSeen(worker_id, options_.clock());
  absl::StatusOr<storage::JobRecord> job = JobReportedBy(worker_id, job_id, attempt);
  if (!job.ok()) return job.status();
  absl::StatusOr<storage::ReportOutcome> outcome =
      store_->CompleteJob(job_id, attempt, result, options_.clock());
  if (!outcome.ok()) return outcome.status();
  if (*outcome == storage::ReportOutcome::kRecorded) {
    activity_.ResultRecorded(options_.clock());
    search_of_job_.erase(job_id);
    if (absl::Status s = OnCandidateFinished(job->candidate_id); !s.ok()) return s;
  }
  return outcome;
}

absl::StatusOr<storage::JobState> Coordinator::ReportFailure(int64_t worker_id, int64_t job_id,
                                                             int attempt, const std::string& error,
                                                             bool permanent) {
  std::lock_guard<std::mutex> lock(mu_);
  activity_.WorkerSeen(worker_id, options_.clock());
  absl::StatusOr<storage::JobRecord> job = JobReportedBy(worker_id, job_id, attempt);
  if (!job.ok()) return job.status();
  absl::StatusOr<storage::JobState> state =
      store_->FailJob(job_id, attempt, error, permanent, options_.clock());
  if (!state.ok()) return state.status();
  activity_.FailureReported();
  if (*state == storage::JobState::kFailed) {
    search_of_job_.erase(job_id);
    if (absl::Status s = OnCandidateFinished(job->candidate_id); !s.ok()) return s;
  } else {
    if (ActiveSearch* search = Find(job->search_id)) {
      auto it = search->index.find(job->candidate_id);
      if (it != search->index.end()) {
        search->population[it->second].set_state(headevo::v1::CANDIDATE_STATE_PENDING);
      }
    }
    work_cv_.notify_all();
  }
  return state;
}

absl::Status Coordinator::ReleaseJob(int64_t worker_id, int64_t job_id, int attempt,
                                     const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  activity_.WorkerSeen(worker_id, options_.clock());
  if (absl::Status s = store_->ReleaseJob(job_id, attempt, worker_id, reason, options_.clock());
      !s.ok()) {
    return s;
  }
  absl::StatusOr<storage::JobRecord> job = store_->GetJob(job_id);
  if (!job.ok()) return job.status();
  if (ActiveSearch* search = Find(job->search_id)) {
    auto it = search->index.find(job->candidate_id);
    if (it != search->index.end()) {
      search->population[it->second].set_state(headevo::v1::CANDIDATE_STATE_PENDING);
    }
  }
  work_cv_.notify_all();
  return absl::OkStatus();
}

absl::Status Coordinator::ExpireLeases() {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<std::vector<storage::JobRecord>> expired = store_->ExpireLeases(options_.clock());
  if (!expired.ok()) return expired.status();
  activity_.LeasesExpired(static_cast<int64_t>(expired->size()));
  for (const storage::JobRecord& job : *expired) {
    Publish(job.search_id, "lease_expired",
            absl::StrCat("job ", job.id, " of candidate ", job.candidate_id, ": ", job.last_error,
                         job.state == storage::JobState::kFailed ? "; attempts spent, failed"
                                                                 : "; queued again"),
            /*persist=*/true);
    if (job.state == storage::JobState::kFailed) {
      search_of_job_.erase(job.id);
      if (absl::Status s = OnCandidateFinished(job.candidate_id); !s.ok()) return s;
    } else if (ActiveSearch* search = Find(job.search_id)) {
      auto it = search->index.find(job.candidate_id);
      if (it != search->index.end()) {
        search->population[it->second].set_state(headevo::v1::CANDIDATE_STATE_PENDING);
      }
    }
  }
  if (!expired->empty()) work_cv_.notify_all();
  return absl::OkStatus();
}

absl::StatusOr<CoordinatorStats> Coordinator::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = options_.clock();
  CoordinatorStats stats;
  stats.evaluations_total = activity_.results_total();
  stats.failures_total = activity_.failures_total();
  stats.lease_expiries_total = activity_.lease_expiries_total();
  stats.evaluations_per_second = activity_.ResultsPerSecond(now);
  stats.live_workers = activity_.LiveWorkers(now, options_.lease_ms);
  for (const auto& [id, search] : searches_) {
    absl::StatusOr<storage::SearchCounts> counts = store_->CountSearch(id);
    if (!counts.ok()) return counts.status();
    SearchStats entry;
    entry.search_id = id;
    entry.state = search->state;
    entry.planned = search->planned();
    entry.done = counts->done;
    entry.failed = counts->failed;
    entry.queued = counts->queued;
    entry.running = counts->leased;
    if (search->best_id != 0) {
      const Candidate& best = search->population[search->index.at(search->best_id)];
      entry.has_best = true;
      entry.best_fitness = search::Fitness(best, search->options.selection);
      entry.best_val_loss = best.metrics().val_loss();
      entry.best_connections = best.metrics().connections();
    }
    stats.jobs_queued += entry.queued;
    stats.jobs_running += entry.running;
    stats.searches.push_back(entry);
  }
  return stats;
}

absl::Status Coordinator::OnCandidateFinished(int64_t candidate_id) {
  absl::StatusOr<Candidate> stored = store_->GetCandidate(candidate_id);
  if (!stored.ok()) return stored.status();
  const bool done = stored->state() == headevo::v1::CANDIDATE_STATE_DONE;
  Publish(stored->search_id(), done ? "candidate_finished" : "candidate_failed",
          done ? absl::StrCat("candidate ", candidate_id, " (generation ", stored->generation(),
                              "): val_loss ", stored->metrics().val_loss(), ", ",
                              stored->metrics().connections(), " connections")
               : absl::StrCat("candidate ", candidate_id, " failed: ", stored->error()),
          /*persist=*/false);
  ActiveSearch* search = Find(stored->search_id());
  if (search == nullptr) return absl::OkStatus();  // stopped or finished: nothing to breed
  auto it = search->index.find(candidate_id);
  if (it == search->index.end()) {
    return absl::InternalError(absl::StrCat("candidate ", candidate_id, " of search ", search->id,
                                            " is missing from the coordinator's population"));
  }
  search->population[it->second] = *std::move(stored);
  const Candidate& finished = search->population[it->second];
  if (done) {
    const double fitness = search::Fitness(finished, search->options.selection);
    const bool better =
        search->best_id == 0 ||
        fitness < search::Fitness(search->population[search->index.at(search->best_id)],
                                  search->options.selection);
    if (better) {
      search->best_id = finished.id();
      Publish(search->id, "new_best",
              absl::StrCat("new best: candidate ", finished.id(), " (generation ",
                           finished.generation(), "), val_loss ", finished.metrics().val_loss(),
                           ", ", finished.metrics().connections(), " connections"),
              /*persist=*/true);
    }
  }
  return Advance(*search);
}

void Coordinator::Publish(int64_t search_id, const std::string& kind, const std::string& message,
                          bool persist) {
  LiveEvent live;
  live.event.set_search_id(search_id);
  live.event.set_time_ms(options_.clock());
  live.event.set_kind(kind);
  live.event.set_message(message);
  if (persist) {
    storage::EventRecord record;
    record.search_id = search_id;
    record.time_ms = live.event.time_ms();
    record.kind = kind;
    record.message = message;
    // Events are for people: a failure to store one must not undo what it describes.
    absl::StatusOr<int64_t> id = store_->AppendEvent(record);
    if (id.ok()) live.event.set_id(*id);
  }
  live.seq = ++live_seq_;
  live_events_.push_back(std::move(live));
  if (live_events_.size() > kMaxLiveEvents) live_events_.pop_front();
  event_cv_.notify_all();
}

absl::StatusOr<std::vector<headevo::v1::SearchEvent>> Coordinator::NextEvents(
    int64_t search_id, EventCursor& cursor, int64_t wait_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  std::vector<headevo::v1::SearchEvent> events;
  if (!cursor.replayed) {
    // The stored history first; live events from this instant on. Both under the lock, so
    // no event falls between them.
    absl::StatusOr<storage::SearchRecord> record = store_->GetSearch(search_id);
    if (!record.ok()) return record.status();
    absl::StatusOr<std::vector<storage::EventRecord>> stored =
        store_->ListEvents(search_id, cursor.stored_after, 100'000);
    if (!stored.ok()) return stored.status();
    for (const storage::EventRecord& r : *stored) {
      headevo::v1::SearchEvent& e = events.emplace_back();
      e.set_id(r.id);
      e.set_search_id(search_id);
      e.set_time_ms(r.time_ms);
      e.set_kind(r.kind);
      e.set_message(r.message);
      cursor.stored_after = r.id;
    }
    cursor.live_after = live_seq_;
    cursor.replayed = true;
    if (!events.empty()) return events;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    for (const LiveEvent& live : live_events_) {
      if (live.seq <= cursor.live_after) continue;
      cursor.live_after = live.seq;
      if (live.event.search_id() != search_id) continue;
      events.push_back(live.event);
      if (live.event.id() > 0) cursor.stored_after = live.event.id();
    }
    if (!events.empty() || shutting_down_) return events;
    if (event_cv_.wait_until(lock, deadline) == std::cv_status::timeout) return events;
  }
}

absl::StatusOr<bool> Coordinator::Finished(int64_t search_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Find(search_id) != nullptr) return false;
  absl::StatusOr<storage::SearchCounts> counts = store_->CountSearch(search_id);
  if (!counts.ok()) return counts.status();
  return counts->leased == 0;
}

absl::StatusOr<std::vector<std::string>> Coordinator::CheckpointsToKeep() {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> keep;
  absl::StatusOr<std::vector<std::string>> open = store_->OpenJobParentCheckpoints();
  if (!open.ok()) return open.status();
  keep.insert(open->begin(), open->end());
  // What an active search may still breed from: truncation only ever picks its num_parents
  // fittest, aging only its window; tournaments can pick any evaluated candidate.
  for (const auto& [id, search] : searches_) {
    const search::SelectionOptions& selection = search->options.selection;
    std::vector<const Candidate*> eligible;
    if (selection.method == search::SelectionMethod::kTruncation) {
      eligible = search::RankByFitness(search->population, selection, selection.num_parents);
      // Steady state pools the population_size fittest's heads too, but only weights of the
      // parent are inherited.
    } else if (selection.method == search::SelectionMethod::kAging) {
      const int window =
          selection.aging_window > 0 ? selection.aging_window : search->options.population_size;
      for (auto it = search->population.rbegin();
           it != search->population.rend() && static_cast<int>(eligible.size()) < window; ++it) {
        if (it->state() == headevo::v1::CANDIDATE_STATE_DONE) eligible.push_back(&*it);
      }
    } else {
      for (const Candidate& c : search->population) {
        if (c.state() == headevo::v1::CANDIDATE_STATE_DONE) eligible.push_back(&c);
      }
    }
    for (const Candidate* c : eligible) {
      if (!c->checkpoint_sha256().empty()) keep.insert(c->checkpoint_sha256());
    }
  }
  absl::StatusOr<std::vector<storage::SearchRecord>> records = store_->ListSearches();
  if (!records.ok()) return records.status();
  if (options_.keep_best_checkpoints > 0) {
    for (const storage::SearchRecord& record : *records) {
      absl::StatusOr<std::vector<storage::LineageNode>> best =
          store_->BestCandidates(record.id, options_.keep_best_checkpoints);
      if (!best.ok()) return best.status();
      for (const storage::LineageNode& node : *best) {
        absl::StatusOr<Candidate> c = store_->GetCandidate(node.candidate_id);
        if (!c.ok()) return c.status();
        if (!c->checkpoint_sha256().empty()) keep.insert(c->checkpoint_sha256());
      }
    }
  }
  return std::vector<std::string>(keep.begin(), keep.end());
}

void Coordinator::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  work_cv_.notify_all();
  event_cv_.notify_all();
}

}  // namespace headevo::server
