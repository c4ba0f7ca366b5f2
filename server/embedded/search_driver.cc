#include "server/embedded/search_driver.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "search/reference_models.h"
#include "search/selection.h"
#include "server/embedded/local_worker.h"

namespace headevo::server {
namespace {

// The embedded worker's lease: it is this process, so the lease only ends with the search.
constexpr int64_t kEmbeddedLeaseMs = int64_t{7} * 24 * 3600 * 1000;

// Tells the listener what the local worker trains and what got recorded.
class ProgressRelay {
 public:
  ProgressRelay(SearchListener* listener, const search::SearchOptions& options, int total)
      : listener_(listener), options_(options), total_(total) {}

  void Leased(const storage::Lease& lease) {
    if (listener_ == nullptr || lease.request.reference_id() == 0) return;
    const headevo::v1::ModelSpec& model = lease.request.training().model();
    listener_->OnBaselineStarted(search::DescribeReferenceModel(model).c_str());
  }
  void Recorded(const JobReport& report) {
    if (listener_ == nullptr || !report.candidate.has_value()) return;
    finished_.push_back(*report.candidate);
    const auto best = search::RankByFitness(finished_, options_.selection, 1);
    CandidateProgress progress;
    progress.candidate = &finished_.back();
    progress.evaluated = static_cast<int>(finished_.size());
    progress.total = total_;
    progress.best = best.empty() ? nullptr : best.front();
    listener_->OnCandidateFinished(progress);
  }

 private:
  SearchListener* listener_;
  const search::SearchOptions& options_;
  int total_;
  std::vector<headevo::v1::Candidate> finished_;  // in the order they finished
};

// Tells the listener about the coordinator for as long as it exists (every return of Run).
class CoordinatorNotice {
 public:
  CoordinatorNotice(SearchListener* listener, Coordinator* coordinator) : listener_(listener) {
    if (listener_ != nullptr) listener_->OnCoordinatorStarted(coordinator);
  }
  ~CoordinatorNotice() {
    if (listener_ != nullptr) listener_->OnCoordinatorStopping();
  }
  CoordinatorNotice(const CoordinatorNotice&) = delete;
  CoordinatorNotice& operator=(const CoordinatorNotice&) = delete;

 private:
  SearchListener* listener_;
};

}  // namespace

SearchDriver::SearchDriver(storage::Store* store, search::Evaluator* evaluator,
                           SearchListener* listener, std::function<int64_t()> clock)
    : store_(store), evaluator_(evaluator), listener_(listener), clock_(std::move(clock)) {}

absl::StatusOr<SearchOutcome> SearchDriver::Run(const search::SearchOptions& options,
                                                const std::string& config_toml) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  CoordinatorOptions coordinator_options;
  coordinator_options.lease_ms = kEmbeddedLeaseMs;
  // This process is the only worker: what failed here fails anywhere.
  coordinator_options.max_attempts = 1;
  coordinator_options.clock = clock_;
  coordinator_options.reader = reader_;
  absl::StatusOr<std::unique_ptr<Coordinator>> coordinator =
      Coordinator::Create(store_, coordinator_options);
  if (!coordinator.ok()) return coordinator.status();
  CoordinatorNotice notice(listener_, coordinator->get());
  absl::StatusOr<int64_t> search_id =
      (*coordinator)->CreateSearch(options, config_toml, initial_genomes_);
  if (!search_id.ok()) return search_id.status();
  const int total = static_cast<int>(options.PlannedEvaluations());
  if (listener_ != nullptr) listener_->OnSearchStarted(*search_id, total);

  ProgressRelay relay(listener_, options, total);
  LocalWorkerOptions worker;
  worker.search_id = *search_id;
  worker.on_leased = [&](const storage::Lease& lease) { relay.Leased(lease); };
  worker.on_recorded = [&](const JobReport& report) { relay.Recorded(report); };
  if (absl::Status s = RunLocalWorker(**coordinator, *evaluator_, worker); !s.ok()) return s;

  absl::StatusOr<headevo::v1::SearchSummary> summary = (*coordinator)->Summary(*search_id);
  if (!summary.ok()) return summary.status();
  if (summary->state() != headevo::v1::SEARCH_STATE_DONE) {
    absl::StatusOr<std::vector<storage::EventRecord>> events =
        (*coordinator)->WithStore([&](storage::Store& store) {
          return store.ListEvents(*search_id, 0, 1'000'000);
        });
    std::string why = absl::StrCat("search ", *search_id, " ended ",
                                   headevo::v1::SearchState_Name(summary->state()));
    if (events.ok() && !events->empty()) why = events->back().message;
    return absl::InternalError(why);
  }
  return (*coordinator)->WithStore([&](storage::Store& store) {
    return ReadSearchOutcome(store, *search_id, options);
  });
}

}  // namespace headevo::server
