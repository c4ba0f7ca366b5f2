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
#include <stdlib.h>  // mkdtemp

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "search/search_options.h"
#include "storage/sqlite_store.h"
#include "storage/store.h"

namespace {

namespace fs = std::filesystem;
namespace storage = headevo::storage;
using headevo::v1::Candidate;
using headevo::v1::EvaluationResult;
using headevo::v1::Head;
using Clock = std::chrono::steady_clock;

constexpr int kNumLayers = 2;
constexpr int kMinOffset = -64;
constexpr int64_t kStartMs = 1'700'000'000'000;  // the fake clock the jobs are stamped with

struct Flags {
  int64_t candidates = 1'000'000;
  int population = 1000;
  int heads = 8;
  std::string db;  // "" = a fresh file in a new temp directory
  bool keep = false;
  uint64_t seed = 1;
  int full_generations = 20;
  int repetitions = 50;
};

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// CPU time of this process: with the wall time, tells the cost of the work from time spent
// waiting (fsync, or other processes on a shared machine).
double CpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + t.tv_nsec * 1e-9;
}

// A stand-in for a checkpoint's SHA-256: 64 hex digits, a pure function of the candidate id.
std::string FakeSha256(int64_t candidate_id) {
  uint64_t x = static_cast<uint64_t>(candidate_id);
  std::string hex;
  for (int i = 0; i < 4; ++i) {
    x += 0x9e3779b97f4a7c15ULL;  // splitmix64
    uint64_t z = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    char part[17];
    std::snprintf(part, sizeof part, "%016llx", static_cast<unsigned long long>(z ^ (z >> 31)));
    hex += part;
  }
  return hex;
}

// Candidates, jobs and results of a synthetic search, deterministic from the seed. A child
// carries its parent's heads by id, prunes 1 or 2 and puts as many new SAMPLED heads in their
// slots (same layer), so every genome keeps `heads` heads ordered by layer.
class LineageGenerator {
 public:
  LineageGenerator(const Flags& flags, int64_t search_id)
      : heads_(flags.heads), search_id_(search_id), rng_(flags.seed) {}

  // Generation 0 from nothing, or children of `parents` (the previous generation as stored).
  std::vector<Candidate> Generation(int generation, int size,
                                    const std::vector<Candidate>& parents) {
    std::vector<Candidate> out;
    out.reserve(size);
    std::uniform_int_distribution<size_t> pick(0, parents.empty() ? 0 : parents.size() - 1);
    for (int i = 0; i < size; ++i) {
      out.push_back(parents.empty() ? Root() : Child(parents[pick(rng_)], generation));
    }
    return out;
  }

  std::vector<storage::NewJob> Jobs(const std::vector<Candidate>& candidates) {
    std::vector<storage::NewJob> jobs(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) {
      jobs[i].training = training_;
      jobs[i].training.set_seed(rng_());
      if (candidates[i].parent_id() != 0) {
        jobs[i].parent_checkpoint_sha256 = FakeSha256(candidates[i].parent_id());
      }
    }
    return jobs;
  }

  // Loss drifts down with the generation; every head gets statistics.
  EvaluationResult Result(const Candidate& candidate) {
    EvaluationResult result;
    result.set_candidate_id(candidate.id());
    headevo::v1::Metrics& m = *result.mutable_metrics();
    std::normal_distribution<double> noise(0.0, 0.05);
    m.set_val_loss(3.0 - 0.001 * candidate.generation() + noise(rng_));
    m.set_train_loss(m.val_loss() - 0.02 + noise(rng_) / 5);
    m.set_steps(training_.steps());
    m.set_train_seconds(std::uniform_real_distribution<double>(20.0, 40.0)(rng_));
    int64_t connections = 0;
    for (const Head& head : candidate.genome().heads()) {
      connections += head.offsets().offsets_size();
      *result.add_head_stats() = Stats(candidate, head);
    }
    m.set_connections(connections);
    result.set_checkpoint_sha256(FakeSha256(candidate.id()));
    return result;
  }

 private:
  int LayerOfSlot(int slot) const { return slot * kNumLayers / heads_; }

