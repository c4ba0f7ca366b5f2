// bench_cluster_sim: a simulated week of a 10,000-worker cluster against the real coordinator
// and store, in this process, on a fake clock (bench/cluster_sim/cluster.h). Job times are
// log-normal (median 40 min, sigma 1, clipped to 2 min .. 8 h); 1 % of workers die each
// simulated hour (their leases expire, their jobs go to others, a new worker registers in
// their place); 0.5 % of jobs have their link cut for longer than the lease, and the late
// report that follows must be refused. At the end the store is checked: every result the
// coordinator accepted is stored once, none twice, and no job is stuck with a dead worker.
//
//   build/bench/bench_cluster_sim [--workers 10000] [--days 7] [--durability normal|group]
//                                 [--max-real-s 600]          (--help for every flag)
//   build/bench/bench_cluster_sim --workers 300 --days 1      (about 5 s of CPU)
//
// One thread calls the coordinator, so calls never overlap: group commit would pay one fsync
// per call here, with no one to share it. The default store durability is therefore normal
// (no fsync), and the figures are the coordinator's CPU cost per call; bench_coordinator
// measures what fsync sharing adds under concurrent workers. The last line is
// machine-readable (RESULT).
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/cluster_sim/cluster.h"
#include "bench/coordinator/in_process_coordinator.h"
#include "server/config/search_config.h"
#include "storage/store.h"

namespace headevo::bench_cluster_sim {
namespace {

int64_t FileBytes(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// The resident set of this process (coordinator, store cache and the simulation), in MiB.
double RssMiB() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      double kib = 0;
      status >> kib;
      return kib / 1024;
    }
    status.ignore(1 << 12, '\n');
  }
  return 0;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::min(v.size(), std::max<size_t>(rank, 1)) - 1];
}

std::string SearchConfig(const Flags& flags) {
  // A budget the week cannot spend: expected jobs, many times over.
  const double jobs = flags.workers * flags.days * 24 * 60 / flags.job_min_min;
  const int64_t generations = static_cast<int64_t>(jobs / flags.population) + 10;
  return absl::StrCat("[search]\nname = \"bench_cluster_sim\"\nseed = ", flags.seed,
                      "\npopulation = ", flags.population, "\ngenerations = ", generations,
                      "\nschedule = \"steady_state\"\ncompare_with_dense = false\n\n"
                      "[model]\nlayers = 2\nheads_per_layer = 4\nseq_len = 32\n");
}

// What the store says at the end against what the simulation was told. Lost: accepted but
// not DONE in the store; doubled: accepted twice, or a candidate with two DONE jobs; stuck: a
// job still LEASED past every lease (its worker is gone and it was never queued again).
struct Audit {
  int64_t stored_done = 0, lost = 0, doubled = 0, stuck = 0, failed = 0;
};

absl::StatusOr<Audit> Check(storage::Store& store, int64_t search_id, const SimFigures& f,
                            int64_t now_ms) {
  Audit a;
  absl::StatusOr<std::vector<storage::JobRecord>> jobs = store.ListJobs(search_id);
  if (!jobs.ok()) return jobs.status();
  std::unordered_map<int64_t, int> done_jobs;  // candidate -> DONE jobs
  for (const storage::JobRecord& j : *jobs) {
    if (j.state == storage::JobState::kDone) ++done_jobs[j.candidate_id];
    if (j.state == storage::JobState::kFailed) ++a.failed;
    if (j.state == storage::JobState::kLeased && j.lease_expires_ms < now_ms) ++a.stuck;
  }
  std::unordered_set<int64_t> accepted;
  for (int64_t id : f.accepted_candidates) {
    if (!accepted.insert(id).second) ++a.doubled;
  }
  for (const auto& [candidate, n] : done_jobs) {
    if (n > 1) a.doubled += n - 1;
    a.stored_done += n;
  }
  for (int64_t id : accepted) {
    absl::StatusOr<v1::Candidate> c = store.GetCandidate(id);
    if (!c.ok()) return c.status();
    if (c->state() != v1::CANDIDATE_STATE_DONE || done_jobs.count(id) == 0) ++a.lost;
  }
  // Anything DONE that nobody was told was accepted would be a result from nowhere.
  a.doubled += std::max<int64_t>(0, a.stored_done - static_cast<int64_t>(accepted.size()));
  return a;
}

