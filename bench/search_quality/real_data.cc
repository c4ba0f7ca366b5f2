#include "bench/search_quality/real_data.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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
#include "absl/strings/str_split.h"
#include "bench/search_quality/brown_points.h"
#include "bench/search_quality/reference_training.h"
#include "search/pareto.h"
#include "server/config/search_config.h"

namespace headevo::search_quality {
namespace {

struct RealDataSettings {
  std::string part;        // "mnist" or "brown512"
  std::string task_toml;   // the [task] section's keys
  std::string loss_unit;   // how the summary names the loss: "bits/pixel" or "bits/byte"
  int vocab_size = 16;
  int seq_len = 112;
  int d_model = 32;
  int layers = 2;
  int heads = 4;
  int batch = 16;
  double learning_rate = 0.003;
  int warmup_steps = 20;
  int eval_batches = 16;
  uint64_t seed = 1;
  // The dense ladder.
  int ladder_start = 250;
  int ladder_max = 4000;
  double ladder_tolerance = 0.01;
  // Both searches: generation 0 from this [initial] section.
  std::string initial_toml;
  // Evolution: population * (generations + 1) evaluations; random search as many.
  int population = 8;
  int generations = 3;
  int parents = 4;
  std::string sampler = "best";
  // Baselines.
  std::vector<int> local_windows;
  int stride = 0;
  int bigbird_window = 0;
  int bigbird_random = 0;
  int evaluations() const { return population * (generations + 1); }
};

// The image's row above is -28: the offsets a pixel model wants are a few near ones and a few
// around -28, so the local block prior (2 nearest pixels) plus log-uniform far offsets reaching
// two rows back. Generation 0 spreads k from 1 to the window (k_spread) in both searches.
RealDataSettings MnistFor(const Flags& flags) {
  RealDataSettings s;
  s.part = "mnist";
  s.task_toml = "kind = \"image_pixels\"\nlevels = 16\n";
  s.loss_unit = "bits/pixel";
  s.vocab_size = 16;
  s.seq_len = 112;  // 4 rows of a digit, starting at a row boundary
  s.learning_rate = 0.005;
  s.ladder_start = 250;
  s.ladder_max = 4000;
  s.initial_toml = R"(k_distribution = "normal"
k_mean = 4.0
k_stddev = 1.0
k_spread = true
offset_distribution = "local_plus_far"
local_width = 2
local_probability = 0.5
far_distribution = "log_uniform"
offset_low = 1
offset_high = 60
window = 60
)";
  s.population = 6;
  s.generations = 3;
  s.parents = 3;
  s.local_windows = {4, 8, 28};
  s.stride = 28;
  s.bigbird_window = 4;
  s.bigbird_random = 4;
  if (flags.quick) {
    s.ladder_start = 30;
    s.ladder_max = 60;
    s.population = 4;
    s.generations = 1;
    s.eval_batches = 2;
    s.local_windows = {4};
  }
  return s;
}

// Text at seq_len 512: the same rule, with a 32-wide local window the bar dense must beat.
// Sparse heads reach 128 bytes back (a quarter of the context): generation 0's k spreads from 1
// to the window, and a 512-wide spread would spend the budget on near-dense heads.
RealDataSettings BrownLongFor(const Flags& flags) {
  RealDataSettings s;
  s.part = "brown512";
  s.task_toml = absl::StrCat("kind = \"brown_corpus\"\ncorpus_dir = ", TomlString(flags.corpus_dir),
                             "\n");
  s.loss_unit = "bits/byte";
  s.vocab_size = 256;
  s.seq_len = 512;
  s.batch = 8;
  s.learning_rate = 0.003;
  s.ladder_start = 250;
  s.ladder_max = 2000;
  s.initial_toml = R"(k_distribution = "normal"
k_mean = 8.0
k_stddev = 2.0
k_spread = true
offset_distribution = "local_plus_far"
local_width = 4
local_probability = 0.5
far_distribution = "log_uniform"
offset_low = 1
offset_high = 128
window = 128
)";
  s.population = 6;
  s.generations = 2;
  s.parents = 3;
  s.local_windows = {8, 32};
  s.stride = 23;  // round(sqrt(512)), the Sparse Transformer's choice
  s.bigbird_window = 8;
  s.bigbird_random = 8;
  if (flags.quick) {
    s.seq_len = 128;
    s.ladder_start = 20;
    s.ladder_max = 40;
    s.population = 3;
    s.generations = 1;
    s.eval_batches = 2;
    s.local_windows = {32};
    s.initial_toml = R"(k_spread = true
offset_distribution = "log_uniform"
offset_low = 1
offset_high = 127
window = 127
)";
  }
  return s;
}

