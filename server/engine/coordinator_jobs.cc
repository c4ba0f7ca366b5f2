// Workers and jobs: registration, leasing (breeding a steady-state child when none waits),
// heartbeats, reports, hand-backs and lease expiry (server/engine/coordinator.h).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "search/selection.h"
#include "server/engine/active_search.h"
#include "server/engine/coordinator.h"
#include "server/checks/request_checks.h"

namespace headevo::server {

absl::StatusOr<WorkerRegistration> Coordinator::RegisterWorker(
    const storage::WorkerRecord& worker) {
  return Durably([&]() -> absl::StatusOr<WorkerRegistration> {
    absl::StatusOr<int64_t> id = store_->RegisterWorker(worker, options_.clock());
    if (!id.ok()) return id.status();
    activity_.WorkerSeen(*id, options_.clock());
    WorkerRegistration registration;
    registration.worker_id = *id;
    registration.lease_ms = options_.lease_ms;
    // Three chances to renew before the lease runs out.
    registration.heartbeat_interval_ms = std::max<int64_t>(1, options_.lease_ms / 3);
    return registration;
  });
}

absl::StatusOr<std::optional<storage::Lease>> Coordinator::LeaseJob(int64_t worker_id,
                                                                    int64_t search_id) {
  return Durably([&]() -> absl::StatusOr<std::optional<storage::Lease>> {
    storage::LeaseOptions lease_options;
    lease_options.worker_id = worker_id;
    lease_options.lease_ms = options_.lease_ms;
    lease_options.search_id = search_id;
    for (int round = 0; round < 2; ++round) {
      lease_options.now_ms = options_.clock();
      absl::StatusOr<std::optional<storage::Lease>> lease = store_->LeaseJob(lease_options);
      // Counted live only once the store knows the worker: garbage ids must not look alive.
      if (lease.ok()) activity_.WorkerSeen(worker_id, lease_options.now_ms);
      if (!lease.ok() || lease->has_value() || round == 1) {
        if (lease.ok() && lease->has_value()) {
          const storage::Lease& leased = **lease;
          absl::StatusOr<int64_t> owner = SearchOfJob(leased.job_id);
          if (!owner.ok()) return owner.status();
          const headevo::v1::EvaluationRequest& request = leased.request;
          std::string what = absl::StrCat("candidate ", request.candidate_id());
          if (ActiveSearch* search = Find(*owner)) {
            if (request.reference_id() != 0) {
              if (headevo::v1::Reference* r = search->FindReference(request.reference_id())) {
                r->set_state(headevo::v1::CANDIDATE_STATE_RUNNING);
                what = absl::StrCat("reference model ", r->id(), " (", r->description(), ")");
              }
            } else if (!request.resume_checkpoint_sha256().empty()) {
              // A promotion: the candidate stays DONE at its rung while it trains on.
              what = absl::StrCat("promotion of candidate ", request.candidate_id(), " to ",
                                  request.training().steps(), " steps");
            } else if (auto it = search->index.find(request.candidate_id());
                       it != search->index.end()) {
              search->population[it->second].set_state(headevo::v1::CANDIDATE_STATE_RUNNING);
            }
          }
          Publish(*owner, "candidate_started",
                  absl::StrCat(what, " leased to worker ", worker_id, " (job ", leased.job_id,
                               " attempt ", leased.attempt, ")"),
                  /*persist=*/false);
        }
        return lease;
      }
      // Nothing queued: promote (ASHA's rule), else breed a steady-state child, for the oldest
      // running search that can.
      bool bred = false;
      for (auto& [id, search] : searches_) {
        if (search_id != 0 && id != search_id) continue;
        absl::StatusOr<bool> made = Promote(*search);
        if (made.ok() && !*made) made = BreedChild(*search);
        if (!made.ok()) return made.status();
        if (*made) {
          bred = true;
          break;
        }
      }
      if (!bred) return std::optional<storage::Lease>();
    }
    return std::optional<storage::Lease>();
  });
}

absl::StatusOr<std::optional<storage::Lease>> Coordinator::WaitForJob(
    int64_t worker_id, int64_t wait_ms, const std::function<bool()>& cancelled) {
  const int64_t deadline = options_.wait_clock() + wait_ms;
  while (true) {
    absl::StatusOr<std::optional<storage::Lease>> lease = LeaseJob(worker_id);
    if (!lease.ok() || lease->has_value()) return lease;
    std::unique_lock<std::mutex> lock(mu_);
    const int64_t left = deadline - options_.wait_clock();
    if (shutting_down_ || (cancelled && cancelled()) || left <= 0) {
      return std::optional<storage::Lease>();
    }
    // Wake on news, and at least every 200 ms to notice a cancelled call or a moved clock.
    work_cv_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(left, 200)));
  }
}

