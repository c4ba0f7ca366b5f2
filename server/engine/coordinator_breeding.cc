// What a search queues next: generation 0, steady-state children or the next generation,
// k-sweep steps, and the reference models; and when it is done (server/engine/coordinator.h).
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "search/k_sweep_plan.h"
#include "search/reference_models.h"
#include "search/selection.h"
#include "server/engine/active_search.h"
#include "server/engine/coordinator.h"

namespace headevo::server {
namespace {

using headevo::v1::Candidate;

bool IsBaseline(const headevo::v1::Reference& r) { return r.role() == search::kBaselineRole; }

// "; dense attention val_loss 1.2, local attention (window 8) failed" for the done event.
std::string ReferencesNote(const std::vector<headevo::v1::Reference>& references) {
  std::string note;
  for (const headevo::v1::Reference& r : references) {
    absl::StrAppend(&note, note.empty() ? "; " : ", ", r.description(),
                    r.state() == headevo::v1::CANDIDATE_STATE_DONE
                        ? absl::StrCat(" val_loss ", r.metrics().val_loss())
                        : std::string(" failed"));
  }
  return note;
}

}  // namespace

absl::Status Coordinator::Enqueue(ActiveSearch& search, std::vector<Candidate> candidates) {
  if (candidates.empty()) return absl::OkStatus();
  std::vector<storage::NewJob> jobs;
  for (size_t i = 0; i < candidates.size(); ++i) {
    candidates[i].set_search_id(search.id);
    storage::NewJob& job = jobs.emplace_back();
    job.training = search.options.training;
    job.training.set_seed(CandidateTrainingSeed(
        search.options.seed, static_cast<int64_t>(search.population.size() + i)));
    if (search.fidelity()) {
      // The first rung: the schedule spans the full budget, so promotions continue it.
      job.training.set_steps(search.rungs.front());
      job.training.set_schedule_steps(search.rungs.back());
    }
    job.max_attempts = options_.max_attempts;
    const int64_t parent_id = candidates[i].parent_id();
    if (search.options.inherit_weights && parent_id != 0) {
      auto parent = search.index.find(parent_id);
      if (parent != search.index.end()) {
        job.parent_checkpoint_sha256 = search.population[parent->second].checkpoint_sha256();
      }
    }
  }
  const headevo::v1::StrategyState state = search.strategy.SaveState();
  absl::StatusOr<std::vector<Candidate>> stored =
      store_->InsertCandidatesWithJobs(candidates, jobs, options_.clock(), &state);
  if (!stored.ok()) return stored.status();
  for (Candidate& c : *stored) {
    search.index[c.id()] = search.population.size();
    search.population.push_back(std::move(c));
    search.steps_committed += search.StepsToRung(0);
  }
  work_cv_.notify_all();
  return absl::OkStatus();
}

absl::Status Coordinator::EnqueueReferences(ActiveSearch& search,
                                            std::vector<search::ReferencePlan> plans) {
  if (plans.empty()) return absl::OkStatus();
  std::vector<storage::NewReference> references;
  for (search::ReferencePlan& plan : plans) {
    storage::NewReference& reference = references.emplace_back();
    reference.kind = std::move(plan.kind);
    reference.description = std::move(plan.description);
    reference.role = std::move(plan.role);
    reference.genome = std::move(plan.genome);
    reference.job.training = std::move(plan.training);
    reference.job.max_attempts = options_.max_attempts;
  }
  absl::StatusOr<std::vector<headevo::v1::Reference>> stored =
      store_->InsertReferencesWithJobs(search.id, references, options_.clock());
  if (!stored.ok()) return stored.status();
  std::string names;
  for (headevo::v1::Reference& r : *stored) {
    absl::StrAppend(&names, names.empty() ? "" : ", ", r.description());
    search.references.push_back(std::move(r));
  }
  Publish(search.id, "references_queued",
          absl::StrCat("reference models queued: ", names), /*persist=*/true);
  work_cv_.notify_all();
  return absl::OkStatus();
}

absl::StatusOr<bool> Coordinator::BreedChild(ActiveSearch& search) {
  if (!search.steady() || search.k_sweep() || search.state != headevo::v1::SEARCH_STATE_RUNNING ||
      static_cast<int64_t>(search.population.size()) >= search.planned() ||
      !search.BudgetAllows(search.StepsToRung(0))) {
    return false;
  }
  const bool any_done = std::any_of(search.population.begin(), search.population.end(),
                                    [](const Candidate& c) {
                                      return c.state() == headevo::v1::CANDIDATE_STATE_DONE;
                                    });
  if (!any_done) return false;  // nothing to breed from yet
  // The strategy moves on only with the child it made: if the child cannot be stored, the
  // next try draws the same one, so the lineage stays that of an uninterrupted run.
  const headevo::v1::StrategyState before = search.strategy.SaveState();
  absl::StatusOr<search::ChildPlan> plan = search.strategy.NextChild(search.population);
  if (!plan.ok()) return plan.status();
  Candidate child;
  child.set_parent_id(plan->parent_id);
  child.set_generation(search.population[search.index.at(plan->parent_id)].generation() + 1);
  *child.mutable_genome() = std::move(plan->genome);
  *child.mutable_mutation() = std::move(plan->mutation);
  std::vector<Candidate> one;
  one.push_back(std::move(child));
  if (absl::Status s = Enqueue(search, std::move(one)); !s.ok()) {
    (void)search.strategy.RestoreState(before);
    return s;
  }
  return true;
}

absl::Status Coordinator::Advance(ActiveSearch& search) {
  if (search.state != headevo::v1::SEARCH_STATE_RUNNING) return absl::OkStatus();
  return search.k_sweep() ? AdvanceKSweep(search) : AdvanceEvolution(search);
}

absl::Status Coordinator::AdvanceEvolution(ActiveSearch& search) {
  // Called after every report, so nothing here may scan the whole population each time: the
  // checks stop early, and the counts are taken only for the messages that need them.
  const auto& population = search.population;
  const auto is_done = [](const Candidate& c) {
    return c.state() == headevo::v1::CANDIDATE_STATE_DONE;
  };
  const auto finished_count = [&] {
    return std::count_if(population.begin(), population.end(),
                         [](const Candidate& c) { return IsFinished(c); });
  };
  const auto done_count = [&] {
    return std::count_if(population.begin(), population.end(), is_done);
  };
  const int population_size = search.options.population_size;
  // Generation 0 is the first population_size candidates in both schedules.
  const bool initial_finished =
      static_cast<int64_t>(population.size()) >= population_size &&
      std::all_of(population.begin(), population.begin() + population_size,
                  [](const Candidate& c) { return IsFinished(c); });
  if (initial_finished && std::none_of(population.begin(), population.end(), is_done)) {
    return EndSearch(search, headevo::v1::SEARCH_STATE_FAILED,
                     absl::StrCat("every candidate of generation 0 failed; last error: ",
                                  population[population_size - 1].error()));
  }
  const bool budget_spent = static_cast<int64_t>(population.size()) >= search.planned() ||
                            !search.BudgetAllows(search.StepsToRung(0));
  // Read below only for a generational search or a spent budget. From the youngest: those
  // still training are among the last made.
  const bool all_finished =
      (!search.steady() || budget_spent) && search.promotions_open.empty() &&
      std::all_of(population.rbegin(), population.rend(),
                  [](const Candidate& c) { return IsFinished(c); });
  const bool baselines_queued =
      std::any_of(search.references.begin(), search.references.end(), IsBaseline);
  const int generation = search.strategy.generation();
  if (!search.steady() && all_finished && !baselines_queued) {
    const int64_t finished = finished_count(), done = done_count();
    Publish(search.id, "generation_done",
            absl::StrCat("generation ", generation, " done: ", finished, " evaluated, ",
                         finished - done, " failed in all"),
            /*persist=*/true);
  }
  if (all_finished && budget_spent) {
    // No more children: what rungs still earn promotions are trained before the end.
    absl::StatusOr<bool> promoted = Promote(search);
    if (!promoted.ok()) return promoted.status();
    if (*promoted) return absl::OkStatus();
    const Candidate& best = population[search.index.at(search.best_id)];
    const int64_t finished = finished_count(), done = done_count();
    return FinishWithBaselines(
        search, absl::StrCat("search done: ", done, " evaluated, ", finished - done,
                             " failed; best candidate ", best.id(), " (val_loss ",
                             best.metrics().val_loss(), ", ", best.metrics().connections(),
                             " connections)"));
  }
  if (search.steady() || !all_finished) return absl::OkStatus();
  // Generational, and the last generation is finished: breed the next (the strategy moves on
  // only with the generation stored, as in BreedChild).
  const headevo::v1::StrategyState before = search.strategy.SaveState();
  absl::StatusOr<std::vector<search::ChildPlan>> plans =
      search.strategy.NextGeneration(search.population);
  if (!plans.ok()) return plans.status();
  std::vector<Candidate> children;
  for (search::ChildPlan& plan : *plans) {
    Candidate& child = children.emplace_back();
    child.set_generation(generation + 1);
    child.set_parent_id(plan.parent_id);
    *child.mutable_genome() = std::move(plan.genome);
    *child.mutable_mutation() = std::move(plan.mutation);
  }
  absl::Status queued = Enqueue(search, std::move(children));
  if (!queued.ok()) (void)search.strategy.RestoreState(before);
  return queued;
}

absl::Status Coordinator::AdvanceKSweep(ActiveSearch& search) {
  const headevo::v1::Reference* dense = nullptr;
  for (const headevo::v1::Reference& r : search.references) {
    if (r.role() == search::kKSweepBarRole) dense = &r;
  }
  if (dense == nullptr) {
    // Created, then the coordinator stopped before the dense job was written.
    std::vector<search::ReferencePlan> plans;
    plans.push_back(search::DenseReference(search.options, search::kKSweepBarRole));
    return EnqueueReferences(search, std::move(plans));
  }
  if (!IsFinished(dense->state())) return absl::OkStatus();
  if (dense->state() == headevo::v1::CANDIDATE_STATE_FAILED) {
    return EndSearch(search, headevo::v1::SEARCH_STATE_FAILED,
                     absl::StrCat("the k-sweep needs the dense model's loss, and its training "
                                  "failed: ",
                                  dense->error()));
  }
  absl::StatusOr<search::KSweepProgress> progress =
      search::ReplayKSweep(search.options, dense->metrics().val_loss(), search.population);
  if (!progress.ok()) return progress.status();
  if (progress->step_running) return absl::OkStatus();
  if (std::optional<double> k = progress->sweep.NextK(); k.has_value()) {
    return Enqueue(search,
                   search::KSweepStepCandidates(search.options, progress->steps_started, *k));
  }
  const int64_t done =
      std::count_if(search.population.begin(), search.population.end(), [](const Candidate& c) {
        return c.state() == headevo::v1::CANDIDATE_STATE_DONE;
      });
  if (done == 0) {
    return EndSearch(search, headevo::v1::SEARCH_STATE_FAILED,
                     absl::StrCat("every candidate of the k-sweep failed; last error: ",
                                  search.population.back().error()));
  }
  const std::optional<double> smallest = progress->sweep.SmallestKThatHeld();
  return FinishWithBaselines(
      search, absl::StrCat("k-sweep done: ", search.population.size(), " evaluated against dense ",
                           dense->metrics().val_loss(), "; ",
                           smallest.has_value()
                               ? absl::StrCat("the smallest mean k that held is ", *smallest)
                               : std::string("no k held")));
}

absl::Status Coordinator::FinishWithBaselines(ActiveSearch& search,
                                              const std::string& done_message) {
  const bool baselines_queued =
      std::any_of(search.references.begin(), search.references.end(), IsBaseline);
  if (!baselines_queued) {
    const Candidate* best =
        search.best_id == 0 ? nullptr : &search.population[search.index.at(search.best_id)];
    std::vector<search::ReferencePlan> plans = search::BaselineReferences(
        search.options, best, search.options.compare_with_dense && !search.k_sweep());
    if (!plans.empty()) return EnqueueReferences(search, std::move(plans));
  }
  for (const headevo::v1::Reference& r : search.references) {
    if (!IsFinished(r.state())) return absl::OkStatus();
  }
  return EndSearch(search, headevo::v1::SEARCH_STATE_DONE,
                   absl::StrCat(done_message, ReferencesNote(search.references)));
}

}  // namespace headevo::server