std::string SearchToml(const RealDataSettings& s, int steps, bool random) {
  return absl::StrFormat(R"([search]
name = "%s-%s"
seed = %d
population = %d
generations = %d
compare_with_dense = false

[model]
vocab_size = %d
d_model = %d
layers = %d
heads_per_layer = %d
d_head = 8
mlp_ratio = 2
seq_len = %d
causal = true

[task]
%s
[training]
steps = %d
batch_size = %d
learning_rate = %g
warmup_steps = %d
eval_batches = %d
lr_schedule = "cosine"

[initial]
%s
[selection]
method = "nsga2"
parents = %d

[resampling]
sampler = "%s"
shift_scaling = "proportional"
)",
                         s.part, random ? "random" : "evolution", s.seed,
                         random ? s.evaluations() : s.population, random ? 0 : s.generations,
                         s.vocab_size, s.d_model, s.layers, s.heads, s.seq_len, s.task_toml, steps,
                         s.batch, s.learning_rate, s.warmup_steps, s.eval_batches, s.initial_toml,
                         s.parents, s.sampler);
}

search::SearchOptions OptionsOf(const std::string& toml, const std::string& name) {
  absl::StatusOr<search::SearchOptions> options = server::ParseSearchConfig(toml, name);
  if (!options.ok()) {
    std::fprintf(stderr, "search_quality: bad config %s: %s\n", name.c_str(),
                 std::string(options.status().message()).c_str());
    std::exit(2);
  }
  return *std::move(options);
}

double Bits(double nats) { return nats / std::log(2.0); }

// Dense at growing budgets until doubling stops paying (see real_data.h).
struct Ladder {
  std::vector<std::pair<int, double>> curve;  // (steps, val_loss)
  int budget = 0;
  double dense_loss = 0;
  int64_t dense_connections = 0;
  bool converged = false;
};

// Dense attention trained from scratch for `steps` under `options`; exits when it does not train,
// since nothing can then be compared with it.
Point TrainDense(const search::SearchOptions& options, int steps,
                 headevo::search::Evaluator& evaluator) {
  ReferenceRequest dense;
  dense.model = options.training.model();
  dense.model.set_attention(v1::ATTENTION_KIND_DENSE);
  dense.steps = steps;
  dense.stream = -1;
  dense.what = "dense";
  const Point p = TrainReference(evaluator, options, dense);
  if (!std::isfinite(p.loss)) {
    std::fprintf(stderr, "search_quality: dense did not train; nothing to compare with\n");
    std::exit(1);
  }
  return p;
}

Ladder RunLadder(const RealDataSettings& s, headevo::search::Evaluator& evaluator) {
  Ladder ladder;
  const search::SearchOptions options =
      OptionsOf(SearchToml(s, s.ladder_start, true), s.part + " ladder");
  std::printf("  -- the dense ladder (each budget trained from scratch, cosine schedule)\n");
  for (int steps = s.ladder_start; steps <= s.ladder_max; steps *= 2) {
    const Point p = TrainDense(options, steps, evaluator);
    if (!ladder.curve.empty()) {
      const double previous = ladder.curve.back().second;
      const double gain = (previous - p.loss) / previous;
      std::printf("     doubling to %d steps gained %+.2f%%\n", steps, 100 * gain);
      if (gain < s.ladder_tolerance) {
        ladder.converged = true;
        ladder.curve.emplace_back(steps, p.loss);
        break;
      }
    }
    ladder.curve.emplace_back(steps, p.loss);
    ladder.budget = steps;
    ladder.dense_loss = p.loss;
    ladder.dense_connections = p.connections;
  }
  std::fflush(stdout);
  return ladder;
}

// Every done candidate of a search, and its front.
struct SearchPoints {
  server::SearchOutcome outcome;
  std::vector<Point> all, front;
  double seconds = 0;
};

SearchPoints RunOne(const RealDataSettings& s, int steps, bool random, const Flags& flags,
                    headevo::storage::Store& store, headevo::search::Evaluator& evaluator) {
  SearchPoints points;
  const auto start = Clock::now();
  const std::string what = random ? "random" : "evolution";
  std::printf("  -- %s: %d evaluations at %d steps\n", what.c_str(), s.evaluations(), steps);
  ProgressListener listener(what, flags.verbose || !flags.quick);
  points.outcome = RunSearch(store, evaluator, SearchToml(s, steps, random),
                             absl::StrCat(s.part, " ", what), &listener);
  points.seconds = Seconds(start);
  for (const v1::Candidate& c : points.outcome.pareto_front) points.front.push_back(PointOf(c));
  absl::StatusOr<std::vector<v1::Candidate>> all = store.ListCandidates(points.outcome.search_id);
  if (all.ok()) {
    for (const v1::Candidate& c : *all) {
      if (c.state() == v1::CANDIDATE_STATE_DONE) points.all.push_back(PointOf(c));
    }
  }
  return points;
}

