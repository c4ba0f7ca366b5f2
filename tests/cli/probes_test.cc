// What an operator's tools see of real processes: `headevo serve --metrics-listen
// --health-listen` and `headevo worker --health-listen`, asked with `headevo probe` (as a
// container health check would) and scraped over HTTP (as Prometheus would).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "tests/testutil/child_process.h"
#include "tests/testutil/metrics_page.h"
#include "tests/testutil/temp_dir.h"
#include "tests/testutil/tiny_config.h"

namespace headevo {
namespace {

using std::chrono::milliseconds;
using testing::ChildProcess;

// `headevo probe ARGS`: its exit code and its output.
std::pair<int, std::string> Probe(const std::vector<std::string>& args) {
  std::vector<std::string> argv{HEADEVO_BINARY, "probe", "--timeout", "5"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string output;
  const int code = testing::RunCommand(argv, &output, std::chrono::seconds(30));
  return {code, output};
}

// GET /metrics on 127.0.0.1:port; the value of every sample, by "name{labels}".
std::map<std::string, double> Scrape(int port) {
  return testing::MetricSamples(testing::HttpGet(port, "/metrics"));
}

int PortAfter(const ChildProcess& process, const std::string& marker) {
  std::smatch match;
  const std::string log = process.Log();
  return std::regex_search(log, match, std::regex(marker + "([0-9]+)")) ? std::stoi(match[1]) : 0;
}

TEST(ProbesTest, ProbesAndMetricsFollowARealCoordinatorAndWorker) {
  testing::TempDir dir;
  const std::string address = "127.0.0.1:" + std::to_string(testing::FreePort());
  auto serve = std::make_unique<ChildProcess>(
      dir.path(), "serve.log",
      std::vector<std::string>{HEADEVO_BINARY, "serve", "--db", "probes.db", "--listen", address,
                               "--metrics-listen", "127.0.0.1:0", "--health-listen",
                               "127.0.0.1:0"});
  ASSERT_TRUE(testing::WaitFor([&] { return serve->LogContains("metrics on"); },
                               milliseconds(30'000)))
      << serve->Log();
  const int serve_health = PortAfter(*serve, "health checks on port ");
  const int metrics = PortAfter(*serve, "metrics on http://127\\.0\\.0\\.1:");
  ASSERT_GT(serve_health, 0) << serve->Log();
  ASSERT_GT(metrics, 0) << serve->Log();
  const std::string serve_probe = "127.0.0.1:" + std::to_string(serve_health);
  EXPECT_EQ(Probe({"--address", serve_probe, "--service", "headevo.ready"}),
            std::make_pair(0, std::string("SERVING\n")));
  // The coordinator's own port answers the same standard service.
  EXPECT_EQ(Probe({"--address", address}).first, 0);

  ChildProcess worker(dir.path(), "worker.log",
                      {HEADEVO_BINARY, "worker", "--coordinator", address, "--threads", "1",
                       "--checkpoints", "worker.ckpt", "--health-listen", "127.0.0.1:0"});
  ASSERT_TRUE(testing::WaitFor([&] { return worker.LogContains("registered as worker"); },
                               milliseconds(60'000)))
      << worker.Log();
  const std::string worker_probe =
      "127.0.0.1:" + std::to_string(PortAfter(worker, "health checks on port "));
  EXPECT_EQ(Probe({"--address", worker_probe, "--service", "headevo.ready"}).first, 0)
      << "registered, so ready";

  std::ofstream(dir.path() / "search.toml")
      << testing::TinySearchConfig("population = 3\ngenerations = 1\ncompare_with_dense = false\n");
  std::string launched;
  ASSERT_EQ(testing::RunCommand({HEADEVO_BINARY, "launch", (dir.path() / "search.toml").string(),
                                 "--coordinator", address},
                                &launched),
            0)
      << launched;
  // 3 x 2 candidates; the page follows them to the end.
  std::map<std::string, double> samples;
  const bool all_counted = testing::WaitFor(
      [&] {
        samples = Scrape(metrics);
        return samples["headevo_evaluations_total"] == 6;
      },
      milliseconds(120'000));
  ASSERT_TRUE(all_counted) << "evaluations_total " << samples["headevo_evaluations_total"] << "\n"
                           << worker.Log();
  EXPECT_EQ(samples["headevo_up"], 1);
  EXPECT_EQ(samples["headevo_workers_live"], 1);
  EXPECT_EQ(samples["headevo_lease_expiries_total"], 0);
  EXPECT_GT(samples["headevo_evaluations_per_second"], 0);

  // The coordinator dies: the worker is still alive, but no longer ready.
  serve->Kill(SIGKILL);
  std::pair<int, std::string> ready;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        ready = Probe({"--address", worker_probe, "--service", "headevo.ready"});
        return ready.first == 1;
      },
      milliseconds(60'000)))
      << ready.second;
  EXPECT_EQ(ready.second, "NOT_SERVING\n");
  EXPECT_EQ(Probe({"--address", worker_probe}).first, 0) << "alive: its loop still beats";
  EXPECT_EQ(Probe({"--address", serve_probe}).first, 1) << "nothing answers there any more";
}

}  // namespace
}  // namespace headevo
