#include "server/rpc/search_service.h"

#include <utility>
#include <vector>

#include "server/rpc/grpc_auth.h"
#include "server/checks/request_checks.h"
#include "server/config/search_config.h"
#include "server/engine/search_queries.h"

namespace headevo::server {
namespace {

// Copies a StatusOr's value into the response, or returns its error.
template <typename T>
grpc::Status Answer(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpc(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status SearchServiceImpl::CreateSearch(grpc::ServerContext* context,
                                             const headevo::v1::CreateSearchRequest* request,
                                             headevo::v1::CreateSearchResponse* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckCreateSearch(*request)); !s.ok()) return s;
  const std::string source =
      request->source_name().empty() ? "config.toml" : request->source_name();
  absl::StatusOr<search::SearchOptions> options =
      ParseSearchConfig(request->config_toml(), source);
  if (!options.ok()) return ToGrpc(options.status());
  std::vector<headevo::v1::Genome> genomes(request->initial_genomes().begin(),
                                           request->initial_genomes().end());
  absl::StatusOr<int64_t> id =
      coordinator_->CreateSearch(*options, request->config_toml(), genomes);
  if (!id.ok()) return ToGrpc(id.status());
  response->set_search_id(*id);
  return grpc::Status::OK;
}

grpc::Status SearchServiceImpl::ListSearches(grpc::ServerContext* context,
                                             const headevo::v1::ListSearchesRequest* /*request*/,
                                             headevo::v1::ListSearchesResponse* response) {
  if (grpc::Status s = Admit(*context, options_.token, absl::OkStatus()); !s.ok()) return s;
  absl::StatusOr<std::vector<headevo::v1::SearchSummary>> summaries =
      coordinator_->ListSummaries();
  if (!summaries.ok()) return ToGrpc(summaries.status());
  for (headevo::v1::SearchSummary& s : *summaries) *response->add_searches() = std::move(s);
  return grpc::Status::OK;
}

grpc::Status SearchServiceImpl::GetSearch(grpc::ServerContext* context,
                                          const headevo::v1::GetSearchRequest* request,
                                          headevo::v1::SearchSummary* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckSearchId("GetSearch", request->search_id())); !s.ok()) return s;
  return Answer(coordinator_->Summary(request->search_id()), response);
}

grpc::Status SearchServiceImpl::PauseSearch(grpc::ServerContext* context,
                                            const headevo::v1::SearchControlRequest* request,
                                            headevo::v1::SearchSummary* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckSearchId("PauseSearch", request->search_id())); !s.ok()) return s;
  return Answer(coordinator_->Pause(request->search_id()), response);
}

grpc::Status SearchServiceImpl::ResumeSearch(grpc::ServerContext* context,
                                             const headevo::v1::SearchControlRequest* request,
                                             headevo::v1::SearchSummary* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckSearchId("ResumeSearch", request->search_id())); !s.ok()) return s;
  return Answer(coordinator_->Resume(request->search_id()), response);
}

grpc::Status SearchServiceImpl::StopSearch(grpc::ServerContext* context,
                                           const headevo::v1::SearchControlRequest* request,
                                           headevo::v1::SearchSummary* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckSearchId("StopSearch", request->search_id())); !s.ok()) return s;
  return Answer(coordinator_->Stop(request->search_id()), response);
}

grpc::Status SearchServiceImpl::WatchSearch(grpc::ServerContext* context,
                                            const headevo::v1::WatchSearchRequest* request,
                                            grpc::ServerWriter<headevo::v1::SearchEvent>* writer) {
  if (grpc::Status s = Admit(*context, options_.token, CheckWatchSearch(*request)); !s.ok()) return s;
  Coordinator::EventCursor cursor;
  cursor.stored_after = request->after_event_id();
  while (!context->IsCancelled()) {
    absl::StatusOr<std::vector<headevo::v1::SearchEvent>> events =
        coordinator_->NextEvents(request->search_id(), cursor, /*wait_ms=*/1000);
    if (!events.ok()) return ToGrpc(events.status());
    if (!events->empty()) {
      absl::StatusOr<headevo::v1::SearchSummary> summary =
          coordinator_->Summary(request->search_id());
      for (headevo::v1::SearchEvent& event : *events) {
        if (summary.ok()) *event.mutable_summary() = *summary;
        if (!writer->Write(event)) return grpc::Status::OK;  // the client went away
      }
      continue;
    }
    absl::StatusOr<bool> finished = coordinator_->Finished(request->search_id());
    if (!finished.ok()) return ToGrpc(finished.status());
    if (*finished) return grpc::Status::OK;
  }
  return grpc::Status::OK;
}

