#include "server/search_driver.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "search/k_sweep.h"
#include "search/pareto.h"
#include "search/random.h"
#include "search/reproduction.h"
#include "search/selection.h"
#include "search/strategy.h"
#include "server/coordinator.h"

namespace headevo::server {
namespace {

// The baselines' training streams: negative, far from any candidate ordinal. Baseline i of
// options.baselines trains on stream kDenseBaselineStream - 1 - i.
constexpr int64_t kDenseBaselineStream = -1;

// The embedded worker's lease: it is this process, so the lease only ends with the search.
constexpr int64_t kEmbeddedLeaseMs = int64_t{7} * 24 * 3600 * 1000;

headevo::v1::Genome BaselineGenome(const headevo::v1::ModelSpec& model) {
  headevo::v1::Genome genome;
  genome.set_num_layers(model.num_layers());
  for (int layer = 0; layer < model.num_layers(); ++layer) {
    for (int h = 0; h < model.heads_per_layer(); ++h) genome.add_heads()->set_layer(layer);
  }
  return genome;
}

headevo::v1::ModelSpec DenseModel(const search::SearchOptions& options) {
  headevo::v1::ModelSpec model = options.training.model();
  model.set_attention(headevo::v1::ATTENTION_KIND_DENSE);
  return model;
}

// A baseline parameter: the configured value, or when 0 the best candidate's mean k per head.
int BaselineParameter(int configured, const headevo::v1::Candidate& best) {
  if (configured > 0) return configured;
  const int heads = std::max(1, best.genome().heads_size());
  return std::max<int>(
      1, static_cast<int>(std::lround(static_cast<double>(best.metrics().connections()) / heads)));
}

// The model spec of one baseline, and how the summary names it.
std::pair<headevo::v1::ModelSpec, std::string> BaselineModel(const search::SearchOptions& options,
                                                             headevo::v1::AttentionKind kind,
                                                             const headevo::v1::Candidate& best) {
  headevo::v1::ModelSpec model = options.training.model();
  model.set_attention(kind);
  switch (kind) {
    case headevo::v1::ATTENTION_KIND_LOCAL:
      model.set_window(std::min(BaselineParameter(options.baseline_window, best), model.seq_len()));
      return {model, absl::StrCat("local attention (window ", model.window(), ")")};
    case headevo::v1::ATTENTION_KIND_STRIDED: {
      const int stride = options.baseline_stride > 0
                             ? options.baseline_stride
                             : static_cast<int>(std::lround(std::sqrt(model.seq_len())));
      model.set_stride(std::min(std::max(stride, 1), model.seq_len()));
      return {model, absl::StrCat("strided attention (stride ", model.stride(), ")")};
    }
    case headevo::v1::ATTENTION_KIND_LINFORMER:
      model.set_linformer_rank(
          std::min(BaselineParameter(options.baseline_linformer_rank, best), model.seq_len()));
      return {model, absl::StrCat("Linformer (rank ", model.linformer_rank(), ")")};
    default:
      model.set_random_k(
          std::min(BaselineParameter(options.baseline_random_k, best), model.seq_len()));
      return {model, absl::StrCat("random heads (mean k ", model.random_k(), ")")};
  }
}

headevo::v1::Candidate NewCandidate(int64_t search_id, int generation) {
  headevo::v1::Candidate c;
  c.set_search_id(search_id);
  c.set_generation(generation);
  return c;
}

// Fills the outcome's Pareto front and hypervolume from the evaluated candidates.
void SummarisePareto(const search::SearchOptions& options,
                     const std::vector<headevo::v1::Candidate>& population,
                     SearchOutcome& outcome) {
  const auto& model = options.training.model();
  outcome.hypervolume_reference.loss = std::log(static_cast<double>(model.vocab_size()));
  outcome.hypervolume_reference.connections = static_cast<double>(search::DenseConnections(model));
  std::vector<search::Objectives> points;
  for (const headevo::v1::Candidate* c : search::ParetoFront(population)) {
    outcome.pareto_front.push_back(*c);
    points.push_back(search::ObjectivesOf(*c));
  }
  outcome.hypervolume = search::Hypervolume(points, outcome.hypervolume_reference);
}

}  // namespace

SearchDriver::SearchDriver(storage::Store* store, search::Evaluator* evaluator,
                           SearchListener* listener, std::function<int64_t()> clock)
    : store_(store), evaluator_(evaluator), listener_(listener), clock_(std::move(clock)) {}

absl::Status SearchDriver::EvaluateGeneration(const search::SearchOptions& options,
                                              std::vector<headevo::v1::Candidate>& population,
                                              std::vector<headevo::v1::Candidate> generation,
                                              SearchOutcome& outcome) {
  if (generation.empty()) return absl::OkStatus();
  // One transaction: a generation's candidates, heads, lineage links and jobs land together.
  std::vector<storage::NewJob> jobs;
  for (size_t i = 0; i < generation.size(); ++i) {
    storage::NewJob& job = jobs.emplace_back();
    job.training = options.training;
    job.training.set_seed(
        CandidateTrainingSeed(options.seed, static_cast<int64_t>(population.size() + i)));
    // The embedded worker is this process: a failure will fail again, so one attempt.
    job.max_attempts = 1;
    const int64_t parent_id = generation[i].parent_id();
    if (options.inherit_weights && parent_id != 0) {
      for (const headevo::v1::Candidate& earlier : population) {
        if (earlier.id() == parent_id) {
          job.parent_checkpoint_sha256 = earlier.checkpoint_sha256();
        }
      }
    }
  }
  absl::StatusOr<std::vector<headevo::v1::Candidate>> stored =
      store_->InsertCandidatesWithJobs(generation, jobs, clock_());
  if (!stored.ok()) return stored.status();

  for (const headevo::v1::Candidate& candidate : *stored) {
    // The embedded worker takes the search's jobs in the order they were queued, through the
    // same lease and report calls a remote worker makes.
    storage::LeaseOptions lease_options;
    lease_options.worker_id = worker_id_;
    lease_options.now_ms = clock_();
    lease_options.lease_ms = kEmbeddedLeaseMs;
    lease_options.search_id = outcome.search_id;
    absl::StatusOr<std::optional<storage::Lease>> lease = store_->LeaseJob(lease_options);
    if (!lease.ok()) return lease.status();
    if (!lease->has_value() || (*lease)->request.candidate_id() != candidate.id()) {
      return absl::InternalError(
          absl::StrCat("search ", outcome.search_id, ": expected to lease the job of candidate ",
                       candidate.id(), ", got ", lease->has_value() ? "another" : "none"));
    }
    const storage::Lease& leased = **lease;
    absl::StatusOr<headevo::v1::EvaluationResult> result = evaluator_->Evaluate(leased.request);
    if (result.ok()) {
      absl::StatusOr<storage::ReportOutcome> reported =
          store_->CompleteJob(leased.job_id, leased.attempt, *result, clock_());
      if (!reported.ok()) return reported.status();
    } else {
      ++outcome.failed;
      absl::StatusOr<storage::JobState> state = store_->FailJob(
          leased.job_id, leased.attempt, result.status().ToString(), /*permanent=*/true, clock_());
      if (!state.ok()) return state.status();
    }
    absl::StatusOr<headevo::v1::Candidate> recorded = store_->GetCandidate(candidate.id());
    if (!recorded.ok()) return recorded.status();
    population.push_back(*std::move(recorded));
    ++outcome.evaluated;

    ReportProgress(options, population, outcome.evaluated);
  }
  return RecordGenerationDone(options, population, generation.front().generation(), outcome);
}

void SearchDriver::ReportProgress(const search::SearchOptions& options,
                                  const std::vector<headevo::v1::Candidate>& finished,
                                  int evaluated) {
  if (listener_ == nullptr) return;
  const auto best = search::RankByFitness(finished, options.selection, 1);
  CandidateProgress progress;
  progress.candidate = &finished.back();
  progress.evaluated = evaluated;
  progress.total = total_;
  progress.best = best.empty() ? nullptr : best.front();
  listener_->OnCandidateFinished(progress);
}

absl::Status SearchDriver::RecordGenerationDone(
    const search::SearchOptions& options, const std::vector<headevo::v1::Candidate>& population,
    int generation, const SearchOutcome& outcome) {
  storage::EventRecord event;
  event.search_id = outcome.search_id;
  event.time_ms = clock_();
  event.kind = "generation_done";
  const auto best = search::RankByFitness(population, options.selection, 1);
  event.message = absl::StrCat("generation ", generation, " done: ", outcome.evaluated,
                               " evaluated, ", outcome.failed, " failed");
  if (!best.empty()) {
    absl::StrAppend(&event.message, "; best so far candidate ", best.front()->id(), " (val_loss ",
                    best.front()->metrics().val_loss(), ", ", best.front()->metrics().connections(),
                    " connections)");
  }
  return store_->AppendEvent(event).status();
}

absl::Status SearchDriver::EndSearch(int64_t search_id, headevo::v1::SearchState state,
                                     const std::string& why) {
  storage::EventRecord event;
  event.search_id = search_id;
  event.time_ms = clock_();
  event.kind = state == headevo::v1::SEARCH_STATE_DONE ? "search_done" : "search_failed";
  event.message = why;
  // The state is what counts; the event is for people, so its failure does not hide the
  // state's.
  absl::Status status = store_->SetSearchState(search_id, state);
  absl::Status logged = store_->AppendEvent(event).status();
  return status.ok() ? logged : status;
}

absl::StatusOr<SearchOutcome> SearchDriver::Run(const search::SearchOptions& options,
                                                const std::string& config_toml) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  const bool sweep = options.mode == search::SearchMode::kKSweep;
  SearchOutcome outcome;
  std::vector<headevo::v1::Candidate> population;
  if (sweep) {
    absl::Status status = RunKSweep(options, config_toml, population, outcome);
    if (!status.ok()) return status;
  } else {
    absl::Status status = Evolve(options, config_toml, population, outcome);
    if (!status.ok()) return status;
  }

