#include "bench/search_quality/common.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "server/config/search_config.h"

namespace headevo::search_quality {

std::unique_ptr<headevo::storage::Store> OpenMemoryStore() {
  absl::StatusOr<std::unique_ptr<headevo::storage::Store>> store =
      headevo::storage::Store::Open(":memory:");
  if (!store.ok()) {
    std::fprintf(stderr, "search_quality: %s\n", store.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(store);
}

std::string TomlString(const std::string& text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

server::SearchOutcome RunSearch(headevo::storage::Store& store,
                                headevo::search::Evaluator& evaluator, const std::string& toml,
                                const std::string& name, ProgressListener* listener,
                                search::SearchOptions* options_out) {
  absl::StatusOr<search::SearchOptions> options = server::ParseSearchConfig(toml, name);
  if (!options.ok()) {
    std::fprintf(stderr, "search_quality: bad config %s: %s\n", name.c_str(),
                 std::string(options.status().message()).c_str());
    std::exit(2);
  }
  if (options_out != nullptr) *options_out = *options;
  server::SearchDriver driver(&store, &evaluator, listener);
  absl::StatusOr<server::SearchOutcome> outcome = driver.Run(*options, toml);
  if (!outcome.ok()) {
    std::fprintf(stderr, "search_quality: search %s failed: %s\n", name.c_str(),
                 outcome.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(outcome);
}

std::string Join(const std::vector<int>& v) { return absl::StrJoin(v, ", "); }

double Median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace headevo::search_quality
