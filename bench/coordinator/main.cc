// The coordinator under load: a real coordinator in this process (its SQLite database and
// checkpoint directory in a fresh temp directory, WorkerService and SearchService on
// 127.0.0.1:0) and --workers fake workers that never train: each registers, then loops
// LeaseJob -> ReportResult with a result synthesized from the job id (finite losses, the
// genome's connection count, statistics for every head, as steady state needs to rank heads
// and breed). Measures evaluations dispatched and recorded per second, and LeaseJob and
// ReportResult latency as a worker sees it.
//
//   build/bench/bench_coordinator [--workers 64] [--jobs 20000] [--seconds 60]
//                                 [--durability group|full|normal] [--think-ms 0] [--keep]
//
// The run ends after --jobs jobs or --seconds, whichever comes first (about a minute by
// default). The coordinator breeds each child from every candidate so far, so its cost per job
// grows with the run: compare runs of the same --jobs that all finished their jobs.
//
// Each fake worker is a thread with its own channel on its own TCP connection (a local
// subchannel pool per channel), as separate worker processes would have. The search is the
// default steady-state schedule with a population of 64 and a small model (2 layers x 4 heads,
// seq_len 32), with enough generations that its budget outlasts the run.
//
// Where the time goes: every Store call the coordinator makes goes through a timing wrapper
// (TimedStore, timed_store.h), which adds up wall and thread-CPU seconds per method. The
// coordinator holds its one mutex around every store call, so store seconds / wall seconds is the
// share of the run the store alone kept the coordinator busy; wall minus CPU inside the store is
// mostly fsync (or, on a busy machine, time the thread was descheduled). Breeding
// (Strategy::NextChild, between an empty LeaseJob and the child's insert) is timed the same way.
//
// The last line is machine-readable:
//
// The parts, in this folder: flags.h (settings, clocks), timed_store.h, in_process_coordinator.h
// (the coordinator and its temp directory), search_client.h (SearchService calls),
// fake_worker.h, figures.h (the report); this file runs them and parses the flags.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bench/coordinator/fake_worker.h"
#include "bench/coordinator/figures.h"
#include "bench/coordinator/flags.h"
#include "bench/coordinator/in_process_coordinator.h"
#include "bench/coordinator/search_client.h"

