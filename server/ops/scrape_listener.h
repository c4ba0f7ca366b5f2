// A small HTTP server for one read-only page: answers `GET <path>` (and HEAD) with the body a
// callback makes at that moment (200), other methods on the path with 405, anything else with
// 404; one request per connection. Enough for a Prometheus scrape every few seconds.
//
// Built on cpp-httplib (Debian's libcpp-httplib-dev), as the dashboard is (server/http/), on two
// threads of its own. Why not prometheus-cpp's Exposer: its civetweb threads are created with a
// fixed 100 KiB stack, and glibc refuses such threads (EINVAL) in a process whose static TLS is
// larger, which LibTorch with OpenBLAS makes it (~105 KiB); the one `headevo` binary links both.
// cpp-httplib's threads are plain std::threads with the default stack (8 MiB), which glibc
// sizes above the static TLS, so they start in that process (tests/cli/probes_test.cc scrapes
// the real binary).
#ifndef HEADEVO_SERVER_OPS_SCRAPE_LISTENER_H_
#define HEADEVO_SERVER_OPS_SCRAPE_LISTENER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}

namespace headevo::server {

struct ScrapePage {
  std::string path = "/metrics";
  std::string content_type = "text/plain; version=0.0.4; charset=utf-8";
  // Called on one of the listener's threads for every GET of `path`; must be thread-safe.
  std::function<std::string()> body;
};

class ScrapeListener {
 public:
  // Binds `listen` (HOST:PORT, IPv4 or a name; port 0: any free). InvalidArgument for a
  // malformed address, Unavailable when it cannot bind (the message names the address).
  static absl::StatusOr<std::unique_ptr<ScrapeListener>> Start(const std::string& listen,
                                                               ScrapePage page);
  ~ScrapeListener();  // stops accepting, finishes the request in flight, joins the threads

  int port() const { return port_; }

 private:
  ScrapeListener() = default;

  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_OPS_SCRAPE_LISTENER_H_
