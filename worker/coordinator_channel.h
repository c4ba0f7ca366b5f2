// How clients (workers, the CLI, tests) reach a coordinator: a gRPC channel with TLS when a
// CA is given (and a client certificate for mTLS), and a bearer token and a deadline on every
// call.
#ifndef HEADEVO_WORKER_COORDINATOR_CHANNEL_H_
#define HEADEVO_WORKER_COORDINATOR_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace headevo::worker {

struct ChannelOptions {
  std::string address;        // host:port of the coordinator
  std::string tls_ca_file;    // PEM of the CA that signed the coordinator's certificate; TLS on
  std::string tls_cert_file;  // this client's certificate and key, for a coordinator that
  std::string tls_key_file;   // requires them (mTLS)
  std::string tls_server_name;  // the name to verify instead of the address's host
  std::string token;            // bearer token; empty: none sent
  int max_message_bytes = 16 << 20;
};

// InvalidArgument for an empty address or a client key without its certificate; NotFound
// naming an unreadable PEM file. Connecting happens lazily, on the first call.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ChannelOptions& options);

// A call's status as an absl::Status with the same code and message.
absl::Status FromGrpc(const grpc::Status& status);

// Sets the call's deadline (now + timeout) and its token.
void PrepareCall(grpc::ClientContext& context, const std::string& token,
                 std::chrono::milliseconds timeout);

// Reads a token file (the first line, whitespace trimmed). NotFound naming the path;
// InvalidArgument for an empty token.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// The token every command uses: from `token_file` when given (ReadTokenFile's errors), else
// $HEADEVO_TOKEN, else "" (no token sent).
absl::StatusOr<std::string> TokenFromFileOrEnvironment(const std::string& token_file);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_COORDINATOR_CHANNEL_H_
