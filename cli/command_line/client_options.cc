#include "cli/command_line/client_options.h"

namespace headevo::cli {

void AddClientFlags(CLI::App* command, ClientFlags& flags, bool offline) {
  command->add_option("--coordinator", flags.coordinator, "The coordinator's HOST:PORT")
      ->capture_default_str();
  if (offline) {
    command->add_option("--db", flags.db_path,
                        "Read this database file directly (read-only; no coordinator needed)");
  }
  command->add_option("--tls-ca", flags.tls_ca_file,
                      "PEM of the CA that signed the coordinator's certificate (turns TLS on)");
  command->add_option("--tls-cert", flags.tls_cert_file, "Client certificate (PEM), for mTLS");
  command->add_option("--tls-key", flags.tls_key_file, "Client key (PEM), for mTLS");
  command->add_option("--tls-server-name", flags.tls_server_name,
                      "Verify the coordinator's certificate for this name instead of the host");
  command->add_option("--token-file", flags.token_file,
                      "File holding the bearer token (else $HEADEVO_TOKEN)");
  command->add_option("--timeout", flags.timeout_seconds, "Deadline of each call, in seconds")
      ->capture_default_str();
}

}  // namespace headevo::cli
