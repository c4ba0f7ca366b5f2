// Multi-fidelity in the coordinator: promotions (ASHA's rule, search/fidelity.h), their ends,
// the best across rungs, and the rung state of a reloaded search (server/engine/coordinator.h).
#include <optional>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "search/fidelity.h"
#include "search/selection.h"
#include "server/engine/active_search.h"
#include "server/engine/coordinator.h"

namespace headevo::server {

using headevo::v1::Candidate;

absl::StatusOr<bool> Coordinator::Promote(ActiveSearch& search) {
  if (!search.fidelity() || search.state != headevo::v1::SEARCH_STATE_RUNNING) return false;
  std::set<int64_t> busy = search.promotions_open;
  busy.insert(search.promotions_failed.begin(), search.promotions_failed.end());
  const std::optional<search::Promotion> promotion = search::NextPromotion(
      search.population, static_cast<int>(search.rungs.size()),
      search.options.fidelity.reduction_factor, search.options.selection, busy);
  if (!promotion.has_value()) return false;
  const int to = promotion->to_rung;
  if (!search.BudgetAllows(search.StepsToRung(to))) return false;
  const size_t index = search.index.at(promotion->candidate_id);
  const Candidate& candidate = search.population[index];
  storage::NewJob job;
  job.training = search.options.training;
  // The seed of the candidate's first job: the promotion continues that very run.
  job.training.set_seed(CandidateTrainingSeed(search.options.seed, static_cast<int64_t>(index)));
  job.training.set_steps(search.rungs[to]);
  job.training.set_schedule_steps(search.rungs.back());
  job.max_attempts = options_.max_attempts;
  job.rung = to;
  job.resume_checkpoint_sha256 = candidate.checkpoint_sha256();
  if (job.resume_checkpoint_sha256.empty()) {
    // Nothing to continue from: the worker kept no checkpoint. Never promoted; say how to fix.
    search.promotions_failed.insert(candidate.id());
    Publish(search.id, "promotion_failed",
            absl::StrCat("candidate ", candidate.id(), " earned rung ", to,
                         " but its result names no checkpoint to continue from; start workers "
                         "with a checkpoint directory (headevo worker keeps one by default)"),
            /*persist=*/true);
    return Promote(search);
  }
  absl::StatusOr<int64_t> job_id = store_->QueuePromotion(candidate.id(), job, options_.clock());
  if (!job_id.ok()) return job_id.status();
  search.promotions_open.insert(candidate.id());
  search.steps_committed += search.StepsToRung(to);
  Publish(search.id, "candidate_promoted",
          absl::StrCat("candidate ", candidate.id(), " promoted to rung ", to, " (",
                       search.rungs[to], " steps): val_loss ", candidate.metrics().val_loss(),
                       " at rung ", to - 1, " is in its top 1/",
                       search.options.fidelity.reduction_factor),
          /*persist=*/true);
  work_cv_.notify_all();
  return true;
}

void Coordinator::NoteIfBest(ActiveSearch& search, const Candidate& candidate) {
  if (candidate.state() != headevo::v1::CANDIDATE_STATE_DONE) return;
  if (search.best_id == candidate.id()) return;  // its rung only grew: still the best
  if (search.best_id != 0 &&
      !search::IsFitter(candidate, search.population[search.index.at(search.best_id)],
                        search.options.selection)) {
    return;
  }
  search.best_id = candidate.id();
  Publish(search.id, "new_best",
          absl::StrCat("new best: candidate ", candidate.id(), " (generation ",
                       candidate.generation(), "), val_loss ", candidate.metrics().val_loss(),
                       ", ", candidate.metrics().connections(), " connections",
                       search.fidelity() ? absl::StrCat(" at rung ", candidate.rung())
                                         : std::string()),
          /*persist=*/true);
}

absl::Status Coordinator::LoadJobsState(ActiveSearch& search) {
  absl::StatusOr<std::vector<storage::JobRecord>> jobs = store_->ListJobs(search.id);
  if (!jobs.ok()) return jobs.status();
  for (const storage::JobRecord& job : *jobs) {
    if (job.candidate_id == 0) continue;
    if (job.rung >= static_cast<int>(search.rungs.size())) {
      return absl::DataLossError(absl::StrCat("search ", search.id, ": job ", job.id,
                                              " trains to rung ", job.rung, "; the config has ",
                                              search.rungs.size()));
    }
    search.steps_committed += search.StepsToRung(job.rung);
    if (job.rung == 0) continue;
    if (job.state == storage::JobState::kFailed) {
      search.promotions_failed.insert(job.candidate_id);
    } else if (job.state != storage::JobState::kDone) {
      search.promotions_open.insert(job.candidate_id);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Candidate> Coordinator::OnPromotionFinished(const storage::JobRecord& job) {
  absl::StatusOr<Candidate> stored = store_->GetCandidate(job.candidate_id);
  if (!stored.ok()) return stored.status();
  const bool done = stored->rung() >= job.rung;
  std::string why;
  if (!done) {
    absl::StatusOr<storage::JobRecord> now = store_->GetJob(job.id);
    why = now.ok() ? now->last_error : std::string(now.status().message());
  }
  Publish(job.search_id, done ? "rung_finished" : "promotion_failed",
          done ? absl::StrCat("candidate ", job.candidate_id, " finished rung ", job.rung, " (",
                              stored->metrics().steps(), " steps): val_loss ",
                              stored->metrics().val_loss())
               : absl::StrCat("promotion of candidate ", job.candidate_id, " to rung ", job.rung,
                              " failed: ", why, "; it keeps its rung-", stored->rung(),
                              " result"),
          /*persist=*/true);
  ActiveSearch* search = Find(job.search_id);
  if (search == nullptr) return stored;  // stopped or finished
  auto it = search->index.find(job.candidate_id);
  if (it == search->index.end()) {
    return absl::InternalError(absl::StrCat("candidate ", job.candidate_id, " of search ",
                                            search->id,
                                            " is missing from the coordinator's population"));
  }
  search->promotions_open.erase(job.candidate_id);
  if (!done) search->promotions_failed.insert(job.candidate_id);
  search->population[it->second] = *stored;
  NoteIfBest(*search, search->population[it->second]);
  if (absl::Status s = Advance(*search); !s.ok()) return s;
  return stored;
}

}  // namespace headevo::server
