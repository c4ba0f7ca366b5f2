#include "server/rpc/worker_service.h"

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "server/rpc/grpc_auth.h"
#include "server/checks/request_checks.h"

namespace headevo::server {
grpc::Status WorkerServiceImpl::Register(grpc::ServerContext* context,
                                         const headevo::v1::RegisterRequest* request,
                                         headevo::v1::RegisterResponse* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckRegister(*request)); !s.ok()) return s;
  storage::WorkerRecord worker;
  worker.name = request->name().empty() ? context->peer() : request->name();
  worker.device = request->device();
  worker.memory_bytes = request->memory_bytes();
  absl::StatusOr<WorkerRegistration> registration = coordinator_->RegisterWorker(worker);
  if (!registration.ok()) return ToGrpc(registration.status());
  response->set_worker_id(registration->worker_id);
  response->set_lease_ms(registration->lease_ms);
  response->set_heartbeat_interval_ms(registration->heartbeat_interval_ms);
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::LeaseJob(grpc::ServerContext* context,
                                         const headevo::v1::LeaseJobRequest* request,
                                         headevo::v1::LeaseJobResponse* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckLeaseJob(*request)); !s.ok()) return s;
  const int64_t wait_ms = std::min(request->wait_ms(), options_.max_lease_wait_ms);
  absl::StatusOr<std::optional<storage::Lease>> lease = coordinator_->WaitForJob(
      request->worker_id(), wait_ms, [context] { return context->IsCancelled(); });
  if (!lease.ok()) return ToGrpc(lease.status());
  if (!lease->has_value()) {
    response->set_has_job(false);
    return grpc::Status::OK;
  }
  response->set_has_job(true);
  response->set_job_id((*lease)->job_id);
  response->set_attempt((*lease)->attempt);
  response->set_lease_expires_ms((*lease)->lease_expires_ms);
  *response->mutable_request() = std::move((*lease)->request);
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::Heartbeat(grpc::ServerContext* context,
                                          const headevo::v1::HeartbeatRequest* request,
                                          headevo::v1::HeartbeatResponse* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckHeartbeat(*request)); !s.ok()) return s;
  absl::StatusOr<int64_t> expires =
      coordinator_->Heartbeat(request->worker_id(), request->job_id(), request->attempt(),
                              request->step(), request->train_loss());
  if (!expires.ok()) return ToGrpc(expires.status());
  response->set_lease_expires_ms(*expires);
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::ReportResult(grpc::ServerContext* context,
                                             const headevo::v1::ReportResultRequest* request,
                                             headevo::v1::ReportResultResponse* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckReportResult(*request)); !s.ok()) return s;
  if (!request->error().empty()) {
    return ToGrpc(coordinator_
                      ->ReportFailure(request->worker_id(), request->job_id(),
                                      request->attempt(), request->error(), request->permanent())
                      .status());
  }
  const std::string& sha = request->result().checkpoint_sha256();
  if (!sha.empty() && !checkpoints_->Has(sha)) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("the result names checkpoint ", sha,
                                     ", which was never uploaded: UploadCheckpoint it first"));
  }
  absl::StatusOr<JobReport> report = coordinator_->ReportResult(
      request->worker_id(), request->job_id(), request->attempt(), request->result());
  if (!report.ok()) return ToGrpc(report.status());
  response->set_already_recorded(report->already_recorded);
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::ReleaseJob(grpc::ServerContext* context,
                                           const headevo::v1::ReleaseJobRequest* request,
                                           headevo::v1::ReleaseJobResponse* /*response*/) {
  if (grpc::Status s = Admit(*context, options_.token, CheckReleaseJob(*request)); !s.ok()) return s;
  return ToGrpc(coordinator_->ReleaseJob(request->worker_id(), request->job_id(),
                                         request->attempt(), request->reason()));
}

grpc::Status WorkerServiceImpl::HasCheckpoint(grpc::ServerContext* context,
                                              const headevo::v1::HasCheckpointRequest* request,
                                              headevo::v1::HasCheckpointResponse* response) {
  if (grpc::Status s = Admit(*context, options_.token, CheckHasCheckpoint(*request)); !s.ok()) return s;
  response->set_present(checkpoints_->Has(request->sha256()));
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::UploadCheckpoint(
    grpc::ServerContext* context, grpc::ServerReader<headevo::v1::UploadCheckpointRequest>* reader,
    headevo::v1::UploadCheckpointResponse* response) {
  if (grpc::Status auth = CheckBearerToken(*context, options_.token); !auth.ok()) return auth;
  headevo::v1::UploadCheckpointRequest message;
  if (!reader->Read(&message)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "UploadCheckpoint: the stream carried no message");
  }
  if (absl::Status s = CheckUploadHeader(message, options_.max_checkpoint_bytes); !s.ok()) {
    return ToGrpc(s);
  }
  const std::string sha = message.sha256();
  if (checkpoints_->Has(sha)) {
    // Drain what the client sends; the bytes are already here.
    while (reader->Read(&message)) {
    }
    response->set_already_present(true);
    absl::StatusOr<int64_t> size = checkpoints_->SizeOf(sha);
    response->set_bytes(size.ok() ? *size : 0);
    return grpc::Status::OK;
  }
  absl::StatusOr<std::unique_ptr<CheckpointUpload>> upload =
      checkpoints_->BeginUpload(sha, message.total_bytes());
  if (!upload.ok()) return ToGrpc(upload.status());
  do {
    if (!message.sha256().empty() && message.sha256() != sha) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "UploadCheckpoint: a later message names another sha256");
    }
    if (absl::Status s = (*upload)->Append(message.data()); !s.ok()) return ToGrpc(s);
  } while (reader->Read(&message));
  absl::StatusOr<int64_t> written = (*upload)->Finish();
  if (!written.ok()) return ToGrpc(written.status());
  response->set_bytes(*written);
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::DownloadCheckpoint(
    grpc::ServerContext* context, const headevo::v1::DownloadCheckpointRequest* request,
    grpc::ServerWriter<headevo::v1::DownloadCheckpointResponse>* writer) {
  if (grpc::Status s = Admit(*context, options_.token, CheckDownload(*request)); !s.ok()) return s;
  // Bytes the disk damaged since the upload are DATA_LOSS here (and the file is quarantined),
  // never streamed to a worker to train from.
  if (absl::Status verified = checkpoints_->Verify(request->sha256()); !verified.ok()) {
    return ToGrpc(verified);
  }
  absl::StatusOr<int64_t> size = checkpoints_->SizeOf(request->sha256());
  if (!size.ok()) return ToGrpc(size.status());
  std::ifstream in(checkpoints_->PathOf(request->sha256()), std::ios::binary);
  if (!in) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("checkpoint ", request->sha256(), " was just collected"));
  }
  std::string buffer(static_cast<size_t>(options_.chunk_bytes), '\0');
  bool first = true;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize n = in.gcount();
    if (n <= 0 && !first) break;
    headevo::v1::DownloadCheckpointResponse chunk;
    if (first) chunk.set_total_bytes(*size);
    chunk.set_data(buffer.data(), static_cast<size_t>(n));
    first = false;
    if (!writer->Write(chunk)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "the worker stopped reading");
    }
  }
  return grpc::Status::OK;
}

}  // namespace headevo::server
