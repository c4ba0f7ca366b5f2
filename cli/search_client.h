// What the read and control commands of the CLI talk to: a running coordinator over gRPC, or a
// database file (`--db FILE`, no coordinator needed; the answers come from the same query code,
// server/engine/search_queries.h): read-only for reads, or opened for writing to delete a
// search (refused while a coordinator holds the file).
#ifndef HEADEVO_CLI_SEARCH_CLIENT_H_
#define HEADEVO_CLI_SEARCH_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "headevo/v1/search_service.pb.h"
#include "worker/coordinator_channel.h"

namespace headevo::cli {

class SearchClient {
 public:
  virtual ~SearchClient() = default;
  virtual absl::StatusOr<headevo::v1::CreateSearchResponse> CreateSearch(
      const headevo::v1::CreateSearchRequest& request) = 0;
  virtual absl::StatusOr<headevo::v1::ListSearchesResponse> ListSearches() = 0;
  virtual absl::StatusOr<headevo::v1::SearchSummary> GetSearch(int64_t search_id) = 0;
  // kind: "pause", "resume" or "stop".
  virtual absl::StatusOr<headevo::v1::SearchSummary> Control(const std::string& kind,
                                                             int64_t search_id) = 0;
  // Calls `on_event` for every event until the search finishes (or on_event returns false).
  virtual absl::Status Watch(int64_t search_id,
                             const std::function<bool(const headevo::v1::SearchEvent&)>& on_event) = 0;
  virtual absl::StatusOr<headevo::v1::ListCandidatesResponse> ListCandidates(
      const headevo::v1::ListCandidatesRequest& request) = 0;
  virtual absl::StatusOr<headevo::v1::GetLineageResponse> GetLineage(
      const headevo::v1::GetLineageRequest& request) = 0;
  virtual absl::StatusOr<headevo::v1::GetHeadHistoryResponse> GetHeadHistory(int64_t head_id) = 0;
  virtual absl::StatusOr<headevo::v1::GetParetoFrontResponse> GetParetoFront(
      int64_t search_id) = 0;
  virtual absl::StatusOr<headevo::v1::ExportedPopulation> ExportBest(
      const headevo::v1::ExportBestRequest& request) = 0;
  virtual absl::StatusOr<headevo::v1::Candidate> GetCandidate(int64_t candidate_id) = 0;
  virtual absl::StatusOr<headevo::v1::ListWorkersResponse> ListWorkers() = 0;
  virtual absl::StatusOr<headevo::v1::SearchConfig> GetSearchConfig(int64_t search_id) = 0;
  // Deletes a finished search with its rows and checkpoint files (see DeleteSearch in
  // proto/headevo/v1/search_service.proto).
  virtual absl::StatusOr<headevo::v1::DeleteSearchResponse> DeleteSearch(int64_t search_id) = 0;
};

// A coordinator over gRPC; every call has `timeout_ms` as its deadline (watch: none).
absl::StatusOr<std::unique_ptr<SearchClient>> ConnectToCoordinator(
    const worker::ChannelOptions& channel, int64_t timeout_ms);

// A database file, read-only. Creating, controlling, watching and deleting searches need a
// coordinator (FailedPrecondition says so).
absl::StatusOr<std::unique_ptr<SearchClient>> OpenOffline(const std::string& db_path);

// A database file opened for writing, for DeleteSearch without a coordinator (the store's
// writer lock refuses it with FailedPrecondition while a coordinator holds the file). A
// deleted search's checkpoint files are removed from `checkpoint_dir` ("": DB.checkpoints)
// when that directory exists. Reads work as in OpenOffline; creating, controlling and
// watching still need a coordinator.
absl::StatusOr<std::unique_ptr<SearchClient>> OpenOfflineForDelete(
    const std::string& db_path, const std::string& checkpoint_dir);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_SEARCH_CLIENT_H_
