// Does the search work? Runs real searches (the config parser, server::SearchDriver, the
// in-process TorchEvaluator, an in-memory SQLite store) and compares evolution with random
// search given the same number of evaluations.
//
//   build/bench/search_quality [--part planted|brown|all] [--seeds 10] [--quick] (--help)
//
// Part "planted": the planted-offset task with offsets far apart in a wide window and small
// heads, so random heads rarely cover all of them. For each seed, evolution (steady state,
// truncation, half of each parent's heads resampled from [initial]) and random search (the same
// config with every evaluation in generation 0: genomes drawn by the same [initial] sampler, the
// fittest kept) each evaluate the same number of candidates. Reported per seed and in all: the
// planted offsets present in the best candidate's heads and its val_loss.
//
// Part "brown": byte-level language modelling on the Brown corpus, seq_len 256. Evolution
// (NSGA-II on val_loss and connections) against a k-sweep of random heads (mode k_sweep,
// tolerance off so every k is trained) with the same number of evaluations, and against dense,
// local-window, strided and Linformer attention trained with the same budget. Reported: both
// Pareto fronts as tables, their hypervolumes against common reference points, how many of
// each front's points the other dominates, and the best head set with <= 1/8 of dense's
// connections relative to dense.
//
// Figures, settings and how to read them: docs/benchmarks.md. Every part ends with a
// machine-readable line:
//   RESULT part=planted seeds=<n> evolution_all=<seeds> random_all=<seeds> ...
//   RESULT part=brown dense_loss=<x> best_eighth_rel=<x> hv_evolution=<x> hv_random=<x> ...
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "search/pareto.h"
#include "search/search_options.h"
#include "server/engine/coordinator.h"
#include "server/config/search_config.h"
#include "server/embedded/search_driver.h"
#include "storage/store.h"
#include "worker/torch_evaluator.h"

