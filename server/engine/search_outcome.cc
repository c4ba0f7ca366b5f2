#include "server/engine/search_outcome.h"

#include <cmath>
#include <utility>

#include "search/k_sweep_plan.h"
#include "search/reference_models.h"
#include "search/selection.h"

namespace headevo::server {

absl::StatusOr<KSweepVerdict> ReadKSweepVerdict(
    const search::SearchOptions& options, const std::vector<headevo::v1::Reference>& references,
    const std::vector<headevo::v1::Candidate>& population) {
  KSweepVerdict verdict;
  for (const headevo::v1::Reference& r : references) {
    if (r.role() != search::kKSweepBarRole || r.state() != headevo::v1::CANDIDATE_STATE_DONE) {
      continue;
    }
    absl::StatusOr<search::KSweepProgress> progress =
        search::ReplayKSweep(options, r.metrics().val_loss(), population);
    if (!progress.ok()) return progress.status();
    verdict.steps = progress->sweep.steps();
    verdict.smallest_k = progress->sweep.SmallestKThatHeld();
  }
  return verdict;
}

absl::StatusOr<SearchOutcome> ReadSearchOutcome(storage::Store& store, int64_t search_id,
                                                const search::SearchOptions& options) {
  absl::StatusOr<std::vector<headevo::v1::Candidate>> population =
      store.ListCandidates(search_id);
  if (!population.ok()) return population.status();
  absl::StatusOr<std::vector<headevo::v1::Reference>> references =
      store.ListReferences(search_id);
  if (!references.ok()) return references.status();

  SearchOutcome outcome;
  outcome.search_id = search_id;
  for (const headevo::v1::Candidate& c : *population) {
    outcome.evaluated += c.state() == headevo::v1::CANDIDATE_STATE_DONE ||
                         c.state() == headevo::v1::CANDIDATE_STATE_FAILED;
    outcome.failed += c.state() == headevo::v1::CANDIDATE_STATE_FAILED;
  }
  const auto best = search::RankByFitness(*population, options.selection, 1);
  if (!best.empty()) outcome.best = *best.front();

  const auto& model = options.training.model();
  outcome.hypervolume_reference.loss = std::log(static_cast<double>(model.vocab_size()));
  outcome.hypervolume_reference.connections =
      static_cast<double>(search::DenseConnections(model));
  std::vector<search::Objectives> points;
  for (const headevo::v1::Candidate* c : search::ParetoFront(*population)) {
    outcome.pareto_front.push_back(*c);
    points.push_back(search::ObjectivesOf(*c));
  }
  outcome.hypervolume = search::Hypervolume(points, outcome.hypervolume_reference);

  for (const headevo::v1::Reference& r : *references) {
    const bool done = r.state() == headevo::v1::CANDIDATE_STATE_DONE;
    if (r.kind() == "dense") {
      if (done) outcome.dense = r.metrics();
      outcome.dense_error = r.error();
      continue;
    }
    SearchOutcome::Baseline& baseline = outcome.baselines.emplace_back();
    baseline.description = r.description();
    if (done) baseline.metrics = r.metrics();
    baseline.error = r.error();
  }
  if (options.mode == search::SearchMode::kKSweep) {
    absl::StatusOr<KSweepVerdict> verdict = ReadKSweepVerdict(options, *references, *population);
    if (!verdict.ok()) return verdict.status();
    outcome.k_sweep = std::move(verdict->steps);
    outcome.smallest_k = verdict->smallest_k;
  }
  return outcome;
}

}  // namespace headevo::server
