// A plaintext gRPC server with only the standard health service (grpc.health.v1), for probes
// that can speak neither TLS nor a bearer token: Kubernetes' native gRPC probes, load
// balancers. It tells nothing but two bits, so it may listen on any address:
//   service ""               SERVING while the owner's main loop is alive: Beat() was called
//                            within stale_after_ms (a liveness probe restarts a stuck process);
//   service "headevo.ready"  SERVING while alive and the owner says it is ready (a coordinator:
//                            serving; a worker: registered with its coordinator).
// Every status turns NOT_SERVING when the endpoint shuts down.
//
// Time comes from options.now_ms, so a test moves a fake clock past stale_after_ms and calls
// Refresh() instead of waiting for the window to pass.
#ifndef HEADEVO_SERVER_OPS_HEALTH_ENDPOINT_H_
#define HEADEVO_SERVER_OPS_HEALTH_ENDPOINT_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "server/engine/clock.h"

namespace grpc {
class Server;
}

namespace headevo::server {

inline constexpr char kReadinessService[] = "headevo.ready";

struct HealthEndpointOptions {
  std::string listen;  // HOST:PORT; port 0: any free
  // Liveness fails when Beat() has not been called for this long.
  int64_t stale_after_ms = 60'000;
  // How often the statuses are brought up to date (a real wait on the endpoint's own thread).
  int64_t refresh_ms = 200;
  // Milliseconds on a monotonic clock, read by Beat() and Refresh(). Empty: steady_clock.
  std::function<int64_t()> now_ms;
};

class HealthEndpoint {
 public:
  // Unavailable when it cannot listen (the message names the address).
  static absl::StatusOr<std::unique_ptr<HealthEndpoint>> Start(
      const HealthEndpointOptions& options);
  ~HealthEndpoint();

  // The owner's main loop is alive; call it more often than stale_after_ms.
  void Beat();
  // Sets readiness and brings the statuses up to date at once.
  void SetReady(bool ready);
  // Brings the statuses up to date now: live when Beat() was called less than stale_after_ms
  // ago by now_ms. The endpoint's thread calls it every refresh_ms; tests call it directly.
  void Refresh();
  int port() const { return port_; }

 private:
  explicit HealthEndpoint(const HealthEndpointOptions& options);

  HealthEndpointOptions options_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::atomic<int64_t> last_beat_ms_;
  std::atomic<bool> ready_{false};
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread refresher_;
};

// The endpoint of a --health-listen flag: nullptr when it is empty (no probes asked for).
absl::StatusOr<std::unique_ptr<HealthEndpoint>> StartHealthEndpointIfAsked(
    const std::string& listen);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_OPS_HEALTH_ENDPOINT_H_
