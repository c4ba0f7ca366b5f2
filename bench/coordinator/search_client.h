// The SearchService calls the bench makes (create its search, read its counts), each on its own
// connection, and the conversion of gRPC errors to absl::Status.
#ifndef HEADEVO_BENCH_COORDINATOR_SEARCH_CLIENT_H_
#define HEADEVO_BENCH_COORDINATOR_SEARCH_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>

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

}  // namespace headevo::bench_coordinator

#endif  // HEADEVO_BENCH_COORDINATOR_SEARCH_CLIENT_H_
