// The lineage store at the scale of a long search: a generated database of 1,000,000
// candidates x 8 heads (1,000 generations of 1,000) with results and head statistics, then
// the queries researchers run on it.
//
//   build/bench/bench_storage [--candidates N] [--population P] [--heads H] [--db PATH]
//                             [--keep] [--seed S] [--full-generations F] [--repetitions R]
//
// Writes: each generation is one InsertCandidatesWithJobs call (a search's real write
// pattern), then one RecordResult transaction per candidate, naming a checkpoint as a search
// with inherit_weights does. A million results with an fsync each would add many minutes (or
// hours on a slow disk), so the first generations are written with Durability::kNormal; the
// last F generations (default 20) with the default kFull, and that insert rate is the one the
// RESULT line reports. Only InsertCandidatesWithJobs calls are timed for the insert rate:
// head rows / seconds inside those calls (CPU seconds are printed beside them).
// Reads: the database reopened read-only, as a query user sees it; median and max over R calls.
// Size: the file after a WAL checkpoint, divided by the head rows (candidates x heads).
// The last line is machine-readable:
//   RESULT head_rows_per_s=<n> ancestry_ms=<t> head_history_ms=<t> bytes_per_head=<b>
//
// The parts, in this folder: flags.h (settings, clocks), lineage_generator.h (the synthetic
// search), fill.h (the timed writes), queries.h (the timed reads), bench_files.h (the file, its
// clean-up and size); this file runs them, prints the verdict and parses the flags.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bench/storage/bench_files.h"
#include "bench/storage/fill.h"
#include "bench/storage/flags.h"
#include "bench/storage/queries.h"

namespace headevo::bench_storage {
namespace {

struct Figures {
  PhaseStats normal, full;
  QueryFigures queries;
  double bytes_per_head = 0.0;
};

void PrintTarget(const char* what, bool met, const std::string& detail) {
  std::printf("target %-28s %s (%s)\n", what, met ? "met" : "MISSED", detail.c_str());
}

void PrintVerdict(const Figures& f) {
  const double rate = f.full.HeadRowsPerSecond();
  std::printf("\n");
  PrintTarget("head_rows_per_s >= 100000:", rate >= 100000, absl::StrCat(std::lround(rate)));
  PrintTarget("ancestry_ms < 20:", f.queries.ancestry_ms < 20, absl::StrCat(f.queries.ancestry_ms));
  PrintTarget("head_history_ms < 5:", f.queries.head_history_ms < 5,
              absl::StrCat(f.queries.head_history_ms));
  PrintTarget("bytes_per_head <= 250:", f.bytes_per_head <= 250,
              absl::StrCat(std::lround(f.bytes_per_head)));
  std::printf(
      "RESULT head_rows_per_s=%ld ancestry_ms=%.3f head_history_ms=%.3f "
      "bytes_per_head=%ld\n",
      std::lround(rate), f.queries.ancestry_ms, f.queries.head_history_ms,
      std::lround(f.bytes_per_head));
}

absl::Status Run(Flags flags) {
  const int generations =
      static_cast<int>((flags.candidates + flags.population - 1) / flags.population);
  if (generations < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("--candidates ", flags.candidates, " with --population ", flags.population,
                     " makes ", generations, " generation; the benchmark needs at least 2"));
  }
  // Generation 0 is always a kNormal one: a short run still measures both settings.
  flags.full_generations = std::min(flags.full_generations, generations - 1);
  absl::StatusOr<std::unique_ptr<BenchFiles>> files = BenchFiles::Create(flags);
  if (!files.ok()) return files.status();
  const std::string& path = (*files)->path();
  const int64_t head_rows = flags.candidates * flags.heads;
  std::printf(
      "database %s: %lld candidates x %d heads (%d layers) = %lld head rows, %d "
      "generations of %d, seed %llu\n",
      path.c_str(), static_cast<long long>(flags.candidates), flags.heads, kNumLayers,
      static_cast<long long>(head_rows), generations, flags.population,
      static_cast<unsigned long long>(flags.seed));
  std::printf(
      "writes: generations 0-%d with durability kNormal (bulk fill: no fsync per "
      "commit), the last %d with kFull (the default: fsync per commit)\n",
      generations - flags.full_generations - 1, flags.full_generations);
  std::fflush(stdout);

