#include "cli/search_client.h"

#include <chrono>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "headevo/v1/search_service.grpc.pb.h"
#include "server/checks/request_checks.h"
#include "server/engine/checkpoint_store.h"
#include "server/engine/search_queries.h"
#include "storage/store.h"

namespace headevo::cli {
namespace {

// The call's status, with a hint when the coordinator cannot be reached.
absl::Status FromGrpc(const grpc::Status& status, const std::string& address) {
  absl::Status converted = worker::FromGrpc(status);
  if (!absl::IsUnavailable(converted)) return converted;
  return absl::UnavailableError(absl::StrCat(converted.message(), " (is `headevo serve` running at ",
                                             address, "? for reads, --db FILE works without it)"));
}

class RemoteClient final : public SearchClient {
 public:
  RemoteClient(std::shared_ptr<grpc::Channel> channel, worker::ChannelOptions options,
               int64_t timeout_ms)
      : stub_(headevo::v1::SearchService::NewStub(channel)),
        options_(std::move(options)),
        timeout_ms_(timeout_ms) {}

  template <typename Request, typename Response, typename Method>
  absl::StatusOr<Response> Call(Method method, const Request& request) {
    grpc::ClientContext context;
    worker::PrepareCall(context, options_.token, std::chrono::milliseconds(timeout_ms_));
    Response response;
    grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (!status.ok()) return FromGrpc(status, options_.address);
    return response;
  }

  absl::StatusOr<headevo::v1::CreateSearchResponse> CreateSearch(
      const headevo::v1::CreateSearchRequest& request) override {
    return Call<headevo::v1::CreateSearchRequest, headevo::v1::CreateSearchResponse>(
        &headevo::v1::SearchService::Stub::CreateSearch, request);
  }
  absl::StatusOr<headevo::v1::ListSearchesResponse> ListSearches() override {
    return Call<headevo::v1::ListSearchesRequest, headevo::v1::ListSearchesResponse>(
        &headevo::v1::SearchService::Stub::ListSearches, headevo::v1::ListSearchesRequest());
  }
  absl::StatusOr<headevo::v1::SearchSummary> GetSearch(int64_t search_id) override {
    headevo::v1::GetSearchRequest request;
    request.set_search_id(search_id);
    return Call<headevo::v1::GetSearchRequest, headevo::v1::SearchSummary>(
        &headevo::v1::SearchService::Stub::GetSearch, request);
  }
  absl::StatusOr<headevo::v1::SearchSummary> Control(const std::string& kind,
                                                     int64_t search_id) override {
    headevo::v1::SearchControlRequest request;
    request.set_search_id(search_id);
    using Stub = headevo::v1::SearchService::Stub;
    auto method = kind == "pause"    ? &Stub::PauseSearch
                  : kind == "resume" ? &Stub::ResumeSearch
                                     : &Stub::StopSearch;
    return Call<headevo::v1::SearchControlRequest, headevo::v1::SearchSummary>(method, request);
  }
  absl::Status Watch(
      int64_t search_id,
      const std::function<bool(const headevo::v1::SearchEvent&)>& on_event) override {
    headevo::v1::WatchSearchRequest request;
    request.set_search_id(search_id);
    grpc::ClientContext context;  // no deadline: a watch lasts as long as the search
    if (!options_.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.token);
    auto reader = stub_->WatchSearch(&context, request);
    headevo::v1::SearchEvent event;
    while (reader->Read(&event)) {
      if (!on_event(event)) {
        context.TryCancel();
        break;
      }
    }
    grpc::Status status = reader->Finish();
    if (status.error_code() == grpc::StatusCode::CANCELLED) return absl::OkStatus();
    return FromGrpc(status, options_.address);
  }
  absl::StatusOr<headevo::v1::ListCandidatesResponse> ListCandidates(
      const headevo::v1::ListCandidatesRequest& request) override {
    return Call<headevo::v1::ListCandidatesRequest, headevo::v1::ListCandidatesResponse>(
        &headevo::v1::SearchService::Stub::ListCandidates, request);
  }
  absl::StatusOr<headevo::v1::GetLineageResponse> GetLineage(
      const headevo::v1::GetLineageRequest& request) override {
    return Call<headevo::v1::GetLineageRequest, headevo::v1::GetLineageResponse>(
        &headevo::v1::SearchService::Stub::GetLineage, request);
  }
  absl::StatusOr<headevo::v1::GetHeadHistoryResponse> GetHeadHistory(int64_t head_id) override {
    headevo::v1::GetHeadHistoryRequest request;
    request.set_head_id(head_id);
    return Call<headevo::v1::GetHeadHistoryRequest, headevo::v1::GetHeadHistoryResponse>(
        &headevo::v1::SearchService::Stub::GetHeadHistory, request);
  }
  absl::StatusOr<headevo::v1::GetParetoFrontResponse> GetParetoFront(int64_t search_id) override {
    headevo::v1::GetParetoFrontRequest request;
    request.set_search_id(search_id);
    return Call<headevo::v1::GetParetoFrontRequest, headevo::v1::GetParetoFrontResponse>(
        &headevo::v1::SearchService::Stub::GetParetoFront, request);
  }
  absl::StatusOr<headevo::v1::ExportedPopulation> ExportBest(
      const headevo::v1::ExportBestRequest& request) override {
    return Call<headevo::v1::ExportBestRequest, headevo::v1::ExportedPopulation>(
        &headevo::v1::SearchService::Stub::ExportBest, request);
  }
  absl::StatusOr<headevo::v1::Candidate> GetCandidate(int64_t candidate_id) override {
    headevo::v1::GetCandidateRequest request;
    request.set_candidate_id(candidate_id);
    return Call<headevo::v1::GetCandidateRequest, headevo::v1::Candidate>(
        &headevo::v1::SearchService::Stub::GetCandidate, request);
  }
  absl::StatusOr<headevo::v1::ListWorkersResponse> ListWorkers() override {
    return Call<headevo::v1::ListWorkersRequest, headevo::v1::ListWorkersResponse>(
        &headevo::v1::SearchService::Stub::ListWorkers, headevo::v1::ListWorkersRequest());
  }
  absl::StatusOr<headevo::v1::SearchConfig> GetSearchConfig(int64_t search_id) override {
    headevo::v1::GetSearchRequest request;
    request.set_search_id(search_id);
    return Call<headevo::v1::GetSearchRequest, headevo::v1::SearchConfig>(
        &headevo::v1::SearchService::Stub::GetSearchConfig, request);
  }
  absl::StatusOr<headevo::v1::DeleteSearchResponse> DeleteSearch(int64_t search_id) override {
    headevo::v1::DeleteSearchRequest request;
    request.set_search_id(search_id);
    return Call<headevo::v1::DeleteSearchRequest, headevo::v1::DeleteSearchResponse>(
        &headevo::v1::SearchService::Stub::DeleteSearch, request);
  }

