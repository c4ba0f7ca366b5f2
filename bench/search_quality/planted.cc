#include "bench/search_quality/planted.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace headevo::search_quality {
namespace {

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
  std::string sampler = "uniform";
  int evaluations() const { return population * (generations + 1); }
};

PlantedSettings PlantedFor(const Flags& flags) {
  PlantedSettings s;
  if (!flags.sampler.empty()) s.sampler = flags.sampler;
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
sampler = "%s"
)",
                         random ? "random" : "evolution", seed, seed, population, generations,
                         s.layers, s.heads, s.seq_len, Join(s.planted), s.steps, s.batch, s.k_mean,
                         s.window, s.prune_fraction, std::min(s.parents, population), s.sampler);
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

// What each method's searches found, one entry per seed.
struct PlantedRuns {
  std::vector<PlantedRun> evolution, random;
};

void PrintPlantedHeader(const Flags& flags, const PlantedSettings& s) {
  std::printf(
      "== part planted: planted offsets {%s}, causal, window %d (offsets -1..-%d), seq_len %d, "
      "vocab 16\n"
      "   model %d layers x %d heads (d_model 32, d_head 8), heads k ~ 1 + Poisson(%g), "
      "offsets uniform in the window\n"
      "   training %d steps x batch %d; %d seeds; per seed and method %d evaluations:\n"
      "   evolution = population %d + %d generations (steady state, truncation of the %d fittest, "
      "pruning %g of each parent's heads, `%s` resampling);\n"
      "   random    = %d genomes from the same [initial] sampler, the fittest kept\n",
      Join(s.planted).c_str(), s.window, s.window, s.seq_len, s.layers, s.heads, s.k_mean - 1,
      s.steps, s.batch, flags.seeds, s.evaluations(), s.population, s.generations, s.parents,
      s.prune_fraction, s.sampler.c_str(), s.evaluations());
  std::fflush(stdout);
}

// Both searches of every seed, a line each.
PlantedRuns RunPlantedSearches(const Flags& flags, const PlantedSettings& s,
                               headevo::search::Evaluator& evaluator) {
  std::unique_ptr<headevo::storage::Store> store = OpenMemoryStore();
  PlantedRuns runs;
  for (int i = 0; i < flags.seeds; ++i) {
    const uint64_t seed = static_cast<uint64_t>(i + flags.first_seed);
    for (bool is_random : {false, true}) {
      if (is_random && flags.evolution_only) continue;
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
      (is_random ? runs.random : runs.evolution).push_back(std::move(run));
    }
  }
  return runs;
}

// Seeds whose best candidate holds every planted offset.
int AllFound(const PlantedSettings& s, const std::vector<PlantedRun>& runs) {
  int n = 0;
  for (const PlantedRun& r : runs) n += r.found == static_cast<int>(s.planted.size());
  return n;
}

double MeanFraction(const PlantedSettings& s, const std::vector<PlantedRun>& runs) {
  double sum = 0;
  for (const PlantedRun& r : runs) sum += static_cast<double>(r.found) / s.planted.size();
  return runs.empty() ? 0.0 : sum / runs.size();
}

double MedianLoss(const std::vector<PlantedRun>& runs) {
  std::vector<double> losses;
  for (const PlantedRun& r : runs) losses.push_back(r.loss);
  return Median(losses);
}

double TotalSeconds(const std::vector<PlantedRun>& runs) {
  double sum = 0;
  for (const PlantedRun& r : runs) sum += r.seconds;
  return sum;
}

// The table and the RESULT part=planted line.
void PrintPlantedSummary(const Flags& flags, const PlantedSettings& s, const PlantedRuns& runs,
                         Clock::time_point part_start) {
  const std::vector<PlantedRun>& evolution = runs.evolution;
  const std::vector<PlantedRun>& random = runs.random;
  int evolution_better = 0, random_better = 0;
  for (size_t i = 0; i < random.size(); ++i) {
    if (evolution[i].loss < random[i].loss) ++evolution_better;
    if (random[i].loss < evolution[i].loss) ++random_better;
  }

  std::printf("\n   %-10s %-22s %-16s %-14s %s\n", "method", "seeds with all found",
              "mean fraction", "median loss", "time");
  for (bool is_random : {false, true}) {
    if (is_random && flags.evolution_only) continue;
    const auto& method = is_random ? random : evolution;
    std::printf("   %-10s %2d of %-16d %-16.3f %-14.4f %.0f s\n",
                is_random ? "random" : "evolution", AllFound(s, method), flags.seeds,
                MeanFraction(s, method), MedianLoss(method), TotalSeconds(method));
  }
  std::printf("   lower val_loss on the same seed: evolution %d, random %d\n", evolution_better,
              random_better);
  std::printf("   part planted took %.0f s\n", Seconds(part_start));
  const std::string random_all =
      flags.evolution_only ? "skipped" : absl::StrCat(AllFound(s, random));
  std::printf(
      "RESULT part=planted seeds=%d first_seed=%d sampler=%s evaluations=%d evolution_all=%d "
      "random_all=%s evolution_fraction=%.3f random_fraction=%.3f evolution_median_loss=%.4f "
      "random_median_loss=%.4f seconds=%.0f\n\n",
      flags.seeds, flags.first_seed, s.sampler.c_str(), s.evaluations(), AllFound(s, evolution),
      random_all.c_str(), MeanFraction(s, evolution), MeanFraction(s, random),
      MedianLoss(evolution), MedianLoss(random), Seconds(part_start));
  std::fflush(stdout);
}

}  // namespace

void RunPlanted(const Flags& flags, headevo::search::Evaluator& evaluator) {
  const PlantedSettings s = PlantedFor(flags);
  const auto part_start = Clock::now();
  PrintPlantedHeader(flags, s);
  const PlantedRuns runs = RunPlantedSearches(flags, s, evaluator);
  PrintPlantedSummary(flags, s, runs, part_start);
}

}  // namespace headevo::search_quality
