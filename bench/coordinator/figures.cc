#include "bench/coordinator/figures.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <utility>

namespace headevo::bench_coordinator {

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

Figures Gather(const std::vector<WorkerLog>& logs, double wall_s, double process_cpu_s) {
  Figures f;
  f.wall_s = wall_s;
  f.process_cpu_s = process_cpu_s;
  for (const WorkerLog& log : logs) {
    f.lease_ms.insert(f.lease_ms.end(), log.lease_ms.begin(), log.lease_ms.end());
    f.report_ms.insert(f.report_ms.end(), log.report_ms.begin(), log.report_ms.end());
    f.done_at_s.insert(f.done_at_s.end(), log.done_at_s.begin(), log.done_at_s.end());
    f.empty_polls += log.empty_polls;
    f.client_cpu_s += log.cpu_s;
  }
  f.jobs = static_cast<int64_t>(f.report_ms.size());
  std::sort(f.lease_ms.begin(), f.lease_ms.end());
  std::sort(f.report_ms.begin(), f.report_ms.end());
  std::sort(f.done_at_s.begin(), f.done_at_s.end());
  return f;
}

void PrintQuarters(const Figures& f) {
  if (f.done_at_s.size() < 8) return;
  std::printf("jobs/s by quarter of the run (by job count):");
  const size_t n = f.done_at_s.size();
  double from = 0;
  for (int q = 1; q <= 4; ++q) {
    const size_t last = n * q / 4 - 1;
    const double to = f.done_at_s[last];
    std::printf(" %.0f", to > from ? (n / 4.0) / (to - from) : 0.0);
    from = to;
  }
  std::printf("\n");
}

void PrintLatency(const char* rpc, const std::vector<double>& ms) {
  std::printf("%-12s %7zu calls: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", rpc,
              ms.size(), Percentile(ms, 0.5), Percentile(ms, 0.9), Percentile(ms, 0.99),
              ms.empty() ? 0.0 : ms.back());
}

void PrintStoreTime(const TimedStore& store, const Figures& f) {
  std::map<std::string, TimedStore::Tally> tallies = store.Tallies();
  std::vector<std::pair<std::string, TimedStore::Tally>> rows(tallies.begin(), tallies.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.wall_s > b.second.wall_s; });
  double wall = 0, cpu = 0;
  std::printf("\nwhere the coordinator's time goes (Store calls, each made under the "
              "coordinator's one mutex):\n");
  std::printf("  %-26s %8s %9s %9s %11s %10s\n", "method", "calls", "wall s", "CPU s",
              "mean ms", "per job ms");
  for (const auto& [method, t] : rows) {
    wall += t.wall_s;
    cpu += t.cpu_s;
    std::printf("  %-26s %8lld %9.2f %9.2f %11.3f %10.3f\n", method.c_str(),
                static_cast<long long>(t.calls), t.wall_s, t.cpu_s, 1e3 * t.wall_s / t.calls,
                f.jobs > 0 ? 1e3 * t.wall_s / f.jobs : 0.0);
  }
  const TimedStore::Tally breeding = store.Breeding();
  std::printf("  %-26s %8lld %9.2f %9.2f %11.3f %10.3f\n", "(breeding: NextChild)",
              static_cast<long long>(breeding.calls), breeding.wall_s, breeding.cpu_s,
              breeding.calls > 0 ? 1e3 * breeding.wall_s / breeding.calls : 0.0,
              f.jobs > 0 ? 1e3 * breeding.wall_s / f.jobs : 0.0);
  std::printf(
      "store: %.2f s wall (%.0f%% of the run), of which %.2f s CPU and %.2f s waiting "
      "(fsync, or descheduled on a busy machine); breeding %.2f s (%.0f%%); per job: store %.3f ms, breeding %.3f ms\n",
      wall, 100 * wall / f.wall_s, cpu, wall - cpu, breeding.wall_s,
      100 * breeding.wall_s / f.wall_s, f.jobs > 0 ? 1e3 * wall / f.jobs : 0.0,
      f.jobs > 0 ? 1e3 * breeding.wall_s / f.jobs : 0.0);
  const TimedStore::Tally durable = store.DurableWait();
  if (durable.calls > 0) {
    std::printf(
        "group commit: %lld answers waited for their fsync outside the mutex, %.3f ms each on "
        "average\n",
        static_cast<long long>(durable.calls), 1e3 * durable.wall_s / durable.calls);
  }
  std::printf(
      "CPU: process %.2f s over %.2f s wall (%.2f cores busy); fake-worker threads %.2f s "
      "(client side of gRPC), the rest (server: gRPC, coordinator, store) %.2f s\n",
      f.process_cpu_s, f.wall_s, f.process_cpu_s / f.wall_s, f.client_cpu_s,
      f.process_cpu_s - f.client_cpu_s);
}

void PrintVerdict(const Figures& f, const Flags& flags) {
  const double rate = f.JobsPerSecond();
  const double p99 = Percentile(f.lease_ms, 0.99);
  if (flags.think_ms == 0 && rate > 0) {
    // Little's law for a closed loop: workers = throughput x cycle time.
    std::printf(
        "\nnote: %d workers with no think time always have a call outstanding, so a worker's "
        "lease+report cycle averages workers / throughput = %.1f ms here (%.1f ms even at "
        "2000 jobs/s): lease latency under this load is mostly queueing behind the other "
        "workers. Use --think-ms to measure it at an offered load below capacity.\n",
        flags.workers, 1e3 * flags.workers / rate, 1e3 * flags.workers / 2000.0);
  }
  std::printf("\n");
  std::printf("target jobs_per_s >= 2000:  %s (%.0f)\n", rate >= 2000 ? "met" : "MISSED", rate);
  std::printf("target lease_p99_ms < 10:   %s (%.2f)\n", p99 < 10 ? "met" : "MISSED", p99);
  std::printf("RESULT jobs_per_s=%ld lease_p99_ms=%.2f\n", std::lround(rate), p99);
}

}  // namespace headevo::bench_coordinator