 private:
  std::unique_ptr<headevo::v1::SearchService::Stub> stub_;
  worker::ChannelOptions options_;
  int64_t timeout_ms_;
};

class OfflineClient final : public SearchClient {
 public:
  // `checkpoint_dir` is empty for a read-only store; else where DeleteSearch removes files.
  OfflineClient(std::unique_ptr<storage::Store> store, std::string checkpoint_dir)
      : store_(std::move(store)), checkpoint_dir_(std::move(checkpoint_dir)) {}

  absl::StatusOr<headevo::v1::CreateSearchResponse> CreateSearch(
      const headevo::v1::CreateSearchRequest&) override {
    return NeedsCoordinator("launching a search");
  }
  absl::StatusOr<headevo::v1::ListSearchesResponse> ListSearches() override {
    absl::StatusOr<std::vector<storage::SearchRecord>> records = store_->ListSearches();
    if (!records.ok()) return records.status();
    headevo::v1::ListSearchesResponse response;
    for (const storage::SearchRecord& record : *records) {
      absl::StatusOr<headevo::v1::SearchSummary> summary =
          server::QuerySummary(*store_, record.id);
      if (!summary.ok()) return summary.status();
      *response.add_searches() = *std::move(summary);
    }
    return response;
  }
  absl::StatusOr<headevo::v1::SearchSummary> GetSearch(int64_t search_id) override {
    return server::QuerySummary(*store_, search_id);
  }
  absl::StatusOr<headevo::v1::SearchSummary> Control(const std::string& kind,
                                                     int64_t) override {
    return NeedsCoordinator(absl::StrCat("'", kind, "'"));
  }
  absl::Status Watch(int64_t,
                     const std::function<bool(const headevo::v1::SearchEvent&)>&) override {
    return NeedsCoordinator("watching a search live");
  }
  absl::StatusOr<headevo::v1::ListCandidatesResponse> ListCandidates(
      const headevo::v1::ListCandidatesRequest& request) override {
    if (absl::Status s = server::CheckListCandidates(request); !s.ok()) return s;
    return server::QueryCandidates(*store_, request);
  }
  absl::StatusOr<headevo::v1::GetLineageResponse> GetLineage(
      const headevo::v1::GetLineageRequest& request) override {
    if (absl::Status s = server::CheckGetLineage(request); !s.ok()) return s;
    return server::QueryLineage(*store_, request);
  }
  absl::StatusOr<headevo::v1::GetHeadHistoryResponse> GetHeadHistory(int64_t head_id) override {
    return server::QueryHeadHistory(*store_, head_id);
  }
  absl::StatusOr<headevo::v1::GetParetoFrontResponse> GetParetoFront(int64_t search_id) override {
    return server::QueryParetoFront(*store_, search_id);
  }
  absl::StatusOr<headevo::v1::ExportedPopulation> ExportBest(
      const headevo::v1::ExportBestRequest& request) override {
    if (absl::Status s = server::CheckExportBest(request); !s.ok()) return s;
    return server::QueryBest(*store_, request);
  }
  absl::StatusOr<headevo::v1::Candidate> GetCandidate(int64_t candidate_id) override {
    headevo::v1::GetCandidateRequest request;
    request.set_candidate_id(candidate_id);
    if (absl::Status s = server::CheckGetCandidate(request); !s.ok()) return s;
    return server::QueryCandidate(*store_, candidate_id);
  }
  absl::StatusOr<headevo::v1::ListWorkersResponse> ListWorkers() override {
    return server::QueryWorkers(*store_);
  }
  absl::StatusOr<headevo::v1::SearchConfig> GetSearchConfig(int64_t search_id) override {
    headevo::v1::GetSearchRequest request;
    request.set_search_id(search_id);
    if (absl::Status s = server::CheckGetSearchConfig(request); !s.ok()) return s;
    return server::QuerySearchConfig(*store_, search_id);
  }
  // As the coordinator's DeleteSearch, on the file alone: the store refuses a RUNNING or
  // PAUSED search itself.
  absl::StatusOr<headevo::v1::DeleteSearchResponse> DeleteSearch(int64_t search_id) override {
    if (checkpoint_dir_.empty()) {
      return absl::FailedPreconditionError(
          "the database is open read-only; `headevo delete SEARCH --yes --db FILE` opens it for "
          "writing");
    }
    headevo::v1::DeleteSearchRequest request;
    request.set_search_id(search_id);
    if (absl::Status s = server::CheckDeleteSearch(request); !s.ok()) return s;
    absl::StatusOr<storage::DeletedSearch> deleted = store_->DeleteSearch(search_id);
    if (!deleted.ok()) return deleted.status();
    headevo::v1::DeleteSearchResponse response;
    response.set_candidates_deleted(deleted->candidates);
    std::error_code ec;
    if (!deleted->dropped_checkpoints.empty() &&
        std::filesystem::is_directory(checkpoint_dir_, ec)) {
      absl::StatusOr<std::unique_ptr<server::CheckpointStore>> files =
          server::CheckpointStore::Open(checkpoint_dir_);
      if (!files.ok()) return files.status();
      int64_t removed = 0;
      for (const std::string& sha : deleted->dropped_checkpoints) {
        absl::StatusOr<bool> gone = (*files)->Remove(sha);
        if (!gone.ok()) return gone.status();
        removed += *gone ? 1 : 0;
      }
      response.set_checkpoints_deleted(removed);
    }
    return response;
  }

