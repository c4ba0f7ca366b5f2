#include "server/embedded/local_worker.h"

#include <optional>

#include "absl/strings/str_cat.h"

namespace headevo::server {
namespace {

absl::StatusOr<JobReport> TrainAndReport(Coordinator& coordinator, search::Evaluator& evaluator,
                                         int64_t worker_id, const storage::Lease& lease) {
  absl::StatusOr<headevo::v1::EvaluationResult> result = evaluator.Evaluate(lease.request);
  if (result.ok()) {
    absl::StatusOr<JobReport> report =
        coordinator.ReportResult(worker_id, lease.job_id, lease.attempt, *result);
    if (report.ok() || report.status().code() != absl::StatusCode::kInvalidArgument) {
      return report;
    }
    result = report.status();  // refused as malformed: a permanent failure, said why
  }
  return coordinator.ReportFailure(worker_id, lease.job_id, lease.attempt,
                                   result.status().ToString(), /*permanent=*/true);
}

}  // namespace

absl::Status RunLocalWorker(Coordinator& coordinator, search::Evaluator& evaluator,
                            const LocalWorkerOptions& options) {
  storage::WorkerRecord worker;
  worker.name = "embedded";
  worker.device = "local";
  absl::StatusOr<WorkerRegistration> registration = coordinator.RegisterWorker(worker);
  if (!registration.ok()) return registration.status();
  while (true) {
    absl::StatusOr<std::optional<storage::Lease>> lease =
        coordinator.LeaseJob(registration->worker_id, options.search_id);
    if (!lease.ok()) return lease.status();
    if (!lease->has_value()) {
      absl::StatusOr<bool> finished = coordinator.Finished(options.search_id);
      if (!finished.ok()) return finished.status();
      if (*finished) return absl::OkStatus();
      return absl::InternalError(absl::StrCat("search ", options.search_id,
                                              " has no job to lease but is not finished"));
    }
    if (options.on_leased) options.on_leased(**lease);
    absl::StatusOr<JobReport> report =
        TrainAndReport(coordinator, evaluator, registration->worker_id, **lease);
    if (!report.ok()) return report.status();
    if (options.on_recorded) options.on_recorded(*report);
  }
}

}  // namespace headevo::server
