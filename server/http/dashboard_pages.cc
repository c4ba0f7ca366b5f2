#include "server/http/dashboard_pages.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace headevo::server {

// Generated from assets/ by embed_assets.cmake.
extern const EmbeddedAsset kEmbeddedAssets[];
extern const int kEmbeddedAssetCount;

const EmbeddedAsset* FindAsset(absl::string_view name) {
  for (int i = 0; i < kEmbeddedAssetCount; ++i) {
    if (kEmbeddedAssets[i].name == name) return &kEmbeddedAssets[i];
  }
  return nullptr;
}

std::string PageShell(absl::string_view page) {
  return absl::StrCat(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>headevo</title>"
      "<link rel=\"stylesheet\" href=\"/static/dashboard.css\">"
      "<script src=\"/lib/chart.js\"></script><script src=\"/lib/d3.js\"></script>"
      "<script src=\"/static/common.js\"></script>"
      "<script src=\"/static/",
      page, ".js\"></script></head>\n<body data-page=\"", page,
      "\"><header><a href=\"/\">headevo</a> <span id=\"where\"></span>"
      "<span id=\"live\"></span></header>\n<main id=\"main\"></main></body></html>\n");
}

std::string LoginPage(absl::string_view message) {
  const std::string escaped = absl::StrReplaceAll(
      message, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
  return absl::StrCat(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>headevo: log in</title>"
      "<link rel=\"stylesheet\" href=\"/static/dashboard.css\"></head>\n<body>"
      "<header><a href=\"/\">headevo</a></header><main><h1>Log in</h1>",
      escaped.empty() ? ""
                      : absl::StrCat("<p class=\"error\" id=\"login-error\">", escaped, "</p>"),
      "<p>This dashboard needs the coordinator's token (the file given to "
      "<code>headevo serve --token-file</code>, or <code>$HEADEVO_TOKEN</code>).</p>"
      "<form method=\"post\" action=\"/login\"><input type=\"password\" name=\"token\" "
      "id=\"token\" autocomplete=\"current-password\" autofocus> "
      "<button type=\"submit\" id=\"login\">Log in</button></form></main></body></html>\n");
}

}  // namespace headevo::server
