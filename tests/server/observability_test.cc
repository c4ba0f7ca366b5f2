// What operators watch: the coordinator's activity counters and Stats(), its Prometheus page
// scraped over real HTTP, and the health endpoint probed over real gRPC.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>

#include "absl/strings/str_format.h"
#include "server/engine/activity_counters.h"
#include "server/engine/coordinator.h"
#include "server/ops/health_endpoint.h"
#include "server/ops/metrics_exporter.h"
#include "server/config/search_config.h"
#include "storage/store.h"
#include "tests/testutil/fake_evaluator.h"
#include "tests/testutil/metrics_page.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "worker/health_probe.h"

namespace headevo::server {
namespace {

TEST(ActivityCountersTest, RateCountsOnlyTheWindowAndWorkersFallSilent) {
  ActivityCounters counters(/*rate_window_ms=*/10'000);
  for (int64_t t : {1'000, 2'000, 9'000, 12'000}) counters.ResultRecorded(t);
  EXPECT_EQ(counters.results_total(), 4);
  // (2'000, 12'000]: the results at 9'000 and 12'000.
  EXPECT_DOUBLE_EQ(counters.ResultsPerSecond(12'000), 2 / 10.0);
  EXPECT_DOUBLE_EQ(counters.ResultsPerSecond(30'000), 0.0);
  EXPECT_EQ(counters.results_total(), 4) << "the window forgets, the total does not";

  counters.WorkerSeen(1, 1'000);
  counters.WorkerSeen(2, 5'000);
  counters.WorkerSeen(1, 6'000);
  EXPECT_EQ(counters.LiveWorkers(7'000, 3'000), 2);
  EXPECT_EQ(counters.LiveWorkers(8'500, 3'000), 1) << "worker 2 silent since 5'000";
  EXPECT_EQ(counters.LiveWorkers(9'500, 3'000), 0);
  counters.WorkerSeen(2, 9'600);
  EXPECT_EQ(counters.LiveWorkers(9'700, 3'000), 1) << "a worker heard again is live again";

  counters.LeasesExpired(3);
  counters.FailureReported();
  EXPECT_EQ(counters.lease_expiries_total(), 3);
  EXPECT_EQ(counters.failures_total(), 1);
}

using testing::HttpGet;
using testing::MetricSamples;

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(store_, storage::Store::Open(dir_.File("m.db")));
    CoordinatorOptions options;
    options.lease_ms = 1000;
    options.max_attempts = 3;
    options.clock = [this] { return now_ms_; };
    ASSERT_OK_AND_ASSIGN(coordinator_, Coordinator::Create(store_.get(), options));
  }

  // `extra` is appended to the config: more sections (the [search] section is taken).
  int64_t CreateSearch(const std::string& extra = "") {
    const std::string toml = absl::StrFormat(
        "[search]\nseed = 3\npopulation = 4\ngenerations = 2\n[selection]\nparents = 2\n"
        "[model]\nseq_len = 16\n[task]\nplanted_offsets = [-1, -3]\n[initial]\nwindow = 6\n"
        "%s",
        extra);
    auto options = ParseSearchConfig(toml, "metrics.toml");
    EXPECT_TRUE(options.ok()) << options.status();
    auto id = coordinator_->CreateSearch(*options, toml, {});
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : 0;
  }

  int64_t Register(const std::string& name) {
    auto registration = coordinator_->RegisterWorker({0, name, "cpu"});
    EXPECT_TRUE(registration.ok()) << registration.status();
    return registration.ok() ? registration->worker_id : 0;
  }

  void Finish(int64_t worker, const storage::Lease& lease) {
    ASSERT_OK_AND_ASSIGN(headevo::v1::EvaluationResult result,
                         evaluator_.Evaluate(lease.request));
    ASSERT_OK(coordinator_->ReportResult(worker, lease.job_id, lease.attempt, result).status());
  }

  testing::TempDir dir_;
  int64_t now_ms_ = 5'000'000;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Coordinator> coordinator_;
  testing::FakeEvaluator evaluator_{{-1, -3}};
};

TEST_F(MetricsTest, TheScrapedPageShowsJobsRatesWorkersExpiriesAndTheBest) {
  const int64_t search = CreateSearch();
  const int64_t alive = Register("alive");
  const int64_t dying = Register("dying");
  // The dying worker takes a job and is never heard from again.
  ASSERT_OK_AND_ASSIGN(std::optional<storage::Lease> lost, coordinator_->LeaseJob(dying));
  ASSERT_TRUE(lost.has_value());
  // The live one finishes three, fails one (transiently) and holds one.
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(std::optional<storage::Lease> lease, coordinator_->LeaseJob(alive));
    ASSERT_TRUE(lease.has_value());
    Finish(alive, *lease);
    now_ms_ += 100;
  }
  ASSERT_OK_AND_ASSIGN(std::optional<storage::Lease> failing, coordinator_->LeaseJob(alive));
  ASSERT_TRUE(failing.has_value());
  ASSERT_OK(coordinator_
                ->ReportFailure(alive, failing->job_id, failing->attempt, "out of memory",
                                /*permanent=*/false)
                .status());
  ASSERT_OK_AND_ASSIGN(std::optional<storage::Lease> held, coordinator_->LeaseJob(alive));
  ASSERT_TRUE(held.has_value());
  // Past the dying worker's lease; the live one heartbeats just before.
  now_ms_ += 900;
  ASSERT_OK(coordinator_->Heartbeat(alive, held->job_id, held->attempt, 0, 0).status());
  now_ms_ += 200;
  ASSERT_OK(coordinator_->ExpireLeases());

  ASSERT_OK_AND_ASSIGN(CoordinatorStats stats, coordinator_->Stats());
  ASSERT_OK_AND_ASSIGN(storage::SearchCounts counts, store_->CountSearch(search));
  ASSERT_EQ(stats.searches.size(), 1u);
  const SearchStats& shown = stats.searches[0];
  ASSERT_TRUE(shown.has_best);
  // The best shown is one of the evaluated candidates, and the fittest of them.
  ASSERT_OK_AND_ASSIGN(auto done, store_->BestCandidates(search, 100));
  ASSERT_EQ(done.size(), 3u);
  bool found = false;
  for (const auto& node : done) {
    found |= node.val_loss == shown.best_val_loss && node.connections == shown.best_connections;
  }
  EXPECT_TRUE(found);

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetricsExporter> exporter,
                       MetricsExporter::Start(coordinator_.get(), "127.0.0.1:0"));
  const std::string page = HttpGet(exporter->port(), "/metrics");
  ASSERT_NE(page.find("HTTP/1.1 200 OK"), std::string::npos) << page;
  ASSERT_NE(page.find("# TYPE headevo_evaluations_total counter"), std::string::npos) << page;
  const std::map<std::string, double> samples = MetricSamples(page);
  const std::string label = absl::StrFormat("search=\"%d\"", search);
  const std::map<std::string, double> expected = {
      {"headevo_up", 1},
      {"headevo_evaluations_total", 3},
      {"headevo_job_failures_total", 1},
      {"headevo_lease_expiries_total", 1},
      {"headevo_workers_live", 1},
      {"headevo_jobs{state=\"running\"}", static_cast<double>(counts.leased)},
      {"headevo_jobs{state=\"queued\"}", static_cast<double>(counts.queued)},
      {"headevo_search_candidates{" + label + ",state=\"done\"}", 3},
      {"headevo_search_candidates{" + label + ",state=\"planned\"}", 12},
      {"headevo_search_paused{" + label + "}", 0},
      {"headevo_search_best_fitness{" + label + "}", shown.best_fitness},
      {"headevo_search_best_val_loss{" + label + "}", shown.best_val_loss},
      {"headevo_search_best_connections{" + label + "}",
       static_cast<double>(shown.best_connections)},
  };
  for (const auto& [name, value] : expected) {
    ASSERT_EQ(samples.count(name), 1u) << name << " missing from\n" << page;
    EXPECT_NEAR(samples.at(name), value, 1e-9 * std::max(1.0, std::abs(value))) << name;
  }
  // Without [fidelity] one rung, the full budget, finished by the evaluated candidates; no
  // budget_steps, so no budget series.
  const std::string rung0 =
      absl::StrFormat("headevo_search_rung_finished{%s,rung=\"0\",steps=\"%d\"}", label,
                      shown.rung_steps.empty() ? -1 : shown.rung_steps[0]);
  ASSERT_EQ(shown.rung_steps.size(), 1u);
  ASSERT_EQ(samples.count(rung0), 1u) << rung0 << " missing from\n" << page;
  EXPECT_EQ(samples.at(rung0), 3);
  EXPECT_EQ(samples.count("headevo_search_budget_steps{" + label + "}"), 0u) << page;
  ASSERT_EQ(samples.count("headevo_search_steps_committed{" + label + "}"), 1u) << page;
  EXPECT_GE(samples.at("headevo_search_steps_committed{" + label + "}"), 5 * shown.rung_steps[0])
      << "at least the five candidate jobs leased so far";
  EXPECT_EQ(counts.leased, 1) << "the live worker's held job";
  EXPECT_EQ(stats.evaluations_total, 3);
  // Three results within the last minute.
  EXPECT_NEAR(samples.at("headevo_evaluations_per_second"), 3 / 60.0, 1e-9);

  // Paused shows; the page follows the coordinator at every scrape.
  ASSERT_OK(coordinator_->Pause(search).status());
  EXPECT_EQ(MetricSamples(HttpGet(exporter->port(), "/metrics"))
                .at("headevo_search_paused{" + label + "}"),
            1);
}

// Multi-fidelity: rungs of 10, 30 and 90 steps. One worker trains jobs until a candidate
// finished rung 1; the page then shows, per rung, the finishers the test counted itself, the
// steps committed as the store's jobs table sums them (Summary), and the budget.
TEST_F(MetricsTest, RungGaugesCountEachRungsFinishersAndTheComputeCommitted) {
  const int64_t search = CreateSearch(
      "[training]\nsteps = 90\n[fidelity]\nenabled = true\nmin_steps = 10\n"
      "reduction_factor = 3\n");
  const int64_t worker = Register("w");
  std::map<int, int> finished_at_steps;  // the test's own count: a job's steps -> jobs done
  for (int i = 0; i < 60 && finished_at_steps[30] == 0; ++i) {
    ASSERT_OK_AND_ASSIGN(std::optional<storage::Lease> lease, coordinator_->LeaseJob(worker));
    ASSERT_TRUE(lease.has_value()) << "the search ended before any promotion finished";
    Finish(worker, *lease);
    ++finished_at_steps[lease->request.training().steps()];
    now_ms_ += 100;
  }
  ASSERT_EQ(finished_at_steps[30], 1) << "a promotion to rung 1 finished";
  ASSERT_OK_AND_ASSIGN(headevo::v1::SearchSummary summary, coordinator_->Summary(search));
  ASSERT_EQ(summary.state(), headevo::v1::SEARCH_STATE_RUNNING);

  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetricsExporter> exporter,
                       MetricsExporter::Start(coordinator_.get(), "127.0.0.1:0"));
  const std::string page = HttpGet(exporter->port(), "/metrics");
  ASSERT_NE(page.find("# TYPE headevo_search_rung_finished gauge"), std::string::npos) << page;
  const std::map<std::string, double> samples = MetricSamples(page);
  const std::string label = absl::StrFormat("search=\"%d\"", search);
  const int rung_steps[] = {10, 30, 90};
  ASSERT_EQ(summary.rung_finished_size(), 3);
  for (int r = 0; r < 3; ++r) {
    const std::string name = absl::StrFormat(
        "headevo_search_rung_finished{%s,rung=\"%d\",steps=\"%d\"}", label, r, rung_steps[r]);
    ASSERT_EQ(samples.count(name), 1u) << name << " missing from\n" << page;
    // Each rung's job ends at its budget: a candidate finished rung r when a job of that
    // many steps did (one at rung 2 did the 10- and 30-step jobs before).
    EXPECT_EQ(samples.at(name), finished_at_steps[rung_steps[r]]) << name;
    EXPECT_EQ(samples.at(name), summary.rung_finished(r)) << name << " against the jobs table";
  }
  EXPECT_GE(finished_at_steps[10], 3) << "a rung-1 promotion needs three rung-0 finishers";
  const std::string committed = "headevo_search_steps_committed{" + label + "}";
  ASSERT_EQ(samples.count(committed), 1u) << page;
  EXPECT_EQ(samples.at(committed), summary.steps_committed());
  // Every job trained so far counts, with the steps from the rung below.
  EXPECT_GE(samples.at(committed),
            10 * finished_at_steps[10] + 20 * finished_at_steps[30] + 60 * finished_at_steps[90]);
  EXPECT_EQ(samples.count("headevo_search_budget_steps{" + label + "}"), 0u);

  // With [search] budget_steps the limit shows beside what is committed.
  const std::string limited =
      "[search]\nseed = 4\npopulation = 4\ngenerations = 2\nbudget_steps = 500\n"
      "[selection]\nparents = 2\n[model]\nseq_len = 16\n[task]\nplanted_offsets = [-1, -3]\n"
      "[initial]\nwindow = 6\n[training]\nsteps = 90\n[fidelity]\nenabled = true\n"
      "min_steps = 10\nreduction_factor = 3\n";
  ASSERT_OK_AND_ASSIGN(search::SearchOptions options, ParseSearchConfig(limited, "limited.toml"));
  ASSERT_OK_AND_ASSIGN(int64_t second, coordinator_->CreateSearch(options, limited, {}));
  const std::map<std::string, double> after = MetricSamples(HttpGet(exporter->port(), "/metrics"));
  const std::string second_label = absl::StrFormat("search=\"%d\"", second);
  ASSERT_EQ(after.count("headevo_search_budget_steps{" + second_label + "}"), 1u);
  EXPECT_EQ(after.at("headevo_search_budget_steps{" + second_label + "}"), 500);
  // Generation 0 is queued at creation: four first-rung jobs of 10 steps.
  EXPECT_EQ(after.at("headevo_search_steps_committed{" + second_label + "}"), 40);
  EXPECT_EQ(after.at(absl::StrFormat("headevo_search_rung_finished{%s,rung=\"2\",steps=\"90\"}",
                                     second_label)),
            0);
}

TEST_F(MetricsTest, OtherPathsMethodsAndAddressesAreRefusedClearly) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetricsExporter> exporter,
                       MetricsExporter::Start(coordinator_.get(), "127.0.0.1:0"));
  EXPECT_NE(HttpGet(exporter->port(), "/").find("404 Not Found"), std::string::npos);
  EXPECT_NE(HttpGet(exporter->port(), "/metrics", "POST").find("405"), std::string::npos);
  const std::string head = HttpGet(exporter->port(), "/metrics", "HEAD");
  EXPECT_NE(head.find("200 OK"), std::string::npos);
  EXPECT_EQ(head.find("headevo_up"), std::string::npos) << "HEAD has no body";

  auto malformed = MetricsExporter::Start(coordinator_.get(), "9464");
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(malformed.status().message().find("--metrics-listen"), std::string::npos);
  auto taken = MetricsExporter::Start(coordinator_.get(),
                                      absl::StrFormat("127.0.0.1:%d", exporter->port()));
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kUnavailable) << taken.status();
}

worker::ChannelOptions Plaintext(int port) {
  worker::ChannelOptions channel;
  channel.address = absl::StrFormat("127.0.0.1:%d", port);
  return channel;
}

// The status the endpoint reports for `service` now; kUnknown when the call fails.
worker::ServingStatus Probe(int port, const std::string& service) {
  auto status = worker::ProbeHealth(Plaintext(port), service, 5'000);
  EXPECT_TRUE(status.ok()) << status.status();
  return status.ok() ? *status : worker::ServingStatus::kUnknown;
}

TEST(HealthEndpointTest, LivenessFollowsBeatsAndReadinessFollowsTheOwner) {
  // The endpoint reads the fake clock; its own thread never refreshes during the test, so every
  // status below is the one Refresh() computed at the fake time the test set.
  std::atomic<int64_t> now_ms{10'000};
  HealthEndpointOptions options;
  options.listen = "127.0.0.1:0";
  options.stale_after_ms = 500;
  options.refresh_ms = int64_t{24} * 3600 * 1000;
  options.now_ms = [&now_ms] { return now_ms.load(); };
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<HealthEndpoint> health, HealthEndpoint::Start(options));
  using worker::ServingStatus;
  const int port = health->port();
  EXPECT_EQ(Probe(port, ""), ServingStatus::kServing) << "live from the start";
  EXPECT_EQ(Probe(port, kReadinessService), ServingStatus::kNotServing)
      << "not ready until the owner says so";
  health->SetReady(true);
  EXPECT_EQ(Probe(port, kReadinessService), ServingStatus::kServing);

  now_ms = 10'499;
  health->Refresh();
  EXPECT_EQ(Probe(port, ""), ServingStatus::kServing) << "silent 499 ms of 500";
  EXPECT_EQ(Probe(port, kReadinessService), ServingStatus::kServing);
  // No beat for stale_after_ms: the owner is stuck, and both turn NOT_SERVING.
  now_ms = 10'500;
  health->Refresh();
  EXPECT_EQ(Probe(port, ""), ServingStatus::kNotServing);
  EXPECT_EQ(Probe(port, kReadinessService), ServingStatus::kNotServing)
      << "ready, but not alive, is not ready";
  health->Beat();
  health->Refresh();
  EXPECT_EQ(Probe(port, ""), ServingStatus::kServing) << "a beat brings it back";
  EXPECT_EQ(Probe(port, kReadinessService), ServingStatus::kServing);
  now_ms = 10'900;
  health->Refresh();
  EXPECT_EQ(Probe(port, ""), ServingStatus::kServing) << "the window counts from the last beat";
  health->SetReady(false);
  EXPECT_EQ(Probe(port, kReadinessService), ServingStatus::kNotServing);
  EXPECT_EQ(Probe(port, ""), ServingStatus::kServing) << "not ready is still alive";

  auto unknown = worker::ProbeHealth(Plaintext(health->port()), "no.such.service", 5'000);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound) << unknown.status();
  HealthEndpointOptions same_port = options;
  same_port.listen = absl::StrFormat("127.0.0.1:%d", health->port());
  auto taken = HealthEndpoint::Start(same_port);
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kUnavailable) << taken.status();
  EXPECT_NE(taken.status().message().find("--health-listen"), std::string::npos);
}

}  // namespace
}  // namespace headevo::server
