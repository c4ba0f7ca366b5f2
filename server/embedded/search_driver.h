// Runs one search to the end in the calling thread: `headevo run`. It is a Coordinator
// (server/engine/coordinator.h) on the given store with this process as its only worker
// (server/embedded/local_worker.h): the same breeding, leasing, reporting, reference models and k-sweep
// steps as `headevo serve` with remote workers, and no loop of its own. The outcome is read
// back from the store (server/engine/search_outcome.h), as any client would read it.
//
// With a deterministic evaluator, the same options give the same lineage, in `run` and in
// `serve` alike.
#ifndef HEADEVO_SERVER_EMBEDDED_SEARCH_DRIVER_H_
#define HEADEVO_SERVER_EMBEDDED_SEARCH_DRIVER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "headevo/v1/candidate.pb.h"
#include "search/evaluator.h"
#include "search/search_options.h"
#include "server/engine/coordinator.h"
#include "server/embedded/search_listener.h"
#include "server/engine/search_outcome.h"
#include "storage/store.h"

namespace headevo::server {

class SearchDriver {
 public:
  // None of the pointers is owned; all must outlive the driver. `listener` may be null.
  // `clock` gives milliseconds since the Unix epoch for job and event times (never for a
  // decision of the search).
  SearchDriver(storage::Store* store, search::Evaluator* evaluator, SearchListener* listener,
               std::function<int64_t()> clock = SystemClockMs);

  // Creates the search in the store (with `config_toml` recorded as written) and runs it.
  // A candidate whose evaluation fails is recorded FAILED and the search goes on; when the
  // search fails (every candidate of generation 0 failed; a k-sweep's dense model failed) the
  // error says why. Storage errors stop the search and are returned.
  absl::StatusOr<SearchOutcome> Run(const search::SearchOptions& options,
                                    const std::string& config_toml);

  // Generation 0 of the next Run starts with these genomes (e.g. exported from another
  // search), filled up with samples.
  void set_initial_genomes(std::vector<headevo::v1::Genome> genomes) {
    initial_genomes_ = std::move(genomes);
  }
  // A read-only store on the same database (Store::OpenReader; not owned, may be null): the
  // dashboard's queries then never hold up the search (CoordinatorOptions::reader).
  void set_reader(storage::Store* reader) { reader_ = reader; }

 private:
  storage::Store* store_;
  storage::Store* reader_ = nullptr;
  search::Evaluator* evaluator_;
  SearchListener* listener_;
  std::function<int64_t()> clock_;
  std::vector<headevo::v1::Genome> initial_genomes_;
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_EMBEDDED_SEARCH_DRIVER_H_
