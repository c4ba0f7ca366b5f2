// The coordinator's dashboard: the pages (server/http/assets/, built into the binary), the
// JavaScript libraries they draw with (Debian's libjs-chart.js and libjs-d3, read from
// `assets_dir`), and the JSON API (dashboard_api.h), over cpp-httplib on a thread pool of its
// own. Everything it serves is read-only; nothing is fetched from elsewhere when a page is viewed.
//
// Security, as for gRPC (server/rpc/grpc_server.h): without both TLS and a token it refuses to
// listen on anything but a loopback address unless `insecure` says the network is trusted; with
// a token every request but /login must carry it (dashboard_auth.h).
//
// Threads: cpp-httplib's workers are plain std::threads (the default stack size), which a
// process with LibTorch's large static TLS can create (prometheus-cpp's civetweb could not:
// server/ops/scrape_listener.h). The API is thread-safe; the coordinator must outlive the server.
#ifndef HEADEVO_SERVER_HTTP_DASHBOARD_SERVER_H_
#define HEADEVO_SERVER_HTTP_DASHBOARD_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/engine/coordinator.h"

namespace headevo::server {

struct DashboardOptions {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one
  std::string tls_cert_file;              // PEM; with tls_key_file the dashboard speaks HTTPS
  std::string tls_key_file;
  std::string token;      // empty: none required
  bool insecure = false;  // allow a non-loopback address without TLS + token
  // Where chart.js/chart.min.js and d3/d3.min.js are (Debian: libjs-chart.js, libjs-d3).
  std::string assets_dir = "/usr/share/javascript";

  // InvalidArgument naming the flag: a malformed address, half a TLS pair, a non-loopback
  // address without TLS and a token, or an assets_dir without the two libraries.
  absl::Status Validate() const;
};

class DashboardServer {
 public:
  // Binds and starts serving. Validate()'s errors; Unavailable when the address cannot be bound;
  // NotFound when the certificate or key cannot be loaded.
  static absl::StatusOr<std::unique_ptr<DashboardServer>> Start(Coordinator* coordinator,
                                                                const DashboardOptions& options);
  ~DashboardServer();  // stops accepting, finishes requests in flight, joins the threads

  int port() const;
  // "http://HOST:PORT" or "https://HOST:PORT".
  std::string url() const;

 private:
  class Impl;
  explicit DashboardServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_HTTP_DASHBOARD_SERVER_H_
