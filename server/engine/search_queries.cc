#include "server/engine/search_queries.h"

#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/checks/request_checks.h"
#include "server/config/search_config.h"
#include "server/engine/search_outcome.h"

namespace headevo::server {

headevo::v1::CandidateSummary ToSummary(const storage::LineageNode& node) {
  headevo::v1::CandidateSummary summary;
  summary.set_id(node.candidate_id);
  summary.set_parent_id(node.parent_id);
  summary.set_generation(node.generation);
  summary.set_state(node.state);
  summary.set_val_loss(node.val_loss);
  summary.set_connections(node.connections);
  summary.set_mutation(node.mutation);
  summary.set_depth(node.depth);
  summary.set_rung(node.rung);
  return summary;
}

absl::StatusOr<headevo::v1::ListCandidatesResponse> QueryCandidates(
    storage::Store& store, const headevo::v1::ListCandidatesRequest& request) {
  storage::CandidateFilter filter;
  filter.search_id = request.search_id();
  filter.state = request.state();
  filter.min_generation = request.min_generation();
  filter.max_generation = request.max_generation() == 0 ? -1 : request.max_generation();
  filter.order_by_val_loss = request.order() == headevo::v1::CANDIDATE_ORDER_VAL_LOSS;
  filter.limit = request.page_size() > 0 ? request.page_size() : 100;
  // The page token is the offset of the next page, as text: opaque to clients, stable while
  // the search only grows at the end (id order).
  absl::StatusOr<int64_t> offset = ParsePageToken(request.page_token());
  if (!offset.ok()) return offset.status();
  filter.offset = *offset;
  absl::StatusOr<storage::CandidatePage> page = store.ListCandidateSummaries(filter);
  if (!page.ok()) return page.status();
  headevo::v1::ListCandidatesResponse response;
  for (const storage::LineageNode& node : page->candidates) {
    *response.add_candidates() = ToSummary(node);
  }
  response.set_total(page->total);
  const int64_t next = filter.offset + static_cast<int64_t>(page->candidates.size());
  if (next < page->total && !page->candidates.empty()) {
    response.set_next_page_token(absl::StrCat(next));
  }
  return response;
}

absl::StatusOr<headevo::v1::GetLineageResponse> QueryLineage(
    storage::Store& store, const headevo::v1::GetLineageRequest& request) {
  absl::StatusOr<std::vector<headevo::v1::Candidate>> ancestors =
      store.Ancestors(request.candidate_id());
  if (!ancestors.ok()) return ancestors.status();
  headevo::v1::GetLineageResponse response;
  for (headevo::v1::Candidate& c : *ancestors) *response.add_ancestors() = std::move(c);
  if (request.descendant_depth() != 0) {
    absl::StatusOr<std::vector<storage::LineageNode>> descendants =
        store.Descendants(request.candidate_id(), request.descendant_depth());
    if (!descendants.ok()) return descendants.status();
    for (const storage::LineageNode& node : *descendants) {
      *response.add_descendants() = ToSummary(node);
    }
  }
  return response;
}

absl::StatusOr<headevo::v1::GetHeadHistoryResponse> QueryHeadHistory(storage::Store& store,
                                                                      int64_t head_id) {
  absl::StatusOr<storage::HeadHistory> history = store.GetHeadHistory(head_id);
  if (!history.ok()) return history.status();
  headevo::v1::GetHeadHistoryResponse response;
  *response.mutable_head() = history->head;
  response.set_search_id(history->search_id);
  response.set_created_candidate_id(history->created_candidate_id);
  for (const storage::HeadAppearance& a : history->appearances) {
    headevo::v1::HeadAppearance* out = response.add_appearances();
    out->set_candidate_id(a.candidate_id);
    out->set_generation(a.generation);
    out->set_slot(a.slot);
    out->set_origin(a.origin);
    out->set_stats_recorded(a.has_stats);
    if (a.has_stats) *out->mutable_stats() = a.stats;
  }
  for (const storage::HeadPruning& p : history->prunings) {
    headevo::v1::HeadPruning* out = response.add_prunings();
    out->set_candidate_id(p.candidate_id);
    out->set_parent_id(p.parent_id);
    out->set_generation(p.generation);
    out->set_mutation(p.mutation);
  }
  for (int64_t copy : history->copies) response.add_copies(copy);
  headevo::v1::HeadGrowthLink* self = response.add_growth_chain();
  *self->mutable_head() = history->head;
  self->set_created_candidate_id(history->created_candidate_id);
  for (const headevo::v1::HeadGrowth& g : history->growth) *self->add_growth() = g;
  for (const storage::HeadSource& source : history->sources) {
    headevo::v1::HeadGrowthLink* link = response.add_growth_chain();
    *link->mutable_head() = source.head;
    link->set_created_candidate_id(source.created_candidate_id);
    for (const headevo::v1::HeadGrowth& g : source.growth) *link->add_growth() = g;
  }
  return response;
}

absl::StatusOr<headevo::v1::GetParetoFrontResponse> QueryParetoFront(storage::Store& store,
                                                                     int64_t search_id) {
  absl::StatusOr<std::vector<storage::LineageNode>> front = store.ParetoFront(search_id);
  if (!front.ok()) return front.status();
  headevo::v1::GetParetoFrontResponse response;
  for (const storage::LineageNode& node : *front) *response.add_front() = ToSummary(node);
  return response;
}

absl::StatusOr<headevo::v1::ExportedPopulation> QueryBest(
    storage::Store& store, const headevo::v1::ExportBestRequest& request) {
  absl::StatusOr<storage::SearchRecord> search = store.GetSearch(request.search_id());
  if (!search.ok()) return search.status();
  absl::StatusOr<std::vector<storage::LineageNode>> best =
      store.BestCandidates(request.search_id(), request.count() > 0 ? request.count() : 1);
  if (!best.ok()) return best.status();
  if (best->empty()) {
    return absl::NotFoundError(absl::StrCat("search ", request.search_id(),
                                            " has no evaluated candidate yet: nothing to export"));
  }
  headevo::v1::ExportedPopulation exported;
  exported.set_search_id(request.search_id());
  exported.set_search_name(search->name);
  for (const storage::LineageNode& node : *best) {
    absl::StatusOr<headevo::v1::Candidate> c = store.GetCandidate(node.candidate_id);
    if (!c.ok()) return c.status();
    *exported.add_candidates() = *std::move(c);
  }
  return exported;
}

absl::StatusOr<headevo::v1::Candidate> QueryCandidate(storage::Store& store,
                                                      int64_t candidate_id) {
  return store.GetCandidate(candidate_id);
}

absl::StatusOr<headevo::v1::ListWorkersResponse> QueryWorkers(storage::Store& store) {
  absl::StatusOr<std::vector<storage::WorkerStatus>> workers = store.ListWorkers();
  if (!workers.ok()) return workers.status();
  headevo::v1::ListWorkersResponse response;
  for (const storage::WorkerStatus& w : *workers) {
    headevo::v1::WorkerSummary& out = *response.add_workers();
    out.set_id(w.worker.id);
    out.set_name(w.worker.name);
    out.set_device(w.worker.device);
    out.set_memory_bytes(w.worker.memory_bytes);
    out.set_registered_ms(w.worker.registered_ms);
    out.set_last_seen_ms(w.worker.last_seen_ms);
    for (const storage::JobRecord& job : w.leased_jobs) {
      headevo::v1::WorkerJob& j = *out.add_jobs();
      j.set_job_id(job.id);
      j.set_search_id(job.search_id);
      j.set_candidate_id(job.candidate_id);
      j.set_reference_id(job.reference_id);
      j.set_attempt(job.attempt);
      j.set_lease_expires_ms(job.lease_expires_ms);
    }
  }
  return response;
}

absl::StatusOr<headevo::v1::SearchConfig> QuerySearchConfig(storage::Store& store,
                                                            int64_t search_id) {
  absl::StatusOr<storage::SearchRecord> record = store.GetSearch(search_id);
  if (!record.ok()) return record.status();
  headevo::v1::SearchConfig config;
  config.set_search_id(search_id);
  config.set_config_toml(record->config_toml);
  return config;
}

namespace {

// The summary's compute and rung figures, from the search's jobs: steps committed (each
// candidate job's steps from the rung below), the limit, each rung's budget and finishers.
absl::Status FillCompute(storage::Store& store, int64_t search_id,
                         const absl::StatusOr<search::SearchOptions>& options,
                         headevo::v1::SearchSummary& summary) {
  if (!options.ok()) return absl::OkStatus();  // the stored config no longer parses
  const std::vector<int> rungs = options->Rungs();
  for (int steps : rungs) summary.add_rung_steps(steps);
  summary.set_budget_steps(options->budget_steps);
  std::vector<int64_t> finished(rungs.size(), 0);
  absl::StatusOr<std::vector<storage::JobRecord>> jobs = store.ListJobs(search_id);
  if (!jobs.ok()) return jobs.status();
  int64_t committed = 0;
  for (const storage::JobRecord& job : *jobs) {
    if (job.candidate_id == 0 || job.rung < 0 || job.rung >= static_cast<int>(rungs.size())) {
      continue;
    }
    committed += search::StepsToRung(rungs, job.rung);
    if (job.state == storage::JobState::kDone) ++finished[job.rung];
  }
  summary.set_steps_committed(committed);
  for (int64_t n : finished) summary.add_rung_finished(n);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<headevo::v1::SearchSummary> QuerySummary(storage::Store& store,
                                                        int64_t search_id) {
  absl::StatusOr<storage::SearchRecord> record = store.GetSearch(search_id);
  if (!record.ok()) return record.status();
  absl::StatusOr<storage::SearchCounts> counts = store.CountSearch(search_id);
  if (!counts.ok()) return counts.status();
  headevo::v1::SearchSummary summary;
  summary.set_id(search_id);
  summary.set_name(record->name);
  summary.set_state(record->state);
  summary.set_seed(record->seed);
  summary.set_created_ms(record->created_ms);
  summary.set_generation(counts->max_generation < 0 ? 0 : counts->max_generation);
  summary.set_candidates(counts->candidates);
  summary.set_done(counts->done);
  summary.set_failed(counts->failed);
  summary.set_queued(counts->queued);
  summary.set_running(counts->leased);
  absl::StatusOr<search::SearchOptions> options =
      ParseSearchConfig(record->config_toml, absl::StrCat("search ", search_id, " config"));
  if (options.ok()) {
    summary.set_schedule(search::ScheduleName(options->schedule));
    summary.set_planned(options->mode == search::SearchMode::kEvolve
                            ? options->PlannedEvaluations()
                            : counts->candidates);
    summary.set_mode(options->mode == search::SearchMode::kEvolve ? "evolve" : "k_sweep");
  }
  absl::StatusOr<std::vector<headevo::v1::Reference>> references =
      store.ListReferences(search_id);
  if (!references.ok()) return references.status();
  for (const headevo::v1::Reference& r : *references) *summary.add_references() = r;
  if (options.ok() && options->mode == search::SearchMode::kKSweep) {
    absl::StatusOr<std::vector<headevo::v1::Candidate>> population =
        store.ListCandidates(search_id);
    if (!population.ok()) return population.status();
    absl::StatusOr<KSweepVerdict> verdict = ReadKSweepVerdict(*options, *references, *population);
    if (!verdict.ok()) return verdict.status();
    for (const search::KSweepStep& step : verdict->steps) {
      headevo::v1::KSweepStep& out = *summary.add_k_sweep_steps();
      out.set_mean_k(step.k);
      for (double loss : step.losses) out.add_val_losses(loss);
      out.set_mean_val_loss(step.mean_loss);
      out.set_held(step.held);
    }
    if (verdict->smallest_k.has_value()) summary.set_k_sweep_smallest_k(*verdict->smallest_k);
  }
  if (absl::Status s = FillCompute(store, search_id, options, summary); !s.ok()) return s;
  if (options.ok() && options->resampling.Uses(search::Sampler::kPolicy)) {
    absl::StatusOr<std::optional<headevo::v1::StrategyState>> strategy =
        store.LoadStrategyState(search_id);
    if (!strategy.ok()) return strategy.status();
    if (strategy->has_value()) {
      for (const headevo::v1::PolicySnapshot& s : (*strategy)->policy().history()) {
        *summary.add_policy_history() = s;
      }
    }
  }
  absl::StatusOr<std::vector<storage::LineageNode>> best = store.BestCandidates(search_id, 1);
  if (!best.ok()) return best.status();
  summary.set_best_val_loss(std::numeric_limits<double>::quiet_NaN());  // no value yet
  if (!best->empty()) {
    summary.set_best_candidate_id(best->front().candidate_id);
    summary.set_best_val_loss(best->front().val_loss);
    summary.set_best_connections(best->front().connections);
  }
  return summary;
}

}  // namespace headevo::server