absl::StatusOr<int64_t> Coordinator::SearchOfJob(int64_t job_id) {
  auto cached = search_of_job_.find(job_id);
  if (cached != search_of_job_.end()) return cached->second;
  absl::StatusOr<storage::JobRecord> job = store_->GetJob(job_id);
  if (!job.ok()) return job.status();
  // Bounded: a job id is looked up while it is out, and finished jobs are dropped below.
  search_of_job_[job_id] = job->search_id;
  return job->search_id;
}

absl::Status Coordinator::RequireWorker(int64_t worker_id) {
  absl::Status known = store_->GetWorker(worker_id).status();
  if (known.code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(absl::StrCat(
        "worker ", worker_id,
        " is not registered with this coordinator: Register, and use the id it returns"));
  }
  return known;
}

absl::StatusOr<storage::JobRecord> Coordinator::JobReportedBy(int64_t worker_id, int64_t job_id,
                                                              int attempt) {
  if (absl::Status s = RequireWorker(worker_id); !s.ok()) return s;
  absl::StatusOr<storage::JobRecord> job = store_->GetJob(job_id);
  if (!job.ok()) return job.status();
  // Whatever became of the job since, attempt A was the lease of one worker: only it may
  // speak for that attempt.
  if (job->worker_id != worker_id && job->attempt == attempt) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " attempt ", attempt,
                                                      " is leased to worker ", job->worker_id,
                                                      ", not worker ", worker_id));
  }
  return job;
}

absl::StatusOr<int64_t> Coordinator::Heartbeat(int64_t worker_id, int64_t job_id, int attempt,
                                               int /*step*/, double /*train_loss*/) {
  return Durably([&]() -> absl::StatusOr<int64_t> {
    const int64_t now = options_.clock();
    if (absl::Status s = RequireWorker(worker_id); !s.ok()) return s;
    if (absl::Status s = store_->Heartbeat(job_id, attempt, worker_id, now, options_.lease_ms);
        !s.ok()) {
      return s;
    }
    activity_.WorkerSeen(worker_id, now);
    return now + options_.lease_ms;
  });
}

absl::StatusOr<JobReport> Coordinator::ReportResult(int64_t worker_id, int64_t job_id,
                                                    int attempt,
                                                    const headevo::v1::EvaluationResult& result) {
  const headevo::v1::Metrics& m = result.metrics();
  if (!std::isfinite(m.val_loss()) || !std::isfinite(m.train_loss())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "job ", job_id, " attempt ", attempt, ": result has a non-finite loss (train ",
        m.train_loss(), ", val ", m.val_loss(), "); report it as a permanent failure"));
  }
  // The gRPC service checked this already; the embedded worker's results come straight here.
  if (absl::Status s = CheckHeadRecords(result); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("job ", job_id, " attempt ", attempt, ": ", s.message()));
  }
  return Durably([&]() -> absl::StatusOr<JobReport> {
    absl::StatusOr<storage::JobRecord> job = JobReportedBy(worker_id, job_id, attempt);
    if (!job.ok()) return job.status();
    absl::StatusOr<storage::ReportOutcome> outcome =
        store_->CompleteJob(job_id, attempt, result, options_.clock());
    if (!outcome.ok()) return outcome.status();
    activity_.WorkerSeen(worker_id, options_.clock());
    if (*outcome == storage::ReportOutcome::kAlreadyRecorded) {
      // The first report was stored, but what follows it (the search's population, its next
      // step) may not have happened: a write after the commit failed, e.g. on a full disk. The
      // retry finishes that work, so the search never stalls on a recorded result.
      if (!AppliedToSearch(*job)) {
        absl::StatusOr<JobReport> report = OnJobFinished(*job);  // advances the search too
        if (report.ok()) report->already_recorded = true;
        return report;
      }
      absl::StatusOr<JobReport> report = DescribeJob(*job);
      if (!report.ok()) return report;
      // Applied, but the step after it (Advance) may be what failed.
      if (ActiveSearch* search = Find(job->search_id)) {
        if (absl::Status s = Advance(*search); !s.ok()) return s;
      }
      report->already_recorded = true;
      return report;
    }
    activity_.ResultRecorded(options_.clock());
    search_of_job_.erase(job_id);
    job->state = storage::JobState::kDone;
    return OnJobFinished(*job);
  });
}

