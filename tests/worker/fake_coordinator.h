// A scripted WorkerService on 127.0.0.1 for tests of the remote worker: it hands out the
// jobs it is given, fails registration, reports and uploads on request (a coordinator
// restarting, or one whose disk is full), keeps checkpoints in memory, and records every call,
// so a test sees exactly what the worker said without the real coordinator or a database.
#ifndef HEADEVO_TESTS_WORKER_FAKE_COORDINATOR_H_
#define HEADEVO_TESTS_WORKER_FAKE_COORDINATOR_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "headevo/v1/worker_service.grpc.pb.h"

namespace headevo::worker::testing {

class FakeCoordinator final : public headevo::v1::WorkerService::Service {
 public:
  // Starts serving on an ephemeral port of 127.0.0.1 (plaintext, no token checked).
  FakeCoordinator() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakeCoordinator() override { server_->Shutdown(); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool started() const { return server_ != nullptr && port_ > 0; }

  // Script; set before the worker starts. Jobs are leased in order (job ids 1, 2, ...,
  // attempt 1); with none left a lease answers "no job" at once, after calling
  // on_empty_lease(wait_ms) (a test moves its fake clock there: the long poll's time).
  void AddJob(const headevo::v1::EvaluationRequest& request) { jobs_.push_back(request); }
  int unavailable_registers = 0;  // the first N Register calls answer UNAVAILABLE
  // The first N ReportResult / UploadCheckpoint calls answer RESOURCE_EXHAUSTED, as a
  // coordinator whose disk is full does (nothing is recorded or stored then).
  int exhausted_reports = 0;
  int exhausted_uploads = 0;
  // The next N UploadCheckpoint calls answer CANCELLED, as a coordinator stopped mid-call does.
  int cancelled_uploads = 0;
  // What DownloadCheckpoint answers instead of the bytes, when not OK (a coordinator that
  // found its copy damaged says DATA_LOSS).
  grpc::Status download_error = grpc::Status::OK;
  // A checkpoint the coordinator holds, as if uploaded; `bytes` need not hash to `sha256` (a
  // file the disk damaged).
  void PutCheckpoint(const std::string& sha256, const std::string& bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.checkpoints[sha256] = bytes;
  }
  int64_t heartbeat_interval_ms = 1'000;  // what Register asks of the worker
  std::function<void(int64_t wait_ms)> on_empty_lease;

  // What the worker did; read after it returned.
  struct Calls {
    int registers = 0;
    int leases = 0;
    int heartbeats = 0;
    int downloads = 0;
    int uploads = 0;            // UploadCheckpoint calls, refused ones included
    int refused_reports = 0;    // answered RESOURCE_EXHAUSTED
    std::vector<headevo::v1::ReleaseJobRequest> releases;
    std::vector<headevo::v1::ReportResultRequest> reports;  // every call, refused ones included
    std::map<std::string, std::string> checkpoints;          // sha256 -> bytes held
  };
  Calls calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

  grpc::Status Register(grpc::ServerContext*, const headevo::v1::RegisterRequest*,
                        headevo::v1::RegisterResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (calls_.registers++ < unavailable_registers) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "coordinator restarting");
    }
    response->set_worker_id(42);
    response->set_lease_ms(60'000);
    response->set_heartbeat_interval_ms(heartbeat_interval_ms);
    return grpc::Status::OK;
  }

  grpc::Status LeaseJob(grpc::ServerContext*, const headevo::v1::LeaseJobRequest* request,
                        headevo::v1::LeaseJobResponse* response) override {
    std::function<void(int64_t)> on_empty;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_.leases;
      if (!jobs_.empty()) {
        response->set_has_job(true);
        response->set_job_id(++last_job_id_);
        response->set_attempt(1);
        *response->mutable_request() = jobs_.front();
        jobs_.pop_front();
        return grpc::Status::OK;
      }
      on_empty = on_empty_lease;
    }
    if (on_empty) on_empty(request->wait_ms());
    return grpc::Status::OK;
  }

  grpc::Status Heartbeat(grpc::ServerContext*, const headevo::v1::HeartbeatRequest*,
                         headevo::v1::HeartbeatResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_.heartbeats;
    return grpc::Status::OK;
  }

  grpc::Status ReportResult(grpc::ServerContext*, const headevo::v1::ReportResultRequest* request,
                            headevo::v1::ReportResultResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.reports.push_back(*request);
    if (calls_.refused_reports < exhausted_reports) {
      ++calls_.refused_reports;
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "disk full writing /fake/headevo.db: free space on its filesystem "
                          "and a retry will record it");
    }
    return grpc::Status::OK;
  }

  grpc::Status ReleaseJob(grpc::ServerContext*, const headevo::v1::ReleaseJobRequest* request,
                          headevo::v1::ReleaseJobResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.releases.push_back(*request);
    return grpc::Status::OK;
  }

  grpc::Status HasCheckpoint(grpc::ServerContext*, const headevo::v1::HasCheckpointRequest* request,
                             headevo::v1::HasCheckpointResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    response->set_present(calls_.checkpoints.count(request->sha256()) > 0);
    return grpc::Status::OK;
  }

  grpc::Status UploadCheckpoint(grpc::ServerContext*,
                                grpc::ServerReader<headevo::v1::UploadCheckpointRequest>* reader,
                                headevo::v1::UploadCheckpointResponse* response) override {
    std::string sha256;
    std::string bytes;
    headevo::v1::UploadCheckpointRequest chunk;
    while (reader->Read(&chunk)) {
      if (sha256.empty()) sha256 = chunk.sha256();
      bytes += chunk.data();
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (calls_.uploads++ < exhausted_uploads) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "disk full writing /fake/ckpt/" + sha256 +
                              ".ckpt: free space on its filesystem and the worker's retry will "
                              "store it");
    }
    if (calls_.uploads <= exhausted_uploads + cancelled_uploads) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "CANCELLED");
    }
    calls_.checkpoints[sha256] = bytes;
    response->set_bytes(static_cast<int64_t>(bytes.size()));
    return grpc::Status::OK;
  }

  grpc::Status DownloadCheckpoint(
      grpc::ServerContext*, const headevo::v1::DownloadCheckpointRequest* request,
      grpc::ServerWriter<headevo::v1::DownloadCheckpointResponse>* writer) override {
    std::string bytes;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_.downloads;
      if (!download_error.ok()) return download_error;
      auto found = calls_.checkpoints.find(request->sha256());
      if (found == calls_.checkpoints.end()) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "no checkpoint " + request->sha256());
      }
      bytes = found->second;
    }
    headevo::v1::DownloadCheckpointResponse chunk;
    chunk.set_total_bytes(static_cast<int64_t>(bytes.size()));
    chunk.set_data(bytes);
    writer->Write(chunk);
    return grpc::Status::OK;
  }

 private:
  std::mutex mu_;
  std::deque<headevo::v1::EvaluationRequest> jobs_;
  int64_t last_job_id_ = 0;
  Calls calls_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;  // last: serves only once the members above exist
};

}  // namespace headevo::worker::testing

#endif  // HEADEVO_TESTS_WORKER_FAKE_COORDINATOR_H_