  outcome.best = *search::RankByFitness(population, options.selection, 1).front();
  SummarisePareto(options, population, outcome);

  // The baselines are not part of the lineage: the search is complete and stored before they
  // run, and a failure costs only its comparison. (The k-sweep trained dense already.)
  if (options.compare_with_dense && !sweep) {
    if (listener_ != nullptr) listener_->OnBaselineStarted("dense attention");
    absl::StatusOr<headevo::v1::Metrics> dense =
        TrainBaseline(options, DenseModel(options), kDenseBaselineStream);
    if (dense.ok()) {
      outcome.dense = *dense;
    } else {
      outcome.dense_error = dense.status().ToString();
    }
  }
  RunBaselines(options, outcome);
  return outcome;
}

absl::Status SearchDriver::Evolve(const search::SearchOptions& options,
                                  const std::string& config_toml,
                                  std::vector<headevo::v1::Candidate>& population,
                                  SearchOutcome& outcome) {
  // The coordinator of `headevo serve`, with this process as its one worker: the same
  // breeding, leasing and reporting code as a cluster, minus the network.
  CoordinatorOptions coordinator_options;
  coordinator_options.lease_ms = kEmbeddedLeaseMs;
  coordinator_options.clock = clock_;
  absl::StatusOr<std::unique_ptr<Coordinator>> coordinator =
      Coordinator::Create(store_, coordinator_options);
  if (!coordinator.ok()) return coordinator.status();
  absl::StatusOr<int64_t> search_id =
      (*coordinator)->CreateSearch(options, config_toml, initial_genomes_);
  if (!search_id.ok()) return search_id.status();
  outcome.search_id = *search_id;
  storage::WorkerRecord worker;
  worker.name = "embedded";
  worker.device = "local";
  absl::StatusOr<WorkerRegistration> registration = (*coordinator)->RegisterWorker(worker);
  if (!registration.ok()) return registration.status();
  const int64_t worker_id = registration->worker_id;
  total_ = static_cast<int>(options.PlannedEvaluations());
  if (listener_ != nullptr) listener_->OnSearchStarted(*search_id, total_);

  std::vector<headevo::v1::Candidate> finished;  // in the order they finished, for progress
  while (true) {
    absl::StatusOr<std::optional<storage::Lease>> lease =
        (*coordinator)->LeaseJob(worker_id, *search_id);
    if (!lease.ok()) return lease.status();
    if (!lease->has_value()) break;
    const storage::Lease& leased = **lease;
    absl::Status reported = Report(**coordinator, worker_id, leased);
    if (!reported.ok()) return reported;
    absl::StatusOr<headevo::v1::Candidate> recorded = (*coordinator)->WithStore(
        [&](storage::Store& store) { return store.GetCandidate(leased.request.candidate_id()); });
    if (!recorded.ok()) return recorded.status();
    if (recorded->state() == headevo::v1::CANDIDATE_STATE_FAILED) ++outcome.failed;
    finished.push_back(*std::move(recorded));
    ++outcome.evaluated;
    ReportProgress(options, finished, outcome.evaluated);
  }
  absl::StatusOr<headevo::v1::SearchSummary> summary = (*coordinator)->Summary(*search_id);
  if (!summary.ok()) return summary.status();
  absl::StatusOr<std::vector<headevo::v1::Candidate>> stored =
      (*coordinator)->WithStore([&](storage::Store& store) {
        return store.ListCandidates(*search_id);
      });
  if (!stored.ok()) return stored.status();
  population = *std::move(stored);
  if (summary->state() == headevo::v1::SEARCH_STATE_FAILED) {
    absl::StatusOr<std::vector<storage::EventRecord>> events =
        (*coordinator)->WithStore([&](storage::Store& store) {
          return store.ListEvents(*search_id, 0, 1'000'000);
        });
    std::string why = "the search failed";
    if (events.ok() && !events->empty()) why = events->back().message;
    return absl::InternalError(why);
  }
  if (summary->state() != headevo::v1::SEARCH_STATE_DONE) {
    return absl::InternalError(absl::StrCat("search ", *search_id,
                                            " stopped with no job to lease but is not done (",
                                            summary->done(), " done, ", summary->failed(),
                                            " failed of ", summary->planned(), ")"));
  }
  return absl::OkStatus();
}

