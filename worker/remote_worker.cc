#include "worker/remote_worker.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "headevo/v1/worker_service.grpc.pb.h"
#include "worker/checkpoint.h"
#include "worker/training_run.h"

namespace headevo::worker {
namespace {

using std::chrono::milliseconds;

constexpr size_t kChunkBytes = 1 << 20;
// How often `stop` is polled while training or backing off.
constexpr int64_t kPollMs = 100;

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void RealSleepMs(int64_t ms) { std::this_thread::sleep_for(milliseconds(ms)); }

// The coordinator did not answer: it is down, restarting, or out of reach.
bool IsUnreachable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// Worth retrying the same call: the coordinator is unreachable or slow, or it answered that it
// cannot take the call now (ABORTED; RESOURCE_EXHAUSTED: its disk is full, and it will take
// the same result once space is freed), or it stopped mid-call (CANCELLED: the worker never
// cancels its own calls, and a coordinator stopping for a restart cancels those in flight),
// so the result is kept and sent again.
bool IsTransient(const grpc::Status& status) {
  return IsUnreachable(status) || status.error_code() == grpc::StatusCode::ABORTED ||
         status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
         status.error_code() == grpc::StatusCode::CANCELLED;
}

// "RESOURCE_EXHAUSTED: disk full writing ...": the code first, so a log reader sees it.
std::string Describe(const grpc::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
                      ": ", status.error_message());
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "worker";
  return name;
}

class Session {
 public:
  Session(const RemoteWorkerOptions& options, std::shared_ptr<grpc::Channel> channel)
      : options_(options),
        stub_(headevo::v1::WorkerService::NewStub(channel)),
        now_ms_(options.now_ms ? options.now_ms : SteadyNowMs),
        sleep_ms_(options.sleep_ms ? options.sleep_ms : RealSleepMs) {}

  bool Stopping() const { return options_.stop && options_.stop(); }
  int64_t Now() const { return now_ms_(); }
  void Log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }

  // Calls `call(context)` until it returns something other than a transient error, backing
  // off up to max_backoff_ms; gives up (returning the last status) only when stopping.
  template <typename Call>
  grpc::Status Retry(const char* what, int64_t timeout_ms, Call call) {
    int64_t backoff_ms = 100;
    while (true) {
      grpc::ClientContext context;
      PrepareCall(context, options_.channel.token, milliseconds(timeout_ms));
      grpc::Status status = call(context);
      SetConnected(!IsUnreachable(status));
      if (!IsTransient(status) || Stopping()) return status;
      Log(absl::StrCat(what, ": ", Describe(status), "; retrying in ", backoff_ms, " ms"));
      Sleep(backoff_ms);
      backoff_ms = std::min(backoff_ms * 2, options_.max_backoff_ms);
    }
  }

  void SetConnected(bool connected) {
    if (connected_.has_value() && *connected_ == connected) return;
    connected_ = connected;
    if (options_.on_connection) options_.on_connection(connected);
  }

  // Sleeps up to `ms` of the options' clock, waking early when stopping.
  void Sleep(int64_t ms) const {
    const int64_t end = Now() + ms;
    for (int64_t now = Now(); now < end && !Stopping(); now = Now()) {
      sleep_ms_(std::min(kPollMs, end - now));
    }
  }

  absl::Status Register() {
    headevo::v1::RegisterRequest request;
    request.set_device(options_.device);
    request.set_memory_bytes(options_.memory_bytes);
    request.set_name(options_.name.empty() ? HostName() : options_.name);
    headevo::v1::RegisterResponse response;
    grpc::Status status = Retry("register", options_.rpc_timeout_ms, [&](auto& context) {
      return stub_->Register(&context, request, &response);
    });
    if (!status.ok()) return FromGrpc(status);
    worker_id_ = response.worker_id();
    heartbeat_interval_ms_ = std::max<int64_t>(100, response.heartbeat_interval_ms());
    Log(absl::StrCat("registered as worker ", worker_id_, " (lease ", response.lease_ms(),
                     " ms, heartbeat every ", heartbeat_interval_ms_, " ms)"));
    return absl::OkStatus();
  }

