// The coordinator server's security rules, in process: the bearer token on every call, the
// refusal to listen beyond loopback unprotected, and TLS with client certificates (mTLS) made
// at test time with the `openssl` command line.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "headevo/v1/search_service.grpc.pb.h"
#include "headevo/v1/worker_service.grpc.pb.h"
#include "server/engine/checkpoint_store.h"
#include "server/engine/coordinator.h"
#include "server/rpc/grpc_server.h"
#include "storage/store.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "tests/testutil/tiny_config.h"
#include "worker/coordinator_channel.h"

namespace headevo::server {
namespace {

namespace fs = std::filesystem;
namespace v1 = headevo::v1;

constexpr std::chrono::seconds kDeadline(5);
constexpr const char* kToken = "s3cret";

const std::string kConfig =
    testing::TinySearchConfig("name = \"secure\"\npopulation = 2\ngenerations = 0\n");

// Makes, in the current directory: ca.{pem,key} and rogue_ca.{pem,key} (two self-signed
// CAs), server.{pem,key} for localhost and 127.0.0.1 signed by ca, client.{pem,key} signed by
// ca, and rogue_client.{pem,key} signed by rogue_ca. P-256 keys: fast to generate.
constexpr const char* kMakeCertificates = R"(set -e
printf '[req]\ndistinguished_name = dn\n[dn]\n' > req.cnf
printf 'basicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n' > ca.ext
printf 'basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost,IP:127.0.0.1\n' > server.ext
printf 'basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = clientAuth\n' > client.ext
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key"; }
ca() {
  key "$1"
  openssl req -new -config req.cnf -key "$1.key" -subj "/CN=headevo test $1" -out "$1.csr"
  openssl x509 -req -in "$1.csr" -signkey "$1.key" -days 2 -set_serial "$2" -extfile ca.ext -out "$1.pem"
}
leaf() {
  key "$1"
  openssl req -new -config req.cnf -key "$1.key" -subj "/CN=$4" -out "$1.csr"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -days 2 -set_serial "$5" -extfile "$3.ext" -out "$1.pem"
}
ca ca 1
ca rogue_ca 2
leaf server ca server localhost 3
leaf client ca client worker 4
leaf rogue_client rogue_ca client worker 5
)";

#define EXPECT_GRPC_CODE(expr, code)                                              \
  do {                                                                            \
    const ::grpc::Status grpc_status_ = (expr);                                   \
    EXPECT_EQ(grpc_status_.error_code(), (code)) << grpc_status_.error_message(); \
  } while (0)

class GrpcSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(store_, storage::Store::Open(dir_.File("headevo.db")));
    ASSERT_OK_AND_ASSIGN(checkpoints_, CheckpointStore::Open(CheckpointDir()));
    ASSERT_OK_AND_ASSIGN(coordinator_, Coordinator::Create(store_.get(), CoordinatorOptions{}));
  }

  std::string CheckpointDir() const { return dir_.File("ckpt"); }

  absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(ServerOptions options) {
    return CoordinatorServer::Start(coordinator_.get(), checkpoints_.get(), options);
  }

  // A client of the server on 127.0.0.1; `options.address` is filled in.
  struct Client {
    std::unique_ptr<v1::WorkerService::Stub> workers;
    std::unique_ptr<v1::SearchService::Stub> searches;
  };
  Client Connect(const CoordinatorServer& server, worker::ChannelOptions options) {
    options.address = absl::StrCat("127.0.0.1:", server.port());
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = worker::MakeChannel(options);
    EXPECT_TRUE(channel.ok()) << channel.status();
    if (!channel.ok()) return {};
    return {v1::WorkerService::NewStub(*channel), v1::SearchService::NewStub(*channel)};
  }

  // Calls with a short deadline and, unless it is empty, the raw authorization value.
  static grpc::Status Register(Client& client, const std::string& authorization) {
    grpc::ClientContext context;
    worker::PrepareCall(context, "", kDeadline);
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    v1::RegisterRequest request;
    request.set_device("cpu");
    v1::RegisterResponse response;
    return client.workers->Register(&context, request, &response);
  }
  static grpc::Status CreateSearch(Client& client, const std::string& authorization) {
    grpc::ClientContext context;
    worker::PrepareCall(context, "", kDeadline);
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    v1::CreateSearchRequest request;
    request.set_config_toml(kConfig);
    v1::CreateSearchResponse response;
    return client.searches->CreateSearch(&context, request, &response);
  }
  static grpc::Status ListSearches(Client& client, const std::string& authorization,
                                   v1::ListSearchesResponse* response) {
    grpc::ClientContext context;
    worker::PrepareCall(context, "", kDeadline);
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    return client.searches->ListSearches(&context, v1::ListSearchesRequest(), response);
  }
  static grpc::Status Upload(Client& client, const std::string& authorization,
                             const std::string& sha, const std::string& bytes) {
    grpc::ClientContext context;
    worker::PrepareCall(context, "", kDeadline);
    if (!authorization.empty()) context.AddMetadata("authorization", authorization);
    v1::UploadCheckpointResponse response;
    std::unique_ptr<grpc::ClientWriter<v1::UploadCheckpointRequest>> writer =
        client.workers->UploadCheckpoint(&context, &response);
    v1::UploadCheckpointRequest message;
    message.set_sha256(sha);
    message.set_total_bytes(static_cast<int64_t>(bytes.size()));
    message.set_data(bytes);
    writer->Write(message);
    writer->WritesDone();
    return writer->Finish();
  }

  int WorkerCount() {
    return coordinator_->WithStore([](storage::Store& store) {
      int n = 0;
      while (store.GetWorker(n + 1).ok()) ++n;
      return n;
    });
  }
  size_t SearchCount() {
    absl::StatusOr<std::vector<storage::SearchRecord>> all =
        coordinator_->WithStore([](storage::Store& s) { return s.ListSearches(); });
    EXPECT_TRUE(all.ok()) << all.status();
    return all.ok() ? all->size() : 0;
  }
  size_t CheckpointFiles() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(CheckpointDir())) ++n;
    return n;
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<CheckpointStore> checkpoints_;
  std::unique_ptr<Coordinator> coordinator_;
};