absl::StatusOr<JobReport> Coordinator::ReportFailure(int64_t worker_id, int64_t job_id,
                                                     int attempt, const std::string& error,
                                                     bool permanent) {
  return Durably([&]() -> absl::StatusOr<JobReport> {
    absl::StatusOr<storage::JobRecord> job = JobReportedBy(worker_id, job_id, attempt);
    if (!job.ok()) return job.status();
    absl::StatusOr<storage::JobState> state =
        store_->FailJob(job_id, attempt, error, permanent, options_.clock());
    if (!state.ok()) return state.status();
    activity_.WorkerSeen(worker_id, options_.clock());
    activity_.FailureReported();
    job->state = *state;
    if (*state == storage::JobState::kFailed) {
      search_of_job_.erase(job_id);
      return OnJobFinished(*job);
    }
    MarkPending(*job);
    work_cv_.notify_all();
    return DescribeJob(*job);
  });
}

absl::Status Coordinator::ReleaseJob(int64_t worker_id, int64_t job_id, int attempt,
                                     const std::string& reason) {
  return Durably([&]() -> absl::Status {
    if (absl::Status s = RequireWorker(worker_id); !s.ok()) return s;
    if (absl::Status s = store_->ReleaseJob(job_id, attempt, worker_id, reason, options_.clock());
        !s.ok()) {
      return s;
    }
    activity_.WorkerSeen(worker_id, options_.clock());
    absl::StatusOr<storage::JobRecord> job = store_->GetJob(job_id);
    if (!job.ok()) return job.status();
    MarkPending(*job);
    work_cv_.notify_all();
    return absl::OkStatus();
  });
}

absl::Status Coordinator::ExpireLeases() {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<std::vector<storage::JobRecord>> expired = store_->ExpireLeases(options_.clock());
  if (!expired.ok()) return expired.status();
  activity_.LeasesExpired(static_cast<int64_t>(expired->size()));
  for (const storage::JobRecord& job : *expired) {
    Publish(job.search_id, "lease_expired",
            absl::StrCat("job ", job.id, " of ",
                         job.reference_id != 0
                             ? absl::StrCat("reference model ", job.reference_id)
                             : absl::StrCat("candidate ", job.candidate_id),
                         ": ", job.last_error,
                         job.state == storage::JobState::kFailed ? "; attempts spent, failed"
                                                                 : "; queued again"),
            /*persist=*/true);
    if (job.state == storage::JobState::kFailed) {
      search_of_job_.erase(job.id);
      if (absl::Status s = OnJobFinished(job).status(); !s.ok()) return s;
    } else {
      MarkPending(job);
    }
  }
  if (!expired->empty()) work_cv_.notify_all();
  return absl::OkStatus();
}

bool Coordinator::AppliedToSearch(const storage::JobRecord& job) {
  ActiveSearch* search = Find(job.search_id);
  if (search == nullptr) return true;  // nothing left to apply it to
  if (job.reference_id != 0) {
    const headevo::v1::Reference* r = search->FindReference(job.reference_id);
    return r == nullptr || IsFinished(r->state());
  }
  auto it = search->index.find(job.candidate_id);
  if (it == search->index.end()) return true;
  const headevo::v1::Candidate& candidate = search->population[it->second];
  if (job.rung > 0) return candidate.rung() >= job.rung;
  return IsFinished(candidate);
}

void Coordinator::MarkPending(const storage::JobRecord& job) {
  ActiveSearch* search = Find(job.search_id);
  if (search == nullptr) return;
  if (job.reference_id != 0) {
    if (headevo::v1::Reference* r = search->FindReference(job.reference_id)) {
      r->set_state(headevo::v1::CANDIDATE_STATE_PENDING);
    }
    return;
  }
  if (job.rung > 0) return;  // a promotion's candidate stays DONE at its rung
  auto it = search->index.find(job.candidate_id);
  if (it != search->index.end()) {
    search->population[it->second].set_state(headevo::v1::CANDIDATE_STATE_PENDING);
  }
}

