// `headevo probe`: asks a gRPC health service whether a server is SERVING (the standard
// grpc.health.v1 check), for container health checks, scripts and people. Exit code 0 when it
// is, 1 when it answers otherwise or cannot be reached, 2 for bad flags.
#ifndef HEADEVO_CLI_PROBE_COMMAND_H_
#define HEADEVO_CLI_PROBE_COMMAND_H_

#include <string>

namespace headevo::cli {

struct ProbeFlags {
  std::string address = "127.0.0.1:8081";
  std::string service;  // "": the server as a whole (liveness); "headevo.ready": readiness
  double timeout_seconds = 5;
  std::string tls_ca_file;  // for a TLS server (the coordinator's main port)
  std::string tls_server_name;
  std::string token_file;  // or $HEADEVO_TOKEN
};

int ProbeCommand(const ProbeFlags& flags);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_PROBE_COMMAND_H_
