// Runs one search to the end in the calling thread: `headevo run`. Evolution (the default
// mode) runs a Coordinator (server/coordinator.h) with this process as its only worker, so the
// breeding, leasing and reporting are those of `headevo serve`. k-sweep mode: the dense model
// is trained first, then random head sets of decreasing mean k until one falls behind it.
// Every candidate, head and lineage link is written to the store before it is evaluated, and
// every result right after.
//
// The driver makes no decision of its own: search/ decides, the Evaluator trains, the Store
// remembers. With a deterministic evaluator, the same options give the same lineage.
#ifndef HEADEVO_SERVER_SEARCH_DRIVER_H_
#define HEADEVO_SERVER_SEARCH_DRIVER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "search/evaluator.h"
#include "search/k_sweep.h"
#include "search/pareto.h"
#include "search/search_options.h"
#include "server/coordinator.h"
#include "server/search_listener.h"
#include "storage/store.h"

namespace headevo::server {

struct SearchOutcome {
  int64_t search_id = 0;
  int evaluated = 0;
  int failed = 0;
  headevo::v1::Candidate best;
  // The dense-attention model trained the same way (when the options ask for it).
  std::optional<headevo::v1::Metrics> dense;
  std::string dense_error;  // why `dense` is empty although the options asked for it

  // The other baselines the options ask for, in their order.
  struct Baseline {
    std::string description;  // e.g. "local attention (window 3)"
    std::optional<headevo::v1::Metrics> metrics;
    std::string error;  // why `metrics` is empty
  };
  std::vector<Baseline> baselines;

  // The evaluated candidates no other candidate beats on both val_loss and connections,
  // fewest connections first, and the area they dominate up to `hypervolume_reference`:
  // (log vocab_size, the loss of a uniform guess; layers * heads * seq_len, the connections of
  // dense heads). The reference depends on the model alone, so searches of one model compare.
  std::vector<headevo::v1::Candidate> pareto_front;
  double hypervolume = 0.0;
  search::Objectives hypervolume_reference;

  // k-sweep mode: each mean k trained, in schedule order, and the smallest that held.
  std::vector<search::KSweepStep> k_sweep;
  std::optional<double> smallest_k;
};

class SearchDriver {
 public:
  // None of the pointers is owned; all must outlive the driver. `listener` may be null.
  // `clock` gives milliseconds since the Unix epoch for job and event times (never for a
  // decision of the search).
  SearchDriver(storage::Store* store, search::Evaluator* evaluator, SearchListener* listener,
               std::function<int64_t()> clock = SystemClockMs);

  // Creates the search in the store (with `config_toml` recorded as written) and runs it.
  // A candidate whose evaluation fails is recorded FAILED and the search goes on; if every
  // candidate of generation 0 fails (k-sweep: if the dense model fails), the search is marked
  // FAILED and the error returned. Storage errors stop the search and are returned.
  absl::StatusOr<SearchOutcome> Run(const search::SearchOptions& options,
                                    const std::string& config_toml);

  // Generation 0 of the next Run starts with these genomes (e.g. exported from another
  // search), filled up with samples.
  void set_initial_genomes(std::vector<headevo::v1::Genome> genomes) {
    initial_genomes_ = std::move(genomes);
  }

 private:
  absl::Status Evolve(const search::SearchOptions& options, const std::string& config_toml,
                      std::vector<headevo::v1::Candidate>& population, SearchOutcome& outcome);
  // Evaluates the leased job and reports its result or (permanent) failure.
  absl::Status Report(Coordinator& coordinator, int64_t worker_id, const storage::Lease& lease);
  absl::Status RunKSweep(const search::SearchOptions& options, const std::string& config_toml,
                         std::vector<headevo::v1::Candidate>& population, SearchOutcome& outcome);
  absl::Status SweepK(const search::SearchOptions& options,
                      std::vector<headevo::v1::Candidate>& population, SearchOutcome& outcome);

  // Trains the baselines after the search (none of them enters the lineage).
  void RunBaselines(const search::SearchOptions& options, SearchOutcome& outcome);
  // Trains `model` on the search's task; `stream` seeds it (negative: never a candidate's).
  absl::StatusOr<headevo::v1::Metrics> TrainBaseline(const search::SearchOptions& options,
                                                     const headevo::v1::ModelSpec& model,
                                                     int64_t stream);

  // Tells the listener that finished.back() finished, with the fittest of `finished`.
  void ReportProgress(const search::SearchOptions& options,
                      const std::vector<headevo::v1::Candidate>& finished, int evaluated);
  // Appends a "generation_done" event naming the best candidate so far.
  absl::Status RecordGenerationDone(const search::SearchOptions& options,
                                    const std::vector<headevo::v1::Candidate>& population,
                                    int generation, const SearchOutcome& outcome);
  // Sets the search's final state and appends an event saying why.
  absl::Status EndSearch(int64_t search_id, headevo::v1::SearchState state, const std::string& why);

  // Writes the generation with one job per candidate, then leases, evaluates and reports each
  // job as the embedded worker, appending the results to `population`.
  absl::Status EvaluateGeneration(const search::SearchOptions& options,
                                  std::vector<headevo::v1::Candidate>& population,
                                  std::vector<headevo::v1::Candidate> generation,
                                  SearchOutcome& outcome);

  storage::Store* store_;
  search::Evaluator* evaluator_;
  SearchListener* listener_;
  std::function<int64_t()> clock_;
  int64_t worker_id_ = 0;  // this process, registered as the running search's worker
  int total_ = 0;          // candidates the running search will evaluate, for progress
  std::vector<headevo::v1::Genome> initial_genomes_;
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_SEARCH_DRIVER_H_
