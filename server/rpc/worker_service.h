// headevo.v1.WorkerService on a Coordinator and a CheckpointStore: every request is
// authenticated (bearer token), checked (server/checks/request_checks.h), then handed to the
// coordinator; see proto/headevo/v1/worker_service.proto for the protocol and status codes.
#ifndef HEADEVO_SERVER_RPC_WORKER_SERVICE_H_
#define HEADEVO_SERVER_RPC_WORKER_SERVICE_H_

#include <cstdint>
#include <string>

#include "headevo/v1/worker_service.grpc.pb.h"
#include "server/engine/checkpoint_store.h"
#include "server/engine/coordinator.h"

namespace headevo::server {

struct WorkerServiceOptions {
  std::string token;                 // empty: no token required
  int64_t max_lease_wait_ms = 30'000;  // the longest a LeaseJob long poll waits
  int64_t max_checkpoint_bytes = int64_t{8} << 30;
  int chunk_bytes = 1 << 20;         // DownloadCheckpoint message size
};

class WorkerServiceImpl final : public headevo::v1::WorkerService::Service {
 public:
  // Neither pointer is owned; both must outlive the service.
  WorkerServiceImpl(Coordinator* coordinator, CheckpointStore* checkpoints,
                    WorkerServiceOptions options)
      : coordinator_(coordinator), checkpoints_(checkpoints), options_(std::move(options)) {}

  grpc::Status Register(grpc::ServerContext* context, const headevo::v1::RegisterRequest* request,
                        headevo::v1::RegisterResponse* response) override;
  grpc::Status LeaseJob(grpc::ServerContext* context, const headevo::v1::LeaseJobRequest* request,
                        headevo::v1::LeaseJobResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context,
                         const headevo::v1::HeartbeatRequest* request,
                         headevo::v1::HeartbeatResponse* response) override;
  grpc::Status ReportResult(grpc::ServerContext* context,
                            const headevo::v1::ReportResultRequest* request,
                            headevo::v1::ReportResultResponse* response) override;
  grpc::Status ReleaseJob(grpc::ServerContext* context,
                          const headevo::v1::ReleaseJobRequest* request,
                          headevo::v1::ReleaseJobResponse* response) override;
  grpc::Status HasCheckpoint(grpc::ServerContext* context,
                             const headevo::v1::HasCheckpointRequest* request,
                             headevo::v1::HasCheckpointResponse* response) override;
  grpc::Status UploadCheckpoint(
      grpc::ServerContext* context,
      grpc::ServerReader<headevo::v1::UploadCheckpointRequest>* reader,
      headevo::v1::UploadCheckpointResponse* response) override;
  grpc::Status DownloadCheckpoint(
      grpc::ServerContext* context, const headevo::v1::DownloadCheckpointRequest* request,
      grpc::ServerWriter<headevo::v1::DownloadCheckpointResponse>* writer) override;

 private:
  Coordinator* coordinator_;
  CheckpointStore* checkpoints_;
  WorkerServiceOptions options_;
};

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_RPC_WORKER_SERVICE_H_