  Candidate Root() {
    Candidate c;
    c.set_search_id(search_id_);
    c.mutable_genome()->set_num_layers(kNumLayers);
    for (int slot = 0; slot < heads_; ++slot) {
      Head& head = *c.mutable_genome()->add_heads();
      head.set_layer(LayerOfSlot(slot));
      head.set_origin(headevo::v1::HEAD_ORIGIN_INITIAL);
      head.set_sampler(headevo::v1::SAMPLER_UNIFORM);
      head.set_sampler_params("k~normal(4,1) off~uniform[-64,-1]");
      *head.mutable_offsets() = RandomOffsets();
    }
    c.mutable_mutation()->set_description("initial");
    return c;
  }

  Candidate Child(const Candidate& parent, int generation) {
    Candidate c;
    c.set_search_id(search_id_);
    c.set_generation(generation);
    c.set_parent_id(parent.id());
    *c.mutable_genome() = parent.genome();
    const int pruned = std::min(heads_, 1 + static_cast<int>(rng_() % 2));
    std::vector<int> slots(heads_);
    for (int i = 0; i < heads_; ++i) slots[i] = i;
    std::shuffle(slots.begin(), slots.end(), rng_);
    slots.resize(pruned);
    std::sort(slots.begin(), slots.end());
    std::vector<int64_t> pruned_ids;
    std::vector<std::string> samplers;
    for (int slot : slots) {
      pruned_ids.push_back(parent.genome().heads(slot).id());
      c.mutable_mutation()->add_pruned_head_ids(pruned_ids.back());
      Head& head = *c.mutable_genome()->mutable_heads(slot);
      head = Sampled(parent, head.layer(), slots);
      samplers.push_back(head.sampler() == headevo::v1::SAMPLER_BEST     ? "best"
                         : head.sampler() == headevo::v1::SAMPLER_FITTED ? "fitted"
                                                                         : "uniform");
    }
    c.mutable_mutation()->set_description(absl::StrCat(
        "prune head", pruned > 1 ? "s " : " ", absl::StrJoin(pruned_ids, ", "),
        " (lowest rank); add ", pruned, " sampled (", absl::StrJoin(samplers, ", "), ")"));
    return c;
  }

  // A new head for `layer`: half mutate a kept head of the parent in that layer (BEST, with
  // source_head_id), the rest are drawn fresh (FITTED or UNIFORM).
  Head Sampled(const Candidate& parent, int layer, const std::vector<int>& pruned_slots) {
    Head head;
    head.set_layer(layer);
    head.set_origin(headevo::v1::HEAD_ORIGIN_SAMPLED);
    std::vector<const Head*> sources;
    for (int slot = 0; slot < parent.genome().heads_size(); ++slot) {
      const Head& h = parent.genome().heads(slot);
      const bool kept =
          std::find(pruned_slots.begin(), pruned_slots.end(), slot) == pruned_slots.end();
      if (kept && h.layer() == layer) sources.push_back(&h);
    }
    const uint64_t draw = rng_() % 10;
    if (draw < 5 && !sources.empty()) {
      const Head& source = *sources[rng_() % sources.size()];
      head.set_sampler(headevo::v1::SAMPLER_BEST);
      head.set_source_head_id(source.id());
      head.set_sampler_params("move 1 offset by ~uniform[-64,-1]");
      *head.mutable_offsets() = MoveOneOffset(source.offsets());
    } else {
      const bool fitted = draw < 8;
      head.set_sampler(fitted ? headevo::v1::SAMPLER_FITTED : headevo::v1::SAMPLER_UNIFORM);
      head.set_sampler_params(fitted ? "k~normal(4.2,0.9) off~mixture(3)"
                                     : "k~normal(4,1) off~uniform[-64,-1]");
      *head.mutable_offsets() = RandomOffsets();
    }
    return head;
  }

  int32_t RandomOffset() { return std::uniform_int_distribution<int32_t>(kMinOffset, -1)(rng_); }

  // 2 to 6 distinct offsets in [-64, -1], sorted.
  headevo::v1::OffsetSet RandomOffsets() {
    const double k = std::normal_distribution<double>(4.0, 1.0)(rng_);
    const size_t size = static_cast<size_t>(std::clamp(std::lround(k), 2L, 6L));
    std::set<int32_t> offsets;
    while (offsets.size() < size) offsets.insert(RandomOffset());
    return ToOffsetSet(offsets);
  }

