#include "bench/search_quality/brown.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/search_quality/brown_points.h"
#include "bench/search_quality/reference_training.h"
#include "search/pareto.h"

namespace headevo::search_quality {
namespace {

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

// Trains one baseline the way the driver trains its baselines.
Point TrainBaseline(headevo::search::Evaluator& evaluator, const search::SearchOptions& options,
                    v1::AttentionKind kind, int parameter, int stream, std::string what) {
  ReferenceRequest reference;
  reference.model = options.training.model();
  reference.model.set_attention(kind);
  if (kind == v1::ATTENTION_KIND_LOCAL) reference.model.set_window(parameter);
  if (kind == v1::ATTENTION_KIND_STRIDED) reference.model.set_stride(parameter);
  if (kind == v1::ATTENTION_KIND_LINFORMER) reference.model.set_linformer_rank(parameter);
  reference.stream = stream;
  reference.what = std::move(what);
  return TrainReference(evaluator, options, reference);
}

void PrintBrownHeader(const BrownSettings& s) {
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
}

// The two searches, in the order they run: the k-sweep first, as it trains dense, the bar
// everything is measured against.
struct BrownSearches {
  search::SearchOptions options;  // the k-sweep's, which the baselines train with
  server::SearchOutcome sweep, evolution;
  double sweep_seconds = 0, evolution_seconds = 0;
  double dense_loss = 0;
  int64_t dense_connections = 0;
};

BrownSearches RunBrownSearches(const Flags& flags, const BrownSettings& s,
                               headevo::storage::Store& store,
                               headevo::search::Evaluator& evaluator) {
  BrownSearches r;
  auto start = Clock::now();
  ProgressListener sweep_listener("k-sweep", true);
  r.sweep = RunSearch(store, evaluator, BrownToml(s, flags, true), "brown k-sweep",
                      &sweep_listener, &r.options);
  r.sweep_seconds = Seconds(start);
  r.dense_loss = r.sweep.dense->val_loss();
  r.dense_connections = r.sweep.dense->connections();
  std::printf("  dense: loss %.4f, %lld connections per query\n", r.dense_loss,
              static_cast<long long>(r.dense_connections));

  start = Clock::now();
  ProgressListener evolution_listener("evolution", true);
  r.evolution = RunSearch(store, evaluator, BrownToml(s, flags, false), "brown evolution",
                          &evolution_listener);
  r.evolution_seconds = Seconds(start);
  return r;
}

// Local windows, strided and Linformer, trained with the same budget, a line each.
std::vector<Point> TrainBaselines(headevo::search::Evaluator& evaluator,
                                  const search::SearchOptions& options, const BrownSettings& s) {
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
  return baselines;
}

// All evaluated candidates of each search, and their fronts.
struct BrownPoints {
  std::vector<Point> evolved_all, random_all, evolved_front, random_front;
};

BrownPoints CollectPoints(headevo::storage::Store& store, const BrownSearches& searches) {
  BrownPoints points;
  std::vector<Point>& evolved_front = points.evolved_front;
  std::vector<Point>& random_front = points.random_front;
  for (const v1::Candidate& c : searches.evolution.pareto_front) evolved_front.push_back(PointOf(c));
  for (const v1::Candidate& c : searches.sweep.pareto_front) {
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
    absl::StatusOr<std::vector<v1::Candidate>> all = store.ListCandidates(search_id);
    if (!all.ok()) return;
    for (const v1::Candidate& c : *all) {
      if (c.state() == v1::CANDIDATE_STATE_DONE) out.push_back(PointOf(c));
    }
  };
  all_of(searches.evolution.search_id, points.evolved_all);
  all_of(searches.sweep.search_id, points.random_all);
  return points;
}

void PrintTables(const BrownSearches& searches, const BrownPoints& points,
                 const std::vector<Point>& baselines) {
  const double dense_loss = searches.dense_loss;
  const int64_t dense_connections = searches.dense_connections;
  const std::vector<Point>& evolved_front = points.evolved_front;
  const std::vector<Point>& random_front = points.random_front;
  std::printf("\n   dense: val_loss %.4f, %lld connections per query (1/8 = %lld)\n", dense_loss,
              static_cast<long long>(dense_connections),
              static_cast<long long>(dense_connections / 8));
  PrintFront("evolution's Pareto front:", evolved_front, dense_loss, dense_connections);
  PrintFront("random search's (k-sweep) Pareto front:", random_front, dense_loss,
             dense_connections);
  PrintFront("baselines (same budget):", baselines, dense_loss, dense_connections);
}

struct FrontComparison {
  double hv_evolution = 0, hv_random = 0, hv_evolution_tight = 0, hv_random_tight = 0;
  int random_dominated = 0, evolved_dominated = 0;
};

// Hypervolume against the project's reference (a uniform guess, dense connections) and a
// tight one (the worst loss any candidate of either search reached, dense connections), and
// how many points of each front the other dominates; printed.
FrontComparison CompareFronts(const BrownSearches& searches, const BrownPoints& points) {
  const std::vector<Point>& evolved_front = points.evolved_front;
  const std::vector<Point>& random_front = points.random_front;
  const std::vector<Point>& evolved_all = points.evolved_all;
  const std::vector<Point>& random_all = points.random_all;
  const int64_t dense_connections = searches.dense_connections;
  double worst = 0;
  for (const auto* set : {&evolved_all, &random_all}) {
    for (const Point& p : *set) worst = std::max(worst, p.loss);
  }
  const search::Objectives wide = searches.sweep.hypervolume_reference;
  const search::Objectives tight{worst, static_cast<double>(dense_connections)};
  FrontComparison c;
  c.hv_evolution = search::Hypervolume(ObjectivesOf(evolved_front), wide);
  c.hv_random = search::Hypervolume(ObjectivesOf(random_front), wide);
  c.hv_evolution_tight = search::Hypervolume(ObjectivesOf(evolved_front), tight);
  c.hv_random_tight = search::Hypervolume(ObjectivesOf(random_front), tight);
  c.random_dominated = DominatedBy(evolved_front, random_front);
  c.evolved_dominated = DominatedBy(random_front, evolved_front);
  std::printf(
      "   hypervolume up to (loss %.3f, %lld conn): evolution %.1f, random %.1f\n"
      "   hypervolume up to (loss %.3f = the worst candidate, %lld conn): evolution %.2f, "
      "random %.2f\n"
      "   random front points dominated by the evolved front: %d of %zu; evolved points "
      "dominated by the random front: %d of %zu\n",
      wide.loss, static_cast<long long>(wide.connections), c.hv_evolution, c.hv_random, tight.loss,
      static_cast<long long>(tight.connections), c.hv_evolution_tight, c.hv_random_tight,
      c.random_dominated, random_front.size(), c.evolved_dominated, evolved_front.size());
  return c;
}

// The lowest-loss point of each kind with at most 1/8 of dense's connections.
struct BestWithinEighth {
  std::optional<Point> evolved, random, baseline;
};

BestWithinEighth PrintBestWithinEighth(const BrownSearches& searches, const BrownPoints& points,
                                       const std::vector<Point>& baselines) {
  const double dense_loss = searches.dense_loss;
  const int64_t dense_connections = searches.dense_connections;
  const int64_t eighth = dense_connections / 8;
  BestWithinEighth best;
  best.evolved = BestWithin(points.evolved_all, eighth);
  best.random = BestWithin(points.random_all, eighth);
  best.baseline = BestWithin(baselines, eighth);
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
  describe("evolved", best.evolved);
  describe("random", best.random);
  describe("baseline", best.baseline);
  return best;
}

void PrintBestGenome(const v1::Candidate& best) {
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
}

// The times and the RESULT part=brown line.
void PrintBrownResult(const BrownSettings& s, const BrownSearches& searches,
                      double baseline_seconds, Clock::time_point part_start,
                      const BrownPoints& points, const FrontComparison& c,
                      const BestWithinEighth& best) {
  const double dense_loss = searches.dense_loss;
  std::printf(
      "   time: k-sweep with dense %.0f s, evolution %.0f s, baselines %.0f s; part brown "
      "took %.0f s\n",
      searches.sweep_seconds, searches.evolution_seconds, baseline_seconds, Seconds(part_start));
  auto rel = [&](const std::optional<Point>& p) {
    return p.has_value() ? p->loss / dense_loss - 1 : std::numeric_limits<double>::quiet_NaN();
  };
  std::printf(
      "RESULT part=brown evaluations=%d/%d dense_loss=%.4f best_eighth_evolved_rel=%+.4f "
      "best_eighth_random_rel=%+.4f best_eighth_baseline_rel=%+.4f hv_evolution=%.2f "
      "hv_random=%.2f hv_tight_evolution=%.3f hv_tight_random=%.3f random_dominated=%d/%zu "
      "evolved_dominated=%d/%zu seconds=%.0f\n\n",
      s.population * (s.generations + 1), SweepEvaluations(s), dense_loss, rel(best.evolved),
      rel(best.random), rel(best.baseline), c.hv_evolution, c.hv_random, c.hv_evolution_tight,
      c.hv_random_tight, c.random_dominated, points.random_front.size(), c.evolved_dominated,
      points.evolved_front.size(), Seconds(part_start));
  std::fflush(stdout);
}

}  // namespace

void RunBrown(const Flags& flags, headevo::search::Evaluator& evaluator) {
  const BrownSettings s = BrownFor(flags);
  const auto part_start = Clock::now();
  PrintBrownHeader(s);
  std::unique_ptr<headevo::storage::Store> store = OpenMemoryStore();
  const BrownSearches searches = RunBrownSearches(flags, s, *store, evaluator);
  const auto start = Clock::now();
  const std::vector<Point> baselines = TrainBaselines(evaluator, searches.options, s);
  const double baseline_seconds = Seconds(start);
  const BrownPoints points = CollectPoints(*store, searches);
  PrintTables(searches, points, baselines);
  const FrontComparison comparison = CompareFronts(searches, points);
  const BestWithinEighth best = PrintBestWithinEighth(searches, points, baselines);
  PrintBestGenome(searches.evolution.best);
  PrintBrownResult(s, searches, baseline_seconds, part_start, points, comparison, best);
}

}  // namespace headevo::search_quality
