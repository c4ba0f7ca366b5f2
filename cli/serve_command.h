// `headevo serve`: the coordinator daemon. Opens (or creates) the database, resumes every
// running search, serves WorkerService and SearchService, runs server::Housekeeping (expires dead
// workers' leases, collects checkpoints nothing needs), and on SIGTERM or SIGINT stops accepting
// calls, lets calls in flight finish, and exits (workers keep their jobs; their reports wait for
// the next start). Only wiring lives here; the behaviour is in server/.
#ifndef HEADEVO_CLI_SERVE_COMMAND_H_
#define HEADEVO_CLI_SERVE_COMMAND_H_

#include <string>

namespace headevo::cli {

struct ServeFlags {
  std::string listen = "127.0.0.1:50051";
  std::string db_path = "headevo.db";
  std::string checkpoint_dir;  // default: DB.checkpoints
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string client_ca_file;
  std::string token_file;  // or $HEADEVO_TOKEN
  bool insecure = false;
  double lease_seconds = 60.0;
  int max_attempts = 3;
  int keep_best = 5;
  double gc_seconds = 60.0;  // how often checkpoints are collected
  std::string metrics_listen;  // Prometheus /metrics; empty: none
  std::string health_listen;   // plaintext gRPC health for probes; empty: none
  // The dashboard (server/http/), with the same TLS, token and --insecure as gRPC; empty: none.
  std::string http_listen;
  std::string http_assets = "/usr/share/javascript";
};

// Returns the process exit code: 0 after a clean shutdown, 1 for a runtime error, 2 for bad
// flags. Prints the port it listens on ("listening on 127.0.0.1:PORT"), which tests read.
int ServeCommand(const ServeFlags& flags);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_SERVE_COMMAND_H_
