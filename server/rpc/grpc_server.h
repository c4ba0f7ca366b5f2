// The coordinator's gRPC server: WorkerService and SearchService on one port, plus the
// standard grpc.health.v1 health service and server reflection (so grpcurl and load
// balancers work), keepalive pings that find dead connections, and a maximum message size.
//
// Security: with a TLS certificate and key the server speaks TLS (and, given a client CA,
// requires client certificates signed by it: mTLS); with a token every RPC must carry
// "authorization: Bearer <token>". Without both TLS and a token it refuses to listen on
// anything but a loopback address, unless `insecure` says the network is trusted.
#ifndef HEADEVO_SERVER_RPC_GRPC_SERVER_H_
#define HEADEVO_SERVER_RPC_GRPC_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/engine/checkpoint_store.h"
#include "server/engine/coordinator.h"
#include "server/rpc/search_service.h"
#include "server/rpc/worker_service.h"

namespace headevo::server {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // host:port; port 0 picks a free one
  std::string tls_cert_file;               // PEM; with tls_key_file turns TLS on
  std::string tls_key_file;
  std::string client_ca_file;              // PEM; requires and verifies client certificates
  std::string token;                       // bearer token; empty: none required
  bool insecure = false;                   // allow a non-loopback address without TLS + token
  int max_message_bytes = 16 << 20;        // checkpoints travel in 1 MiB chunks
  int keepalive_ms = 20'000;               // ping an idle connection this often
  int64_t max_lease_wait_ms = 30'000;
};

// True for 127.0.0.0/8, ::1, localhost and unix sockets.
bool IsLoopbackAddress(const std::string& listen);

class CoordinatorServer {
 public:
  // Starts serving. InvalidArgument for an address the security rules refuse (the message
  // says how to secure it); NotFound for unreadable certificate files; Unavailable when the
  // port cannot be bound. The pointers are not owned and must outlive the server.
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(Coordinator* coordinator,
                                                                  CheckpointStore* checkpoints,
                                                                  const ServerOptions& options);
  ~CoordinatorServer();

  int port() const { return port_; }
  // Stops accepting calls, lets calls in flight finish until `deadline`, then cancels the
  // rest. Long polls and watches return at once (the coordinator is shut down first).
  void Shutdown(std::chrono::system_clock::time_point deadline);
  void Wait();

 private:
  CoordinatorServer() = default;
  Coordinator* coordinator_ = nullptr;
  std::unique_ptr<WorkerServiceImpl> worker_service_;
  std::unique_ptr<SearchServiceImpl> search_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_RPC_GRPC_SERVER_H_
