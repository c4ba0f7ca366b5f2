#include "bench/search_quality/fidelity.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "search/fidelity.h"
#include "search/selection.h"

namespace headevo::search_quality {
namespace {

// Fixed before the final run (docs/benchmarks.md): the planted part's task and model, a budget
// of 20 full evaluations (2,400 steps) for every method.
struct FidelitySettings {
  std::vector<int> planted = {-4, -19, -37};
  int window = 48;
  int seq_len = 64;
  int heads = 8;
  double k_mean = 1.5;
  int steps = 120;  // the full budget of one candidate
  int batch = 32;
  int min_steps = 40;  // rungs 40 and 120
  double reduction_factor = 3;
  int64_t budget_steps = 2400;
  int64_t full_evaluations() const { return budget_steps / steps; }
};

FidelitySettings FidelityFor(const Flags& flags) {
  FidelitySettings s;
  if (flags.quick) s.budget_steps = 1200;
  return s;
}

struct Method {
  const char* name;
  bool evolution;
  bool rungs;
};
constexpr Method kMethods[] = {{"evolution+rungs", true, true},
                               {"evolution", true, false},
                               {"random+rungs", false, true},
                               {"random", false, false}};

// Evolution without rungs has the planted part's shape (population 5, generations until the
// budget); with rungs it may make as many children as the budget's first rungs allow. Random
// search puts every evaluation in generation 0.
std::string FidelityToml(const FidelitySettings& s, const Method& m, uint64_t seed) {
  const int64_t most = m.rungs ? s.budget_steps / s.min_steps : s.full_evaluations();
  const int64_t population = m.evolution ? (m.rungs ? 10 : 5) : std::min<int64_t>(most, 96);
  const int64_t generations = m.evolution ? most / population : 0;
  std::string toml = absl::StrFormat(R"([search]
name = "fidelity-%s-seed%d"
seed = %d
population = %d
generations = %d
compare_with_dense = false
budget_steps = %d

[model]
vocab_size = 16
d_model = 32
layers = 1
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
warmup_steps = 10

[initial]
k_distribution = "poisson"
k_mean = %g
offset_distribution = "uniform"
window = %d

[pruning]
fraction = 0.5

[selection]
method = "truncation"
parents = 2

[resampling]
sampler = "uniform"
)",
                                     m.name, seed, seed, population, generations, s.budget_steps,
                                     s.heads, s.seq_len, Join(s.planted), s.steps, s.batch,
                                     s.k_mean, s.window);
  if (m.rungs) {
    absl::StrAppendFormat(&toml, "\n[fidelity]\nenabled = true\nmin_steps = %d\n"
                                 "reduction_factor = %g\n",
                          s.min_steps, s.reduction_factor);
  }
  return toml;
}

struct FidelityRun {
  bool solved = false;
  int64_t steps_to_solve = 0;  // the steps spent when the best first held every planted offset
  int64_t steps_spent = 0;     // in all
  double seconds = 0;
};

bool HoldsAll(const v1::Candidate& c, const std::vector<int>& planted) {
  std::set<int> present;
  for (const v1::Head& head : c.genome().heads()) {
    present.insert(head.offsets().offsets().begin(), head.offsets().offsets().end());
  }
  return std::all_of(planted.begin(), planted.end(), [&](int p) { return present.count(p); });
}

// Replays the search job by job (one in-process worker: jobs ran in id order) and finds the
// first moment its best candidate, as the coordinator ranked it then, held every offset.
FidelityRun Replay(headevo::storage::Store& store, int64_t search_id,
                   const search::SearchOptions& options, const FidelitySettings& s) {
  auto jobs = store.ListJobs(search_id);
  auto population = store.ListCandidates(search_id);
  if (!jobs.ok() || !population.ok()) {
    std::fprintf(stderr, "search_quality: reading search %lld back failed\n",
                 static_cast<long long>(search_id));
    std::exit(1);
  }
  std::map<int64_t, const v1::Candidate*> by_id;
  for (const v1::Candidate& c : *population) by_id[c.id()] = &c;
  const std::vector<int> rungs = options.Rungs();
  std::map<int64_t, int> reached;  // candidate -> highest rung finished so far
  FidelityRun run;
  for (const storage::JobRecord& job : *jobs) {
    if (job.candidate_id == 0) continue;
    run.steps_spent += search::StepsToRung(rungs, job.rung);
    if (job.state != storage::JobState::kDone) continue;
    reached[job.candidate_id] = job.rung;
    if (run.solved) continue;
    std::vector<v1::Candidate> now;  // every finished candidate as it stood after this job
    for (const auto& [id, rung] : reached) {
      const v1::Candidate& c = *by_id.at(id);
      const v1::RungResult* result = search::ResultAtRung(c, rung);
      if (result == nullptr) continue;
      v1::Candidate& view = now.emplace_back();
      view.set_id(id);
      view.set_state(v1::CANDIDATE_STATE_DONE);
      view.set_rung(rung);
      *view.mutable_genome() = c.genome();
      view.mutable_metrics()->set_val_loss(result->val_loss());
      view.mutable_metrics()->set_connections(c.metrics().connections());
    }
    const auto best = search::RankByFitness(now, options.selection, 1);
    if (!best.empty() && HoldsAll(*best.front(), s.planted)) {
      run.solved = true;
      run.steps_to_solve = run.steps_spent;
    }
  }
  if (!run.solved) run.steps_to_solve = run.steps_spent;
  return run;
}

}  // namespace

