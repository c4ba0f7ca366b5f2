#include "cli/serve_command.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "server/checkpoint_store.h"
#include "server/coordinator.h"
#include "server/grpc_server.h"
#include "server/health_endpoint.h"
#include "server/metrics_exporter.h"
#include "storage/store.h"
#include "worker/coordinator_channel.h"

namespace headevo::cli {
namespace {

int Fail(int code, const std::string& message) {
  std::cerr << "headevo serve: " << message << "\n";
  return code;
}

}  // namespace

int ServeCommand(const ServeFlags& flags) {
  if (flags.lease_seconds <= 0 || flags.max_attempts < 1 || flags.keep_best < 0 ||
      flags.gc_seconds <= 0) {
    return Fail(2, "--lease-seconds and --gc-seconds must be > 0, --max-attempts >= 1, "
                   "--keep-best >= 0");
  }
  absl::StatusOr<std::string> token = worker::TokenFromFileOrEnvironment(flags.token_file);
  if (!token.ok()) return Fail(2, std::string(token.status().message()));

  // Signals are taken by a thread of our own (sigwait), so block them before any thread
  // starts: every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<storage::Store>> store = storage::Store::Open(flags.db_path);
  if (!store.ok()) {
    return Fail(1, absl::StrCat("cannot open database '", flags.db_path,
                                "': ", store.status().message()));
  }
  const std::string checkpoint_dir =
      flags.checkpoint_dir.empty() ? flags.db_path + ".checkpoints" : flags.checkpoint_dir;
  absl::StatusOr<std::unique_ptr<server::CheckpointStore>> checkpoints =
      server::CheckpointStore::Open(checkpoint_dir);
  if (!checkpoints.ok()) return Fail(1, std::string(checkpoints.status().message()));

  server::CoordinatorOptions coordinator_options;
  coordinator_options.lease_ms = static_cast<int64_t>(flags.lease_seconds * 1000);
  coordinator_options.max_attempts = flags.max_attempts;
  coordinator_options.keep_best_checkpoints = flags.keep_best;
  coordinator_options.clock = server::SystemClockMs;
  absl::StatusOr<std::unique_ptr<server::Coordinator>> coordinator =
      server::Coordinator::Create(store->get(), coordinator_options);
  if (!coordinator.ok()) return Fail(1, std::string(coordinator.status().message()));

  server::ServerOptions server_options;
  server_options.listen = flags.listen;
  server_options.tls_cert_file = flags.tls_cert_file;
  server_options.tls_key_file = flags.tls_key_file;
  server_options.client_ca_file = flags.client_ca_file;
  server_options.token = *token;
  server_options.insecure = flags.insecure;
  absl::StatusOr<std::unique_ptr<server::CoordinatorServer>> server =
      server::CoordinatorServer::Start(coordinator->get(), checkpoints->get(), server_options);
  if (!server.ok()) {
    return Fail(server.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1,
                std::string(server.status().message()));
  }
  // Probes and metrics start after the server, so "ready" means workers can connect.
  absl::StatusOr<std::unique_ptr<server::HealthEndpoint>> started_health =
      server::StartHealthEndpointIfAsked(flags.health_listen);
  if (!started_health.ok()) return Fail(1, std::string(started_health.status().message()));
  std::unique_ptr<server::HealthEndpoint> health = *std::move(started_health);
  if (health) health->SetReady(true);
  std::unique_ptr<server::MetricsExporter> metrics;
  if (!flags.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<server::MetricsExporter>> started =
        server::MetricsExporter::Start(coordinator->get(), flags.metrics_listen);
    if (!started.ok()) {
      return Fail(started.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1,
                  std::string(started.status().message()));
    }
    metrics = *std::move(started);
  }
  absl::StatusOr<std::vector<headevo::v1::SearchSummary>> searches =
      (*coordinator)->ListSummaries();
  int running = 0;
  if (searches.ok()) {
    for (const auto& s : *searches) running += s.state() == headevo::v1::SEARCH_STATE_RUNNING;
  }
  const std::string host = flags.listen.substr(0, flags.listen.rfind(':'));
  std::printf("headevo serve: listening on %s:%d (%s%s), database %s, checkpoints in %s, "
              "%d running search(es) resumed\n",
              host.c_str(), (*server)->port(),
              flags.tls_cert_file.empty() ? "plaintext" : "TLS",
              token->empty() ? "" : ", bearer token required", flags.db_path.c_str(),
              checkpoint_dir.c_str(), running);
  if (health) std::printf("headevo serve: health checks on port %d\n", health->port());
  if (metrics) {
    std::printf("headevo serve: metrics on http://%s:%d/metrics\n",
                flags.metrics_listen.substr(0, flags.metrics_listen.rfind(':')).c_str(),
                metrics->port());
  }
  std::fflush(stdout);

  // Housekeeping: dead workers' leases every second, checkpoints every gc_seconds.
  std::atomic<bool> stopping{false};
  std::thread housekeeping([&] {
    auto next_gc = std::chrono::steady_clock::now();
    while (!stopping.load()) {
      // A coordinator stuck on its lock stops beating, and a liveness probe restarts it.
      if (health) health->Beat();
      if (absl::Status s = (*coordinator)->ExpireLeases(); !s.ok()) {
        std::cerr << "headevo serve: expiring leases: " << s << "\n";
      }
      if (std::chrono::steady_clock::now() >= next_gc) {
        next_gc += std::chrono::milliseconds(static_cast<int64_t>(flags.gc_seconds * 1000));
        absl::StatusOr<std::vector<std::string>> keep = (*coordinator)->CheckpointsToKeep();
        if (keep.ok()) {
          // A checkpoint younger than a lease may belong to a result not reported yet.
          absl::StatusOr<int> removed = (*checkpoints)->Collect(
              std::set<std::string>(keep->begin(), keep->end()),
              coordinator_options.lease_ms * 2);
          if (removed.ok() && *removed > 0) {
            std::printf("headevo serve: collected %d checkpoint(s) no candidate needs\n",
                        *removed);
            std::fflush(stdout);
          }
        }
      }
      for (int i = 0; i < 10 && !stopping.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  });

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::printf("headevo serve: %s: finishing calls in flight and stopping\n",
              signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  std::fflush(stdout);
  stopping = true;
  if (health) health->SetReady(false);
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  (*server)->Wait();
  housekeeping.join();
  std::printf("headevo serve: stopped cleanly\n");
  return 0;
}

}  // namespace headevo::cli
