// The dashboard's HTML: one small shell per page (the page's script fills it from the JSON
// API), the login form, and the files under server/http/assets/ (the scripts and the style
// sheet), which CMake builds into the binary (embed_assets.cmake), so an installed `headevo`
// needs no data folder of its own.
#ifndef HEADEVO_SERVER_HTTP_DASHBOARD_PAGES_H_
#define HEADEVO_SERVER_HTTP_DASHBOARD_PAGES_H_

#include <string>

#include "absl/strings/string_view.h"

namespace headevo::server {

struct EmbeddedAsset {
  absl::string_view name;          // "search.js"
  absl::string_view content_type;  // "text/javascript"
  absl::string_view body;
};

// The asset called `name`, or nullptr.
const EmbeddedAsset* FindAsset(absl::string_view name);

// The page `page` ("searches", "search", "candidate", "head"): loads the libraries, common.js
// and PAGE.js, which reads its id from the URL.
std::string PageShell(absl::string_view page);

// The login form; `message` (plain text, may be empty) says why it is shown.
std::string LoginPage(absl::string_view message);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_HTTP_DASHBOARD_PAGES_H_