absl::Status SearchDriver::Report(Coordinator& coordinator, int64_t worker_id,
                                  const storage::Lease& lease) {
  absl::StatusOr<headevo::v1::EvaluationResult> result = evaluator_->Evaluate(lease.request);
  // This process is the only worker: what failed here fails anywhere, so failures are
  // permanent. A diverged run (non-finite loss) is a failure too.
  std::string error;
  if (!result.ok()) {
    error = result.status().ToString();
  } else if (!std::isfinite(result->metrics().val_loss()) ||
             !std::isfinite(result->metrics().train_loss())) {
    error = absl::StrCat("training diverged: train_loss ", result->metrics().train_loss(),
                         ", val_loss ", result->metrics().val_loss());
  }
  if (error.empty()) {
    return coordinator.ReportResult(worker_id, lease.job_id, lease.attempt, *result).status();
  }
  return coordinator.ReportFailure(worker_id, lease.job_id, lease.attempt, error,
                                   /*permanent=*/true)
      .status();
}

absl::Status SearchDriver::RunKSweep(const search::SearchOptions& options,
                                     const std::string& config_toml,
                                     std::vector<headevo::v1::Candidate>& population,
                                     SearchOutcome& outcome) {
  storage::SearchRecord record;
  record.name = options.name;
  record.config_toml = config_toml;
  record.seed = options.seed;
  record.created_ms = clock_();
  absl::StatusOr<int64_t> search_id = store_->CreateSearch(record);
  if (!search_id.ok()) return search_id.status();
  outcome.search_id = *search_id;
  storage::WorkerRecord worker;
  worker.name = "embedded";
  worker.device = "local";
  absl::StatusOr<int64_t> worker_id = store_->RegisterWorker(worker, clock_());
  if (!worker_id.ok()) return worker_id.status();
  worker_id_ = *worker_id;
  storage::EventRecord started;
  started.search_id = *search_id;
  started.time_ms = clock_();
  started.kind = "search_started";
  started.message = absl::StrCat("k-sweep '", options.name, "' (seed ", options.seed, ") started");
  if (absl::Status s = store_->AppendEvent(started).status(); !s.ok()) return s;
  total_ = static_cast<int>(search::KSchedule(options.k_sweep).size()) * options.k_sweep.repeats;
  if (listener_ != nullptr) listener_->OnSearchStarted(*search_id, total_);
  if (absl::Status s = SweepK(options, population, outcome); !s.ok()) return s;
  return EndSearch(*search_id, headevo::v1::SEARCH_STATE_DONE,
                   absl::StrCat("k-sweep done: ", outcome.evaluated, " evaluated"));
}