void RunFidelity(const Flags& flags, headevo::search::Evaluator& evaluator) {
  const FidelitySettings s = FidelityFor(flags);
  const auto part_start = Clock::now();
  std::printf(
      "== part fidelity: planted offsets {%s}, window %d, seq_len %d, 1 layer x %d heads,\n"
      "   every search %lld training steps (%lld full evaluations of %d steps, batch %d);\n"
      "   rungs %d steps x %g up to %d; %d seeds. Steps to solve = steps spent when the best\n"
      "   candidate (highest rung, then val_loss) first holds every planted offset.\n",
      Join(s.planted).c_str(), s.window, s.seq_len, s.heads,
      static_cast<long long>(s.budget_steps), static_cast<long long>(s.full_evaluations()),
      s.steps, s.batch, s.min_steps, s.reduction_factor, s.steps, flags.seeds);
  std::fflush(stdout);
  std::unique_ptr<headevo::storage::Store> store = OpenMemoryStore();
  std::map<std::string, std::vector<FidelityRun>> runs;
  for (int i = 0; i < flags.seeds; ++i) {
    const uint64_t seed = static_cast<uint64_t>(i + 1);
    for (const Method& m : kMethods) {
      const std::string name = absl::StrFormat("%s seed %d", m.name, seed);
      ProgressListener listener(name, flags.verbose);
      search::SearchOptions options;
      const auto start = Clock::now();
      server::SearchOutcome outcome =
          RunSearch(*store, evaluator, FidelityToml(s, m, seed), name, &listener, &options);
      FidelityRun run = Replay(*store, outcome.search_id, options, s);
      run.seconds = Seconds(start);
      std::printf("  seed %2d %-16s %s after %5lld of %5lld steps  %5.1f s\n",
                  static_cast<int>(seed), m.name, run.solved ? "solved  " : "unsolved",
                  static_cast<long long>(run.steps_to_solve),
                  static_cast<long long>(run.steps_spent), run.seconds);
      std::fflush(stdout);
      runs[m.name].push_back(run);
    }
  }
  std::printf("\n   %-17s %-8s %-22s %s\n", "method", "solved", "median steps to solve",
              "time");
  std::map<std::string, double> median;
  std::map<std::string, int> solved;
  for (const Method& m : kMethods) {
    std::vector<double> steps;
    double seconds = 0;
    for (const FidelityRun& r : runs[m.name]) {
      steps.push_back(static_cast<double>(r.steps_to_solve));
      solved[m.name] += r.solved;
      seconds += r.seconds;
    }
    median[m.name] = Median(steps);
    std::printf("   %-17s %2d of %-3d %-22.0f %.0f s\n", m.name, solved[m.name], flags.seeds,
                median[m.name], seconds);
  }
  std::printf("   (an unsolved seed counts the whole budget)\n   part fidelity took %.0f s\n",
              Seconds(part_start));
  std::printf(
      "RESULT part=fidelity seeds=%d budget_steps=%lld steps_ratio=%.3f rungs_all=%d "
      "evolution_all=%d random_rungs_all=%d random_all=%d evolution_rungs_median=%.0f "
      "evolution_median=%.0f random_rungs_median=%.0f random_median=%.0f seconds=%.0f\n\n",
      flags.seeds, static_cast<long long>(s.budget_steps),
      median["evolution+rungs"] / median["evolution"], solved["evolution+rungs"],
      solved["evolution"], solved["random+rungs"], solved["random"], median["evolution+rungs"],
      median["evolution"], median["random+rungs"], median["random"], Seconds(part_start));
  std::fflush(stdout);
}

}  // namespace headevo::search_quality
