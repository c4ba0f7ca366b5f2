// Runs one search to the end in the calling thread: generation 0 sampled uniformly, then for
// each generation the fittest candidates become parents, each child prunes its parent's
// worst-ranked heads and resamples replacements. Every candidate, head and lineage link is
// written to the store before it is evaluated, and every result right after.
//
// The driver makes no decision of its own: search/ decides, the Evaluator trains, the Store
// remembers. With a deterministic evaluator, the same options give the same lineage.
#ifndef HEADEVO_SERVER_SEARCH_DRIVER_H_
#define HEADEVO_SERVER_SEARCH_DRIVER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "search/evaluator.h"
#include "search/search_options.h"
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
};

class SearchDriver {
 public:
  // None of the pointers is owned; all must outlive the driver. `listener` may be null.
  SearchDriver(storage::Store* store, search::Evaluator* evaluator, SearchListener* listener);

  // Creates the search in the store (with `config_toml` recorded as written) and runs it.
  // A candidate whose evaluation fails is recorded FAILED and the search goes on; if every
  // candidate of generation 0 fails, the search is marked FAILED and the last error returned.
  // Storage errors stop the search and are returned.
  absl::StatusOr<SearchOutcome> Run(const search::SearchOptions& options,
                                    const std::string& config_toml);

 private:
  // Trains the baselines after the search (none of them enters the lineage).
  void RunBaselines(const search::SearchOptions& options, SearchOutcome& outcome);

  absl::Status EvaluateGeneration(const search::SearchOptions& options,
                                  std::vector<headevo::v1::Candidate>& population,
                                  std::vector<headevo::v1::Candidate> generation,
                                  SearchOutcome& outcome, int total);

  storage::Store* store_;
  search::Evaluator* evaluator_;
  SearchListener* listener_;
};

// The seed of the ordinal-th candidate's training: independent of database ids, so a search
// replayed into another database trains every candidate identically.
uint64_t CandidateTrainingSeed(uint64_t search_seed, int64_t ordinal);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_SEARCH_DRIVER_H_