absl::Status SearchDriver::SweepK(const search::SearchOptions& options,
                                  std::vector<headevo::v1::Candidate>& population,
                                  SearchOutcome& outcome) {
  // Every k is judged against dense, so dense comes first and must succeed.
  if (listener_ != nullptr) listener_->OnBaselineStarted("dense attention (the k-sweep's bar)");
  absl::StatusOr<headevo::v1::Metrics> dense =
      TrainBaseline(options, DenseModel(options), kDenseBaselineStream);
  if (!dense.ok()) {
    const std::string why =
        absl::StrCat("the k-sweep needs the dense model's loss, and its training failed: ",
                     dense.status().ToString());
    (void)EndSearch(outcome.search_id, headevo::v1::SEARCH_STATE_FAILED, why);
    return absl::InternalError(why);
  }
  outcome.dense = *dense;

  search::KSweep sweep(options.k_sweep, dense->val_loss());
  search::Rng rng(options.seed);
  const auto& model = options.training.model();
  for (int step = 0; sweep.NextK().has_value(); ++step) {
    search::HeadDistribution initial = options.initial;
    initial.count.mean = *sweep.NextK();
    std::vector<headevo::v1::Candidate> generation;
    for (int r = 0; r < options.k_sweep.repeats; ++r) {
      headevo::v1::Candidate& c = generation.emplace_back(NewCandidate(outcome.search_id, step));
      *c.mutable_genome() =
          search::MakeInitialGenome(model.num_layers(), model.heads_per_layer(), initial, rng);
      c.mutable_mutation()->set_description(absl::StrCat("k-sweep: mean k ", initial.count.mean,
                                                         ", head set ", r + 1, " of ",
                                                         options.k_sweep.repeats));
    }
    if (absl::Status s = EvaluateGeneration(options, population, generation, outcome); !s.ok()) {
      return s;
    }
    std::vector<double> losses;
    for (size_t i = population.size() - generation.size(); i < population.size(); ++i) {
      const headevo::v1::Candidate& c = population[i];
      losses.push_back(c.state() == headevo::v1::CANDIDATE_STATE_DONE
                           ? c.metrics().val_loss()
                           : std::numeric_limits<double>::quiet_NaN());
    }
    if (absl::Status s = sweep.Record(losses); !s.ok()) return s;
  }
  outcome.k_sweep = sweep.steps();
  outcome.smallest_k = sweep.SmallestKThatHeld();
  if (outcome.failed == outcome.evaluated) {
    const std::string why = absl::StrCat("every candidate of the k-sweep failed; last error: ",
                                         population.back().error());
    (void)EndSearch(outcome.search_id, headevo::v1::SEARCH_STATE_FAILED, why);
    return absl::InternalError(why);
  }
  return absl::OkStatus();
}

