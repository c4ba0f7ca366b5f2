#include "server/ops/metrics_exporter.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "prometheus/collectable.h"
#include "prometheus/text_serializer.h"

namespace headevo::server {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(const std::string& name, const std::string& help, MetricType type) {
  MetricFamily family;
  family.name = absl::StrCat("headevo_", name);
  family.help = help;
  family.type = type;
  return family;
}

void Add(MetricFamily& family, double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

ClientMetric::Label SearchLabel(int64_t search_id) {
  return {"search", absl::StrCat(search_id)};
}

}  // namespace

std::vector<MetricFamily> MetricFamiliesOf(const CoordinatorStats& stats) {
  std::vector<MetricFamily> families;
  MetricFamily up = Family("up", "1 when the coordinator's statistics could be read",
                           MetricType::Gauge);
  Add(up, 1);
  families.push_back(std::move(up));

  MetricFamily jobs = Family("jobs", "Jobs of running and paused searches, by state",
                             MetricType::Gauge);
  Add(jobs, static_cast<double>(stats.jobs_queued), {{"state", "queued"}});
  Add(jobs, static_cast<double>(stats.jobs_running), {{"state", "running"}});
  families.push_back(std::move(jobs));

  const std::pair<const char*, std::pair<const char*, int64_t>> counters[] = {
      {"evaluations_total", {"Evaluation results recorded since the coordinator started",
                             stats.evaluations_total}},
      {"job_failures_total", {"Job failures workers reported since the coordinator started",
                              stats.failures_total}},
      {"lease_expiries_total", {"Leases that ran out without a heartbeat since the coordinator "
                                "started (dead or cut-off workers)",
                                stats.lease_expiries_total}},
  };
  for (const auto& [name, help_and_value] : counters) {
    MetricFamily family = Family(name, help_and_value.first, MetricType::Counter);
    Add(family, static_cast<double>(help_and_value.second));
    families.push_back(std::move(family));
  }
  MetricFamily rate = Family("evaluations_per_second",
                             "Evaluation results per second over the last minute",
                             MetricType::Gauge);
  Add(rate, stats.evaluations_per_second);
  families.push_back(std::move(rate));
  MetricFamily workers = Family("workers_live", "Workers heard from within one lease",
                                MetricType::Gauge);
  Add(workers, static_cast<double>(stats.live_workers));
  families.push_back(std::move(workers));

  MetricFamily candidates = Family(
      "search_candidates",
      "Candidates of each running or paused search: done, failed, and planned by its budget",
      MetricType::Gauge);
  MetricFamily paused = Family("search_paused", "1 while the search is paused", MetricType::Gauge);
  MetricFamily fitness = Family("search_best_fitness",
                                "Fitness of the search's best candidate (lower is better)",
                                MetricType::Gauge);
  MetricFamily val_loss = Family("search_best_val_loss",
                                 "Validation loss of the search's best candidate",
                                 MetricType::Gauge);
  MetricFamily connections = Family("search_best_connections",
                                    "Connections per query of the search's best candidate",
                                    MetricType::Gauge);
  MetricFamily rung_finished = Family(
      "search_rung_finished",
      "Candidates of each running or paused search that finished each rung (label steps: the "
      "rung's budget); one rung, 0, without [fidelity]",
      MetricType::Gauge);
  MetricFamily committed = Family(
      "search_steps_committed",
      "Training steps of every candidate job the search created so far (reference models not "
      "counted)",
      MetricType::Gauge);
  MetricFamily budget =
      Family("search_budget_steps", "The search's [search] budget_steps (absent when it has none)",
             MetricType::Gauge);
  for (const SearchStats& search : stats.searches) {
    const ClientMetric::Label label = SearchLabel(search.search_id);
    for (size_t r = 0; r < search.rung_steps.size() && r < search.rung_finished.size(); ++r) {
      Add(rung_finished, static_cast<double>(search.rung_finished[r]),
          {label, {"rung", absl::StrCat(r)}, {"steps", absl::StrCat(search.rung_steps[r])}});
    }
    Add(committed, static_cast<double>(search.steps_committed), {label});
    if (search.budget_steps > 0) Add(budget, static_cast<double>(search.budget_steps), {label});
    Add(candidates, static_cast<double>(search.done), {label, {"state", "done"}});
    Add(candidates, static_cast<double>(search.failed), {label, {"state", "failed"}});
    Add(candidates, static_cast<double>(search.planned), {label, {"state", "planned"}});
    Add(paused, search.state == headevo::v1::SEARCH_STATE_PAUSED ? 1 : 0, {label});
    if (search.has_best) {
      Add(fitness, search.best_fitness, {label});
      Add(val_loss, search.best_val_loss, {label});
      Add(connections, static_cast<double>(search.best_connections), {label});
    }
  }
  for (MetricFamily* family : {&candidates, &paused, &fitness, &val_loss, &connections,
                               &rung_finished, &committed, &budget}) {
    families.push_back(std::move(*family));
  }
  return families;
}

// Reads the coordinator at each scrape. A failed read still answers, with headevo_up 0, so
// the scrape succeeds and an alert can fire on it.
class MetricsExporter::Collector : public prometheus::Collectable {
 public:
  explicit Collector(Coordinator* coordinator) : coordinator_(coordinator) {}

  std::vector<MetricFamily> Collect() const override {
    absl::StatusOr<CoordinatorStats> stats = coordinator_->Stats();
    if (stats.ok()) return MetricFamiliesOf(*stats);
    MetricFamily up = Family("up", absl::StrCat("1 when the coordinator's statistics could be "
                                                "read; last error: ",
                                                stats.status().message()),
                             MetricType::Gauge);
    Add(up, 0);
    return {std::move(up)};
  }

 private:
  Coordinator* coordinator_;
};

absl::StatusOr<std::unique_ptr<MetricsExporter>> MetricsExporter::Start(
    Coordinator* coordinator, const std::string& listen) {
  std::unique_ptr<MetricsExporter> exporter(new MetricsExporter());
  exporter->collector_ = std::make_shared<Collector>(coordinator);
  ScrapePage page;
  page.body = [collector = exporter->collector_] {
    return prometheus::TextSerializer().Serialize(collector->Collect());
  };
  absl::StatusOr<std::unique_ptr<ScrapeListener>> listener =
      ScrapeListener::Start(listen, std::move(page));
  if (!listener.ok()) {
    return absl::Status(listener.status().code(),
                        absl::StrCat("--metrics-listen: ", listener.status().message()));
  }
  exporter->listener_ = *std::move(listener);
  return exporter;
}

MetricsExporter::~MetricsExporter() = default;

int MetricsExporter::port() const { return listener_->port(); }

}  // namespace headevo::server