std::vector<Point> TrainBaselines(const RealDataSettings& s, int steps,
                                  headevo::search::Evaluator& evaluator) {
  const search::SearchOptions options = OptionsOf(SearchToml(s, steps, true), s.part + " baselines");
  std::printf("  -- baselines at %d steps\n", steps);
  std::vector<Point> baselines;
  int stream = -2;
  auto train = [&](v1::ModelSpec model, std::string what) {
    ReferenceRequest reference;
    reference.model = std::move(model);
    reference.stream = stream--;
    reference.what = std::move(what);
    baselines.push_back(TrainReference(evaluator, options, reference));
  };
  const v1::ModelSpec base = options.training.model();
  for (int w : s.local_windows) {
    v1::ModelSpec m = base;
    m.set_attention(v1::ATTENTION_KIND_LOCAL);
    m.set_window(w);
    train(m, absl::StrCat("local (window ", w, ")"));
  }
  v1::ModelSpec strided = base;
  strided.set_attention(v1::ATTENTION_KIND_STRIDED);
  strided.set_stride(s.stride);
  train(strided, absl::StrCat("strided (stride ", s.stride, ")"));
  v1::ModelSpec dilated = base;
  dilated.set_attention(v1::ATTENTION_KIND_DILATED);
  train(dilated, "dilated (LogSparse)");
  v1::ModelSpec bigbird = base;
  bigbird.set_attention(v1::ATTENTION_KIND_WINDOW_RANDOM);
  bigbird.set_window(s.bigbird_window);
  bigbird.set_random_k(s.bigbird_random);
  train(bigbird, absl::StrCat("window ", s.bigbird_window, " + random ", s.bigbird_random));
  return baselines;
}

// How many of `baselines` (the trained ones) some point of `candidates` dominates; the names
// of those none dominates go to `undominated`.
int BaselinesDominated(const std::vector<Point>& candidates, const std::vector<Point>& baselines,
                       int* trained, std::vector<std::string>* undominated) {
  int dominated = 0;
  *trained = 0;
  for (const Point& b : baselines) {
    if (!std::isfinite(b.loss)) continue;
    ++*trained;
    if (DominatedBy(candidates, {b}) == 1) {
      ++dominated;
    } else {
      undominated->push_back(b.what);
    }
  }
  return dominated;
}

void PrintHeader(const RealDataSettings& s) {
  std::printf(
      "== part %s: causal next-token model, seq_len %d, vocab %d\n"
      "   model %d layers x %d heads (d_model %d, d_head 8), batch %d, lr %g (cosine, %d warm-up), "
      "validation %d batches, seed %d\n"
      "   dense ladder: %d steps, doubling while it gains >= %.0f%%, at most %d\n"
      "   evolution: population %d + %d generations = %d evaluations (steady state, NSGA-II, "
      "`%s` resampling, proportional shifts); random search: %d evaluations in generation 0\n"
      "   both draw generation 0 from [initial]:\n     %s\n"
      "   baselines: local windows {%s}, strided %d, dilated, window %d + random %d\n",
      s.part.c_str(), s.seq_len, s.vocab_size, s.layers, s.heads, s.d_model, s.batch,
      s.learning_rate, s.warmup_steps, s.eval_batches, static_cast<int>(s.seed), s.ladder_start,
      100 * s.ladder_tolerance, s.ladder_max, s.population, s.generations, s.evaluations(), s.sampler.c_str(),
      s.evaluations(), absl::StrJoin(absl::StrSplit(s.initial_toml, '\n', absl::SkipEmpty()), "; ").c_str(),
      Join(s.local_windows).c_str(), s.stride, s.bigbird_window, s.bigbird_random);
  std::fflush(stdout);
}

