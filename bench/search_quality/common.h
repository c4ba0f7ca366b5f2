// What both parts of search_quality share: the flags, the clock, the in-memory store, running
// one search from its TOML config, and small formatting helpers.
#ifndef HEADEVO_BENCH_SEARCH_QUALITY_COMMON_H_
#define HEADEVO_BENCH_SEARCH_QUALITY_COMMON_H_

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "search/search_options.h"
#include "server/embedded/search_driver.h"
#include "storage/store.h"

namespace headevo::search_quality {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string part = "all";
  int seeds = 10;
  bool quick = false;
  bool verbose = false;
  int threads = 0;
  std::string corpus_dir;
  // planted, mnist, brown512: the evolution's [resampling] sampler instead of the part's own
  // (e.g. "policy", "fitted", "adaptive"), for comparing samplers on one benchmark.
  std::string sampler;
  // planted: the first seed (seeds first_seed .. first_seed + seeds - 1), and whether random
  // search is skipped (its figures do not depend on --sampler).
  int first_seed = 1;
  bool evolution_only = false;
  // mnist, brown512 with --evolution-only: the budget in training steps instead of the dense
  // ladder's (0: run the ladder); --sampler may then list several samplers, comma-separated.
  int budget_steps = 0;
};

inline double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Every search of a part goes into one in-memory lineage store; the bench cannot run without it.
std::unique_ptr<headevo::storage::Store> OpenMemoryStore();

// `text` as a TOML basic string, quotes included: a path may hold quotes or backslashes.
std::string TomlString(const std::string& text);

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
                                search::SearchOptions* options_out = nullptr);

// "a, b, c"
std::string Join(const std::vector<int>& v);

// The median; NaN for none.
double Median(std::vector<double> v);

}  // namespace headevo::search_quality

#endif  // HEADEVO_BENCH_SEARCH_QUALITY_COMMON_H_
