// absl::Status to grpc::Status for the handlers, and the bearer-token check every RPC handler
// runs first. Status codes share their numbers in both libraries, so a NotFound from the store
// reaches the client as NOT_FOUND with the same message (clients convert back with
// worker::FromGrpc).
#ifndef HEADEVO_SERVER_RPC_GRPC_AUTH_H_
#define HEADEVO_SERVER_RPC_GRPC_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/status/status.h"

namespace headevo::server {

grpc::Status ToGrpc(const absl::Status& status);

// OK when `token` is empty (no token configured) or the call carries the metadata
// "authorization: <scheme> <token>" where <scheme> is "Bearer" in any case ("bearer",
// "BEARER": RFC 7235 section 2.1 makes auth schemes case-insensitive) followed by one or more
// spaces, then exactly `token` (case-sensitive, nothing after it: no trailing space, no
// parameters). Otherwise UNAUTHENTICATED, saying which of three things is wrong: no
// authorization metadata, another scheme (or no space after it), or the wrong token; the
// message never repeats what the client sent. The token comparison takes the same time
// wherever the strings differ.
grpc::Status CheckBearerToken(const grpc::ServerContext& context, const std::string& token);

// What every handler runs first: the token check, then the request's own check (see
// server/checks/request_checks.h); the first failure is the answer.
grpc::Status Admit(const grpc::ServerContext& context, const std::string& token,
                   const absl::Status& request_check);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_RPC_GRPC_AUTH_H_
