// A client of the standard gRPC health service (grpc.health.v1.Health/Check), for
// `headevo probe`, container health checks and tests: asks whether a service of a server is
// SERVING. Debian ships no generated health stubs, so the two tiny messages are encoded with
// protobuf's wire-format primitives (HealthCheckRequest{string service = 1},
// HealthCheckResponse{enum status = 1}).
#ifndef HEADEVO_WORKER_HEALTH_PROBE_H_
#define HEADEVO_WORKER_HEALTH_PROBE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "worker/coordinator_channel.h"

namespace headevo::worker {

enum class ServingStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };

// The status the server reports for `service` ("" is the server as a whole). NotFound when the
// server knows no such service; Unavailable / DeadlineExceeded when it cannot be reached in
// timeout_ms; DataLoss for an answer that does not parse.
absl::StatusOr<ServingStatus> ProbeHealth(const ChannelOptions& channel,
                                          const std::string& service, int64_t timeout_ms);

const char* ServingStatusName(ServingStatus status);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_HEALTH_PROBE_H_