  headevo::v1::OffsetSet MoveOneOffset(const headevo::v1::OffsetSet& from) {
    std::set<int32_t> offsets(from.offsets().begin(), from.offsets().end());
    offsets.erase(from.offsets(static_cast<int>(rng_() % from.offsets_size())));
    while (static_cast<int>(offsets.size()) < from.offsets_size()) offsets.insert(RandomOffset());
    return ToOffsetSet(offsets);
  }

  static headevo::v1::OffsetSet ToOffsetSet(const std::set<int32_t>& offsets) {
    headevo::v1::OffsetSet set;
    for (int32_t o : offsets) set.add_offsets(o);
    return set;  // std::set iterates in ascending order: sorted and unique
  }

  headevo::v1::HeadStats Stats(const Candidate& candidate, const Head& head) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    headevo::v1::HeadStats s;
    s.set_head_id(head.id());
    s.set_layer(head.layer());
    s.set_entropy(unit(rng_));
    s.set_independence(unit(rng_));
    s.set_weight_norm(std::normal_distribution<double>(1.0, 0.2)(rng_));
    s.set_importance(std::exponential_distribution<double>(100.0)(rng_));
    std::vector<int64_t> same_layer;
    for (const Head& other : candidate.genome().heads()) {
      if (other.layer() == head.layer() && other.id() != head.id()) {
        same_layer.push_back(other.id());
      }
    }
    if (!same_layer.empty()) s.set_most_similar_head_id(same_layer[rng_() % same_layer.size()]);
    return s;
  }

  const int heads_;
  const int64_t search_id_;
  const headevo::v1::TrainingSpec training_ = headevo::search::DefaultTrainingSpec();
  std::mt19937_64 rng_;
};

// --- The fill ------------------------------------------------------------------------------

struct PhaseStats {
  int64_t head_rows = 0;  // candidate_heads rows written
  double insert_s = 0.0;  // inside InsertCandidatesWithJobs only
  double insert_cpu_s = 0.0;
  int64_t results = 0;
  double result_s = 0.0;  // inside RecordResult only

  double HeadRowsPerSecond() const { return insert_s > 0 ? head_rows / insert_s : 0.0; }
  double ResultsPerSecond() const { return result_s > 0 ? results / result_s : 0.0; }
};

// A line on stderr every ~5% of the generations, so a long run shows it is alive.
class Progress {
 public:
  explicit Progress(int total_generations) : total_(total_generations), start_(Clock::now()) {}

  void GenerationDone(int done, const PhaseStats& phase) {
    if (done * 20LL < next_ * static_cast<int64_t>(total_) && done != total_) return;
    next_ = done * 20LL / total_ + 1;
    std::fprintf(stderr,
                 "[bench_storage] %d/%d generations (%lld%%), %.0f s elapsed, this phase: %.0f "
                 "head rows/s inserted, %.0f results/s\n",
                 done, total_, done * 100LL / total_, Seconds(start_), phase.HeadRowsPerSecond(),
                 phase.ResultsPerSecond());
  }

 private:
  const int total_;
  const Clock::time_point start_;
  int64_t next_ = 1;  // report when done reaches next_ twentieths of total_
};

