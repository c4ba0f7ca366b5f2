#include "server/rpc/grpc_auth.h"

#include <string_view>

namespace headevo::server {

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

grpc::Status CheckBearerToken(const grpc::ServerContext& context, const std::string& token) {
  if (token.empty()) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "this coordinator needs a bearer token: pass --token-file (or set "
                        "HEADEVO_TOKEN) with the token the coordinator was started with");
  }
  const std::string_view given(it->second.data(), it->second.size());
  const std::string expected = "Bearer " + token;
  // Constant time in the contents: a timing side channel must not reveal the token.
  unsigned char differ = given.size() != expected.size();
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    differ |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
  }
  if (differ != 0) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "wrong bearer token: use the token the coordinator was started with");
  }
  return grpc::Status::OK;
}

grpc::Status Admit(const grpc::ServerContext& context, const std::string& token,
                   const absl::Status& request_check) {
  if (grpc::Status auth = CheckBearerToken(context, token); !auth.ok()) return auth;
  return ToGrpc(request_check);
}

}  // namespace headevo::server
