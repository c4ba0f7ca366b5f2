// A scripted WorkerService on 127.0.0.1 for tests of the remote worker: it hands out the
// jobs it is given, fails registration on request, and records every call, so a test sees
// exactly what the worker said without the real coordinator or a database.
#ifndef HEADEVO_TESTS_WORKER_FAKE_COORDINATOR_H_
#define HEADEVO_TESTS_WORKER_FAKE_COORDINATOR_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <deque>
#include <functional>
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
  int64_t heartbeat_interval_ms = 1'000;  // what Register asks of the worker
  std::function<void(int64_t wait_ms)> on_empty_lease;

  // What the worker did; read after it returned.
  struct Calls {
    int registers = 0;
    int leases = 0;
    int heartbeats = 0;
    std::vector<headevo::v1::ReleaseJobRequest> releases;
    std::vector<headevo::v1::ReportResultRequest> reports;
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
    return grpc::Status::OK;
  }

  grpc::Status ReleaseJob(grpc::ServerContext*, const headevo::v1::ReleaseJobRequest* request,
                          headevo::v1::ReleaseJobResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.releases.push_back(*request);
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
