#include "bench/coordinator/fake_worker.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/coordinator/fake_result.h"
#include "bench/coordinator/search_client.h"
#include "headevo/v1/worker_service.grpc.pb.h"

namespace headevo::bench_coordinator {

namespace {

double MsSince(Clock::time_point t) { return Seconds(t) * 1e3; }

void Deadline(grpc::ClientContext& context, int64_t ms) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(ms));
}

}  // namespace

void FakeWorker(Run& run, int index, WorkerLog& log) {
  const double cpu_start = ThreadCpuSeconds();
  std::unique_ptr<v1::WorkerService::Stub> stub =
      v1::WorkerService::NewStub(NewChannel(run.address()));
  v1::RegisterRequest registration;
  registration.set_device("fake");
  registration.set_name(absl::StrCat("bench-worker-", index));
  v1::RegisterResponse registered;
  {
    grpc::ClientContext context;
    Deadline(context, 30'000);
    if (absl::Status s =
            FromGrpc("Register", stub->Register(&context, registration, &registered));
        !s.ok()) {
      run.Fail(s);
      return;
    }
  }
  run.Ready();
  std::mt19937_64 rng(static_cast<uint64_t>(index));
  std::uniform_real_distribution<double> think(0.5, 1.5);
  if (run.flags().think_ms > 0) {
    // A staggered start, as a fleet's workers would be mid-training, rather than 64 at once.
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(
        run.flags().think_ms * std::uniform_real_distribution<double>(0, 1)(rng)));
  }
  while (run.TakeJob()) {
    v1::LeaseJobRequest lease_request;
    lease_request.set_worker_id(registered.worker_id());
    lease_request.set_wait_ms(run.flags().wait_ms);
    v1::LeaseJobResponse lease;
    grpc::ClientContext lease_context;
    Deadline(lease_context, run.flags().wait_ms + 30'000);
    const Clock::time_point lease_start = Clock::now();
    if (absl::Status s = FromGrpc("LeaseJob", stub->LeaseJob(&lease_context, lease_request, &lease));
        !s.ok()) {
      run.Fail(s);
      break;
    }
    if (!lease.has_job()) {
      ++log.empty_polls;
      run.GiveBack();
      continue;
    }
    log.lease_ms.push_back(MsSince(lease_start));
    v1::ReportResultRequest report;
    report.set_worker_id(registered.worker_id());
    report.set_job_id(lease.job_id());
    report.set_attempt(lease.attempt());
    *report.mutable_result() = FakeResult(lease.job_id(), lease.request());
    v1::ReportResultResponse reported;
    grpc::ClientContext report_context;
    Deadline(report_context, 30'000);
    const Clock::time_point report_start = Clock::now();
    if (absl::Status s =
            FromGrpc("ReportResult", stub->ReportResult(&report_context, report, &reported));
        !s.ok()) {
      run.Fail(absl::Status(s.code(), absl::StrCat(s.message(), " (job ", lease.job_id(), ")")));
      break;
    }
    log.report_ms.push_back(MsSince(report_start));
    log.done_at_s.push_back(Seconds(run.start()));
    if (run.flags().think_ms > 0) {
      // Jittered, so the workers do not stay in lockstep and arrive in bursts.
      std::this_thread::sleep_for(
          std::chrono::duration<double, std::milli>(run.flags().think_ms * think(rng)));
    }
  }
  log.cpu_s = ThreadCpuSeconds() - cpu_start;
}

}  // namespace headevo::bench_coordinator