// Writes generations [first, last) and their results. `parents` holds the previous generation
// as stored (empty before generation 0) and is replaced by each new one.
absl::Status WriteGenerations(storage::Store& store, LineageGenerator& generator,
                              const Flags& flags, int first, int last,
                              std::vector<Candidate>& parents, PhaseStats& phase,
                              Progress& progress) {
  for (int g = first; g < last; ++g) {
    const int64_t remaining = flags.candidates - static_cast<int64_t>(g) * flags.population;
    const int size = static_cast<int>(std::min<int64_t>(flags.population, remaining));
    const std::vector<Candidate> generation = generator.Generation(g, size, parents);
    const std::vector<storage::NewJob> jobs = generator.Jobs(generation);
    Clock::time_point start = Clock::now();
    const double cpu_start = CpuSeconds();
    absl::StatusOr<std::vector<Candidate>> stored =
        store.InsertCandidatesWithJobs(generation, jobs, kStartMs + g * 60'000LL);
    phase.insert_s += Seconds(start);
    phase.insert_cpu_s += CpuSeconds() - cpu_start;
    if (!stored.ok()) return stored.status();
    phase.head_rows += static_cast<int64_t>(size) * flags.heads;
    for (const Candidate& candidate : *stored) {
      const EvaluationResult result = generator.Result(candidate);
      start = Clock::now();
      absl::Status status = store.RecordResult(result);
      phase.result_s += Seconds(start);
      if (!status.ok()) return status;
    }
    phase.results += size;
    parents = *std::move(stored);
    progress.GenerationDone(g + 1, phase);
  }
  return absl::OkStatus();
}

// --- Measurements --------------------------------------------------------------------------

struct Timing {
  double median_ms = 0.0;
  double max_ms = 0.0;
};

// Times call(i) for i in [0, n).
absl::StatusOr<Timing> TimeCalls(int n, const std::function<absl::Status(int)>& call) {
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    const Clock::time_point start = Clock::now();
    if (absl::Status s = call(i); !s.ok()) return s;
    ms.push_back(Seconds(start) * 1e3);
  }
  std::sort(ms.begin(), ms.end());
  return Timing{ms[ms.size() / 2], ms.back()};
}

template <typename T>
T Median(std::vector<T> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

struct QueryFigures {
  double ancestry_ms = 0.0;
  double head_history_ms = 0.0;
};

absl::StatusOr<double> MeasureAncestry(storage::Store& store, const std::vector<int64_t>& ids,
                                       int repetitions) {
  std::vector<int> depths;
  absl::StatusOr<Timing> chain = TimeCalls(repetitions, [&](int i) {
    absl::StatusOr<std::vector<storage::LineageNode>> nodes = store.AncestorChain(ids[i]);
    if (nodes.ok()) depths.push_back(nodes->back().depth);
    return nodes.status();
  });
  if (!chain.ok()) return chain.status();
  std::printf("ancestry (AncestorChain, depth %d): median %.3f ms, max %.3f ms over %d\n",
              Median(depths), chain->median_ms, chain->max_ms, repetitions);
  const int full = std::min(5, repetitions);
  absl::StatusOr<Timing> protos =
      TimeCalls(full, [&](int i) { return store.Ancestors(ids[i]).status(); });
  if (!protos.ok()) return protos.status();
  std::printf("  full candidates (Ancestors, not in RESULT): median %.3f ms, max %.3f ms over %d\n",
              protos->median_ms, protos->max_ms, full);
  return chain->median_ms;
}

absl::StatusOr<double> MeasureHeadHistory(storage::Store& store, const std::vector<int64_t>& ids,
                                          int repetitions) {
  std::vector<size_t> appearances;
  int64_t busiest = ids[0];
  size_t most = 0;
  absl::StatusOr<Timing> timing = TimeCalls(repetitions, [&](int i) {
    absl::StatusOr<storage::HeadHistory> history = store.GetHeadHistory(ids[i]);
    if (!history.ok()) return history.status();
    appearances.push_back(history->appearances.size());
    if (appearances.back() > most) {
      most = appearances.back();
      busiest = ids[i];
    }
    return absl::OkStatus();
  });
  if (!timing.ok()) return timing.status();
  std::printf(
      "head history (GetHeadHistory, median %zu appearances): median %.3f ms, max %.3f ms "
      "over %d random heads\n",
      Median(appearances), timing->median_ms, timing->max_ms, repetitions);
  absl::StatusOr<Timing> busy =
      TimeCalls(repetitions, [&](int) { return store.GetHeadHistory(busiest).status(); });
  if (!busy.ok()) return busy.status();
  std::printf("  busiest sampled head %lld (%zu appearances): median %.3f ms, max %.3f ms\n",
              static_cast<long long>(busiest), most, busy->median_ms, busy->max_ms);
  return timing->median_ms;
}

absl::Status MeasureSearchWide(storage::Store& store, int64_t search_id) {
  size_t size = 0;
  absl::StatusOr<Timing> front = TimeCalls(5, [&](int) {
    absl::StatusOr<std::vector<storage::LineageNode>> nodes = store.ParetoFront(search_id);
    if (nodes.ok()) size = nodes->size();
    return nodes.status();
  });
  if (!front.ok()) return front.status();
  std::printf("Pareto front (ParetoFront, %zu candidates): median %.1f ms, max %.1f ms over 5\n",
              size, front->median_ms, front->max_ms);
  absl::StatusOr<Timing> best = TimeCalls(5, [&](int) {
    absl::StatusOr<std::vector<storage::LineageNode>> nodes = store.BestPerGeneration(search_id);
    if (nodes.ok()) size = nodes->size();
    return nodes.status();
  });
  if (!best.ok()) return best.status();
  std::printf(
      "best per generation (BestPerGeneration, %zu rows): median %.1f ms, max %.1f ms "
      "over 5\n",
      size, best->median_ms, best->max_ms);
  return absl::OkStatus();
}

// The read-only queries on random candidates of the last generation and random heads.
absl::StatusOr<QueryFigures> MeasureQueries(const std::string& path, const Flags& flags,
                                            int64_t search_id,
                                            const std::vector<Candidate>& last_generation) {
  storage::StoreOptions options;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::Open(path, options);
  if (!store.ok()) return store.status();
  std::mt19937_64 rng(flags.seed + 1);
  std::vector<int64_t> candidate_ids, head_ids;
  int64_t max_head_id = 0;
  for (const Candidate& c : last_generation) {
    for (const Head& h : c.genome().heads()) max_head_id = std::max(max_head_id, h.id());
  }
  for (int i = 0; i < flags.repetitions; ++i) {
    candidate_ids.push_back(last_generation[rng() % last_generation.size()].id());
    head_ids.push_back(1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(max_head_id)));
  }
  QueryFigures figures;
  absl::StatusOr<double> ancestry = MeasureAncestry(**store, candidate_ids, flags.repetitions);
  if (!ancestry.ok()) return ancestry.status();
  figures.ancestry_ms = *ancestry;
  absl::StatusOr<double> history = MeasureHeadHistory(**store, head_ids, flags.repetitions);
  if (!history.ok()) return history.status();
  figures.head_history_ms = *history;
  if (absl::Status s = MeasureSearchWide(**store, search_id); !s.ok()) return s;
  return figures;
}