  // A job, or nullopt after one long poll without one.
  absl::StatusOr<std::optional<headevo::v1::LeaseJobResponse>> Lease() {
    headevo::v1::LeaseJobRequest request;
    request.set_worker_id(worker_id_);
    request.set_wait_ms(options_.lease_wait_ms);
    headevo::v1::LeaseJobResponse response;
    grpc::Status status =
        Retry("lease", options_.lease_wait_ms + options_.rpc_timeout_ms,
              [&](auto& context) { return stub_->LeaseJob(&context, request, &response); });
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      // The coordinator does not know this worker (a new database): register again.
      Log("the coordinator does not know this worker; registering again");
      if (absl::Status s = Register(); !s.ok()) return s;
      return std::optional<headevo::v1::LeaseJobResponse>();
    }
    if (!status.ok()) return FromGrpc(status);
    if (!response.has_job()) return std::optional<headevo::v1::LeaseJobResponse>();
    return std::optional<headevo::v1::LeaseJobResponse>(std::move(response));
  }

  // A parent or resume checkpoint in the local cache, its bytes checked against its name: a cached
  // file the disk damaged is discarded and downloaded again. DataLoss naming the checkpoint
  // when the coordinator's copy is damaged (it says so, or its bytes hash otherwise).
  absl::Status FetchCheckpoint(const std::string& sha256) {
    const std::string path = CheckpointPath(sha256);
    if (std::filesystem::exists(path)) {
      absl::StatusOr<std::string> cached = Sha256HexOfFile(path);
      if (cached.ok() && *cached == sha256) return absl::OkStatus();
      Log(absl::StrCat(
          "cached checkpoint ", path, " is damaged (",
          cached.ok() ? absl::StrCat("its bytes hash to ", *cached) : cached.status().ToString(),
          "); discarding it and fetching it again"));
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
    headevo::v1::DownloadCheckpointRequest request;
    request.set_sha256(sha256);
    std::string bytes;
    grpc::Status status = Retry("download", options_.rpc_timeout_ms * 4, [&](auto& context) {
      bytes.clear();
      auto reader = stub_->DownloadCheckpoint(&context, request);
      headevo::v1::DownloadCheckpointResponse chunk;
      while (reader->Read(&chunk)) bytes += chunk.data();
      return reader->Finish();
    });
    if (!status.ok()) return FromGrpc(status);
    if (const std::string actual = Sha256Hex(bytes); actual != sha256) {
      return absl::DataLossError(absl::StrCat("downloaded checkpoint ", sha256,
                                              " does not hash to its name (its bytes hash to ",
                                              actual, "); not cached, not trained from"));
    }
    return WriteFileAtomically(path, bytes);
  }

  absl::Status UploadCheckpoint(const std::string& sha256) {
    headevo::v1::HasCheckpointRequest has;
    has.set_sha256(sha256);
    headevo::v1::HasCheckpointResponse present;
    grpc::Status status = Retry("has-checkpoint", options_.rpc_timeout_ms, [&](auto& context) {
      return stub_->HasCheckpoint(&context, has, &present);
    });
    if (!status.ok()) return FromGrpc(status);
    if (present.present()) return absl::OkStatus();
    std::ifstream in(CheckpointPath(sha256), std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", CheckpointPath(sha256)));
    std::ostringstream buffer;
    buffer << in.rdbuf();
    const std::string bytes = buffer.str();
    headevo::v1::UploadCheckpointResponse response;
    status = Retry("upload", options_.rpc_timeout_ms * 4, [&](auto& context) {
      auto writer = stub_->UploadCheckpoint(&context, &response);
      for (size_t offset = 0; offset == 0 || offset < bytes.size(); offset += kChunkBytes) {
        headevo::v1::UploadCheckpointRequest chunk;
        if (offset == 0) {
          chunk.set_sha256(sha256);
          chunk.set_total_bytes(static_cast<int64_t>(bytes.size()));
        }
        chunk.set_data(bytes.substr(offset, kChunkBytes));
        if (!writer->Write(chunk)) break;  // the server ended the call; Finish says why
      }
      writer->WritesDone();
      return writer->Finish();
    });
    return FromGrpc(status);
  }

  grpc::Status Heartbeat(const headevo::v1::LeaseJobResponse& job) {
    headevo::v1::HeartbeatRequest request;
    request.set_worker_id(worker_id_);
    request.set_job_id(job.job_id());
    request.set_attempt(job.attempt());
    headevo::v1::HeartbeatResponse response;
    grpc::ClientContext context;
    PrepareCall(context, options_.channel.token, milliseconds(heartbeat_interval_ms_));
    grpc::Status status = stub_->Heartbeat(&context, request, &response);
    SetConnected(!IsUnreachable(status));
    return status;
  }

  grpc::Status Report(const headevo::v1::ReportResultRequest& request, bool* already) {
    headevo::v1::ReportResultResponse response;
    grpc::Status status = Retry("report", options_.rpc_timeout_ms, [&](auto& context) {
      return stub_->ReportResult(&context, request, &response);
    });
    *already = response.already_recorded();
    return status;
  }

  grpc::Status Release(const headevo::v1::LeaseJobResponse& job, const std::string& reason) {
    headevo::v1::ReleaseJobRequest request;
    request.set_worker_id(worker_id_);
    request.set_job_id(job.job_id());
    request.set_attempt(job.attempt());
    request.set_reason(reason);
    headevo::v1::ReleaseJobResponse response;
    grpc::ClientContext context;
    PrepareCall(context, options_.channel.token, milliseconds(options_.rpc_timeout_ms));
    return stub_->ReleaseJob(&context, request, &response);
  }

  std::string CheckpointPath(const std::string& sha256) const {
    return (std::filesystem::path(options_.checkpoint_dir) / (sha256 + ".ckpt")).string();
  }

  int64_t worker_id() const { return worker_id_; }
  int64_t heartbeat_interval_ms() const { return heartbeat_interval_ms_; }

 private:
  const RemoteWorkerOptions& options_;
  std::unique_ptr<headevo::v1::WorkerService::Stub> stub_;
  int64_t worker_id_ = 0;
  int64_t heartbeat_interval_ms_ = 1000;
  std::optional<bool> connected_;          // as last told to on_connection
  std::function<int64_t()> now_ms_;        // options.now_ms or the steady clock
  std::function<void(int64_t)> sleep_ms_;  // options.sleep_ms or a real sleep
};

}  // namespace

