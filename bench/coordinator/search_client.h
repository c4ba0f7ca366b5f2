// The SearchService calls the bench makes (create its search, read its counts), each on its own
// connection, and the conversion of gRPC errors to absl::Status.
#ifndef HEADEVO_BENCH_COORDINATOR_SEARCH_CLIENT_H_
#define HEADEVO_BENCH_COORDINATOR_SEARCH_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/coordinator/flags.h"
#include "headevo/v1/search_service.grpc.pb.h"

namespace headevo::bench_coordinator {

// Each its own connection: channels to one address would otherwise share one subchannel.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address);

// OK for an OK status; otherwise the same code, the message prefixed by `rpc`.
absl::Status FromGrpc(const char* rpc, const grpc::Status& s);

// Creates the bench's steady-state search (SearchConfig) and returns its id.
absl::StatusOr<int64_t> CreateSearch(const std::string& address, const Flags& flags);

absl::StatusOr<v1::SearchSummary> GetSearch(const std::string& address, int64_t search_id);

// Asks for the search's summary every `every_ms` from its own thread (its own connection), as a
// dashboard polls, until Stop; for 0 it does nothing. A failed call ends the polling and is
// printed on stderr.
class StatusPoller {
 public:
  StatusPoller(std::string address, int64_t search_id, int64_t every_ms);
  ~StatusPoller() { Stop(); }
  // Stops (idempotent) and returns each call's latency in ms.
  std::vector<double> Stop();

 private:
  void Poll();

  const std::string address_;
  const int64_t search_id_;
  const int64_t every_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;     // GUARDED_BY(mu_)
  std::vector<double> ms_;    // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace headevo::bench_coordinator

#endif  // HEADEVO_BENCH_COORDINATOR_SEARCH_CLIENT_H_
