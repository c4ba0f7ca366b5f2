// `headevo worker`: flags and help.
#include <memory>

#include "cli/command_line/registrations.h"
#include "cli/worker_command.h"

namespace headevo::cli {

void RegisterWorker(CommandTable& commands) {
  auto flags = std::make_shared<WorkerFlags>();
  CLI::App* worker = commands.Add(
      "worker",
      "Train candidates for a coordinator: lease a job, fetch the parent's checkpoint if\n"
      "needed, train on the device, upload the checkpoint, report, repeat. Survives coordinator\n"
      "restarts (it retries). SIGTERM hands the running job back at once.\n\n"
      "Example:  headevo worker --coordinator 10.0.0.5:50051 --device cuda:0 --tls-ca ca.pem "
      "--token-file token",
      [flags] { return WorkerCommand(*flags); });
  worker->add_option("--coordinator", flags->coordinator, "The coordinator's HOST:PORT")
      ->capture_default_str();
  worker->add_option("--device", flags->device, "cpu or cuda[:i]")->capture_default_str();
  worker->add_option("--threads", flags->threads, "CPU threads for training (0: default)")
      ->check(CLI::NonNegativeNumber);
  worker->add_option("--checkpoints", flags->checkpoint_dir,
                     "Local checkpoint cache (default: ./headevo-worker-PID.checkpoints)");
  worker->add_option("--tls-ca", flags->tls_ca_file,
                     "PEM of the CA that signed the coordinator's certificate (turns TLS on)");
  worker->add_option("--tls-cert", flags->tls_cert_file, "Client certificate, for mTLS");
  worker->add_option("--tls-key", flags->tls_key_file, "Client key, for mTLS");
  worker->add_option("--tls-server-name", flags->tls_server_name,
                     "Verify the coordinator's certificate for this name");
  worker->add_option("--token-file", flags->token_file,
                     "File holding the bearer token (else $HEADEVO_TOKEN)");
  worker->add_option("--name", flags->name, "How the coordinator lists this worker");
  worker->add_option("--max-jobs", flags->max_jobs, "Exit after this many jobs (0: never)");
  worker->add_option("--exit-when-idle", flags->exit_when_idle_seconds,
                     "Exit after this many seconds without a job (0: never)");
  worker->add_option("--health-listen", flags->health_listen,
                     "HOST:PORT for a plaintext gRPC health service for probes (service \"\": "
                     "live, \"headevo.ready\": registered with the coordinator; off when empty)");
  worker->add_flag("-q,--quiet", flags->quiet, "Print only errors and the final count");
}

}  // namespace headevo::cli