grpc::Status SearchServiceImpl::ListCandidates(grpc::ServerContext* context,
                                               const headevo::v1::ListCandidatesRequest* request,
                                               headevo::v1::ListCandidatesResponse* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckListCandidates(*request)); !s.ok()) return s;
  return Answer(coordinator_->WithStore(
                    [&](storage::Store& store) { return QueryCandidates(store, *request); }),
                response);
}

grpc::Status SearchServiceImpl::GetLineage(grpc::ServerContext* context,
                                           const headevo::v1::GetLineageRequest* request,
                                           headevo::v1::GetLineageResponse* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckGetLineage(*request)); !s.ok()) return s;
  return Answer(coordinator_->WithStore(
                    [&](storage::Store& store) { return QueryLineage(store, *request); }),
                response);
}

grpc::Status SearchServiceImpl::GetHeadHistory(grpc::ServerContext* context,
                                               const headevo::v1::GetHeadHistoryRequest* request,
                                               headevo::v1::GetHeadHistoryResponse* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckGetHeadHistory(*request)); !s.ok()) return s;
  return Answer(coordinator_->WithStore([&](storage::Store& store) {
    return QueryHeadHistory(store, request->head_id());
  }),
                response);
}

grpc::Status SearchServiceImpl::GetParetoFront(grpc::ServerContext* context,
                                               const headevo::v1::GetParetoFrontRequest* request,
                                               headevo::v1::GetParetoFrontResponse* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckSearchId("GetParetoFront", request->search_id())); !s.ok()) return s;
  return Answer(coordinator_->WithStore([&](storage::Store& store) {
    return QueryParetoFront(store, request->search_id());
  }),
                response);
}

grpc::Status SearchServiceImpl::ExportBest(grpc::ServerContext* context,
                                           const headevo::v1::ExportBestRequest* request,
                                           headevo::v1::ExportedPopulation* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckExportBest(*request)); !s.ok()) return s;
  return Answer(coordinator_->WithStore(
                    [&](storage::Store& store) { return QueryBest(store, *request); }),
                response);
}

grpc::Status SearchServiceImpl::GetCandidate(grpc::ServerContext* context,
                                             const headevo::v1::GetCandidateRequest* request,
                                             headevo::v1::Candidate* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckGetCandidate(*request)); !s.ok()) return s;
  return Answer(coordinator_->WithStore([&](storage::Store& store) {
    return QueryCandidate(store, request->candidate_id());
  }),
                response);
}

grpc::Status SearchServiceImpl::ListWorkers(grpc::ServerContext* context,
                                            const headevo::v1::ListWorkersRequest* /*request*/,
                                            headevo::v1::ListWorkersResponse* response) {
  if (grpc::Status s = Admit(*context, options_.token, absl::OkStatus()); !s.ok()) return s;
  return Answer(
      coordinator_->WithStore([](storage::Store& store) { return QueryWorkers(store); }),
      response);
}

grpc::Status SearchServiceImpl::GetSearchConfig(grpc::ServerContext* context,
                                                const headevo::v1::GetSearchRequest* request,
                                                headevo::v1::SearchConfig* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckGetSearchConfig(*request)); !s.ok()) return s;
  return Answer(coordinator_->WithStore([&](storage::Store& store) {
    return QuerySearchConfig(store, request->search_id());
  }),
                response);
}

grpc::Status SearchServiceImpl::DeleteSearch(grpc::ServerContext* context,
                                             const headevo::v1::DeleteSearchRequest* request,
                                             headevo::v1::DeleteSearchResponse* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckDeleteSearch(*request)); !s.ok()) return s;
  absl::StatusOr<storage::DeletedSearch> deleted =
      coordinator_->DeleteSearch(request->search_id());
  if (!deleted.ok()) return ToGrpc(deleted.status());
  // The rows are gone for good: a file that cannot be removed now does not undo that, and
  // the checkpoint collection (server/ops/housekeeping.h) takes it later, since nothing
  // names it any more.
  int64_t removed = 0;
  for (const std::string& sha : deleted->dropped_checkpoints) {
    absl::StatusOr<bool> gone = checkpoints_->Remove(sha);
    if (gone.ok() && *gone) ++removed;
  }
  response->set_candidates_deleted(deleted->candidates);
  response->set_checkpoints_deleted(removed);
  return grpc::Status::OK;
}

}  // namespace headevo::server
