// What a running search tells the outside world (the CLI prints it; later, WatchSearch streams
// it). Called on the thread that runs the search; implementations must not block for long.
#ifndef HEADEVO_SERVER_EMBEDDED_SEARCH_LISTENER_H_
#define HEADEVO_SERVER_EMBEDDED_SEARCH_LISTENER_H_

#include <cstdint>

#include "headevo/v1/candidate.pb.h"

namespace headevo::server {

class Coordinator;

struct CandidateProgress {
  const headevo::v1::Candidate* candidate = nullptr;  // as stored, with metrics or error
  int evaluated = 0;  // candidates finished so far in this search (done or failed)
  int total = 0;      // candidates the search will evaluate in all
  const headevo::v1::Candidate* best = nullptr;  // fittest so far; null until one is done
};

class SearchListener {
 public:
  virtual ~SearchListener() = default;
  virtual void OnSearchStarted(int64_t /*search_id*/, int /*total_candidates*/) {}
  virtual void OnCandidateFinished(const CandidateProgress& /*progress*/) {}
  virtual void OnBaselineStarted(const char* /*what*/) {}
  // The coordinator the search runs on, once it exists, and just before it goes (`headevo run
  // --http-listen` serves the dashboard from it in between). Called on the driver's thread.
  virtual void OnCoordinatorStarted(Coordinator* /*coordinator*/) {}
  virtual void OnCoordinatorStopping() {}
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_EMBEDDED_SEARCH_LISTENER_H_
