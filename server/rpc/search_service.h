// headevo.v1.SearchService on a Coordinator: creating, steering and deleting searches goes
// through the coordinator; reads go through server/engine/search_queries.h under the
// coordinator's lock; a deleted search's checkpoint files are removed here. Every
// request is authenticated (bearer token) and checked first; see
// proto/headevo/v1/search_service.proto for the status codes.
#ifndef HEADEVO_SERVER_RPC_SEARCH_SERVICE_H_
#define HEADEVO_SERVER_RPC_SEARCH_SERVICE_H_

#include <string>

#include "headevo/v1/search_service.grpc.pb.h"
#include "server/engine/checkpoint_store.h"
#include "server/engine/coordinator.h"

namespace headevo::server {

struct SearchServiceOptions {
  std::string token;  // empty: no token required
};

class SearchServiceImpl final : public headevo::v1::SearchService::Service {
 public:
  // `coordinator` and `checkpoints` (where DeleteSearch removes files) are not owned and must
  // outlive the service.
  SearchServiceImpl(Coordinator* coordinator, CheckpointStore* checkpoints,
                    SearchServiceOptions options)
      : coordinator_(coordinator), checkpoints_(checkpoints), options_(std::move(options)) {}

  grpc::Status CreateSearch(grpc::ServerContext* context,
                            const headevo::v1::CreateSearchRequest* request,
                            headevo::v1::CreateSearchResponse* response) override;
  grpc::Status ListSearches(grpc::ServerContext* context,
                            const headevo::v1::ListSearchesRequest* request,
                            headevo::v1::ListSearchesResponse* response) override;
  grpc::Status GetSearch(grpc::ServerContext* context, const headevo::v1::GetSearchRequest* request,
                         headevo::v1::SearchSummary* response) override;
  grpc::Status PauseSearch(grpc::ServerContext* context,
                           const headevo::v1::SearchControlRequest* request,
                           headevo::v1::SearchSummary* response) override;
  grpc::Status ResumeSearch(grpc::ServerContext* context,
                            const headevo::v1::SearchControlRequest* request,
                            headevo::v1::SearchSummary* response) override;
  grpc::Status StopSearch(grpc::ServerContext* context,
                          const headevo::v1::SearchControlRequest* request,
                          headevo::v1::SearchSummary* response) override;
  grpc::Status WatchSearch(grpc::ServerContext* context,
                           const headevo::v1::WatchSearchRequest* request,
                           grpc::ServerWriter<headevo::v1::SearchEvent>* writer) override;
  grpc::Status ListCandidates(grpc::ServerContext* context,
                              const headevo::v1::ListCandidatesRequest* request,
                              headevo::v1::ListCandidatesResponse* response) override;
  grpc::Status GetLineage(grpc::ServerContext* context,
                          const headevo::v1::GetLineageRequest* request,
                          headevo::v1::GetLineageResponse* response) override;
  grpc::Status GetHeadHistory(grpc::ServerContext* context,
                              const headevo::v1::GetHeadHistoryRequest* request,
                              headevo::v1::GetHeadHistoryResponse* response) override;
  grpc::Status GetParetoFront(grpc::ServerContext* context,
                              const headevo::v1::GetParetoFrontRequest* request,
                              headevo::v1::GetParetoFrontResponse* response) override;
  grpc::Status ExportBest(grpc::ServerContext* context,
                          const headevo::v1::ExportBestRequest* request,
                          headevo::v1::ExportedPopulation* response) override;
  grpc::Status GetCandidate(grpc::ServerContext* context,
                            const headevo::v1::GetCandidateRequest* request,
                            headevo::v1::Candidate* response) override;
  grpc::Status ListWorkers(grpc::ServerContext* context,
                           const headevo::v1::ListWorkersRequest* request,
                           headevo::v1::ListWorkersResponse* response) override;
  grpc::Status GetSearchConfig(grpc::ServerContext* context,
                               const headevo::v1::GetSearchRequest* request,
                               headevo::v1::SearchConfig* response) override;
  grpc::Status DeleteSearch(grpc::ServerContext* context,
                            const headevo::v1::DeleteSearchRequest* request,
                            headevo::v1::DeleteSearchResponse* response) override;

 private:
  Coordinator* coordinator_;
  CheckpointStore* checkpoints_;
  SearchServiceOptions options_;
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_RPC_SEARCH_SERVICE_H_
