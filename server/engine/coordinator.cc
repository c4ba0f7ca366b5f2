// The coordinator's construction and loading: a coordinator started on a database takes over
// every RUNNING or PAUSED search it holds (server/engine/coordinator.h).
#include "server/engine/coordinator.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "search/random.h"
#include "search/selection.h"
#include "server/engine/active_search.h"
#include "server/config/search_config.h"

namespace headevo::server {

uint64_t CandidateTrainingSeed(uint64_t search_seed, int64_t ordinal) {
  return search::DeriveSeed(search_seed, static_cast<uint64_t>(ordinal));
}

std::string StateWord(headevo::v1::SearchState state) {
  switch (state) {
    case headevo::v1::SEARCH_STATE_RUNNING: return "running";
    case headevo::v1::SEARCH_STATE_PAUSED: return "paused";
    case headevo::v1::SEARCH_STATE_DONE: return "done";
    case headevo::v1::SEARCH_STATE_FAILED: return "failed";
    case headevo::v1::SEARCH_STATE_STOPPED: return "stopped";
    default: return "unknown";
  }
}

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
  if (!options.wait_clock) options.wait_clock = SteadyClockMs;
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
  if (!options.ok()) {
    if (absl::Status s = store_->SetSearchState(record.id, headevo::v1::SEARCH_STATE_FAILED);
        !s.ok()) {
      return s;
    }
    Publish(record.id, "search_failed",
            absl::StrCat("search ", record.id,
                         " failed: its stored config no longer parses: ", options.status().message()),
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
  absl::StatusOr<std::vector<headevo::v1::Candidate>> population =
      store_->ListCandidates(record.id);
  if (!population.ok()) return population.status();
  search->population = *std::move(population);
  for (size_t i = 0; i < search->population.size(); ++i) {
    search->index[search->population[i].id()] = i;
  }
  absl::StatusOr<std::vector<headevo::v1::Reference>> references =
      store_->ListReferences(record.id);
  if (!references.ok()) return references.status();
  search->references = *std::move(references);
  if (absl::Status s = LoadJobsState(*search); !s.ok()) return s;
  const auto best = search::RankByFitness(search->population, search->options.selection, 1);
  if (!best.empty()) search->best_id = best.front()->id();

  ActiveSearch& active = *search;
  searches_[record.id] = std::move(search);
  if (active.population.empty() && !active.k_sweep()) {
    // Created but stopped before generation 0 was written: write it now.
    std::vector<headevo::v1::Candidate> generation;
    for (headevo::v1::Genome& genome : active.strategy.InitialGenomes()) {
      headevo::v1::Candidate& c = generation.emplace_back();
      c.set_search_id(active.id);
      *c.mutable_genome() = std::move(genome);
      c.mutable_mutation()->set_description("initial: uniform sample");
    }
    if (absl::Status s = Enqueue(active, std::move(generation)); !s.ok()) return s;
  }
  return Advance(active);
}

Coordinator::ActiveSearch* Coordinator::Find(int64_t search_id) {
  auto it = searches_.find(search_id);
  return it == searches_.end() ? nullptr : it->second.get();
}

void Coordinator::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  work_cv_.notify_all();
  event_cv_.notify_all();
}

}  // namespace headevo::server
