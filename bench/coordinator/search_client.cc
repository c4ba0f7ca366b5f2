#include "bench/coordinator/search_client.h"

#include <chrono>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"

namespace headevo::bench_coordinator {

namespace {

std::string SearchConfig(const Flags& flags) {
  // Enough generations that the budget outlasts the run: the search never ends under it.
  const int64_t generations = (flags.jobs + flags.population - 1) / flags.population + 1;
  return absl::StrCat(
      "[search]\nname = \"bench_coordinator\"\nseed = 1\npopulation = ", flags.population,
      "\ngenerations = ", generations,
      "\nschedule = \"steady_state\"\ncompare_with_dense = false\n\n"
      "[model]\nlayers = 2\nheads_per_layer = 4\nseq_len = 32\n");
}

}  // namespace

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

absl::Status FromGrpc(const char* rpc, const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(rpc, ": ", s.error_message()));
}

absl::StatusOr<int64_t> CreateSearch(const std::string& address, const Flags& flags) {
  std::unique_ptr<v1::SearchService::Stub> stub = v1::SearchService::NewStub(NewChannel(address));
  v1::CreateSearchRequest request;
  request.set_config_toml(SearchConfig(flags));
  request.set_source_name("bench_coordinator");
  v1::CreateSearchResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (absl::Status s = FromGrpc("CreateSearch", stub->CreateSearch(&context, request, &response));
      !s.ok()) {
    return s;
  }
  return response.search_id();
}

absl::StatusOr<v1::SearchSummary> GetSearch(const std::string& address, int64_t search_id) {
  std::unique_ptr<v1::SearchService::Stub> stub = v1::SearchService::NewStub(NewChannel(address));
  v1::GetSearchRequest request;
  request.set_search_id(search_id);
  v1::SearchSummary summary;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (absl::Status s = FromGrpc("GetSearch", stub->GetSearch(&context, request, &summary));
      !s.ok()) {
    return s;
  }
  return summary;
}

StatusPoller::StatusPoller(std::string address, int64_t search_id, int64_t every_ms)
    : address_(std::move(address)), search_id_(search_id), every_ms_(every_ms) {
  if (every_ms_ > 0) thread_ = std::thread([this] { Poll(); });
}

std::vector<double> StatusPoller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  return ms_;
}

void StatusPoller::Poll() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    const Clock::time_point start = Clock::now();
    absl::StatusOr<v1::SearchSummary> summary = GetSearch(address_, search_id_);
    const double ms = Seconds(start) * 1000;
    lock.lock();
    if (!summary.ok()) {
      std::fprintf(stderr, "bench_coordinator: status poll: %s\n",
                   summary.status().ToString().c_str());
      return;
    }
    ms_.push_back(ms);
    cv_.wait_for(lock, std::chrono::milliseconds(every_ms_), [this] { return stopping_; });
  }
}

}  // namespace headevo::bench_coordinator
