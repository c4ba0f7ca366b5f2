#include "server/ops/scrape_listener.h"

#include <httplib.h>

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/ops/http_socket.h"

namespace headevo::server {

absl::StatusOr<std::unique_ptr<ScrapeListener>> ScrapeListener::Start(const std::string& listen,
                                                                      ScrapePage page) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", listen, "' is not HOST:PORT (e.g. 0.0.0.0:9464)"));
  }
  const std::string host = listen.substr(0, colon);
  std::unique_ptr<ScrapeListener> listener(new ScrapeListener());
  listener->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *listener->server_;
  // A scrape is one request; two threads let a slow scraper not hold the page for the next.
  server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  server.set_keep_alive_max_count(1);
  server.set_read_timeout(2, 0);
  server.set_write_timeout(2, 0);
  server.set_socket_options(SetExclusivePortOptions);
  const std::string path = page.path;
  auto answer = [page = std::move(page)](const httplib::Request&, httplib::Response& response) {
    response.set_content(page.body(), page.content_type);
  };
  server.Get(path, answer);  // httplib answers HEAD from the GET handler, without the body
  // Other methods are answered before cpp-httplib reads a body: it would wait for the
  // connection to close when a request has no Content-Length (which means no body).
  server.set_pre_routing_handler(
      [path](const httplib::Request& request, httplib::Response& response) {
        if (request.method == "GET" || request.method == "HEAD") {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        if (request.path == path) {
          response.status = 405;
          response.set_header("Allow", "GET, HEAD");
          response.set_content("use GET\n", "text/plain");
        } else {
          response.status = 404;
          response.set_content(absl::StrCat("nothing at ", request.path, "; try ", path, "\n"),
                               "text/plain");
        }
        return httplib::Server::HandlerResponse::Handled;
      });
  server.set_error_handler([path](const httplib::Request& request, httplib::Response& response) {
    if (response.status == 404) {
      response.set_content(absl::StrCat("nothing at ", request.path, "; try ", path, "\n"),
                           "text/plain");
    }
  });
  listener->port_ =
      port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (listener->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen, " (in use, or not an address of this machine)"));
  }
  listener->thread_ = std::thread([&server] { server.listen_after_bind(); });
  // stop() does nothing before the loop runs, so the destructor could wait forever otherwise.
  while (!server.is_running()) std::this_thread::yield();
  return listener;
}

ScrapeListener::~ScrapeListener() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace headevo::server
