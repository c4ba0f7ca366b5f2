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
// Thread-safe: every read runs under the coordinator's lock (Coordinator::WithStore). The two
// figures that read every candidate or head row (fitness, offsets: seconds at 100,000
// candidates) are kept per search and computed again only once its finished candidates grew by
// 1% (at least one) or its state changed, so pages polling a large search do not hold the lock
// that workers' reports need; a small search's figures follow every result.
#ifndef HEADEVO_SERVER_HTTP_DASHBOARD_API_H_
#define HEADEVO_SERVER_HTTP_DASHBOARD_API_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "server/engine/coordinator.h"

namespace headevo::server {

struct ApiReply {
  int status = 200;
  std::string json;
};

using ApiQuery = std::map<std::string, std::string>;

// {"error": MESSAGE}, escaped: every error the dashboard answers has this shape.
std::string ApiErrorJson(absl::string_view message);

class DashboardApi {
 public:
  // `coordinator` is not owned and must outlive the API.
  explicit DashboardApi(Coordinator* coordinator) : coordinator_(coordinator) {}

  // `path` is what follows "/api" ("/searches/3/pareto").
  ApiReply Get(absl::string_view path, const ApiQuery& query);

 private:
  struct CachedFigure {
    int64_t finished = 0;  // the search's done + failed candidates when it was computed
    int state = 0;         // and its state
    std::string json;
  };
  ApiReply Searches();
  ApiReply Search(int64_t id, absl::string_view part, const ApiQuery& query);
  // The figure `name` of search `id` from the cache, or `compute`d (and kept) when stale.
  ApiReply Cached(int64_t id, const std::string& name,
                  const std::function<absl::StatusOr<std::string>()>& compute);
  ApiReply Candidate(int64_t id, absl::string_view part, const ApiQuery& query);

  Coordinator* coordinator_;
  std::mutex cache_mu_;
  std::map<std::pair<int64_t, std::string>, CachedFigure> cache_;  // GUARDED_BY(cache_mu_)
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_HTTP_DASHBOARD_API_H_
