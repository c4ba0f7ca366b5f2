#include "server/ops/health_endpoint.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <chrono>

#include "absl/strings/str_cat.h"

namespace headevo::server {
namespace {

HealthEndpointOptions WithClock(HealthEndpointOptions options) {
  if (!options.now_ms) options.now_ms = SteadyClockMs;
  return options;
}

}  // namespace

// Born beating: a fresh endpoint is live for its first stale_after_ms.
HealthEndpoint::HealthEndpoint(const HealthEndpointOptions& options)
    : options_(WithClock(options)), last_beat_ms_(options_.now_ms()) {}

absl::StatusOr<std::unique_ptr<HealthEndpoint>> HealthEndpoint::Start(
    const HealthEndpointOptions& options) {
  std::unique_ptr<HealthEndpoint> endpoint(new HealthEndpoint(options));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // gRPC binds with SO_REUSEPORT by default: a second process would share the port silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &endpoint->port_);
  endpoint->server_ = builder.BuildAndStart();
  if (endpoint->server_ == nullptr || endpoint->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve health checks on ", options.listen,
        ": the address is malformed or the port is taken (--health-listen HOST:PORT)"));
  }
  endpoint->Refresh();
  endpoint->refresher_ = std::thread([raw = endpoint.get()] {
    std::unique_lock<std::mutex> lock(raw->mu_);
    while (!raw->stop_cv_.wait_for(lock, std::chrono::milliseconds(raw->options_.refresh_ms),
                                   [raw] { return raw->stopping_; })) {
      lock.unlock();
      raw->Refresh();
      lock.lock();
    }
  });
  return endpoint;
}

HealthEndpoint::~HealthEndpoint() {
  if (refresher_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    refresher_.join();
  }
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->Shutdown();  // every service NOT_SERVING
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
}

void HealthEndpoint::Beat() { last_beat_ms_.store(options_.now_ms()); }

void HealthEndpoint::SetReady(bool ready) {
  ready_.store(ready);
  Refresh();
}

void HealthEndpoint::Refresh() {
  const int64_t silent_ms = options_.now_ms() - last_beat_ms_.load();
  const bool live = silent_ms < options_.stale_after_ms;
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus("", live);
  health->SetServingStatus(kReadinessService, live && ready_.load());
}

absl::StatusOr<std::unique_ptr<HealthEndpoint>> StartHealthEndpointIfAsked(
    const std::string& listen) {
  if (listen.empty()) return std::unique_ptr<HealthEndpoint>();
  HealthEndpointOptions options;
  options.listen = listen;
  return HealthEndpoint::Start(options);
}

}  // namespace headevo::server
