// Metrics snapshots, and the checkpoints a coordinator keeps (server/engine/coordinator.h).
#include <set>
#include <string>
#include <utility>

#include "search/checkpoint_keeping.h"
#include "search/selection.h"
#include "server/engine/active_search.h"
#include "server/engine/coordinator.h"

namespace headevo::server {

absl::StatusOr<CoordinatorStats> Coordinator::Stats() {
  CoordinatorStats stats;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = options_.clock();
    stats.evaluations_total = activity_.results_total();
    stats.failures_total = activity_.failures_total();
    stats.lease_expiries_total = activity_.lease_expiries_total();
    stats.evaluations_per_second = activity_.ResultsPerSecond(now);
    stats.live_workers = activity_.LiveWorkers(now, options_.lease_ms);
    for (const auto& [id, search] : searches_) {
      SearchStats entry;
      entry.search_id = id;
      entry.state = search->state;
      entry.planned = search->planned();
      if (search->best_id != 0) {
        const headevo::v1::Candidate& best =
            search->population[search->index.at(search->best_id)];
        entry.has_best = true;
        entry.best_fitness = search::Fitness(best, search->options.selection);
        entry.best_val_loss = best.metrics().val_loss();
        entry.best_connections = best.metrics().connections();
      }
      // From the population the coordinator keeps current, so a scrape costs no extra query;
      // the same counts as SearchSummary.rung_finished, which counts DONE jobs per rung.
      entry.rung_steps = search->rungs;
      entry.rung_finished.assign(search->rungs.size(), 0);
      for (const headevo::v1::Candidate& c : search->population) {
        if (c.state() != headevo::v1::CANDIDATE_STATE_DONE) continue;
        for (int r = 0; r <= c.rung() && r < static_cast<int>(search->rungs.size()); ++r) {
          ++entry.rung_finished[r];
        }
      }
      entry.steps_committed = search->steps_committed;
      entry.budget_steps = search->options.budget_steps;
      stats.searches.push_back(entry);
    }
  }
  // The job counts scan the search's rows: on the reader, outside the lock, when there is one.
  for (SearchStats& entry : stats.searches) {
    absl::StatusOr<storage::SearchCounts> counts =
        WithStore([&](storage::Store& store) { return store.CountSearch(entry.search_id); });
    if (!counts.ok()) return counts.status();
    entry.done = counts->done;
    entry.failed = counts->failed;
    entry.queued = counts->queued;
    entry.running = counts->leased;
    stats.jobs_queued += entry.queued;
    stats.jobs_running += entry.running;
  }
  return stats;
}

absl::StatusOr<std::vector<std::string>> Coordinator::CheckpointsToKeep() {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> keep;
  absl::StatusOr<std::vector<std::string>> open = store_->OpenJobParentCheckpoints();
  if (!open.ok()) return open.status();
  keep.insert(open->begin(), open->end());
  // What an active search may still breed from (search/checkpoint_keeping.h).
  for (const auto& [id, search] : searches_) {
    for (std::string& sha : search::BreedableCheckpoints(search->population, search->options)) {
      keep.insert(std::move(sha));
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
        absl::StatusOr<headevo::v1::Candidate> c = store_->GetCandidate(node.candidate_id);
        if (!c.ok()) return c.status();
        if (!c->checkpoint_sha256().empty()) keep.insert(c->checkpoint_sha256());
      }
    }
  }
  return std::vector<std::string>(keep.begin(), keep.end());
}

}  // namespace headevo::server