 private:
  static absl::Status NeedsCoordinator(const std::string& what) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " needs a running coordinator: drop --db and give --coordinator "
                           "HOST:PORT (default 127.0.0.1:50051)"));
  }
  std::unique_ptr<storage::Store> store_;
  std::string checkpoint_dir_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SearchClient>> ConnectToCoordinator(
    const worker::ChannelOptions& channel, int64_t timeout_ms) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> made = worker::MakeChannel(channel);
  if (!made.ok()) return made.status();
  return std::unique_ptr<SearchClient>(new RemoteClient(*made, channel, timeout_ms));
}

absl::StatusOr<std::unique_ptr<SearchClient>> OpenOffline(const std::string& db_path) {
  storage::StoreOptions options;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::Open(db_path, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<SearchClient>(new OfflineClient(*std::move(store), ""));
}

absl::StatusOr<std::unique_ptr<SearchClient>> OpenOfflineForDelete(
    const std::string& db_path, const std::string& checkpoint_dir) {
  std::error_code ec;
  // Opening for writing would create a missing file: a typo must not make an empty database.
  if (!std::filesystem::exists(db_path, ec)) {
    return absl::NotFoundError(absl::StrCat("database ", db_path, " does not exist"));
  }
  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::Open(db_path);
  if (!store.ok()) return store.status();
  return std::unique_ptr<SearchClient>(new OfflineClient(
      *std::move(store), checkpoint_dir.empty() ? db_path + ".checkpoints" : checkpoint_dir));
}

}  // namespace headevo::cli
