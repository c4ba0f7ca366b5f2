// A minimal HTTP server for one read-only page: answers `GET <path>` with the body a callback
// makes at that moment (200), anything else with 404 or 405, one connection at a time, then
// closes. Enough for a Prometheus scrape every few seconds, and nothing more.
//
// Why not prometheus-cpp's Exposer: its civetweb threads are created with a fixed 100 KiB stack,
// and glibc refuses such threads (EINVAL) in a process whose static TLS is larger, which LibTorch
// with OpenBLAS makes it (~105 KiB); the one `headevo` binary links both.
#ifndef HEADEVO_SERVER_OPS_SCRAPE_LISTENER_H_
#define HEADEVO_SERVER_OPS_SCRAPE_LISTENER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace headevo::server {

struct ScrapePage {
  std::string path = "/metrics";
  std::string content_type = "text/plain; version=0.0.4; charset=utf-8";
  // Called on the listener's thread for every GET of `path`.
  std::function<std::string()> body;
};

class ScrapeListener {
 public:
  // Binds `listen` (HOST:PORT, IPv4 or a name; port 0: any free). InvalidArgument for a
  // malformed address, Unavailable when it cannot bind (the message names the address).
  static absl::StatusOr<std::unique_ptr<ScrapeListener>> Start(const std::string& listen,
                                                               ScrapePage page);
  ~ScrapeListener();  // stops accepting and joins the thread

  int port() const { return port_; }

 private:
  ScrapeListener(int fd, int port, ScrapePage page);
  void Serve();
  void Answer(int connection) const;

  int fd_;
  int port_;
  ScrapePage page_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_OPS_SCRAPE_LISTENER_H_