absl::StatusOr<headevo::v1::Metrics> SearchDriver::TrainBaseline(
    const search::SearchOptions& options, const headevo::v1::ModelSpec& model, int64_t stream) {
  headevo::v1::EvaluationRequest request;
  *request.mutable_genome() = BaselineGenome(model);
  *request.mutable_training() = options.training;
  *request.mutable_training()->mutable_model() = model;
  request.mutable_training()->set_seed(CandidateTrainingSeed(options.seed, stream));
  absl::StatusOr<headevo::v1::EvaluationResult> result = evaluator_->Evaluate(request);
  if (!result.ok()) return result.status();
  return result->metrics();
}

void SearchDriver::RunBaselines(const search::SearchOptions& options, SearchOutcome& outcome) {
  for (size_t i = 0; i < options.baselines.size(); ++i) {
    auto [model, description] = BaselineModel(options, options.baselines[i], outcome.best);
    if (listener_ != nullptr) listener_->OnBaselineStarted(description.c_str());
    absl::StatusOr<headevo::v1::Metrics> metrics =
        TrainBaseline(options, model, kDenseBaselineStream - 1 - static_cast<int64_t>(i));
    SearchOutcome::Baseline& baseline = outcome.baselines.emplace_back();
    baseline.description = std::move(description);
    if (metrics.ok()) {
      baseline.metrics = *metrics;
    } else {
      baseline.error = metrics.status().ToString();
    }
  }
}

}  // namespace headevo::server