bool IsPermanentFailure(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
      return false;
    default:
      return true;
  }
}

namespace {

// How one leased job ended for the loop: done (reported, failed or dropped) or handed back.
enum class JobEnd { kFinished, kHandedBack };

// Trains `job` on a TrainingRun while heartbeating its lease. Returns the evaluation's outcome,
// or nullopt when the worker was told to stop: then the job has been handed back and the
// training cancelled and joined. A lease the coordinator stops honouring ends the heartbeats
// but not the training: the report says so, and the coordinator decides.
std::optional<absl::StatusOr<headevo::v1::EvaluationResult>> TrainWithHeartbeats(
    Session& session, search::Evaluator* evaluator, const headevo::v1::LeaseJobResponse& job) {
  TrainingRun run(evaluator, job.request());
  bool lease_lost = false;
  int64_t next_heartbeat = session.Now() + session.heartbeat_interval_ms();
  while (!run.WaitFor(milliseconds(kPollMs))) {
    if (session.Stopping()) {
      run.Cancel();  // first, so training winds down while the release is in flight
      grpc::Status released = session.Release(job, "worker shutting down");
      session.Log(absl::StrCat("stopping: job ", job.job_id(), " handed back (",
                               released.ok() ? "ok" : released.error_message(), ")"));
      const absl::Status ended = run.Join().status();
      session.Log(absl::StrCat("stopping: training of job ", job.job_id(), " ended (",
                               ended.ok() ? "finished" : ended.ToString(), ")"));
      return std::nullopt;
    }
    if (session.Now() >= next_heartbeat && !lease_lost) {
      grpc::Status beat = session.Heartbeat(job);
      if (beat.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
          beat.error_code() == grpc::StatusCode::NOT_FOUND) {
        lease_lost = true;
        session.Log(absl::StrCat("job ", job.job_id(), ": lease lost (", beat.error_message(),
                                 "); its result will be refused"));
      }
      next_heartbeat = session.Now() + session.heartbeat_interval_ms();
    }
  }
  return run.Join();
}

// Fills `report` from a finished evaluation: the result (its checkpoint uploaded first) or
// the error, marked permanent when it would recur on any worker.
void FillReport(Session& session, const absl::StatusOr<headevo::v1::EvaluationResult>& result,
                headevo::v1::ReportResultRequest& report) {
  if (!result.ok()) {
    report.set_error(result.status().ToString());
    report.set_permanent(IsPermanentFailure(result.status()));
    return;
  }
  *report.mutable_result() = *result;
  if (result->checkpoint_sha256().empty()) return;
  if (absl::Status s = session.UploadCheckpoint(result->checkpoint_sha256()); !s.ok()) {
    report.clear_result();
    report.set_error(absl::StrCat("uploading checkpoint: ", s.ToString()));
    report.set_permanent(false);
  }
}

// Sends `report` and counts what became of it.
void SendReport(Session& session, const headevo::v1::LeaseJobResponse& job,
                const headevo::v1::ReportResultRequest& report, RemoteWorkerStats& stats) {
  bool already = false;
  grpc::Status status = session.Report(report, &already);
  if (status.ok()) {
    if (report.error().empty()) {
      ++stats.reported;
      session.Log(absl::StrCat("job ", job.job_id(), ": val_loss ",
                               report.result().metrics().val_loss(),
                               already ? " (already recorded)" : ""));
    } else {
      ++stats.failed;
      session.Log(absl::StrCat("job ", job.job_id(), " failed: ", report.error()));
    }
  } else if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    ++stats.dropped;
    session.Log(absl::StrCat("job ", job.job_id(), ": result refused (", status.error_message(),
                             "); dropped"));
  } else if (!session.Stopping()) {
    // A report the coordinator rejects outright (e.g. INVALID_ARGUMENT) is a bug on one side;
    // say so and go on: the lease will expire and another worker retries the job.
    ++stats.dropped;
    session.Log(absl::StrCat("job ", job.job_id(), ": report failed (", status.error_message(),
                             "); the lease will expire"));
  }
}

