#include "cli/worker_command.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "server/ops/health_endpoint.h"
#include "worker/remote_worker.h"
#include "worker/torch_evaluator.h"

namespace headevo::cli {
namespace {

std::atomic<int> g_stop_signal{0};

extern "C" void OnStopSignal(int signal_number) { g_stop_signal.store(signal_number); }

int Fail(int code, const std::string& message) {
  std::cerr << "headevo worker: " << message << "\n";
  return code;
}

}  // namespace

int WorkerCommand(const WorkerFlags& flags) {
  absl::StatusOr<std::string> token = worker::TokenFromFileOrEnvironment(flags.token_file);
  if (!token.ok()) return Fail(2, std::string(token.status().message()));
  worker::TorchEvaluatorOptions evaluator_options;
  evaluator_options.device = flags.device;
  evaluator_options.num_threads = flags.threads;
  evaluator_options.checkpoint_dir =
      flags.checkpoint_dir.empty() ? absl::StrCat("headevo-worker-", getpid(), ".checkpoints")
                                   : flags.checkpoint_dir;
  absl::StatusOr<std::unique_ptr<worker::TorchEvaluator>> evaluator =
      worker::TorchEvaluator::Create(evaluator_options);
  if (!evaluator.ok()) return Fail(2, std::string(evaluator.status().message()));

  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  absl::StatusOr<std::unique_ptr<server::HealthEndpoint>> health =
      server::StartHealthEndpointIfAsked(flags.health_listen);
  if (!health.ok()) return Fail(2, std::string(health.status().message()));

  worker::RemoteWorkerOptions options;
  options.channel.address = flags.coordinator;
  options.channel.tls_ca_file = flags.tls_ca_file;
  options.channel.tls_cert_file = flags.tls_cert_file;
  options.channel.tls_key_file = flags.tls_key_file;
  options.channel.tls_server_name = flags.tls_server_name;
  options.channel.token = *token;
  options.device = flags.device;
  options.name = flags.name;
  options.checkpoint_dir = evaluator_options.checkpoint_dir;
  options.max_jobs = flags.max_jobs;
  options.exit_when_idle_ms = static_cast<int64_t>(flags.exit_when_idle_seconds * 1000);
  // The worker polls `stop` from its main loop (about every 100 ms): that is its pulse.
  options.stop = [health = health->get()] {
    if (health) health->Beat();
    return g_stop_signal.load() != 0;
  };
  options.on_connection = [health = health->get()](bool connected) {
    if (health) health->SetReady(connected);
  };
  const bool quiet = flags.quiet;
  options.log = [quiet](const std::string& line) {
    if (quiet) return;
    std::printf("headevo worker: %s\n", line.c_str());
    std::fflush(stdout);
  };
  std::printf("headevo worker: device %s, coordinator %s%s, checkpoint cache %s%s\n",
              flags.device.c_str(), flags.coordinator.c_str(),
              flags.tls_ca_file.empty() ? "" : " (TLS)", options.checkpoint_dir.c_str(),
              *health ? absl::StrCat(", health checks on port ", (*health)->port()).c_str()
                      : "");
  std::fflush(stdout);
  // The evaluator, owned here, outlives the call, as RunRemoteWorker requires.
  absl::StatusOr<worker::RemoteWorkerStats> stats =
      worker::RunRemoteWorker(options, evaluator->get());
  if (!stats.ok()) return Fail(1, std::string(stats.status().message()));
  std::printf("headevo worker: %d job(s): %d reported, %d failed, %d refused as stale, %d handed "
              "back\n",
              stats->jobs, stats->reported, stats->failed, stats->dropped, stats->handed_back);
  std::fflush(stdout);
  // RunRemoteWorker has joined its training thread: the evaluator may go now.
  return 0;
}

}  // namespace headevo::cli