absl::Status Run(const Flags& flags) {
  absl::StatusOr<std::unique_ptr<bench_coordinator::TempDir>> dir =
      bench_coordinator::TempDir::Create(flags.keep);
  if (!dir.ok()) return dir.status();
  const std::string db = (*dir)->path() + "/headevo.db";
  storage::StoreOptions store_options;
  store_options.durability = flags.durability == "group"
                                 ? storage::StoreOptions::Durability::kGroup
                                 : storage::StoreOptions::Durability::kNormal;
  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::Open(db, store_options);
  if (!store.ok()) return store.status();
  SimClock clock;
  server::CoordinatorOptions options;
  options.lease_ms = flags.lease_min * 60'000;
  options.max_attempts = flags.max_attempts;
  options.clock = [&clock] { return clock.now_ms; };
  options.wait_clock = options.clock;
  absl::StatusOr<std::unique_ptr<server::Coordinator>> coordinator =
      server::Coordinator::Create(store->get(), options);
  if (!coordinator.ok()) return coordinator.status();
  const std::string toml = SearchConfig(flags);
  absl::StatusOr<search::SearchOptions> search = server::ParseSearchConfig(toml, "sim.toml");
  if (!search.ok()) return search.status();
  absl::StatusOr<int64_t> search_id = (*coordinator)->CreateSearch(*search, toml, {});
  if (!search_id.ok()) return search_id.status();
  std::printf(
      "simulating %d workers for %.2f days: jobs log-normal (median %.0f min, sigma %.2f, "
      "%.0f min .. %.0f min), %.1f %% of workers dying each hour, %.2f %% of jobs cut past "
      "their lease (%lld min; heartbeats every %lld min); store %s (durability %s)\n",
      flags.workers, flags.days, flags.job_median_min, flags.job_sigma, flags.job_min_min,
      flags.job_max_min, 100 * flags.deaths_per_hour, 100 * flags.cut_share,
      static_cast<long long>(flags.lease_min), static_cast<long long>(flags.lease_min / 3),
      db.c_str(), flags.durability.c_str());
  std::fflush(stdout);

  absl::StatusOr<SimFigures> f = Simulate(flags, **coordinator, clock);
  if (!f.ok()) return f.status();
  // Every lease still out has run out by now: expire them, then audit.
  clock.now_ms += 2 * options.lease_ms;
  if (absl::Status s = (*coordinator)->ExpireLeases(); !s.ok()) return s;
  absl::StatusOr<Audit> audit = Check(**store, *search_id, *f, clock.now_ms);
  if (!audit.ok()) return audit.status();

  const double sim_days = f->sim_ms / 86'400'000.0;
  const double jobs_per_s = f->reports_accepted / f->real_s;
  const double p99 = Percentile(f->lease_ms, 0.99);
  const double db_mib = (FileBytes(db) + FileBytes(db + "-wal")) / 1048576.0;
  std::printf(
      "\n%s %.2f simulated days in %.1f real s (%.0fx real time)\n"
      "%lld results accepted (%.0f jobs/s sustained in real time; %.2f per simulated second), "
      "%lld coordinator calls (%.0f/s), %lld heartbeats (%lld refused: lease gone), "
      "%lld workers died and were replaced, %lld links cut (%lld late reports refused)\n"
      "LeaseJob (real time per call): p50 %.3f ms, p99 %.3f ms, max %.3f ms over %zu leases\n"
      "database %.1f MiB (%.0f bytes per result); process RSS %.1f MiB\n"
      "store audit: %lld DONE jobs, %lld accepted results lost, %lld doubled, %lld jobs stuck "
      "with a dead worker, %lld jobs failed (attempts spent)\n",
      f->reached_end ? "reached" : "STOPPED at --max-real-s after", sim_days, f->real_s,
      f->sim_ms / 1000.0 / f->real_s, static_cast<long long>(f->reports_accepted), jobs_per_s,
      f->reports_accepted / (f->sim_ms / 1000.0), static_cast<long long>(f->calls),
      f->calls / f->real_s, static_cast<long long>(f->heartbeats),
      static_cast<long long>(f->heartbeats_refused), static_cast<long long>(f->deaths),
      static_cast<long long>(f->cuts), static_cast<long long>(f->reports_refused),
      Percentile(f->lease_ms, 0.5), p99, Percentile(f->lease_ms, 1.0), f->lease_ms.size(), db_mib,
      f->reports_accepted > 0 ? db_mib * 1048576.0 / f->reports_accepted : 0.0, RssMiB(),
      static_cast<long long>(audit->stored_done), static_cast<long long>(audit->lost),
      static_cast<long long>(audit->doubled), static_cast<long long>(audit->stuck),
      static_cast<long long>(audit->failed));
  const bool intact = audit->lost == 0 && audit->doubled == 0 && audit->stuck == 0;
  std::printf(
      "RESULT sim_days=%.2f real_s=%.1f workers=%d jobs=%lld jobs_per_s=%.0f lease_p99_ms=%.3f "
      "db_mib=%.1f rss_mib=%.1f lost=%lld doubled=%lld stuck=%lld intact=%s\n",
      sim_days, f->real_s, flags.workers, static_cast<long long>(f->reports_accepted), jobs_per_s,
      p99, db_mib, RssMiB(), static_cast<long long>(audit->lost),
      static_cast<long long>(audit->doubled), static_cast<long long>(audit->stuck),
      intact ? "yes" : "NO");
  if (!intact) return absl::DataLossError("the store audit found lost, doubled or stuck jobs");
  return absl::OkStatus();
}

}  // namespace
}  // namespace headevo::bench_cluster_sim

