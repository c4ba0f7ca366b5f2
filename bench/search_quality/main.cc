// Does the search work? Runs real searches (the config parser, server::SearchDriver, the
// in-process TorchEvaluator, an in-memory SQLite store) and compares evolution with random
// search given the same number of evaluations.
//
//   build/bench/search_quality [--part planted|brown|fidelity|mnist|brown512|all] [--seeds 10]
//                              [--quick]
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
// Part "fidelity": multi-fidelity at equal compute on the planted task (bench/search_quality/
// fidelity.h): evolution and random search, each with and without rungs, all with the same
// budget of training steps; reported: the steps each needs until its best holds every offset.
//
// Parts "mnist" and "brown512": real data at equal compute against a dense reference trained
// until it stops improving, random search and the hand-made patterns (real_data.h). Long (up to
// 90 minutes each on 2 cores), so "all" leaves them out.
//
// Figures, settings and how to read them: docs/benchmarks.md. Every part ends with a
// machine-readable line:
//   RESULT part=planted seeds=<n> evolution_all=<seeds> random_all=<seeds> ...
//
// The parts, in this folder: common.h (flags, running one search), planted.h, brown.h and
// brown_points.h (the Brown part's fronts and tables), fidelity.h; this file parses the flags and runs them.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "bench/search_quality/brown.h"
#include "bench/search_quality/common.h"
#include "bench/search_quality/fidelity.h"
#include "bench/search_quality/planted.h"
#include "bench/search_quality/real_data.h"
#include "worker/thread_tuning.h"
#include "worker/torch_evaluator.h"

int main(int argc, char** argv) {
  // As headevo does: idle OpenMP threads sleep (on a shared machine spinning ones take its cores).
  headevo::worker::RestartWithSleepingOpenMpThreads(argv);
  namespace sq = headevo::search_quality;
  sq::Flags flags;
  CLI::App app{
      "Does the search work? Evolution against random search on the planted-offset task and "
      "on Brown-corpus byte-level language modelling (minutes; --quick for a smoke run)."};
  app.add_option("--part", flags.part,
                 "planted, brown, fidelity, mnist, brown512, or all (the first three; the real-data "
                 "parts mnist and brown512 take up to 90 minutes each and run only by name)")
      ->check(CLI::IsMember({"planted", "brown", "fidelity", "mnist", "brown512", "all"}));
  app.add_option("--seeds", flags.seeds,
                 "planted: search seeds, each run by both methods (default 10; 3 with --quick)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--quick", flags.quick, "smaller budgets: a smoke run of a minute or two");
  app.add_flag("--verbose", flags.verbose, "a line per evaluated candidate");
  app.add_option("--threads", flags.threads, "LibTorch intra-op threads (0: its default, one)");
  app.add_option("--corpus-dir", flags.corpus_dir,
                 "brown: the corpus directory (default: the cache deploy/fetch_corpus.sh fills)");
  app.add_option("--sampler", flags.sampler,
                 "planted, mnist, brown512: evolution's [resampling] sampler instead of the "
                 "part's own (uniform for planted, best for the real-data parts), e.g. policy, "
                 "fitted or adaptive, to compare samplers on one benchmark");
  app.add_option("--first-seed", flags.first_seed, "planted: the first search seed (default 1)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--evolution-only", flags.evolution_only,
               "skip random search (and, for mnist and brown512, the baselines): for comparing "
               "--sampler choices; mnist and brown512 then take a comma-separated --sampler list "
               "and run evolution once per sampler against one dense reference");
  app.add_option("--budget-steps", flags.budget_steps,
                 "mnist, brown512 with --evolution-only: train at this many steps instead of "
                 "running the dense ladder (part d's figure for mnist is 4000)")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  const bool real_data = flags.part == "mnist" || flags.part == "brown512";
  if (flags.sampler.find(',') != std::string::npos && !(real_data && flags.evolution_only)) {
    std::fprintf(stderr,
                 "search_quality: a --sampler list needs --part mnist or brown512 with "
                 "--evolution-only; pass one sampler otherwise\n");
    return 2;
  }
  if (flags.budget_steps > 0 && !(real_data && flags.evolution_only)) {
    std::fprintf(stderr,
                 "search_quality: --budget-steps applies to --part mnist or brown512 with "
                 "--evolution-only\n");
    return 2;
  }

  headevo::worker::TorchEvaluatorOptions worker_options;
  worker_options.num_threads = flags.threads;
  // Promotions continue from checkpoints: the fidelity part needs somewhere to keep them.
  char checkpoint_dir[] = "/tmp/search_quality_checkpoints.XXXXXX";
  if (flags.part == "fidelity" || flags.part == "all") {
    if (mkdtemp(checkpoint_dir) == nullptr) {
      std::perror("search_quality: mkdtemp");
      return 2;
    }
    worker_options.checkpoint_dir = checkpoint_dir;
  }
  absl::StatusOr<std::unique_ptr<headevo::worker::TorchEvaluator>> evaluator =
      headevo::worker::TorchEvaluator::Create(worker_options);
  if (!evaluator.ok()) {
    std::fprintf(stderr, "search_quality: %s\n", evaluator.status().ToString().c_str());
    return 2;
  }
  if (flags.quick && app.count("--seeds") == 0) flags.seeds = 3;
  if (flags.part == "planted" || flags.part == "all") sq::RunPlanted(flags, **evaluator);
  if (flags.part == "brown" || flags.part == "all") sq::RunBrown(flags, **evaluator);
  if (flags.part == "fidelity" || flags.part == "all") sq::RunFidelity(flags, **evaluator);
  if (flags.part == "mnist") sq::RunMnist(flags, **evaluator);
  if (flags.part == "brown512") sq::RunBrownLong(flags, **evaluator);
  return 0;
}
