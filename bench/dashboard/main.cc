// The dashboard's JSON API on a large search: fills a database with a synthetic search of
// --candidates candidates (bench/storage's generator: 8 heads each, every one evaluated), serves
// it with a real coordinator and DashboardServer on loopback, and times what the pages ask for,
// over HTTP, cold (the first request) and warm (the median of --repeats), with the size of each
// answer. Prints one line per request and a RESULT line.
//
//   build/bench/bench_dashboard [--candidates 100000] [--repeats 5] [--db PATH --keep]
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/storage/fill.h"
#include "server/engine/coordinator.h"
#include "server/http/dashboard_server.h"

namespace headevo::bench_dashboard {
namespace {

using bench_storage::Clock;

struct Timed {
  std::string key;  // the RESULT key
  std::string path;
  double cold_ms = 0;
  double warm_ms = 0;  // median of the repeats
  size_t bytes = 0;
};

// Fills `path` with the synthetic search, marked DONE (its config is not a real one, so the
// coordinator must not resume it). Returns the search id, or 0 after printing why.
int64_t FillStore(const std::string& path, const bench_storage::Flags& flags) {
  int64_t search_id = 0;
  std::vector<bench_storage::Candidate> last;
  bench_storage::PhaseStats normal, full;
  const int generations = static_cast<int>(flags.candidates / flags.population);
  const auto start = Clock::now();
  if (absl::Status s = bench_storage::Fill(path, flags, generations, search_id, last, normal, full);
      !s.ok()) {
    std::fprintf(stderr, "bench_dashboard: filling %s: %s\n", path.c_str(),
                 std::string(s.message()).c_str());
    return 0;
  }
  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::Open(path);
  if (!store.ok() || !(*store)->SetSearchState(search_id, headevo::v1::SEARCH_STATE_DONE).ok()) {
    std::fprintf(stderr, "bench_dashboard: cannot mark search %lld done\n",
                 static_cast<long long>(search_id));
    return 0;
  }
  std::printf("filled %s: %lld candidates in %d generations in %.1f s\n", path.c_str(),
              static_cast<long long>(flags.candidates), generations, bench_storage::Seconds(start));
  return search_id;
}

bool Measure(httplib::Client& client, int repeats, Timed& timed) {
  std::vector<double> warm;
  for (int i = 0; i <= repeats; ++i) {
    const auto start = Clock::now();
    httplib::Result result = client.Get(timed.path);
    const double ms = bench_storage::Seconds(start) * 1000;
    if (!result || result->status != 200) {
      std::fprintf(stderr, "bench_dashboard: GET %s failed: %s\n", timed.path.c_str(),
                   result ? result->body.c_str() : httplib::to_string(result.error()).c_str());
      return false;
    }
    timed.bytes = result->body.size();
    if (i == 0) {
      timed.cold_ms = ms;
    } else {
      warm.push_back(ms);
    }
  }
  std::sort(warm.begin(), warm.end());
  timed.warm_ms = warm.empty() ? timed.cold_ms : warm[warm.size() / 2];
  std::printf("GET %-58s cold %8.1f ms  warm %8.1f ms  %9zu bytes\n", timed.path.c_str(),
              timed.cold_ms, timed.warm_ms, timed.bytes);
  return true;
}

int Run(const bench_storage::Flags& flags, int repeats) {
  std::filesystem::path dir;
  std::string path = flags.db;
  if (path.empty()) {
    dir = std::filesystem::temp_directory_path() / absl::StrCat("bench_dashboard_", ::getpid());
    std::filesystem::create_directories(dir);
    path = (dir / "lineage.db").string();
  }
  const int64_t search_id = std::filesystem::exists(path) ? 1 : FillStore(path, flags);
  if (search_id == 0) return 1;

  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::Open(path);
  if (!store.ok()) return 1;
  server::CoordinatorOptions coordinator_options;
  coordinator_options.clock = server::SystemClockMs;
  absl::StatusOr<std::unique_ptr<server::Coordinator>> coordinator =
      server::Coordinator::Create(store->get(), coordinator_options);
  if (!coordinator.ok()) {
    std::fprintf(stderr, "bench_dashboard: %s\n",
                 std::string(coordinator.status().message()).c_str());
    return 1;
  }
  server::DashboardOptions options;
  options.listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<server::DashboardServer>> dashboard =
      server::DashboardServer::Start(coordinator->get(), options);
  if (!dashboard.ok()) {
    std::fprintf(stderr, "bench_dashboard: %s\n",
                 std::string(dashboard.status().message()).c_str());
    return 1;
  }
  httplib::Client client("127.0.0.1", (*dashboard)->port());
  client.set_read_timeout(120, 0);

  // A candidate and a head from the middle of the search, for the candidate and head pages.
  const int64_t candidate = flags.candidates / 2;
  const std::string s = absl::StrCat("/api/searches/", search_id);
  const std::string last_page = absl::StrCat(flags.candidates - 50);
  std::vector<Timed> requests = {
      {"searches", "/api/searches"},
      {"summary", s},
      {"fitness", s + "/fitness"},
      {"pareto", s + "/pareto"},
      {"best500", s + "/candidates?state=done&order=val_loss&page_size=500"},
      {"page_first", s + "/candidates?page_size=50&order=val_loss"},
      {"page_last", s + "/candidates?page_size=50&page_token=" + last_page},
      {"offsets", s + "/offsets"},
      {"samplers", s + "/samplers"},
      {"curves", s + "/curves?count=10"},
      {"workers", "/api/workers"},
      {"candidate", absl::StrCat("/api/candidates/", candidate)},
      {"lineage", absl::StrCat("/api/candidates/", candidate, "/lineage?descendant_depth=1")},
  };
  for (Timed& timed : requests) {
    if (!Measure(client, repeats, timed)) return 1;
  }
  // A head the candidate carries.
  httplib::Result c = client.Get(requests[11].path);
  const size_t at = c->body.find("\"heads\":[{\"id\":\"");
  Timed head{"head", "/api/heads/" + c->body.substr(at + 16, c->body.find('"', at + 16) - at - 16)};
  if (!Measure(client, repeats, head)) return 1;
  requests.push_back(head);

  // What the search page loads on open (everything but the candidate and head pages' reads).
  double page_ms = 0;
  size_t page_bytes = 0;
  for (size_t i = 1; i <= 10; ++i) {
    page_ms += requests[i].cold_ms;
    page_bytes += requests[i].bytes;
  }
  std::string result = absl::StrCat("RESULT bench=dashboard candidates=", flags.candidates);
  for (const Timed& t : requests) {
    absl::StrAppend(&result, " ", t.key, "_cold_ms=", absl::StrFormat("%.1f", t.cold_ms), " ",
                    t.key, "_warm_ms=", absl::StrFormat("%.1f", t.warm_ms), " ", t.key,
                    "_bytes=", t.bytes);
  }
  absl::StrAppend(&result, " search_page_cold_ms=", absl::StrFormat("%.0f", page_ms),
                  " search_page_bytes=", page_bytes);
  std::printf("%s\n", result.c_str());
  dashboard->reset();
  coordinator->reset();
  store->reset();
  if (!dir.empty() && !flags.keep) std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace headevo::bench_dashboard

int main(int argc, char** argv) {
  headevo::bench_storage::Flags flags;
  flags.candidates = 100'000;
  flags.full_generations = 1;  // full durability only matters to bench_storage's figures
  int repeats = 5;
  CLI::App app{
      "The dashboard's JSON API on a large synthetic search: time and size of each answer"};
  app.add_option("--candidates", flags.candidates, "Candidates in the search")
      ->capture_default_str();
  app.add_option("--population", flags.population, "Candidates per generation")
      ->capture_default_str();
  app.add_option("--repeats", repeats, "Warm requests per path (median reported)")
      ->capture_default_str();
  app.add_option("--db", flags.db, "Database to fill (or reuse, when it exists: search 1)");
  app.add_flag("--keep", flags.keep, "Keep the temporary database");
  CLI11_PARSE(app, argc, argv);
  return headevo::bench_dashboard::Run(flags, repeats);
}
