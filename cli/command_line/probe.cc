// `headevo probe`: flags and help.
#include <memory>

#include "cli/command_line/registrations.h"
#include "cli/probe_command.h"

namespace headevo::cli {

void RegisterProbe(CommandTable& commands) {
  auto flags = std::make_shared<ProbeFlags>();
  CLI::App* probe = commands.Add(
      "probe",
      "Ask a gRPC health service (grpc.health.v1) whether a server is SERVING: a coordinator's\n"
      "or worker's --health-listen port, or the coordinator's own port. Prints the status;\n"
      "exit code 0 when SERVING, 1 otherwise. For container health checks and scripts.\n\n"
      "Example:  headevo probe --address 127.0.0.1:8081 --service headevo.ready",
      [flags] { return ProbeCommand(*flags); });
  probe->add_option("--address", flags->address, "The server's HOST:PORT")->capture_default_str();
  probe->add_option("--service", flags->service,
                    "\"\" (default): alive; \"headevo.ready\": ready (see serve/worker "
                    "--health-listen)");
  probe->add_option("--timeout", flags->timeout_seconds, "Seconds to wait for the answer")
      ->capture_default_str();
  probe->add_option("--tls-ca", flags->tls_ca_file, "CA PEM, for a TLS server");
  probe->add_option("--tls-server-name", flags->tls_server_name,
                    "Verify the server's certificate for this name");
  probe->add_option("--token-file", flags->token_file, "Bearer token file (else $HEADEVO_TOKEN)");
}

}  // namespace headevo::cli