// --- 1. the bearer token ---------------------------------------------------------------------

TEST_F(GrpcSecurityTest, EveryCallNeedsTheRightBearerToken) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.token = kToken;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<CoordinatorServer> server, Start(options));
  Client client = Connect(*server, {});
  ASSERT_NE(client.workers, nullptr);

  const std::string bytes = "checkpoint bytes";
  const std::string payload = dir_.File("payload.bin");
  std::ofstream(payload, std::ios::binary) << bytes;
  ASSERT_OK_AND_ASSIGN(const std::string sha, Sha256OfFile(payload));

  const std::string right = absl::StrCat("Bearer ", kToken);
  for (const std::string& wrong :
       {std::string(), std::string("Bearer wrong"), std::string(kToken),
        std::string("Bearer s3cre"), std::string("Bearer s3cretX"), std::string("Bearer S3CRET"),
        std::string("Basic s3cret"), std::string("Bearers3cret"), std::string("Bearer s3cret "),
        std::string("Bearer")}) {
    SCOPED_TRACE(absl::StrCat("authorization '", wrong, "'"));
    EXPECT_GRPC_CODE(Register(client, wrong), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_GRPC_CODE(CreateSearch(client, wrong), grpc::StatusCode::UNAUTHENTICATED);
    v1::ListSearchesResponse listed;
    EXPECT_GRPC_CODE(ListSearches(client, wrong, &listed), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_GRPC_CODE(Upload(client, wrong, sha, bytes), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(WorkerCount(), 0);
    EXPECT_EQ(SearchCount(), 0u);
    EXPECT_EQ(CheckpointFiles(), 0u);
  }

  EXPECT_GRPC_CODE(Register(client, right), grpc::StatusCode::OK);
  EXPECT_EQ(WorkerCount(), 1);
  EXPECT_GRPC_CODE(CreateSearch(client, right), grpc::StatusCode::OK);
  EXPECT_EQ(SearchCount(), 1u);
  v1::ListSearchesResponse listed;
  EXPECT_GRPC_CODE(ListSearches(client, right, &listed), grpc::StatusCode::OK);
  EXPECT_EQ(listed.searches_size(), 1);
  EXPECT_GRPC_CODE(Upload(client, right, sha, bytes), grpc::StatusCode::OK);
  EXPECT_EQ(CheckpointFiles(), 1u);
}

// RFC 7235 section 2.1: the scheme is case-insensitive, and one or more spaces may follow it.
// The token is not: it is compared byte for byte.
TEST_F(GrpcSecurityTest, BearerSchemeIsCaseInsensitiveAndEachRefusalSaysWhy) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.token = kToken;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<CoordinatorServer> server, Start(options));
  Client client = Connect(*server, {});
  ASSERT_NE(client.workers, nullptr);

  int registered = 0;
  for (const char* scheme : {"Bearer ", "bearer ", "BEARER ", "bEaReR ", "Bearer   "}) {
    const std::string authorization = absl::StrCat(scheme, kToken);
    SCOPED_TRACE(absl::StrCat("authorization '", authorization, "'"));
    v1::ListSearchesResponse listed;
    EXPECT_GRPC_CODE(ListSearches(client, authorization, &listed), grpc::StatusCode::OK);
    EXPECT_GRPC_CODE(Register(client, authorization), grpc::StatusCode::OK);
    EXPECT_EQ(WorkerCount(), ++registered);
  }

  // Each refusal names what is wrong and never echoes what the client sent.
  const std::pair<std::string, std::string> refused[] = {
      {"", "needs a bearer token"},
      {"bearer wrong", "wrong bearer token"},
      {"BEARER S3CRET", "wrong bearer token"},
      {"Bearer ", "wrong bearer token"},
      {"Basic czNjcmV0", "must read \"Bearer <token>\""},
      {"Basic s3cret", "must read \"Bearer <token>\""},
      {kToken, "must read \"Bearer <token>\""},
      {"Token s3cret", "must read \"Bearer <token>\""},
  };
  for (const auto& [authorization, why] : refused) {
    SCOPED_TRACE(absl::StrCat("authorization '", authorization, "'"));
    v1::ListSearchesResponse listed;
    const grpc::Status status = ListSearches(client, authorization, &listed);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
    EXPECT_NE(status.error_message().find(why), std::string::npos) << status.error_message();
    EXPECT_EQ(status.error_message().find(kToken), std::string::npos) << status.error_message();
    EXPECT_EQ(status.error_message().find("czNj"), std::string::npos) << status.error_message();
    EXPECT_GRPC_CODE(Register(client, authorization), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(WorkerCount(), registered);
  }
}

// --- 2. the loopback rule --------------------------------------------------------------------

TEST_F(GrpcSecurityTest, NonLoopbackAddressNeedsTlsAndTokenOrInsecure) {
  ServerOptions options;
  options.listen = "0.0.0.0:0";
  absl::StatusOr<std::unique_ptr<CoordinatorServer>> refused = Start(options);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_NE(refused.status().message().find("TLS"), std::string::npos) << refused.status();
  EXPECT_NE(refused.status().message().find("token"), std::string::npos) << refused.status();

  // A token alone is not enough: it would cross the network in clear text.
  options.token = kToken;
  refused = Start(options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();

  options.token.clear();
  options.insecure = true;
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<CoordinatorServer> server, Start(options));
  EXPECT_GT(server->port(), 0);
  Client client = Connect(*server, {});
  ASSERT_NE(client.searches, nullptr);
  v1::ListSearchesResponse listed;
  EXPECT_GRPC_CODE(ListSearches(client, "", &listed), grpc::StatusCode::OK);
}

TEST(GrpcSecurityAddressTest, IsLoopbackAddress) {
  for (const char* loopback : {"127.0.0.1:1", "127.1.2.3:50051", "localhost:1", "[::1]:1",
                               "unix:/x", "unix:///tmp/headevo.sock"}) {
    EXPECT_TRUE(IsLoopbackAddress(loopback)) << loopback;
  }
  for (const char* open : {"0.0.0.0:1", "10.1.2.3:1", "[::]:1", "192.168.0.1:50051",
                           "example.com:1", "[::ffff:10.0.0.1]:1", "localhost.example.com:1"}) {
    EXPECT_FALSE(IsLoopbackAddress(open)) << open;
  }
}

// --- 3. TLS and mTLS -------------------------------------------------------------------------

TEST_F(GrpcSecurityTest, MutualTlsAdmitsOnlyClientsWithTrustedCertificates) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "the openssl command line is not installed (Debian package openssl, which "
                    "ca-certificates from deploy/setup.sh pulls in): cannot make test "
                    "certificates";
  }
  const fs::path certs = dir_.path() / "certs";
  fs::create_directories(certs);
  std::ofstream(certs / "make.sh") << kMakeCertificates;
  const std::string command =
      absl::StrCat("cd '", certs.string(), "' && sh make.sh > make.log 2>&1");
  ASSERT_EQ(std::system(command.c_str()), 0) << "see " << (certs / "make.log").string();
  const auto pem = [&](const std::string& name) { return (certs / name).string(); };

  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.tls_cert_file = pem("server.pem");
  options.tls_key_file = pem("server.key");
  options.client_ca_file = pem("ca.pem");
  options.token = kToken;
  {
    // Unusable files are named with what is wrong, not reported as a port problem.
    std::ofstream(certs / "placeholder.pem") << "REPLACE ME with the server certificate\n";
    const std::pair<std::pair<std::string, std::string>, std::string> unusable[] = {
        {{pem("placeholder.pem"), pem("server.key")}, "holds no PEM certificate"},
        {{pem("server.pem"), pem("placeholder.pem")}, "holds no unencrypted PEM private key"},
        {{pem("server.pem"), pem("client.key")}, "does not belong to the certificate"},
    };
    for (const auto& [files, complaint] : unusable) {
      ServerOptions bad = options;
      bad.tls_cert_file = files.first;
      bad.tls_key_file = files.second;
      absl::StatusOr<std::unique_ptr<CoordinatorServer>> refused = Start(bad);
      EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
      EXPECT_NE(refused.status().message().find(complaint), std::string::npos)
          << refused.status();
    }
  }
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<CoordinatorServer> server, Start(options));
  const std::string right = absl::StrCat("Bearer ", kToken);

  worker::ChannelOptions trusted;
  trusted.tls_ca_file = pem("ca.pem");
  trusted.tls_cert_file = pem("client.pem");
  trusted.tls_key_file = pem("client.key");
  trusted.tls_server_name = "localhost";
  {
    Client client = Connect(*server, trusted);
    ASSERT_NE(client.searches, nullptr);
    v1::ListSearchesResponse listed;
    EXPECT_GRPC_CODE(ListSearches(client, right, &listed), grpc::StatusCode::OK);
    EXPECT_GRPC_CODE(Register(client, right), grpc::StatusCode::OK);
    EXPECT_EQ(WorkerCount(), 1);
    // TLS does not replace the token.
    EXPECT_GRPC_CODE(Register(client, ""), grpc::StatusCode::UNAUTHENTICATED);
  }

  worker::ChannelOptions rogue_client = trusted;
  rogue_client.tls_cert_file = pem("rogue_client.pem");
  rogue_client.tls_key_file = pem("rogue_client.key");
  worker::ChannelOptions plaintext;
  worker::ChannelOptions no_client_cert;
  no_client_cert.tls_ca_file = pem("ca.pem");
  no_client_cert.tls_server_name = "localhost";
  worker::ChannelOptions distrusts_server = trusted;  // the server's CA is not the one it trusts
  distrusts_server.tls_ca_file = pem("rogue_ca.pem");
  const std::pair<const char*, worker::ChannelOptions> refused[] = {
      {"client certificate from an untrusted CA", rogue_client},
      {"plaintext", plaintext},
      {"TLS without a client certificate", no_client_cert},
      {"client that does not trust the server", distrusts_server},
  };
  for (const auto& [what, channel] : refused) {
    SCOPED_TRACE(what);
    Client client = Connect(*server, channel);
    ASSERT_NE(client.searches, nullptr);
    v1::ListSearchesResponse listed;
    EXPECT_GRPC_CODE(ListSearches(client, right, &listed), grpc::StatusCode::UNAVAILABLE);
    EXPECT_GRPC_CODE(Register(client, right), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(WorkerCount(), 1);
  }
}

}  // namespace
}  // namespace headevo::server
