// The dashboard's read-only JSON API (docs/dashboard.md): the SearchService's reads, answered by
// the same functions (server/engine/search_queries.h) and serialised as the proto's JSON
// mapping (field names as in proto/, int64 as strings, NaN as "NaN"), plus the search page's
// figures computed on the server (search_figures.h). Paths are those after "/api":
//   /searches                        every search, and how many workers hold a job of each
//   /searches/ID                     SearchSummary
//   /searches/ID/candidates          ListCandidates: ?state=pending|running|done|failed
//                                    &order=id|val_loss &page_size=N (<= 1000) &page_token=T
//                                    &min_generation=G &max_generation=G
//   /searches/ID/pareto              GetParetoFront
//   /searches/ID/config              GetSearchConfig
//   /searches/ID/fitness?points=N    the fitness over time in at most N (<= 2000) buckets
//   /searches/ID/curves?count=N      the best N (<= 50) evaluated candidates with their rungs
//   /searches/ID/offsets             per (layer, offset): how long heads with it lived
//   /searches/ID/samplers            the adaptive sampler's arms: pulls, mean reward
//   /candidates/ID                   GetCandidate
//   /candidates/ID/lineage?descendant_depth=D   GetLineage (D: 0..10; default 1)
//   /heads/ID                        GetHeadHistory
//   /workers                         ListWorkers
// Errors answer {"error": "..."}: 400 for a malformed id or parameter (the message names it),
// 404 for an unknown path, search, candidate or head, 500 for anything else.
//
// Thread-safe: every read runs under the coordinator's lock (Coordinator::WithStore); the
// fitness figure is kept per search until the search's counts change, so a page polling it
// every few seconds costs one pass over the candidates per new result at most.
#ifndef HEADEVO_SERVER_HTTP_DASHBOARD_API_H_
#define HEADEVO_SERVER_HTTP_DASHBOARD_API_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include "absl/strings/string_view.h"

#include "server/engine/coordinator.h"

namespace headevo::server {

struct ApiReply {
  int status = 200;
  std::string json;
};

using ApiQuery = std::map<std::string, std::string>;

class DashboardApi {
 public:
  // `coordinator` is not owned and must outlive the API.
  explicit DashboardApi(Coordinator* coordinator) : coordinator_(coordinator) {}

  // `path` is what follows "/api" ("/searches/3/pareto").
  ApiReply Get(absl::string_view path, const ApiQuery& query);

 private:
  struct CachedFigure {
    std::string key;  // the search's counts when it was computed
    std::string json;
  };
  ApiReply Searches();
  ApiReply Search(int64_t id, absl::string_view part, const ApiQuery& query);
  ApiReply Fitness(int64_t id, const ApiQuery& query);
  ApiReply Candidate(int64_t id, absl::string_view part, const ApiQuery& query);

  Coordinator* coordinator_;
  std::mutex cache_mu_;
  std::map<int64_t, CachedFigure> fitness_cache_;  // GUARDED_BY(cache_mu_)
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_HTTP_DASHBOARD_API_H_