  Figures figures;
  int64_t search_id = 0;
  std::vector<Candidate> last_generation;
  const Clock::time_point start = Clock::now();
  if (absl::Status s = Fill(path, flags, generations, search_id, last_generation, figures.normal,
                            figures.full);
      !s.ok()) {
    return s;
  }
  std::printf("fill took %.0f s\n", Seconds(start));
  PrintPhase("kNormal writes", figures.normal);
  PrintPhase("kFull writes  ", figures.full);
  absl::StatusOr<int64_t> bytes = CheckpointedFileSize(path, head_rows);
  if (!bytes.ok()) return bytes.status();
  figures.bytes_per_head = static_cast<double>(*bytes) / head_rows;
  std::printf("file after wal_checkpoint(TRUNCATE): %.1f MiB = %.1f bytes per head row\n",
              *bytes / 1048576.0, figures.bytes_per_head);
  std::printf("queries on the database opened read-only:\n");
  absl::StatusOr<QueryFigures> queries = MeasureQueries(path, flags, search_id, last_generation);
  if (!queries.ok()) return queries.status();
  figures.queries = *queries;
  PrintVerdict(figures);
  return absl::OkStatus();
}

}  // namespace
}  // namespace headevo::bench_storage

int main(int argc, char** argv) {
  headevo::bench_storage::Flags flags;
  CLI::App app{
      "bench_storage: the lineage store at the scale of a long search.\n\n"
      "Generates a search (deterministic from --seed): generation 0 has --population roots\n"
      "with --heads new heads each over 2 layers; each later candidate picks a parent from\n"
      "the previous generation, carries its heads by id, prunes 1 or 2 and samples as many\n"
      "new ones. Each generation is written with ONE InsertCandidatesWithJobs call (how a\n"
      "search writes), then every candidate gets a result with statistics for each head.\n"
      "Measures the insert rate (head rows/s, under the default fsync-per-commit durability),\n"
      "then, read-only: the ancestor chain of a last-generation candidate (depth ~ the number\n"
      "of generations), a head's history, the Pareto front, and the bytes per head row.\n\n"
      "The default run (1,000,000 candidates x 8 heads, ~2 GB) takes several minutes.\n"
      "Debug quickly with:  bench_storage --candidates 20000",
      "bench_storage"};
  app.add_option("--candidates", flags.candidates, "Candidates in the database, in all")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--population", flags.population,
                 "Candidates per generation: candidates / population generations, which is "
                 "also the depth of the ancestry query")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--heads", flags.heads, "Heads per candidate, split over 2 layers")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--db", flags.db,
                 "Database file to create; an existing file is refused, never overwritten. "
                 "Default: lineage.db in a fresh temp directory. Removed at the end unless --keep")
      ->capture_default_str();
  app.add_flag("--keep", flags.keep, "Keep the database (and print its path) for a later look");
  app.add_option("--seed", flags.seed, "Seeds every random choice of the generated search")
      ->capture_default_str();
  app.add_option("--full-generations", flags.full_generations,
                 "How many of the last generations are written with durability kFull (fsync "
                 "per commit, the real setting; their insert rate is the RESULT's); the rest "
                 "use kNormal, since a million fsynced result commits take many minutes")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--repetitions", flags.repetitions,
                 "Calls per query measurement (random candidates and heads); medians reported")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  if (absl::Status s = headevo::bench_storage::Run(flags); !s.ok()) {
    std::fprintf(stderr, "bench_storage: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
