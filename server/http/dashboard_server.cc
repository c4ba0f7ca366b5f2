#include "server/http/dashboard_server.h"

#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/http/dashboard_api.h"
#include "server/http/dashboard_auth.h"
#include "server/http/dashboard_pages.h"
#include "server/ops/http_socket.h"
#include "server/rpc/grpc_server.h"

namespace headevo::server {
namespace {

struct HostPort {
  std::string host;
  int port = 0;
};

absl::StatusOr<HostPort> SplitListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  HostPort out;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &out.port) || out.port < 0 || out.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--http-listen must be HOST:PORT (port 0: any free), e.g. 127.0.0.1:8080; got '", listen,
        "'"));
  }
  out.host = listen.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  return out;
}

// The two libraries the pages load, as /lib/NAME -> the file under assets_dir.
const std::pair<const char*, const char*> kLibraries[] = {
    {"chart.js", "chart.js/chart.min.js"},  // libjs-chart.js (3.9)
    {"d3.js", "d3/d3.min.js"},              // libjs-d3 (3.5)
};

}  // namespace

absl::Status DashboardOptions::Validate() const {
  absl::StatusOr<HostPort> address = SplitListen(listen);
  if (!address.ok()) return address.status();
  const bool tls = !tls_cert_file.empty() || !tls_key_file.empty();
  if (tls && (tls_cert_file.empty() || tls_key_file.empty())) {
    return absl::InvalidArgumentError("the dashboard's TLS needs both --tls-cert and --tls-key");
  }
  if (!IsLoopbackAddress(listen) && !(tls && !token.empty()) && !insecure) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to serve the dashboard on ", listen,
        " without TLS and a bearer token: anyone "
        "who can reach it could read every search. Give --tls-cert, --tls-key and --token-file, "
        "or listen on 127.0.0.1, or say --insecure on a trusted network"));
  }
  for (const auto& [name, file] : kLibraries) {
    if (!std::filesystem::exists(std::filesystem::path(assets_dir) / file)) {
      return absl::InvalidArgumentError(absl::StrCat("--http-assets ", assets_dir, " has no ", file,
                                                     " (the dashboard draws with it; Debian: "
                                                     "apt-get install libjs-chart.js libjs-d3)"));
    }
  }
  return absl::OkStatus();
}

class DashboardServer::Impl {
 public:
  Impl(Coordinator* coordinator, DashboardOptions options)
      : api_(coordinator), options_(std::move(options)) {}
  ~Impl() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Start();
  int port() const { return port_; }
  std::string url() const {
    return absl::StrCat(tls() ? "https" : "http", "://", host_, ":", port_);
  }

 private:
  bool tls() const { return !options_.tls_cert_file.empty(); }
  void Route();
  httplib::Server::HandlerResponse Admit(const httplib::Request& request,
                                         httplib::Response& response);

  DashboardApi api_;
  DashboardOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::string host_;
  int port_ = 0;
  std::thread thread_;
};