void RunRealData(const RealDataSettings& s, const Flags& flags,
                 headevo::search::Evaluator& evaluator) {
  const auto part_start = Clock::now();
  PrintHeader(s);
  const Ladder ladder = RunLadder(s, evaluator);
  const int budget = ladder.budget;
  std::unique_ptr<headevo::storage::Store> store = OpenMemoryStore();
  const SearchPoints random = RunOne(s, budget, true, flags, *store, evaluator);
  const SearchPoints evolved = RunOne(s, budget, false, flags, *store, evaluator);
  const std::vector<Point> baselines = TrainBaselines(s, budget, evaluator);

  const double dense_loss = ladder.dense_loss;
  const int64_t dense_connections = ladder.dense_connections;
  std::printf("\n   the dense learning curve (%s):\n", s.loss_unit.c_str());
  for (const auto& [steps, loss] : ladder.curve) {
    std::printf("     %6d steps  val_loss %.4f  %.4f %s\n", steps, loss, Bits(loss),
                s.loss_unit.c_str());
  }
  std::printf("   budget: %d steps x batch %d (%s)\n", budget, s.batch,
              ladder.converged ? "dense stopped improving: doubling it gains less than the tolerance"
                               : "the ladder ran out before dense stopped improving");
  std::printf("   dense at the budget: val_loss %.4f (%.4f %s), %lld connections per query\n",
              dense_loss, Bits(dense_loss), s.loss_unit.c_str(),
              static_cast<long long>(dense_connections));
  PrintFront("evolution's Pareto front:", evolved.front, dense_loss, dense_connections);
  PrintFront("random search's Pareto front:", random.front, dense_loss, dense_connections);
  PrintFront("baselines (same budget):", baselines, dense_loss, dense_connections);

  const int64_t sixteenth = dense_connections / 16;
  const std::optional<Point> best_evolved = BestWithin(evolved.all, sixteenth);
  const std::optional<Point> best_random = BestWithin(random.all, sixteenth);
  auto rel = [&](const std::optional<Point>& p) {
    return p.has_value() ? p->loss / dense_loss - 1 : std::numeric_limits<double>::quiet_NaN();
  };
  const search::Objectives reference = random.outcome.hypervolume_reference;
  const double hv_evolved = search::Hypervolume(ObjectivesOf(evolved.front), reference);
  const double hv_random = search::Hypervolume(ObjectivesOf(random.front), reference);
  double worst = 0;
  for (const auto* set : {&evolved.all, &random.all}) {
    for (const Point& p : *set) worst = std::max(worst, p.loss);
  }
  const search::Objectives tight{worst, static_cast<double>(dense_connections)};
  const double hv_tight_evolved = search::Hypervolume(ObjectivesOf(evolved.front), tight);
  const double hv_tight_random = search::Hypervolume(ObjectivesOf(random.front), tight);
  int trained = 0;
  std::vector<std::string> undominated;
  const int dominated = BaselinesDominated(evolved.all, baselines, &trained, &undominated);

  std::printf("\n   targets at the budget:\n");
  std::printf("   1. best evolved with <= 1/16 of dense's connections (%lld): %s\n",
              static_cast<long long>(sixteenth),
              best_evolved ? absl::StrFormat("%s, %lld conn, %.4f %s (%+.2f%% vs dense) -> %s",
                                             best_evolved->what, best_evolved->connections,
                                             Bits(best_evolved->loss), s.loss_unit,
                                             100 * rel(best_evolved),
                                             rel(best_evolved) <= 0.02 ? "met" : "MISSED")
                                 .c_str()
                           : "none -> MISSED");
  if (best_random) {
    std::printf("      (random search's: %s, %lld conn, %+.2f%% vs dense)\n",
                best_random->what.c_str(), static_cast<long long>(best_random->connections),
                100 * rel(best_random));
  }
  std::printf("   2. hypervolume up to (%.3f, %lld conn): evolution %.2f, random %.2f -> %s\n"
              "      (up to the worst candidate, %.4f: evolution %.3f, random %.3f)\n",
              reference.loss, static_cast<long long>(reference.connections), hv_evolved, hv_random,
              hv_evolved > hv_random ? "met" : "MISSED", worst, hv_tight_evolved, hv_tight_random);
  std::printf("   3. baselines dominated by an evolved candidate: %d of %d -> %s%s%s\n", dominated,
              trained, dominated == trained ? "met" : "MISSED",
              undominated.empty() ? "" : "; not dominated: ",
              absl::StrJoin(undominated, ", ").c_str());
  std::printf("   time: ladder + searches + baselines; random %.0f s, evolution %.0f s; part %s "
              "took %.0f s\n",
              random.seconds, evolved.seconds, s.part.c_str(), Seconds(part_start));
  std::printf(
      "RESULT part=%s budget_steps=%d dense_converged=%d dense_loss=%.4f dense_bits=%.4f "
      "sixteenth_evolved_rel=%+.4f sixteenth_random_rel=%+.4f hv_evolution=%.3f hv_random=%.3f "
      "hv_tight_evolution=%.4f hv_tight_random=%.4f baselines_dominated=%d/%d evaluations=%d "
      "seconds=%.0f\n\n",
      s.part.c_str(), budget, ladder.converged ? 1 : 0, dense_loss, Bits(dense_loss),
      rel(best_evolved), rel(best_random), hv_evolved, hv_random, hv_tight_evolved,
      hv_tight_random, dominated, trained, s.evaluations(), Seconds(part_start));
  std::fflush(stdout);
}