// Per-table (and index) bytes from the dbstat virtual table; skipped when SQLite lacks it.
void PrintTableSizes(storage::Database& db, int64_t head_rows) {
  absl::StatusOr<storage::Statement> stmt =
      db.Prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY SUM(pgsize) DESC");
  if (!stmt.ok()) {
    std::printf("per-table sizes: skipped (%s)\n", std::string(stmt.status().message()).c_str());
    return;
  }
  std::printf("per-table sizes (dbstat):\n");
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok() || !*row) return;
    const int64_t bytes = stmt->ColumnInt64(1);
    std::printf("  %-36s %9.1f MiB %7.1f bytes/head row\n", stmt->ColumnText(0).c_str(),
                bytes / 1048576.0, static_cast<double>(bytes) / head_rows);
  }
}

// Folds the WAL into the file (the store itself, not the store's API: Store has no call for
// it), prints per-table sizes, and returns the file's size.
absl::StatusOr<int64_t> CheckpointedFileSize(const std::string& path, int64_t head_rows) {
  {
    storage::StoreOptions options;
    options.durability = storage::StoreOptions::Durability::kNormal;
    absl::StatusOr<std::unique_ptr<storage::SqliteStore>> store =
        storage::SqliteStore::Open(path, options);
    if (!store.ok()) return store.status();
    absl::StatusOr<int64_t> busy =
        (*store)->database().QueryInt64("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!busy.ok()) return busy.status();
    if (*busy != 0) return absl::UnavailableError("wal_checkpoint(TRUNCATE) could not finish");
    PrintTableSizes((*store)->database(), head_rows);
  }
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return absl::InternalError(absl::StrCat("size of ", path, ": ", ec.message()));
  const uintmax_t wal = fs::exists(path + "-wal", ec) ? fs::file_size(path + "-wal", ec) : 0;
  return static_cast<int64_t>(size + wal);
}

// --- Files ---------------------------------------------------------------------------------

// The database and the files SQLite and the writer lock put beside it; removed when this goes
// out of scope unless kept.
class BenchFiles {
 public:
  static absl::StatusOr<std::unique_ptr<BenchFiles>> Create(const Flags& flags) {
    std::error_code ec;
    if (!flags.db.empty()) {
      if (fs::exists(flags.db, ec)) {
        return absl::AlreadyExistsError(absl::StrCat(
            "--db ", flags.db, " exists; bench_storage never overwrites a file, name a new one"));
      }
      return std::unique_ptr<BenchFiles>(new BenchFiles(flags.db, "", flags.keep));
    }
    std::string dir = (fs::temp_directory_path(ec) / "bench_storage.XXXXXX").string();
    if (ec || mkdtemp(dir.data()) == nullptr) {
      return absl::UnavailableError(absl::StrCat("cannot create a directory like ", dir));
    }
    return std::unique_ptr<BenchFiles>(new BenchFiles(dir + "/lineage.db", dir, flags.keep));
  }

  ~BenchFiles() {
    if (keep_) {
      std::printf("kept %s\n", path_.c_str());
      return;
    }
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal", ".lock"}) {
      fs::remove(path_ + suffix, ec);
    }
    if (!temp_dir_.empty()) fs::remove(temp_dir_, ec);
  }

  const std::string& path() const { return path_; }

 private:
  BenchFiles(std::string path, std::string temp_dir, bool keep)
      : path_(std::move(path)), temp_dir_(std::move(temp_dir)), keep_(keep) {}

  const std::string path_;
  const std::string temp_dir_;  // "" when the user named the file
  const bool keep_;
};

