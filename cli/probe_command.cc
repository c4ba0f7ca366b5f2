#include "cli/probe_command.h"

#include <cstdio>
#include <iostream>

#include "worker/coordinator_channel.h"
#include "worker/health_probe.h"

namespace headevo::cli {

int ProbeCommand(const ProbeFlags& flags) {
  if (flags.timeout_seconds <= 0) {
    std::cerr << "headevo probe: --timeout must be > 0\n";
    return 2;
  }
  worker::ChannelOptions channel;
  channel.address = flags.address;
  channel.tls_ca_file = flags.tls_ca_file;
  channel.tls_server_name = flags.tls_server_name;
  absl::StatusOr<std::string> token = worker::TokenFromFileOrEnvironment(flags.token_file);
  if (!token.ok()) {
    std::cerr << "headevo probe: " << token.status().message() << "\n";
    return 2;
  }
  channel.token = *token;
  absl::StatusOr<worker::ServingStatus> status = worker::ProbeHealth(
      channel, flags.service, static_cast<int64_t>(flags.timeout_seconds * 1000));
  if (!status.ok()) {
    std::cerr << "headevo probe: " << status.status().message() << "\n";
    return 1;
  }
  std::printf("%s\n", worker::ServingStatusName(*status));
  return *status == worker::ServingStatus::kServing ? 0 : 1;
}

}  // namespace headevo::cli