// --evolution-only: one dense run at the budget (--budget-steps, or the ladder's), then one
// evolution per sampler of the --sampler list, each judged on the same figures. The second
// hypervolume counts only the region within 20 % of dense's loss, where the targets live; its
// reference depends on dense alone, so it compares across samplers and runs.
void RunSamplerComparison(RealDataSettings s, const Flags& flags,
                          headevo::search::Evaluator& evaluator) {
  const auto part_start = Clock::now();
  const std::vector<std::string> samplers =
      absl::StrSplit(flags.sampler.empty() ? s.sampler : flags.sampler, ',', absl::SkipEmpty());
  RealDataSettings header = s;
  header.sampler = absl::StrJoin(samplers, ", ");
  PrintHeader(header);
  std::printf("   evolution only, once per sampler (no random search, no baselines)\n");
  int budget = flags.budget_steps;
  double dense_loss = 0;
  int64_t dense_connections = 0;
  if (budget > 0) {
    const Point p = TrainDense(OptionsOf(SearchToml(s, budget, true), s.part + " dense"), budget,
                               evaluator);
    dense_loss = p.loss;
    dense_connections = p.connections;
  } else {
    const Ladder ladder = RunLadder(s, evaluator);
    budget = ladder.budget;
    dense_loss = ladder.dense_loss;
    dense_connections = ladder.dense_connections;
  }
  std::printf("   dense at %d steps: val_loss %.4f (%.4f %s), %lld connections per query\n",
              budget, dense_loss, Bits(dense_loss), s.loss_unit.c_str(),
              static_cast<long long>(dense_connections));
  const search::Objectives near{1.2 * dense_loss, static_cast<double>(dense_connections)};
  const int64_t sixteenth = dense_connections / 16;
  std::unique_ptr<headevo::storage::Store> store = OpenMemoryStore();
  for (const std::string& sampler : samplers) {
    s.sampler = sampler;
    std::printf("\n  == sampler %s\n", sampler.c_str());
    const SearchPoints evolved = RunOne(s, budget, false, flags, *store, evaluator);
    PrintFront("evolution's Pareto front:", evolved.front, dense_loss, dense_connections);
    const std::optional<Point> best = BestWithin(evolved.all, sixteenth);
    const double rel =
        best ? best->loss / dense_loss - 1 : std::numeric_limits<double>::quiet_NaN();
    const double hv = search::Hypervolume(ObjectivesOf(evolved.front),
                                          evolved.outcome.hypervolume_reference);
    const double hv_near = search::Hypervolume(ObjectivesOf(evolved.front), near);
    std::printf(
        "RESULT part=%s mode=evolution_only sampler=%s budget_steps=%d dense_loss=%.4f "
        "sixteenth_evolved_rel=%+.4f sixteenth_evolved_conn=%lld hv_evolution=%.3f "
        "hv_near_evolution=%.4f evaluations=%d seconds=%.0f\n",
        s.part.c_str(), sampler.c_str(), budget, dense_loss, rel,
        static_cast<long long>(best ? best->connections : 0), hv, hv_near, s.evaluations(),
        evolved.seconds);
    std::fflush(stdout);
  }
  std::printf("   part %s (evolution only, %zu samplers) took %.0f s\n", s.part.c_str(),
              samplers.size(), Seconds(part_start));
}

void Run(RealDataSettings s, const Flags& flags, headevo::search::Evaluator& evaluator) {
  if (flags.evolution_only) {
    RunSamplerComparison(std::move(s), flags, evaluator);
    return;
  }
  if (!flags.sampler.empty()) s.sampler = flags.sampler;
  RunRealData(s, flags, evaluator);
}

}  // namespace

void RunMnist(const Flags& flags, headevo::search::Evaluator& evaluator) {
  Run(MnistFor(flags), flags, evaluator);
}

void RunBrownLong(const Flags& flags, headevo::search::Evaluator& evaluator) {
  Run(BrownLongFor(flags), flags, evaluator);
}

}  // namespace headevo::search_quality
