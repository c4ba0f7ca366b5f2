// The figures of a run, gathered from the workers' logs, and the report printed from them:
// rates, latency percentiles, the store's share of the time, the verdict and the RESULT line.
#ifndef HEADEVO_BENCH_COORDINATOR_FIGURES_H_
#define HEADEVO_BENCH_COORDINATOR_FIGURES_H_

#include <cstdint>
#include <vector>

#include "bench/coordinator/fake_worker.h"
#include "bench/coordinator/flags.h"
#include "bench/coordinator/timed_store.h"

namespace headevo::bench_coordinator {

// Nearest-rank percentile of sorted values; 0 for none.
double Percentile(const std::vector<double>& sorted, double p);

struct Figures {
  int64_t jobs = 0;
  double wall_s = 0;
  std::vector<double> lease_ms, report_ms, done_at_s;
  int64_t empty_polls = 0;
  double client_cpu_s = 0;
  double process_cpu_s = 0;

  double JobsPerSecond() const { return wall_s > 0 ? jobs / wall_s : 0; }
};

// All workers' logs together, each series sorted.
Figures Gather(const std::vector<WorkerLog>& logs, double wall_s, double process_cpu_s);

// The rate over each quarter of the jobs: does it fall as the population grows?
void PrintQuarters(const Figures& f);

// One line of count and percentiles of `ms`, which must be sorted ascending.
void PrintLatency(const char* rpc, const std::vector<double>& ms);

// The store's share of the run, busiest methods first.
void PrintStoreTime(const TimedStore& store, const Figures& f);

// The targets, and the machine-readable last line: RESULT jobs_per_s=<n> lease_p99_ms=<t>
void PrintVerdict(const Figures& f, const Flags& flags);

}  // namespace headevo::bench_coordinator

#endif  // HEADEVO_BENCH_COORDINATOR_FIGURES_H_
