#include "server/http/dashboard_auth.h"

#include <openssl/crypto.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace headevo::server {
namespace {

bool SameSecret(absl::string_view given, const std::string& token) {
  return given.size() == token.size() &&
         CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

// Finds `name` in a Cookie header ("a=1; headevo_token=x"); false when it is not there.
bool CookieValue(absl::string_view cookie, absl::string_view name, absl::string_view* value) {
  for (absl::string_view pair : absl::StrSplit(cookie, ';')) {
    pair = absl::StripAsciiWhitespace(pair);
    if (absl::ConsumePrefix(&pair, name) && absl::ConsumePrefix(&pair, "=")) {
      *value = pair;
      return true;
    }
  }
  return false;
}

}  // namespace

absl::Status CheckDashboardCredentials(absl::string_view authorization, absl::string_view cookie,
                                       const std::string& token) {
  if (token.empty()) return absl::OkStatus();
  absl::string_view from_cookie;
  const bool has_cookie = CookieValue(cookie, kTokenCookie, &from_cookie);
  if (authorization.empty() && !has_cookie) {
    return absl::UnauthenticatedError(
        "this dashboard needs its token: log in at /login, or send 'Authorization: Bearer "
        "<token>'");
  }
  if (!authorization.empty()) {
    absl::string_view rest = authorization;
    if (rest.size() < 7 || !absl::EqualsIgnoreCase(rest.substr(0, 7), "bearer ")) {
      return absl::UnauthenticatedError(
          "the Authorization header must be 'Bearer <token>' (another scheme was sent)");
    }
    rest = absl::StripLeadingAsciiWhitespace(rest.substr(7));
    if (SameSecret(rest, token)) return absl::OkStatus();
    return absl::UnauthenticatedError("wrong token in the Authorization header");
  }
  if (SameSecret(from_cookie, token)) return absl::OkStatus();
  return absl::UnauthenticatedError(
      "the login cookie holds a wrong or old token: log in again at /login");
}

std::string LoginCookie(const std::string& token, bool secure) {
  return absl::StrCat(kTokenCookie, "=", token, "; Path=/; HttpOnly; SameSite=Strict",
                      secure ? "; Secure" : "");
}

}  // namespace headevo::server
