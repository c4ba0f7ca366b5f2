#include "search/k_sweep_plan.h"

#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "search/random.h"
#include "search/reproduction.h"

namespace headevo::search {
namespace {

// Salt of the k-sweep's genome streams, apart from the candidates' training seed streams.
constexpr uint64_t kKSweepGenomeStream = 0x6b2d73776565700aULL;

bool Finished(const headevo::v1::Candidate& c) {
  return c.state() == headevo::v1::CANDIDATE_STATE_DONE ||
         c.state() == headevo::v1::CANDIDATE_STATE_FAILED;
}

}  // namespace

std::vector<headevo::v1::Candidate> KSweepStepCandidates(const SearchOptions& options, int step,
                                                         double k) {
  Rng rng(DeriveSeed(DeriveSeed(options.seed, kKSweepGenomeStream), static_cast<uint64_t>(step)));
  HeadDistribution initial = options.initial;
  initial.count.mean = k;
  const auto& model = options.training.model();
  std::vector<headevo::v1::Candidate> candidates;
  for (int r = 0; r < options.k_sweep.repeats; ++r) {
    headevo::v1::Candidate& c = candidates.emplace_back();
    c.set_generation(step);
    *c.mutable_genome() =
        MakeInitialGenome(model.num_layers(), model.heads_per_layer(), initial, rng);
    c.mutable_mutation()->set_description(absl::StrCat(
        "k-sweep: mean k ", k, ", head set ", r + 1, " of ", options.k_sweep.repeats));
  }
  return candidates;
}

absl::StatusOr<KSweepProgress> ReplayKSweep(
    const SearchOptions& options, double dense_loss,
    const std::vector<headevo::v1::Candidate>& population) {
  std::map<int, std::vector<const headevo::v1::Candidate*>> steps;
  for (const headevo::v1::Candidate& c : population) steps[c.generation()].push_back(&c);
  KSweepProgress progress{KSweep(options.k_sweep, dense_loss), 0, false};
  for (const auto& [step, candidates] : steps) {
    if (step != progress.steps_started || !progress.sweep.NextK().has_value()) {
      return absl::DataLossError(absl::StrCat(
          "k-sweep: generation ", step, " is not the next step of the sweep (",
          progress.steps_started, " steps replayed, sweep ",
          progress.sweep.NextK().has_value() ? "going on" : "ended", ")"));
    }
    ++progress.steps_started;
    std::vector<double> losses;
    for (const headevo::v1::Candidate* c : candidates) {
      if (!Finished(*c)) {
        progress.step_running = true;
        return progress;
      }
      losses.push_back(c->state() == headevo::v1::CANDIDATE_STATE_DONE
                           ? c->metrics().val_loss()
                           : std::numeric_limits<double>::quiet_NaN());
    }
    if (absl::Status s = progress.sweep.Record(losses); !s.ok()) {
      return absl::DataLossError(absl::StrCat("k-sweep step ", step, ": ", s.message()));
    }
  }
  return progress;
}

}  // namespace headevo::search