absl::StatusOr<JobReport> Coordinator::DescribeJob(const storage::JobRecord& job) {
  JobReport report;
  report.job_state = job.state;
  if (job.reference_id != 0) {
    absl::StatusOr<std::vector<headevo::v1::Reference>> references =
        store_->ListReferences(job.search_id);
    if (!references.ok()) return references.status();
    for (headevo::v1::Reference& r : *references) {
      if (r.id() == job.reference_id) report.reference = std::move(r);
    }
    if (!report.reference.has_value()) {
      return absl::InternalError(absl::StrCat("job ", job.id, ": reference model ",
                                              job.reference_id, " is missing"));
    }
    return report;
  }
  absl::StatusOr<headevo::v1::Candidate> candidate = store_->GetCandidate(job.candidate_id);
  if (!candidate.ok()) return candidate.status();
  report.candidate = *std::move(candidate);
  return report;
}

absl::StatusOr<JobReport> Coordinator::OnJobFinished(const storage::JobRecord& job) {
  JobReport report;
  report.job_state = job.state;
  if (job.reference_id != 0) {
    absl::StatusOr<headevo::v1::Reference> reference = OnReferenceFinished(job);
    if (!reference.ok()) return reference.status();
    report.reference = *std::move(reference);
  } else {
    absl::StatusOr<headevo::v1::Candidate> candidate =
        job.rung > 0 ? OnPromotionFinished(job) : OnCandidateFinished(job.candidate_id);
    if (!candidate.ok()) return candidate.status();
    report.candidate = *std::move(candidate);
  }
  return report;
}

absl::StatusOr<headevo::v1::Reference> Coordinator::OnReferenceFinished(
    const storage::JobRecord& job) {
  absl::StatusOr<JobReport> described = DescribeJob(job);
  if (!described.ok()) return described.status();
  const headevo::v1::Reference& stored = *described->reference;
  const bool done = stored.state() == headevo::v1::CANDIDATE_STATE_DONE;
  Publish(job.search_id, done ? "reference_finished" : "reference_failed",
          done ? absl::StrCat("reference model ", stored.id(), " (", stored.description(),
                              "): val_loss ", stored.metrics().val_loss())
               : absl::StrCat("reference model ", stored.id(), " (", stored.description(),
                              ") failed: ", stored.error()),
          /*persist=*/true);
  ActiveSearch* search = Find(job.search_id);
  if (search == nullptr) return stored;  // stopped or finished
  headevo::v1::Reference* held = search->FindReference(stored.id());
  if (held == nullptr) {
    return absl::InternalError(absl::StrCat("reference model ", stored.id(), " of search ",
                                            search->id, " is missing from the coordinator"));
  }
  *held = stored;
  if (absl::Status s = Advance(*search); !s.ok()) return s;
  return stored;
}

absl::StatusOr<headevo::v1::Candidate> Coordinator::OnCandidateFinished(int64_t candidate_id) {
  absl::StatusOr<headevo::v1::Candidate> stored = store_->GetCandidate(candidate_id);
  if (!stored.ok()) return stored.status();
  const bool done = stored->state() == headevo::v1::CANDIDATE_STATE_DONE;
  Publish(stored->search_id(), done ? "candidate_finished" : "candidate_failed",
          done ? absl::StrCat("candidate ", candidate_id, " (generation ", stored->generation(),
                              "): val_loss ", stored->metrics().val_loss(), ", ",
                              stored->metrics().connections(), " connections")
               : absl::StrCat("candidate ", candidate_id, " failed: ", stored->error()),
          /*persist=*/true);
  ActiveSearch* search = Find(stored->search_id());
  if (search == nullptr) return stored;  // stopped or finished: nothing to breed
  auto it = search->index.find(candidate_id);
  if (it == search->index.end()) {
    return absl::InternalError(absl::StrCat("candidate ", candidate_id, " of search ", search->id,
                                            " is missing from the coordinator's population"));
  }
  search->population[it->second] = *stored;
  NoteIfBest(*search, search->population[it->second]);
  if (absl::Status s = Advance(*search); !s.ok()) return s;
  return stored;
}

}  // namespace headevo::server
