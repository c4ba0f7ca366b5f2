// Who may read the dashboard: with no token configured, anyone who can reach the port (the
// server only listens on loopback then, unless told --insecure); with one, a request must carry
// it as "Authorization: Bearer <token>" (scripts, curl) or as the cookie the login form sets
// (browsers). The cookie holds the token itself, HttpOnly and SameSite=Strict (Secure under
// TLS), so a restart with the same token keeps browsers logged in and a new token logs them out.
#ifndef HEADEVO_SERVER_HTTP_DASHBOARD_AUTH_H_
#define HEADEVO_SERVER_HTTP_DASHBOARD_AUTH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace headevo::server {

inline constexpr absl::string_view kTokenCookie = "headevo_token";

// OK when `token` is empty, or `authorization` (the header, "" if absent) is "Bearer <token>"
// (the scheme in any case), or `cookie` (the Cookie header, "" if absent) has
// headevo_token=<token>. Otherwise Unauthenticated, saying whether nothing was sent or what was
// sent is wrong (never repeating it). Comparisons take the same time wherever the strings differ.
absl::Status CheckDashboardCredentials(absl::string_view authorization, absl::string_view cookie,
                                       const std::string& token);

// The Set-Cookie value that logs a browser in (`secure`: the dashboard speaks TLS).
std::string LoginCookie(const std::string& token, bool secure);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_HTTP_DASHBOARD_AUTH_H_