int main(int argc, char** argv) {
  headevo::bench_cluster_sim::Flags flags;
  CLI::App app{
      "bench_cluster_sim: a simulated cluster against the real coordinator and store.\n\n"
      "Runs the coordinator in this process on a fake clock and drives it with simulated\n"
      "workers (log-normal job times, deaths, cut links), then audits the store: no result\n"
      "lost or doubled. Reports LeaseJob latency in real time, jobs/s, database size and\n"
      "memory. The full week of 10,000 workers takes long on 2 cores; scale it down with\n"
      "--workers and --days (e.g. --workers 300 --days 1: about 5 s of CPU).",
      "bench_cluster_sim"};
  app.add_option("--workers", flags.workers, "Simulated workers (dead ones are replaced)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--days", flags.days, "Simulated days")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--job-median-min", flags.job_median_min, "Median job time, minutes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--job-sigma", flags.job_sigma, "Sigma of the log of job times")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--deaths-per-hour", flags.deaths_per_hour,
                 "Share of workers that die each simulated hour")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--cut-share", flags.cut_share,
                 "Share of jobs whose link is cut for longer than the lease")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--lease-min", flags.lease_min, "The coordinator's lease, minutes")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{3}, int64_t{24 * 60}));
  app.add_option("--durability", flags.durability,
                 "The store's: normal (default; one thread never shares an fsync) or group")
      ->capture_default_str()
      ->check(CLI::IsMember({"normal", "group"}));
  app.add_option("--max-real-s", flags.max_real_s,
                 "Stop after this many real seconds (the audit still runs)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", flags.seed, "Random seed of the simulation and the search")
      ->capture_default_str();
  app.add_flag("--keep", flags.keep, "Keep the temp directory (the database)");
  CLI11_PARSE(app, argc, argv);
  if (absl::Status s = headevo::bench_cluster_sim::Run(flags); !s.ok()) {
    std::fprintf(stderr, "bench_cluster_sim: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
