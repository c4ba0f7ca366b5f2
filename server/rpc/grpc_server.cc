#include "server/rpc/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace headevo::server {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the ", what, " file ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// gRPC only logs why it cannot use a certificate and then fails to listen, which reads like a
// taken port. Parse the PEM first so the error names the file and what is wrong with it.
absl::Status CheckCertificatePair(const std::string& cert_pem, const std::string& cert_path,
                                  const std::string& key_pem, const std::string& key_path) {
  BIO* cert_bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  absl::Status status;
  if (cert == nullptr) {
    status = absl::InvalidArgumentError(absl::StrCat(
        "the TLS certificate file ", cert_path, " holds no PEM certificate (BEGIN CERTIFICATE)"));
  } else if (key == nullptr) {
    status = absl::InvalidArgumentError(absl::StrCat(
        "the TLS key file ", key_path, " holds no unencrypted PEM private key"));
  } else if (X509_check_private_key(cert, key) != 1) {
    status = absl::InvalidArgumentError(absl::StrCat("the TLS key ", key_path,
                                                     " does not belong to the certificate ",
                                                     cert_path));
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return status;
}

// The host part of "host:port", "[v6]:port" or "unix:path".
std::string HostOf(const std::string& listen) {
  if (absl::StartsWith(listen, "[")) {
    const size_t close = listen.find(']');
    return close == std::string::npos ? listen : listen.substr(1, close - 1);
  }
  const size_t colon = listen.rfind(':');
  return colon == std::string::npos ? listen : listen.substr(0, colon);
}

}  // namespace

bool IsLoopbackAddress(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:")) return true;
  const std::string host = HostOf(listen);
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    Coordinator* coordinator, CheckpointStore* checkpoints, const ServerOptions& options) {
  if (options.max_message_bytes < 4096) {
    return absl::InvalidArgumentError(absl::StrCat("max_message_bytes ", options.max_message_bytes,
                                                   " is too small; give at least 4096"));
  }
  const bool tls = !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  if (tls && (options.tls_cert_file.empty() || options.tls_key_file.empty())) {
    return absl::InvalidArgumentError("TLS needs both --tls-cert and --tls-key");
  }
  if (!options.client_ca_file.empty() && !tls) {
    return absl::InvalidArgumentError("--client-ca (mTLS) needs --tls-cert and --tls-key");
  }
  if (!IsLoopbackAddress(options.listen) && !(tls && !options.token.empty()) &&
      !options.insecure) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to listen on ", options.listen, " without TLS and a bearer token: anyone who "
        "can reach it could submit results and read every search. Give --tls-cert, --tls-key "
        "and --token-file, or listen on 127.0.0.1, or say --insecure on a trusted network"));
  }
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (tls) {
    absl::StatusOr<std::string> cert = ReadPem(options.tls_cert_file, "TLS certificate");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem(options.tls_key_file, "TLS key");
    if (!key.ok()) return key.status();
    if (absl::Status s = CheckCertificatePair(*cert, options.tls_cert_file, *key,
                                              options.tls_key_file);
        !s.ok()) {
      return s;
    }
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    if (!options.client_ca_file.empty()) {
      absl::StatusOr<std::string> ca = ReadPem(options.client_ca_file, "client CA");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
      ssl.client_certificate_request =
          GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    credentials = grpc::SslServerCredentials(ssl);
  }

  std::unique_ptr<CoordinatorServer> server(new CoordinatorServer());
  server->coordinator_ = coordinator;
  WorkerServiceOptions worker_options;
  worker_options.token = options.token;
  worker_options.max_lease_wait_ms = options.max_lease_wait_ms;
  // A download chunk must fit in one message, with room for its framing.
  worker_options.chunk_bytes = std::min(worker_options.chunk_bytes, options.max_message_bytes - 1024);
  server->worker_service_ =
      std::make_unique<WorkerServiceImpl>(coordinator, checkpoints, worker_options);
  server->search_service_ =
      std::make_unique<SearchServiceImpl>(coordinator, checkpoints,
                                          SearchServiceOptions{options.token});

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC binds with SO_REUSEPORT by default: a second coordinator on the same port (another
  // database) would silently take half the workers. Refuse the port instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(options.listen, credentials, &server->port_);
  builder.RegisterService(server->worker_service_.get());
  builder.RegisterService(server->search_service_.get());
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, options.keepalive_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Workers ping while long-polling; allow it instead of answering with GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5'000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.listen,
        ": the address is malformed or the port is taken (is another coordinator running?)"));
  }
  return server;
}

CoordinatorServer::~CoordinatorServer() {
  Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

void CoordinatorServer::Shutdown(std::chrono::system_clock::time_point deadline) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  coordinator_->Shutdown();  // long polls and watches return now
  server_->Shutdown(deadline);
}

void CoordinatorServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace headevo::server