httplib::Server::HandlerResponse DashboardServer::Impl::Admit(const httplib::Request& request,
                                                              httplib::Response& response) {
  // Answered before cpp-httplib reads a body (it would wait for the connection to close when a
  // request has no Content-Length): only the login form is ever sent.
  if (request.method != "GET" && request.method != "HEAD" &&
      !(request.method == "POST" && request.path == "/login")) {
    response.status = 405;
    response.set_header("Allow", "GET, HEAD");
    response.set_content(ApiErrorJson("the dashboard is read-only: use GET"), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }
  if (request.path == "/login" || request.path == "/static/dashboard.css") {
    return httplib::Server::HandlerResponse::Unhandled;
  }
  absl::Status admitted =
      CheckDashboardCredentials(request.get_header_value("Authorization"),
                                request.get_header_value("Cookie"), options_.token);
  if (admitted.ok()) return httplib::Server::HandlerResponse::Unhandled;
  response.status = 401;
  if (absl::StartsWith(request.path, "/api/")) {
    response.set_content(ApiErrorJson(admitted.message()), "application/json");
  } else {
    response.set_content(LoginPage(std::string(admitted.message())), "text/html; charset=utf-8");
  }
  return httplib::Server::HandlerResponse::Handled;
}

void DashboardServer::Impl::Route() {
  server_->set_pre_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        return Admit(request, response);
      });
  server_->Get("/login", [](const httplib::Request&, httplib::Response& response) {
    response.set_content(LoginPage(""), "text/html; charset=utf-8");
  });
  server_->Post("/login", [this](const httplib::Request& request, httplib::Response& response) {
    absl::Status admitted = CheckDashboardCredentials(
        "", absl::StrCat(kTokenCookie, "=", request.get_param_value("token")), options_.token);
    if (!admitted.ok()) {
      response.status = 401;
      response.set_content(LoginPage("wrong token"), "text/html; charset=utf-8");
      return;
    }
    response.set_header("Set-Cookie", LoginCookie(options_.token, tls()));
    response.set_redirect("/", 303);
  });
  server_->Get(R"(/api(/.*))",
               [this](const httplib::Request& request, httplib::Response& response) {
                 ApiQuery query;
                 for (const auto& [key, value] : request.params) query[key] = value;
                 ApiReply reply = api_.Get(request.matches[1].str(), query);
                 response.status = reply.status;
                 response.set_header("Cache-Control", "no-store");
                 response.set_content(std::move(reply.json), "application/json");
               });
  server_->Get(
      R"(/lib/([a-z0-9.]+))", [this](const httplib::Request& request, httplib::Response& response) {
        for (const auto& [name, file] : kLibraries) {
          if (request.matches[1].str() != name) continue;
          std::ifstream in(std::filesystem::path(options_.assets_dir) / file, std::ios::binary);
          std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
          response.set_header("Cache-Control", "max-age=3600");
          response.set_content(std::move(body), "text/javascript");
          return;
        }
        response.status = 404;
      });
  server_->Get(R"(/static/([a-z_.]+))",
               [](const httplib::Request& request, httplib::Response& response) {
                 const EmbeddedAsset* asset = FindAsset(request.matches[1].str());
                 if (asset == nullptr) {
                   response.status = 404;
                   return;
                 }
                 response.set_content(std::string(asset->body), std::string(asset->content_type));
               });
  auto page = [](const char* name) {
    return [name](const httplib::Request&, httplib::Response& response) {
      response.set_content(PageShell(name), "text/html; charset=utf-8");
    };
  };
  server_->Get("/", page("searches"));
  server_->Get(R"(/search/\d+)", page("search"));
  server_->Get(R"(/candidate/\d+)", page("candidate"));
  server_->Get(R"(/head/\d+)", page("head"));
}

absl::Status DashboardServer::Impl::Start() {
  if (absl::Status valid = options_.Validate(); !valid.ok()) return valid;
  absl::StatusOr<HostPort> address = SplitListen(options_.listen);
  if (tls()) {
    auto secure = std::make_unique<httplib::SSLServer>(options_.tls_cert_file.c_str(),
                                                       options_.tls_key_file.c_str());
    if (!secure->is_valid()) {
      return absl::NotFoundError(absl::StrCat("the dashboard cannot load its TLS certificate ",
                                              options_.tls_cert_file, " and key ",
                                              options_.tls_key_file));
    }
    server_ = std::move(secure);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  server_->set_socket_options(SetExclusivePortOptions);
  Route();
  host_ = address->host;
  port_ = address->port == 0 ? server_->bind_to_any_port(host_)
                             : (server_->bind_to_port(host_, address->port) ? address->port : -1);
  if (port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("the dashboard cannot listen on ", options_.listen, " (in use?)"));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() does nothing before the loop runs, so the destructor could wait forever otherwise.
  while (!server_->is_running()) std::this_thread::yield();
  return absl::OkStatus();
}

DashboardServer::DashboardServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DashboardServer::~DashboardServer() = default;
int DashboardServer::port() const { return impl_->port(); }
std::string DashboardServer::url() const { return impl_->url(); }

absl::StatusOr<std::unique_ptr<DashboardServer>> DashboardServer::Start(
    Coordinator* coordinator, const DashboardOptions& options) {
  auto impl = std::make_unique<Impl>(coordinator, options);
  if (absl::Status started = impl->Start(); !started.ok()) return started;
  return std::unique_ptr<DashboardServer>(new DashboardServer(std::move(impl)));
}

}  // namespace headevo::server
