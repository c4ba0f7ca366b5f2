#include "server/ops/scrape_listener.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace headevo::server {
namespace {

constexpr size_t kMaxRequestBytes = 8192;

void SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the scraper went away; nothing to tell it
    sent += static_cast<size_t>(n);
  }
}

std::string Response(const std::string& status, const std::string& content_type,
                     const std::string& body) {
  return absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", content_type,
                      "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
}

}  // namespace

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
  addrinfo hints = {};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (const int error = getaddrinfo(host.c_str(), listen.substr(colon + 1).c_str(), &hints, &found);
      error != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve '", host, "' in '", listen, "': ", gai_strerror(error)));
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  const bool bound = fd >= 0 && bind(fd, found->ai_addr, found->ai_addrlen) == 0 &&
                     ::listen(fd, 16) == 0;
  freeaddrinfo(found);
  if (!bound) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen, ": ", why));
  }
  sockaddr_storage address = {};
  socklen_t size = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  const int bound_port = ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  std::unique_ptr<ScrapeListener> listener(new ScrapeListener(fd, bound_port, std::move(page)));
  listener->thread_ = std::thread([raw = listener.get()] { raw->Serve(); });
  return listener;
}

ScrapeListener::ScrapeListener(int fd, int port, ScrapePage page)
    : fd_(fd), port_(port), page_(std::move(page)) {}

ScrapeListener::~ScrapeListener() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  close(fd_);
}

void ScrapeListener::Serve() {
  while (!stopping_.load()) {
    // Wake every 200 ms to notice the destructor.
    pollfd waiting = {fd_, POLLIN, 0};
    if (poll(&waiting, 1, 200) <= 0) continue;
    const int connection = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    // A scraper that sends nothing must not hold the page for everyone else.
    timeval timeout = {2, 0};
    setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    Answer(connection);
    close(connection);
  }
}

void ScrapeListener::Answer(int connection) const {
  std::string request;
  char buffer[1024];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequestBytes) {
    const ssize_t n = recv(connection, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    request.append(buffer, static_cast<size_t>(n));
  }
  // The request line: METHOD SP TARGET SP VERSION.
  const std::string line = request.substr(0, request.find("\r\n"));
  const size_t first_space = line.find(' ');
  const size_t second_space = line.find(' ', first_space + 1);
  if (first_space == std::string::npos || second_space == std::string::npos) {
    SendAll(connection, Response("400 Bad Request", "text/plain", "malformed request line\n"));
    return;
  }
  const std::string method = line.substr(0, first_space);
  std::string target = line.substr(first_space + 1, second_space - first_space - 1);
  target = target.substr(0, target.find('?'));
  if (target != page_.path) {
    SendAll(connection, Response("404 Not Found", "text/plain",
                                 absl::StrCat("nothing at ", target, "; try ", page_.path, "\n")));
    return;
  }
  if (method != "GET" && method != "HEAD") {
    SendAll(connection, Response("405 Method Not Allowed", "text/plain", "use GET\n"));
    return;
  }
  std::string response = Response("200 OK", page_.content_type, page_.body());
  if (method == "HEAD") response = response.substr(0, response.find("\r\n\r\n") + 4);
  SendAll(connection, response);
}

}  // namespace headevo::server