// --- The run -------------------------------------------------------------------------------

struct Figures {
  PhaseStats normal, full;
  QueryFigures queries;
  double bytes_per_head = 0.0;
};

absl::StatusOr<std::unique_ptr<storage::Store>> OpenWritable(const std::string& path,
                                                             bool full_durability) {
  storage::StoreOptions options;
  options.durability = full_durability ? storage::StoreOptions::Durability::kFull
                                       : storage::StoreOptions::Durability::kNormal;
  return storage::Store::Open(path, options);
}

void PrintPhase(const char* name, const PhaseStats& phase) {
  std::printf(
      "%s: %lld head rows in %.2f s of InsertCandidatesWithJobs = %.0f head rows/s (CPU "
      "%.2f s: %.0f head rows per CPU-second); %lld results in %.2f s of RecordResult = %.0f "
      "results/s\n",
      name, static_cast<long long>(phase.head_rows), phase.insert_s, phase.HeadRowsPerSecond(),
      phase.insert_cpu_s, phase.insert_cpu_s > 0 ? phase.head_rows / phase.insert_cpu_s : 0.0,
      static_cast<long long>(phase.results), phase.result_s, phase.ResultsPerSecond());
}

// Fills the database: generations [0, G - F) with kNormal, the last F with the default kFull
// (each store is closed, releasing the writer lock, before the next is opened).
absl::Status Fill(const std::string& path, const Flags& flags, int generations, int64_t& search_id,
                  std::vector<Candidate>& parents, Figures& figures) {
  const int normal_end = generations - flags.full_generations;
  Progress progress(generations);
  std::unique_ptr<LineageGenerator> generator;
  {
    absl::StatusOr<std::unique_ptr<storage::Store>> store = OpenWritable(path, false);
    if (!store.ok()) return store.status();
    absl::StatusOr<int64_t> id =
        (*store)->CreateSearch({0, "bench_storage", "# generated by bench_storage\n", flags.seed});
    if (!id.ok()) return id.status();
    search_id = *id;
    generator = std::make_unique<LineageGenerator>(flags, search_id);
    absl::Status s = WriteGenerations(**store, *generator, flags, 0, normal_end, parents,
                                      figures.normal, progress);
    if (!s.ok()) return s;
  }
  absl::StatusOr<std::unique_ptr<storage::Store>> store = OpenWritable(path, true);
  if (!store.ok()) return store.status();
  return WriteGenerations(**store, *generator, flags, normal_end, generations, parents,
                          figures.full, progress);
}

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
  if (absl::Status s = Fill(path, flags, generations, search_id, last_generation, figures);
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

int main(int argc, char** argv) {
  Flags flags;
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
  if (absl::Status s = Run(flags); !s.ok()) {
    std::fprintf(stderr, "bench_storage: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