// Fetches the checkpoints a job trains from into the cache: its parent's, or for a
// continued run its own from the last rung. The error names which.
absl::Status FetchJobCheckpoints(Session& session, const headevo::v1::EvaluationRequest& request) {
  const std::pair<const char*, const std::string*> needed[] = {
      {"parent", &request.parent_checkpoint_sha256()},
      {"resume", &request.resume_checkpoint_sha256()},
  };
  for (const auto& [what, sha256] : needed) {
    if (sha256->empty()) continue;
    if (absl::Status s = session.FetchCheckpoint(*sha256); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("fetching ", what, " checkpoint: ", s.message()));
    }
  }
  return absl::OkStatus();
}

// One leased job from its parent (or resume) checkpoint to its report.
JobEnd RunJob(Session& session, search::Evaluator* evaluator,
              const headevo::v1::LeaseJobResponse& job, RemoteWorkerStats& stats) {
  session.Log(absl::StrCat("job ", job.job_id(), " attempt ", job.attempt(), ": candidate ",
                           job.request().candidate_id()));
  headevo::v1::ReportResultRequest report;
  report.set_worker_id(session.worker_id());
  report.set_job_id(job.job_id());
  report.set_attempt(job.attempt());
  const absl::Status fetched = FetchJobCheckpoints(session, job.request());
  if (fetched.ok()) {
    std::optional<absl::StatusOr<headevo::v1::EvaluationResult>> result =
        TrainWithHeartbeats(session, evaluator, job);
    if (!result.has_value()) {
      ++stats.handed_back;
      return JobEnd::kHandedBack;
    }
    FillReport(session, *result, report);
  } else {
    report.set_error(fetched.ToString());
    report.set_permanent(fetched.code() == absl::StatusCode::kNotFound ||
                         fetched.code() == absl::StatusCode::kDataLoss);
  }
  SendReport(session, job, report, stats);
  return JobEnd::kFinished;
}

}  // namespace

absl::StatusOr<RemoteWorkerStats> RunRemoteWorker(const RemoteWorkerOptions& options,
                                                  search::Evaluator* evaluator) {
  if (options.checkpoint_dir.empty()) {
    return absl::InvalidArgumentError("the worker needs a checkpoint cache directory");
  }
  if (evaluator == nullptr) return absl::InvalidArgumentError("the worker needs an evaluator");
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options.channel);
  if (!channel.ok()) return channel.status();
  Session session(options, *channel);
  if (absl::Status s = session.Register(); !s.ok()) return s;

  RemoteWorkerStats stats;
  int64_t idle_since = session.Now();
  while (!session.Stopping() && (options.max_jobs == 0 || stats.jobs < options.max_jobs)) {
    absl::StatusOr<std::optional<headevo::v1::LeaseJobResponse>> lease = session.Lease();
    if (!lease.ok()) return lease.status();
    if (!lease->has_value()) {
      if (options.exit_when_idle_ms > 0 &&
          session.Now() - idle_since >= options.exit_when_idle_ms) {
        session.Log("no job for a while; exiting");
        break;
      }
      continue;
    }
    ++stats.jobs;
    if (RunJob(session, evaluator, **lease, stats) == JobEnd::kHandedBack) break;
    idle_since = session.Now();
  }
  return stats;
}

}  // namespace headevo::worker
