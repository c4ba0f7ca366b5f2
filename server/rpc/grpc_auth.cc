#include "server/rpc/grpc_auth.h"

#include <string_view>

#include "absl/strings/match.h"

namespace headevo::server {
namespace {

constexpr absl::string_view kScheme = "Bearer";

// Equal in content, taking the same time wherever `given` and `expected` differ (only their
// lengths may show): a timing side channel must not reveal the token byte by byte.
bool ConstantTimeEquals(std::string_view given, std::string_view expected) {
  unsigned char differ = given.size() != expected.size();
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    differ |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
  }
  return differ == 0;
}

grpc::Status Unauthenticated(const char* message) {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, message);
}

}  // namespace

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

grpc::Status CheckBearerToken(const grpc::ServerContext& context, const std::string& token) {
  if (token.empty()) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return Unauthenticated(
        "this coordinator needs a bearer token: pass --token-file (or set HEADEVO_TOKEN) with "
        "the token the coordinator was started with");
  }
  // RFC 7235 section 2.1: credentials = auth-scheme 1*SP token68, the scheme case-insensitive.
  const std::string_view value(it->second.data(), it->second.size());
  const size_t space = value.find(' ');
  const std::string_view scheme = value.substr(0, space);
  if (space == std::string_view::npos ||
      !absl::EqualsIgnoreCase(absl::string_view(scheme.data(), scheme.size()), kScheme)) {
    // Neither the value nor its first word is echoed: a client that sent the bare token (no
    // scheme) would see its secret in logs that show this message.
    return Unauthenticated(
        "the authorization metadata must read \"Bearer <token>\" (the scheme in any case, "
        "then a space): this coordinator takes no other scheme");
  }
  const size_t credentials = value.find_first_not_of(' ', space);
  const std::string_view given =
      credentials == std::string_view::npos ? std::string_view() : value.substr(credentials);
  if (!ConstantTimeEquals(given, token)) {
    return Unauthenticated("wrong bearer token: use the token the coordinator was started with");
  }
  return grpc::Status::OK;
}

grpc::Status Admit(const grpc::ServerContext& context, const std::string& token,
                   const absl::Status& request_check) {
  if (grpc::Status auth = CheckBearerToken(context, token); !auth.ok()) return auth;
  return ToGrpc(request_check);
}

}  // namespace headevo::server
