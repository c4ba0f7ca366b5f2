// The coordinator's Prometheus endpoint: GET http://LISTEN/metrics answers the text format,
// read from Coordinator::Stats() at each scrape (nothing is sampled in between, so a scrape
// always shows the present). Metrics, all prefixed headevo_:
//   jobs{state="queued"|"running"}           gauge   jobs of RUNNING and PAUSED searches
//   evaluations_total                         counter results recorded since start
//   evaluations_per_second                    gauge   results per second over the last minute
//   job_failures_total                        counter failures workers reported
//   lease_expiries_total                      counter leases that ran out (dead or cut-off workers)
//   workers_live                              gauge   workers heard from within one lease
//   search_candidates{search,state="done"|"failed"|"planned"}  gauge
//   search_best_fitness{search}, search_best_val_loss{search}, search_best_connections{search}
//                                             gauge   the best candidate so far (lower is better)
//   search_paused{search}                     gauge   1 while the search is PAUSED
//   search_rung_finished{search,rung,steps}   gauge   candidates that finished each rung (steps:
//                                                     its budget); rung 0 only without [fidelity]
//   search_steps_committed{search}            gauge   training steps of the candidate jobs created
//   search_budget_steps{search}               gauge   [search] budget_steps; absent without one
//   up                                        gauge   0 when the stats could not be read
// Per-search series cover RUNNING and PAUSED searches; a finished search's series end with it.
#ifndef HEADEVO_SERVER_OPS_METRICS_EXPORTER_H_
#define HEADEVO_SERVER_OPS_METRICS_EXPORTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/metric_family.h"
#include "server/engine/coordinator.h"
#include "server/ops/scrape_listener.h"

namespace headevo::server {

// The metric families of a snapshot (pure; the exporter serialises them).
std::vector<prometheus::MetricFamily> MetricFamiliesOf(const CoordinatorStats& stats);

class MetricsExporter {
 public:
  // Serves `coordinator` (not owned; it must outlive the exporter) on `listen` (HOST:PORT, port
  // 0: any free; server/ops/scrape_listener.h). InvalidArgument for a malformed address, Unavailable
  // when it cannot bind.
  static absl::StatusOr<std::unique_ptr<MetricsExporter>> Start(Coordinator* coordinator,
                                                                const std::string& listen);
  ~MetricsExporter();

  int port() const;

 private:
  class Collector;
  MetricsExporter() = default;

  std::shared_ptr<Collector> collector_;
  std::unique_ptr<ScrapeListener> listener_;
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_OPS_METRICS_EXPORTER_H_