namespace headevo::bench_coordinator {
namespace {

// The 1-minute load average: on a shared machine, how many others wanted the cores too.
std::string LoadAverage() {
  double one = 0;
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  if (f == nullptr) return "unknown";
  const int read = std::fscanf(f, "%lf", &one);
  std::fclose(f);
  return read == 1 ? absl::StrCat(one) : "unknown";
}

absl::Status RunBench(const Flags& flags) {
  absl::StatusOr<std::unique_ptr<TempDir>> dir = TempDir::Create(flags.keep);
  if (!dir.ok()) return dir.status();
  absl::StatusOr<std::unique_ptr<InProcessCoordinator>> coordinator =
      InProcessCoordinator::Start((*dir)->path(), flags);
  if (!coordinator.ok()) return coordinator.status();
  const std::string address = (*coordinator)->address();
  absl::StatusOr<int64_t> search_id = CreateSearch(address, flags);
  if (!search_id.ok()) return search_id.status();
  std::printf(
      "coordinator on %s: database %s/headevo.db with durability %s (%s), leases expired "
      "every second as `headevo serve` does\n",
      address.c_str(), (*dir)->path().c_str(), flags.durability.c_str(),
      flags.durability == "group"
          ? "group commit, answers after their fsync: the coordinator's real setting"
      : flags.durability == "full" ? "an fsync inside every commit, under the mutex"
                                   : "no fsync at all: NOT durable, shows what fsync costs");
  std::printf(
      "search %lld: steady_state, population %d, model 2 layers x 4 heads, seq_len 32\n"
      "%d fake workers: one thread, channel and TCP connection each; LeaseJob wait_ms %lld; "
      "no training: each result is synthesized at once, then %g ms of think time\n"
      "budget: %lld jobs or %.0f s, whichever comes first; %u CPU cores, load average %s\n",
      static_cast<long long>(*search_id), flags.population, flags.workers,
      static_cast<long long>(flags.wait_ms), flags.think_ms, static_cast<long long>(flags.jobs),
      flags.seconds, std::thread::hardware_concurrency(), LoadAverage().c_str());
  std::fflush(stdout);

  Run run(flags, address);
  std::vector<WorkerLog> logs(flags.workers);
  std::vector<std::thread> threads;
  const double cpu_start = ProcessCpuSeconds();
  for (int i = 0; i < flags.workers; ++i) {
    threads.emplace_back([&run, &logs, i] { FakeWorker(run, i, logs[i]); });
  }
  StatusPoller poller(address, *search_id, flags.status_every_ms);
  for (std::thread& t : threads) t.join();
  const double wall_s = Seconds(run.start());
  std::vector<double> poll_ms = poller.Stop();
  std::sort(poll_ms.begin(), poll_ms.end());  // PrintLatency reads percentiles off the order
  if (absl::Status s = run.error(); !s.ok()) return s;
  const Figures f = Gather(logs, wall_s, ProcessCpuSeconds() - cpu_start);

  absl::StatusOr<v1::SearchSummary> summary = GetSearch(address, *search_id);
  if (!summary.ok()) return summary.status();
  std::printf(
      "\n%lld jobs leased and reported in %.2f s = %.0f jobs/s (%lld empty polls); "
      "the search counts %lld candidates done, %lld queued, %lld running\n",
      static_cast<long long>(f.jobs), f.wall_s, f.JobsPerSecond(),
      static_cast<long long>(f.empty_polls), static_cast<long long>(summary->done()),
      static_cast<long long>(summary->queued()), static_cast<long long>(summary->running()));
  std::printf("the run ended on %s; load average at the end: %s\n",
              f.jobs >= flags.jobs ? "its job budget" : "its time limit (--seconds)",
              LoadAverage().c_str());
  PrintQuarters(f);
  PrintLatency("LeaseJob", f.lease_ms);
  PrintLatency("ReportResult", f.report_ms);
  if (flags.status_every_ms > 0) {
    PrintLatency(flags.reads_under_lock ? "GetSearch (under the lock)" : "GetSearch (reader)",
                 poll_ms);
  }
  PrintStoreTime((*coordinator)->store(), f);
  PrintVerdict(f, flags);
  return absl::OkStatus();
}

}  // namespace
}  // namespace headevo::bench_coordinator

int main(int argc, char** argv) {
  headevo::bench_coordinator::Flags flags;
  CLI::App app{
      "bench_coordinator: the coordinator's job throughput and lease latency.\n\n"
      "Starts a coordinator in this process (SQLite database and checkpoints in a temp\n"
      "directory, gRPC on 127.0.0.1:0), creates a steady-state search (population 64, a\n"
      "2 x 4-head model), and runs --workers fake workers that lease jobs and report\n"
      "synthesized results at once. Reports jobs/s, LeaseJob and ReportResult latency as the\n"
      "workers see them, and the time the coordinator spent in each Store call.",
      "bench_coordinator"};
  app.add_option("--workers", flags.workers, "Fake workers (threads, one connection each)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--jobs", flags.jobs, "Jobs to lease and report in all")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--seconds", flags.seconds, "Stop after this long even if jobs remain")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--durability", flags.durability,
                 "The store's durability: group (group commit: answers wait outside the "
                 "mutex for one fsync shared by all; what `headevo serve` runs with), full (an "
                 "fsync inside every commit) or normal (no fsync: not durable; shows what "
                 "fsync costs)")
      ->capture_default_str()
      ->check(CLI::IsMember({"group", "full", "normal"}));
  app.add_option("--wait-ms", flags.wait_ms, "LeaseJob long-poll wait")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--think-ms", flags.think_ms,
                 "Mean pause after each report before the next lease, uniform in [0.5, 1.5] x "
                 "this (stands in for training; W workers offer at most W / think jobs/s)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--population", flags.population, "The search's population")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--status-every-ms", flags.status_every_ms,
                 "A client asks for the search's summary (GetSearch) this often, as a "
                 "dashboard polls; 0: never. Its reads scan the search's rows")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--reads-under-lock", flags.reads_under_lock,
               "Queries on the writer under the coordinator's lock (no reader connection), as "
               "before: shows what a poll costs the workers");
  app.add_flag("--keep", flags.keep, "Keep the temp directory (database, checkpoints)");
  CLI11_PARSE(app, argc, argv);
  if (absl::Status s = headevo::bench_coordinator::RunBench(flags); !s.ok()) {
    std::fprintf(stderr, "bench_coordinator: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
