// Searches' lifecycle: created, paused, resumed, stopped, ended, deleted; and their summaries.
#include <cmath>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "search/reference_models.h"
#include "server/checks/request_checks.h"
#include "server/engine/active_search.h"
#include "server/engine/coordinator.h"
#include "server/engine/search_queries.h"

namespace headevo::server {
namespace {

// An initial genome as fresh heads of generation 0: ids cleared, origin INITIAL. Its shape is
// checked by CheckInitialGenome; what needs the model is checked here.
absl::StatusOr<headevo::v1::Genome> FreshGenome(const headevo::v1::Genome& given, int index,
                                                const search::SearchOptions& options) {
  const auto& model = options.training.model();
  headevo::v1::Genome genome = given;
  if (genome.num_layers() == 0) genome.set_num_layers(model.num_layers());
  if (absl::Status s = CheckInitialGenome(index, genome); !s.ok()) return s;
  if (genome.num_layers() != model.num_layers()) {
    return absl::InvalidArgumentError(absl::StrCat("initial genome ", index, " has ",
                                                   genome.num_layers(), " layers; the model has ",
                                                   model.num_layers()));
  }
  std::vector<int> heads_per_layer(model.num_layers(), 0);
  for (int h = 0; h < genome.heads_size(); ++h) {
    headevo::v1::Head& head = *genome.mutable_heads(h);
    ++heads_per_layer[head.layer()];
    for (const int32_t offset : head.offsets().offsets()) {
      if (std::abs(static_cast<int64_t>(offset)) >= model.seq_len() ||
          (model.causal() && offset > 0)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "initial genome ", index, " head ", h, ": offset ", offset,
            " does not fit the model (|offset| < seq_len ", model.seq_len(),
            model.causal() ? ", and <= 0 in a causal model)" : ")"));
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

absl::StatusOr<int64_t> Coordinator::CreateSearch(
    const search::SearchOptions& options, const std::string& config_toml,
    const std::vector<headevo::v1::Genome>& initial_genomes) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  const bool k_sweep = options.mode == search::SearchMode::kKSweep;
  if (k_sweep && !initial_genomes.empty()) {
    return absl::InvalidArgumentError(
        "a k-sweep draws its own random head sets: it takes no initial genomes");
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

  return Durably([&]() -> absl::StatusOr<int64_t> {
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

    absl::Status queued;
    if (k_sweep) {
      Publish(*id, "search_started",
              absl::StrCat("k-sweep ", *id, " '", options.name, "' (seed ", options.seed,
                           ") started: dense attention first, then mean k from ",
                           options.k_sweep.k_start, " down"),
              /*persist=*/true);
      std::vector<search::ReferencePlan> dense;
      dense.push_back(search::DenseReference(options, search::kKSweepBarRole));
      queued = EnqueueReferences(search, std::move(dense));
    } else {
      // The sampled genomes are drawn whatever was given, so a given genome replaces a sample
      // without shifting the random stream of the rest.
      std::vector<headevo::v1::Genome> sampled = search.strategy.InitialGenomes();
      std::vector<headevo::v1::Candidate> generation;
      for (int i = 0; i < options.population_size; ++i) {
        headevo::v1::Candidate& c = generation.emplace_back();
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
      queued = Enqueue(search, std::move(generation));
    }
    if (!queued.ok()) {
      // Nothing was queued: the search cannot run. Say so in the database rather than leave a
      // RUNNING search without work.
      (void)store_->SetSearchState(*id, headevo::v1::SEARCH_STATE_FAILED);
      searches_.erase(*id);
      return queued;
    }
    return *id;
  });
}

absl::Status Coordinator::EndSearch(ActiveSearch& search, headevo::v1::SearchState state,
                                    const std::string& why) {
  if (absl::Status s = store_->SetSearchState(search.id, state); !s.ok()) return s;
  search.state = state;
  Publish(search.id, state == headevo::v1::SEARCH_STATE_DONE ? "search_done" : "search_failed",
          why, /*persist=*/true);
  searches_.erase(search.id);  // `search` is gone from here on
  work_cv_.notify_all();
  return absl::OkStatus();
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
    int64_t search_id, headevo::v1::SearchState from, headevo::v1::SearchState to,
    const std::string& event_kind, const std::string& message) {
  return Durably([&]() -> absl::StatusOr<headevo::v1::SearchSummary> {
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
  });
}

absl::StatusOr<headevo::v1::SearchSummary> Coordinator::Stop(int64_t search_id) {
  return Durably([&]() -> absl::StatusOr<headevo::v1::SearchSummary> {
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
  });
}

absl::StatusOr<storage::DeletedSearch> Coordinator::DeleteSearch(int64_t search_id) {
  return Durably([&]() -> absl::StatusOr<storage::DeletedSearch> {
    if (const ActiveSearch* search = Find(search_id); search != nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "search ", search_id, " is ", StateWord(search->state), ": stop it first (`headevo stop ",
          search_id, "`, or StopSearch), then delete it"));
    }
    absl::StatusOr<storage::DeletedSearch> deleted = store_->DeleteSearch(search_id);
    if (!deleted.ok()) return deleted.status();
    for (auto it = search_of_job_.begin(); it != search_of_job_.end();) {
      it = it->second == search_id ? search_of_job_.erase(it) : std::next(it);
    }
    // Watchers of the search learn it is gone (NotFound) when they next ask whether it finished.
    event_cv_.notify_all();
    return deleted;
  });
}

absl::StatusOr<headevo::v1::SearchSummary> Coordinator::Summary(int64_t search_id) {
  return WithStore([&](storage::Store& store) { return QuerySummary(store, search_id); });
}

absl::StatusOr<std::vector<headevo::v1::SearchSummary>> Coordinator::ListSummaries() {
  return WithStore(
      [&](storage::Store& store) -> absl::StatusOr<std::vector<headevo::v1::SearchSummary>> {
        absl::StatusOr<std::vector<storage::SearchRecord>> records = store.ListSearches();
        if (!records.ok()) return records.status();
        std::vector<headevo::v1::SearchSummary> summaries;
        for (const storage::SearchRecord& record : *records) {
          absl::StatusOr<headevo::v1::SearchSummary> summary = QuerySummary(store, record.id);
          if (!summary.ok()) return summary.status();
          summaries.push_back(*std::move(summary));
        }
        return summaries;
      });
}

absl::StatusOr<headevo::v1::SearchSummary> Coordinator::SummaryLocked(int64_t search_id) {
  return QuerySummary(*store_, search_id);
}

}  // namespace headevo::server
