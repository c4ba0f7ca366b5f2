// `headevo worker`: a training worker for a coordinator (worker/remote_worker.h). SIGTERM or
// SIGINT hands the running job back, stops its training before the next step, and returns
// once the training thread has ended (a normal exit, no thread left behind).
#ifndef HEADEVO_CLI_WORKER_COMMAND_H_
#define HEADEVO_CLI_WORKER_COMMAND_H_

#include <string>

namespace headevo::cli {

struct WorkerFlags {
  std::string coordinator = "127.0.0.1:50051";
  std::string device = "cpu";
  int threads = 0;
  std::string checkpoint_dir;  // default: ./headevo-worker-<pid>.checkpoints
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_server_name;
  std::string token_file;  // or $HEADEVO_TOKEN
  std::string name;
  int max_jobs = 0;
  double exit_when_idle_seconds = 0;
  std::string health_listen;  // plaintext gRPC health for probes; empty: none
  bool quiet = false;
};

int WorkerCommand(const WorkerFlags& flags);

}  // namespace headevo::cli

#endif  // HEADEVO_CLI_WORKER_COMMAND_H_