namespace {

// Every search of a part goes into one in-memory lineage store; the bench cannot run without it.
std::unique_ptr<headevo::storage::Store> OpenMemoryStore() {
  absl::StatusOr<std::unique_ptr<headevo::storage::Store>> store =
      headevo::storage::Store::Open(":memory:");
  if (!store.ok()) {
    std::fprintf(stderr, "search_quality: %s\n", store.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(store);
}

// `text` as a TOML basic string, quotes included: a path may hold quotes or backslashes.
std::string TomlString(const std::string& text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

namespace server = headevo::server;
namespace search = headevo::search;
namespace v1 = headevo::v1;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string part = "all";
  int seeds = 10;
  bool quick = false;
  bool verbose = false;
  int threads = 0;
  std::string corpus_dir;
};

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Prints one line per finished candidate when `verbose`, prefixed with what is running.
class ProgressListener : public server::SearchListener {
 public:
  ProgressListener(std::string prefix, bool verbose)
      : prefix_(std::move(prefix)), verbose_(verbose), start_(Clock::now()) {}

  void OnCandidateFinished(const server::CandidateProgress& p) override {
    if (!verbose_) return;
    const v1::Candidate& c = *p.candidate;
    std::printf("  %s [%d/%d] gen %d  loss %.4f  conn %lld  (%.0f s)%s\n", prefix_.c_str(),
                p.evaluated, p.total, c.generation(), c.metrics().val_loss(),
                static_cast<long long>(c.metrics().connections()), Seconds(start_),
                c.state() == v1::CANDIDATE_STATE_FAILED ? "  FAILED" : "");
    std::fflush(stdout);
  }
  void OnBaselineStarted(const char* what) override {
    if (!verbose_) return;
    std::printf("  %s training %s...\n", prefix_.c_str(), what);
    std::fflush(stdout);
  }

 private:
  std::string prefix_;
  bool verbose_;
  Clock::time_point start_;
};

// Parses `toml` and runs it in `store` with `evaluator`; exits the program on any error (a
// benchmark with a broken search has nothing to report).
server::SearchOutcome RunSearch(headevo::storage::Store& store,
                                headevo::search::Evaluator& evaluator, const std::string& toml,
                                const std::string& name, ProgressListener* listener,
                                search::SearchOptions* options_out = nullptr) {
  absl::StatusOr<search::SearchOptions> options = server::ParseSearchConfig(toml, name);
  if (!options.ok()) {
    std::fprintf(stderr, "search_quality: bad config %s: %s\n", name.c_str(),
                 std::string(options.status().message()).c_str());
    std::exit(2);
  }
  if (options_out != nullptr) *options_out = *options;
  server::SearchDriver driver(&store, &evaluator, listener);
  absl::StatusOr<server::SearchOutcome> outcome = driver.Run(*options, toml);
  if (!outcome.ok()) {
    std::fprintf(stderr, "search_quality: search %s failed: %s\n", name.c_str(),
                 outcome.status().ToString().c_str());
    std::exit(1);
  }
  return *std::move(outcome);
}

std::string Join(const std::vector<int>& v) { return absl::StrJoin(v, ", "); }

// ---------------------------------------------------------------------------------------------
// Part a: planted offsets.

struct PlantedSettings {
  std::vector<int> planted = {-4, -19, -37};
  int window = 48;
  int seq_len = 64;
  int layers = 1;
  int heads = 8;
  double k_mean = 1.5;  // k = 1 + Poisson(0.5): about 12 offsets per genome, a quarter of 48
  int steps = 120;
  int batch = 32;
  int population = 5;
  int generations = 3;  // evaluations per search: population * (generations + 1)
  int parents = 2;
  double prune_fraction = 0.5;
  int evaluations() const { return population * (generations + 1); }
};

PlantedSettings PlantedFor(const Flags& flags) {
  PlantedSettings s;
  if (flags.quick) {
    s.steps = 100;
    s.population = 4;
    s.generations = 2;
  }
  return s;
}

// The config of one planted-offsets search. Random search is the same config with every
// evaluation in generation 0: `population` genomes from the same [initial] sampler.
std::string PlantedToml(const PlantedSettings& s, uint64_t seed, bool random) {
  const int population = random ? s.evaluations() : s.population;
  const int generations = random ? 0 : s.generations;
  return absl::StrFormat(R"([search]
name = "planted-%s-seed%d"
seed = %d
population = %d
generations = %d
compare_with_dense = false

[model]
vocab_size = 16
d_model = 32
layers = %d
heads_per_layer = %d
d_head = 8
seq_len = %d

[task]
kind = "planted_offsets"
planted_offsets = [%s]

[training]
steps = %d
batch_size = %d
learning_rate = 0.005
warmup_steps = 20

[initial]
k_distribution = "poisson"
k_mean = %g
offset_distribution = "uniform"
window = %d

[pruning]
fraction = %g

[selection]
method = "truncation"
parents = %d

[resampling]
sampler = "uniform"
)",
                         random ? "random" : "evolution", seed, seed, population, generations,
                         s.layers, s.heads, s.seq_len, Join(s.planted), s.steps, s.batch, s.k_mean,
                         s.window, s.prune_fraction, std::min(s.parents, population));
}

struct PlantedRun {
  int found = 0;
  double loss = 0;
  int64_t connections = 0;
  double seconds = 0;
  std::string heads;  // the best candidate's offset sets
};

PlantedRun Summarise(const server::SearchOutcome& outcome, const PlantedSettings& s,
                     double seconds) {
  PlantedRun run;
  std::set<int> present;
  std::vector<std::string> heads;
  for (const v1::Head& head : outcome.best.genome().heads()) {
    present.insert(head.offsets().offsets().begin(), head.offsets().offsets().end());
    heads.push_back(absl::StrCat("{", absl::StrJoin(head.offsets().offsets(), ","), "}"));
  }
  for (int p : s.planted) run.found += present.count(p) ? 1 : 0;
  run.loss = outcome.best.metrics().val_loss();
  run.connections = outcome.best.metrics().connections();
  run.seconds = seconds;
  run.heads = absl::StrJoin(heads, " ");
  return run;
}

double Median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void RunPlanted(const Flags& flags, headevo::search::Evaluator& evaluator) {
  const PlantedSettings s = PlantedFor(flags);
  const auto part_start = Clock::now();
  std::printf(
      "== part planted: planted offsets {%s}, causal, window %d (offsets -1..-%d), seq_len %d, "
      "vocab 16\n"
      "   model %d layers x %d heads (d_model 32, d_head 8), heads k ~ 1 + Poisson(%g), "
      "offsets uniform in the window\n"
      "   training %d steps x batch %d; %d seeds; per seed and method %d evaluations:\n"
      "   evolution = population %d + %d generations (steady state, truncation of the %d fittest, "
      "pruning %g of each parent's heads, `uniform` resampling);\n"
      "   random    = %d genomes from the same [initial] sampler, the fittest kept\n",
      Join(s.planted).c_str(), s.window, s.window, s.seq_len, s.layers, s.heads, s.k_mean - 1,
      s.steps, s.batch, flags.seeds, s.evaluations(), s.population, s.generations, s.parents,
      s.prune_fraction, s.evaluations());
  std::fflush(stdout);

  std::unique_ptr<headevo::storage::Store> store = OpenMemoryStore();
  std::vector<PlantedRun> evolution, random;
  for (int i = 0; i < flags.seeds; ++i) {
    const uint64_t seed = static_cast<uint64_t>(i + 1);
    for (bool is_random : {false, true}) {
      const std::string name = absl::StrCat(is_random ? "random" : "evolution", " seed ", seed);
      ProgressListener listener(name, flags.verbose);
      const auto start = Clock::now();
      server::SearchOutcome outcome =
          RunSearch(*store, evaluator, PlantedToml(s, seed, is_random), name, &listener);
      PlantedRun run = Summarise(outcome, s, Seconds(start));
      std::printf("  seed %2d %-9s %d/%zu planted found  loss %.4f  conn %3lld  %5.1f s  %s\n",
                  static_cast<int>(seed), is_random ? "random" : "evolution", run.found,
                  s.planted.size(), run.loss, static_cast<long long>(run.connections), run.seconds,
                  run.heads.c_str());
      std::fflush(stdout);
      (is_random ? random : evolution).push_back(std::move(run));
    }
  }

  auto all_found = [&](const std::vector<PlantedRun>& runs) {
    int n = 0;
    for (const PlantedRun& r : runs) n += r.found == static_cast<int>(s.planted.size());
    return n;
  };
  auto mean_fraction = [&](const std::vector<PlantedRun>& runs) {
    double sum = 0;
    for (const PlantedRun& r : runs) sum += static_cast<double>(r.found) / s.planted.size();
    return runs.empty() ? 0.0 : sum / runs.size();
  };
  auto median_loss = [](const std::vector<PlantedRun>& runs) {
    std::vector<double> losses;
    for (const PlantedRun& r : runs) losses.push_back(r.loss);
    return Median(losses);
  };
  auto seconds = [](const std::vector<PlantedRun>& runs) {
    double sum = 0;
    for (const PlantedRun& r : runs) sum += r.seconds;
    return sum;
  };
  int evolution_better = 0, random_better = 0;
  for (size_t i = 0; i < evolution.size(); ++i) {
    if (evolution[i].loss < random[i].loss) ++evolution_better;
    if (random[i].loss < evolution[i].loss) ++random_better;
  }

  std::printf("\n   %-10s %-22s %-16s %-14s %s\n", "method", "seeds with all found",
              "mean fraction", "median loss", "time");
  for (bool is_random : {false, true}) {
    const auto& runs = is_random ? random : evolution;
    std::printf("   %-10s %2d of %-16d %-16.3f %-14.4f %.0f s\n",
                is_random ? "random" : "evolution", all_found(runs), flags.seeds,
                mean_fraction(runs), median_loss(runs), seconds(runs));
  }
  std::printf("   lower val_loss on the same seed: evolution %d, random %d\n", evolution_better,
              random_better);
  std::printf("   part planted took %.0f s\n", Seconds(part_start));
  std::printf(
      "RESULT part=planted seeds=%d evaluations=%d evolution_all=%d random_all=%d "
      "evolution_fraction=%.3f random_fraction=%.3f evolution_median_loss=%.4f "
      "random_median_loss=%.4f seconds=%.0f\n\n",
      flags.seeds, s.evaluations(), all_found(evolution), all_found(random),
      mean_fraction(evolution), mean_fraction(random), median_loss(evolution), median_loss(random),
      Seconds(part_start));
  std::fflush(stdout);
}

// ---------------------------------------------------------------------------------------------
// Part b: the Brown corpus, byte-level language modelling.

struct BrownSettings {
  int seq_len = 256;
  int d_model = 32;
  int layers = 2;
  int heads = 4;
  int steps = 250;
  int batch = 16;
  int window = 64;  // sparse heads' offsets in [-window, -1]
  uint64_t seed = 1;
  // Evolution: population * (generations + 1) evaluations.
  int population = 6;
  int generations = 2;
  // Random search: k = k_start, k_start * k_factor, ... >= k_min, `repeats` head sets each.
  double k_start = 32;
  double k_factor = 0.5;
  double k_min = 1;
  int repeats = 3;
  // Baselines: local windows, the strided stride, the Linformer rank.
  std::vector<int> local_windows = {8, 32};
  int stride = 16;
  int linformer_rank = 32;
};

BrownSettings BrownFor(const Flags& flags) {
  BrownSettings s;
  if (flags.quick) {
    s.steps = 30;
    s.batch = 8;
    s.population = 4;
    s.generations = 1;
    s.k_start = 16;
    s.k_min = 2;
    s.repeats = 2;
    s.local_windows = {32};
  }
  return s;
}

int SweepEvaluations(const BrownSettings& s) {
  search::KSweepOptions k;
  k.k_start = s.k_start;
  k.k_factor = s.k_factor;
  k.k_min = s.k_min;
  return static_cast<int>(search::KSchedule(k).size()) * s.repeats;
}

std::string BrownToml(const BrownSettings& s, const Flags& flags, bool sweep) {
  return absl::StrFormat(R"([search]
name = "brown-%s"
seed = %d
mode = "%s"
population = %d
generations = %d
compare_with_dense = %s

[model]
vocab_size = 256
d_model = %d
layers = %d
heads_per_layer = %d
d_head = 8
mlp_ratio = 2
seq_len = %d

[task]
kind = "brown_corpus"
corpus_dir = %s

[training]
steps = %d
batch_size = %d
learning_rate = 0.003
warmup_steps = 10
eval_batches = 4

[initial]
k_distribution = "normal"
k_mean = 8.0
k_stddev = 6.0
offset_distribution = "uniform"
window = %d

[selection]
method = "nsga2"
parents = 4

[resampling]
sampler = "best"

[k_sweep]
k_start = %g
k_factor = %g
k_min = %g
repeats = %d
tolerance = 1e6
)",
                         sweep ? "k-sweep" : "evolution", s.seed, sweep ? "k_sweep" : "evolve",
                         s.population, s.generations, sweep ? "true" : "false", s.d_model, s.layers,
                         s.heads, s.seq_len, TomlString(flags.corpus_dir), s.steps, s.batch, s.window,
                         s.k_start, s.k_factor, s.k_min, s.repeats);
}

struct Point {
  std::string what;  // e.g. "#12 gen 2" or "local (window 8)"
  double loss = 0;
  int64_t connections = 0;
};

Point PointOf(const v1::Candidate& c) {
  return {absl::StrCat("#", c.id(), " gen ", c.generation()), c.metrics().val_loss(),
          c.metrics().connections()};
}

std::vector<search::Objectives> ObjectivesOf(const std::vector<Point>& points) {
  std::vector<search::Objectives> out;
  for (const Point& p : points) out.push_back({p.loss, static_cast<double>(p.connections)});
  return out;
}

// How many of `points` some point of `front` dominates.
int DominatedBy(const std::vector<Point>& front, const std::vector<Point>& points) {
  int n = 0;
  for (const search::Objectives& p : ObjectivesOf(points)) {
    for (const search::Objectives& q : ObjectivesOf(front)) {
      if (search::Dominates(q, p)) {
        ++n;
        break;
      }
    }
  }
  return n;
}

void PrintFront(const char* title, const std::vector<Point>& front, double dense_loss,
                int64_t dense_connections) {
  std::printf("   %s\n   %-24s %8s %9s %10s %10s\n", title, "point", "conn", "of dense", "val_loss",
              "vs dense");
  for (const Point& p : front) {
    std::printf("   %-24s %8lld %8.1f%% %10.4f %+9.2f%%\n", p.what.c_str(),
                static_cast<long long>(p.connections), 100.0 * p.connections / dense_connections,
                p.loss, 100.0 * (p.loss / dense_loss - 1));
  }
}

// The lowest-loss point with at most `max_connections`, if any.
std::optional<Point> BestWithin(const std::vector<Point>& points, int64_t max_connections) {
  std::optional<Point> best;
  for (const Point& p : points) {
    if (p.connections <= max_connections && std::isfinite(p.loss) &&
        (!best.has_value() || p.loss < best->loss)) {
      best = p;
    }
  }
  return best;
}

// Trains one baseline the way the driver trains its baselines (the genome keeps only the head
// count per layer; the seed is a negative training stream, never a candidate's).
Point TrainBaseline(headevo::search::Evaluator& evaluator, const search::SearchOptions& options,
                    v1::AttentionKind kind, int parameter, int stream, std::string what) {
  v1::EvaluationRequest request;
  *request.mutable_training() = options.training;
  v1::ModelSpec& model = *request.mutable_training()->mutable_model();
  model.set_attention(kind);
  if (kind == v1::ATTENTION_KIND_LOCAL) model.set_window(parameter);
  if (kind == v1::ATTENTION_KIND_STRIDED) model.set_stride(parameter);
  if (kind == v1::ATTENTION_KIND_LINFORMER) model.set_linformer_rank(parameter);
  request.mutable_training()->set_seed(server::CandidateTrainingSeed(options.seed, stream));
  v1::Genome& genome = *request.mutable_genome();
  genome.set_num_layers(model.num_layers());
  for (int layer = 0; layer < model.num_layers(); ++layer) {
    for (int h = 0; h < model.heads_per_layer(); ++h) genome.add_heads()->set_layer(layer);
  }
  const auto start = Clock::now();
  absl::StatusOr<v1::EvaluationResult> result = evaluator.Evaluate(request);
  Point point{std::move(what), std::numeric_limits<double>::quiet_NaN(), 0};
  if (result.ok()) {
    point.loss = result->metrics().val_loss();
    point.connections = result->metrics().connections();
    std::printf("  baseline %-22s loss %.4f  conn %lld  (%.0f s)\n", point.what.c_str(), point.loss,
                static_cast<long long>(point.connections), Seconds(start));
  } else {
    std::printf("  baseline %-22s not trained: %s\n", point.what.c_str(),
                std::string(result.status().message()).c_str());
  }
  std::fflush(stdout);
  return point;
}

void RunBrown(const Flags& flags, headevo::search::Evaluator& evaluator) {
  const BrownSettings s = BrownFor(flags);
  const auto part_start = Clock::now();
  const int evolution_evals = s.population * (s.generations + 1);
  std::printf(
      "== part brown: byte-level LM on the Brown corpus, causal, seq_len %d, vocab 256\n"
      "   model %d layers x %d heads (d_model %d, d_head 8), training %d steps x batch %d "
      "(%d bytes), lr 0.003\n"
      "   sparse heads: offsets in -1..-%d; initial k ~ normal(8, 6); seed %d\n"
      "   evolution: population %d + %d generations = %d evaluations (steady state, NSGA-II on "
      "val_loss and connections, `best` resampling)\n"
      "   random:    k-sweep k = %g x %g^i down to %g, %d random head sets each = %d "
      "evaluations (uniform offsets; tolerance off)\n"
      "   baselines: dense (the k-sweep's bar), local windows {%s}, strided (stride %d), "
      "Linformer (rank %d)\n",
      s.seq_len, s.layers, s.heads, s.d_model, s.steps, s.batch, s.steps * s.batch * s.seq_len,
      s.window, static_cast<int>(s.seed), s.population, s.generations, evolution_evals, s.k_start,
      s.k_factor, s.k_min, s.repeats, SweepEvaluations(s), Join(s.local_windows).c_str(), s.stride,
      s.linformer_rank);
  std::fflush(stdout);

  std::unique_ptr<headevo::storage::Store> store = OpenMemoryStore();

  // Random search first: it trains dense, the bar everything is measured against.
  search::SearchOptions options;
  auto start = Clock::now();
  ProgressListener sweep_listener("k-sweep", true);
  server::SearchOutcome sweep = RunSearch(*store, evaluator, BrownToml(s, flags, true),
                                          "brown k-sweep", &sweep_listener, &options);
  const double sweep_seconds = Seconds(start);
  const double dense_loss = sweep.dense->val_loss();
  const int64_t dense_connections = sweep.dense->connections();
  std::printf("  dense: loss %.4f, %lld connections per query\n", dense_loss,
              static_cast<long long>(dense_connections));

  start = Clock::now();
  ProgressListener evolution_listener("evolution", true);
  server::SearchOutcome evolution = RunSearch(*store, evaluator, BrownToml(s, flags, false),
                                              "brown evolution", &evolution_listener);
  const double evolution_seconds = Seconds(start);

  start = Clock::now();
  std::vector<Point> baselines;
  int stream = -2;
  for (int w : s.local_windows) {
    baselines.push_back(TrainBaseline(evaluator, options, v1::ATTENTION_KIND_LOCAL, w, stream--,
                                      absl::StrCat("local (window ", w, ")")));
  }
  baselines.push_back(TrainBaseline(evaluator, options, v1::ATTENTION_KIND_STRIDED, s.stride,
                                    stream--, absl::StrCat("strided (stride ", s.stride, ")")));
  baselines.push_back(TrainBaseline(evaluator, options, v1::ATTENTION_KIND_LINFORMER,
                                    s.linformer_rank, stream--,
                                    absl::StrCat("Linformer (rank ", s.linformer_rank, ")")));
  const double baseline_seconds = Seconds(start);

  // All evaluated candidates of each search, and their fronts.
  std::vector<Point> evolved_all, random_all, evolved_front, random_front;
  for (const v1::Candidate& c : evolution.pareto_front) evolved_front.push_back(PointOf(c));
  for (const v1::Candidate& c : sweep.pareto_front) {
    // Random points are named by their mean k ("k-sweep: mean k 8, head set 2 of 3").
    Point p = PointOf(c);
    const std::string& d = c.mutation().description();
    const std::string prefix = "k-sweep: mean k ";
    if (d.rfind(prefix, 0) == 0) {
      absl::StrAppend(&p.what, " k=", d.substr(prefix.size(), d.find(',') - prefix.size()));
    }
    random_front.push_back(std::move(p));
  }
  auto all_of = [&](int64_t search_id, std::vector<Point>& out) {
    absl::StatusOr<std::vector<v1::Candidate>> all = store->ListCandidates(search_id);
    if (!all.ok()) return;
    for (const v1::Candidate& c : *all) {
      if (c.state() == v1::CANDIDATE_STATE_DONE) out.push_back(PointOf(c));
    }
  };
  all_of(evolution.search_id, evolved_all);
  all_of(sweep.search_id, random_all);
  std::printf("\n   dense: val_loss %.4f, %lld connections per query (1/8 = %lld)\n", dense_loss,
              static_cast<long long>(dense_connections),
              static_cast<long long>(dense_connections / 8));
  PrintFront("evolution's Pareto front:", evolved_front, dense_loss, dense_connections);
  PrintFront("random search's (k-sweep) Pareto front:", random_front, dense_loss,
             dense_connections);
  PrintFront("baselines (same budget):", baselines, dense_loss, dense_connections);

  // Hypervolume against the project's reference (a uniform guess, dense connections) and a
  // tight one (the worst loss any candidate of either search reached, dense connections).
  double worst = 0;
  for (const auto* set : {&evolved_all, &random_all}) {
    for (const Point& p : *set) worst = std::max(worst, p.loss);
  }
  const search::Objectives wide = sweep.hypervolume_reference;
  const search::Objectives tight{worst, static_cast<double>(dense_connections)};
  const double hv_evolution = search::Hypervolume(ObjectivesOf(evolved_front), wide);
  const double hv_random = search::Hypervolume(ObjectivesOf(random_front), wide);
  const double hv_evolution_tight = search::Hypervolume(ObjectivesOf(evolved_front), tight);
  const double hv_random_tight = search::Hypervolume(ObjectivesOf(random_front), tight);
  const int random_dominated = DominatedBy(evolved_front, random_front);
  const int evolved_dominated = DominatedBy(random_front, evolved_front);
  std::printf(
      "   hypervolume up to (loss %.3f, %lld conn): evolution %.1f, random %.1f\n"
      "   hypervolume up to (loss %.3f = the worst candidate, %lld conn): evolution %.2f, "
      "random %.2f\n"
      "   random front points dominated by the evolved front: %d of %zu; evolved points "
      "dominated by the random front: %d of %zu\n",
      wide.loss, static_cast<long long>(wide.connections), hv_evolution, hv_random, tight.loss,
      static_cast<long long>(tight.connections), hv_evolution_tight, hv_random_tight,
      random_dominated, random_front.size(), evolved_dominated, evolved_front.size());

  const int64_t eighth = dense_connections / 8;
  const std::optional<Point> best_evolved = BestWithin(evolved_all, eighth);
  const std::optional<Point> best_random = BestWithin(random_all, eighth);
  const std::optional<Point> best_baseline = BestWithin(baselines, eighth);
  auto describe = [&](const char* who, const std::optional<Point>& p) {
    if (!p.has_value()) {
      std::printf("   best %-9s with <= %lld conn: none\n", who, static_cast<long long>(eighth));
      return;
    }
    std::printf("   best %-9s with <= %lld conn: %s, %lld conn, val_loss %.4f (%+.2f%% vs dense)\n",
                who, static_cast<long long>(eighth), p->what.c_str(),
                static_cast<long long>(p->connections), p->loss,
                100.0 * (p->loss / dense_loss - 1));
  };
  describe("evolved", best_evolved);
  describe("random", best_random);
  describe("baseline", best_baseline);
  const v1::Candidate& best = evolution.best;
  std::printf("   the evolved candidate with the lowest loss, #%lld:\n",
              static_cast<long long>(best.id()));
  for (int layer = 0; layer < best.genome().num_layers(); ++layer) {
    std::vector<std::string> heads;
    for (const v1::Head& head : best.genome().heads()) {
      if (head.layer() == layer) {
        heads.push_back(absl::StrCat("{", absl::StrJoin(head.offsets().offsets(), ","), "}"));
      }
    }
    std::printf("     layer %d: %s\n", layer, absl::StrJoin(heads, " ").c_str());
  }
  std::printf(
      "   time: k-sweep with dense %.0f s, evolution %.0f s, baselines %.0f s; part brown "
      "took %.0f s\n",
      sweep_seconds, evolution_seconds, baseline_seconds, Seconds(part_start));
  auto rel = [&](const std::optional<Point>& p) {
    return p.has_value() ? p->loss / dense_loss - 1 : std::numeric_limits<double>::quiet_NaN();
  };
  std::printf(
      "RESULT part=brown evaluations=%d/%d dense_loss=%.4f best_eighth_evolved_rel=%+.4f "
      "best_eighth_random_rel=%+.4f best_eighth_baseline_rel=%+.4f hv_evolution=%.2f "
      "hv_random=%.2f hv_tight_evolution=%.3f hv_tight_random=%.3f random_dominated=%d/%zu "
      "evolved_dominated=%d/%zu seconds=%.0f\n\n",
      evolution_evals, SweepEvaluations(s), dense_loss, rel(best_evolved), rel(best_random),
      rel(best_baseline), hv_evolution, hv_random, hv_evolution_tight, hv_random_tight,
      random_dominated, random_front.size(), evolved_dominated, evolved_front.size(),
      Seconds(part_start));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  CLI::App app{
      "Does the search work? Evolution against random search on the planted-offset task and "
      "on Brown-corpus byte-level language modelling (minutes; --quick for a smoke run)."};
  app.add_option("--part", flags.part, "planted, brown or all")
      ->check(CLI::IsMember({"planted", "brown", "all"}));
  app.add_option("--seeds", flags.seeds,
                 "planted: search seeds, each run by both methods (default 10; 3 with --quick)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--quick", flags.quick, "smaller budgets: a smoke run of a minute or two");
  app.add_flag("--verbose", flags.verbose, "a line per evaluated candidate");
  app.add_option("--threads", flags.threads, "LibTorch intra-op threads (0: its default, one)");
  app.add_option("--corpus-dir", flags.corpus_dir,
                 "brown: the corpus directory (default: the cache deploy/fetch_corpus.sh fills)");
  CLI11_PARSE(app, argc, argv);

  headevo::worker::TorchEvaluatorOptions worker_options;
  worker_options.num_threads = flags.threads;
  absl::StatusOr<std::unique_ptr<headevo::worker::TorchEvaluator>> evaluator =
      headevo::worker::TorchEvaluator::Create(worker_options);
  if (!evaluator.ok()) {
    std::fprintf(stderr, "search_quality: %s\n", evaluator.status().ToString().c_str());
    return 2;
  }
  if (flags.quick && app.count("--seeds") == 0) flags.seeds = 3;
  if (flags.part == "planted" || flags.part == "all") RunPlanted(flags, **evaluator);
  if (flags.part == "brown" || flags.part == "all") RunBrown(flags, **evaluator);
  return 0;
}
