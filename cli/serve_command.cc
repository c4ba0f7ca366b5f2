#include "cli/serve_command.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/engine/checkpoint_store.h"
#include "server/engine/coordinator.h"
#include "server/http/dashboard_server.h"
#include "server/rpc/grpc_server.h"
#include "server/ops/health_endpoint.h"
#include "server/ops/housekeeping.h"
#include "server/ops/metrics_exporter.h"
#include "storage/store.h"
#include "worker/coordinator_channel.h"

namespace headevo::cli {
namespace {

int Fail(int code, const std::string& message) {
  std::cerr << "headevo serve: " << message << "\n";
  return code;
}

// Bad flags are exit code 2, everything else 1.
int FailWith(const absl::Status& status) {
  return Fail(status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1,
              std::string(status.message()));
}

// What serve runs, in the order it starts; members are destroyed in reverse, so housekeeping
// stops first and the store closes last.
struct Serving {
  std::string checkpoint_dir;
  int64_t lease_ms = 0;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<storage::Store> reader;  // queries, outside the coordinator's lock
  std::unique_ptr<server::CheckpointStore> checkpoints;
  std::unique_ptr<server::Coordinator> coordinator;
  std::unique_ptr<server::CoordinatorServer> server;
  std::unique_ptr<server::HealthEndpoint> health;
  std::unique_ptr<server::MetricsExporter> metrics;
  std::unique_ptr<server::DashboardServer> dashboard;
  std::unique_ptr<server::Housekeeping> housekeeping;
};

// SIGTERM and SIGINT are taken by sigwait in ServeCommand, so they are blocked before any
// thread starts: every thread inherits the mask.
sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// The database, the checkpoint directory and the coordinator on them. 0, or the exit code.
int OpenEngine(const ServeFlags& flags, Serving& s) {
  // Group commit: the coordinator answers only once what it wrote is on disk, and the
  // answers written meanwhile share one fsync (storage/group_sync.h).
  storage::StoreOptions store_options;
  store_options.durability = storage::StoreOptions::Durability::kGroup;
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      storage::Store::Open(flags.db_path, store_options);
  if (!store.ok()) {
    return Fail(
        1, absl::StrCat("cannot open database '", flags.db_path, "': ", store.status().message()));
  }
  s.store = *std::move(store);
  absl::StatusOr<std::unique_ptr<storage::Store>> reader =
      storage::Store::OpenReader(flags.db_path);
  if (!reader.ok()) {
    return Fail(1, absl::StrCat("cannot open database '", flags.db_path,
                                "' for reading: ", reader.status().message()));
  }
  s.reader = *std::move(reader);
  s.checkpoint_dir =
      flags.checkpoint_dir.empty() ? flags.db_path + ".checkpoints" : flags.checkpoint_dir;
  absl::StatusOr<std::unique_ptr<server::CheckpointStore>> checkpoints =
      server::CheckpointStore::Open(s.checkpoint_dir);
  if (!checkpoints.ok()) return Fail(1, std::string(checkpoints.status().message()));
  s.checkpoints = *std::move(checkpoints);

  server::CoordinatorOptions options;
  s.lease_ms = static_cast<int64_t>(flags.lease_seconds * 1000);
  options.lease_ms = s.lease_ms;
  options.max_attempts = flags.max_attempts;
  options.keep_best_checkpoints = flags.keep_best;
  options.clock = server::SystemClockMs;
  options.reader = s.reader.get();
  absl::StatusOr<std::unique_ptr<server::Coordinator>> coordinator =
      server::Coordinator::Create(s.store.get(), options);
  if (!coordinator.ok()) return Fail(1, std::string(coordinator.status().message()));
  s.coordinator = *std::move(coordinator);
  return 0;
}

// The gRPC server, then probes and metrics (after the server, so "ready" means workers can
// connect). 0, or the exit code.
int StartSurfaces(const ServeFlags& flags, const std::string& token, Serving& s) {
  server::ServerOptions options;
  options.listen = flags.listen;
  options.tls_cert_file = flags.tls_cert_file;
  options.tls_key_file = flags.tls_key_file;
  options.client_ca_file = flags.client_ca_file;
  options.token = token;
  options.insecure = flags.insecure;
  absl::StatusOr<std::unique_ptr<server::CoordinatorServer>> server =
      server::CoordinatorServer::Start(s.coordinator.get(), s.checkpoints.get(), options);
  if (!server.ok()) return FailWith(server.status());
  s.server = *std::move(server);

  absl::StatusOr<std::unique_ptr<server::HealthEndpoint>> health =
      server::StartHealthEndpointIfAsked(flags.health_listen);
  if (!health.ok()) return Fail(1, std::string(health.status().message()));
  s.health = *std::move(health);
  if (s.health) s.health->SetReady(true);
  if (!flags.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<server::MetricsExporter>> metrics =
        server::MetricsExporter::Start(s.coordinator.get(), flags.metrics_listen);
    if (!metrics.ok()) return FailWith(metrics.status());
    s.metrics = *std::move(metrics);
  }
  if (!flags.http_listen.empty()) {
    server::DashboardOptions dashboard;
    dashboard.listen = flags.http_listen;
    dashboard.tls_cert_file = flags.tls_cert_file;
    dashboard.tls_key_file = flags.tls_key_file;
    dashboard.token = token;
    dashboard.insecure = flags.insecure;
    dashboard.assets_dir = flags.http_assets;
    absl::StatusOr<std::unique_ptr<server::DashboardServer>> started =
        server::DashboardServer::Start(s.coordinator.get(), dashboard);
    if (!started.ok()) return FailWith(started.status());
    s.dashboard = *std::move(started);
  }
  return 0;
}

// The lines tests and operators read: where it listens, what it resumed, the extra ports.
void PrintStarted(const ServeFlags& flags, const std::string& token, const Serving& s) {
  absl::StatusOr<std::vector<headevo::v1::SearchSummary>> searches = s.coordinator->ListSummaries();
  int running = 0;
  if (searches.ok()) {
    for (const auto& summary : *searches) {
      running += summary.state() == headevo::v1::SEARCH_STATE_RUNNING;
    }
  }
  const std::string host = flags.listen.substr(0, flags.listen.rfind(':'));
  std::printf(
      "headevo serve: listening on %s:%d (%s%s), database %s, checkpoints in %s, "
      "%d running search(es) resumed\n",
      host.c_str(), s.server->port(), flags.tls_cert_file.empty() ? "plaintext" : "TLS",
      token.empty() ? "" : ", bearer token required", flags.db_path.c_str(),
      s.checkpoint_dir.c_str(), running);
  if (s.health) std::printf("headevo serve: health checks on port %d\n", s.health->port());
  if (s.metrics) {
    std::printf("headevo serve: metrics on http://%s:%d/metrics\n",
                flags.metrics_listen.substr(0, flags.metrics_listen.rfind(':')).c_str(),
                s.metrics->port());
  }
  if (s.dashboard) std::printf("headevo serve: dashboard on %s/\n", s.dashboard->url().c_str());
  std::fflush(stdout);
}

void LogRound(const server::HousekeepingRound& round) {
  if (!round.leases.ok()) std::cerr << "headevo serve: expiring leases: " << round.leases << "\n";
  if (!round.collected.has_value()) return;
  const absl::StatusOr<int>& removed = *round.collected;
  if (!removed.ok()) {
    std::cerr << "headevo serve: collecting checkpoints: " << removed.status() << "\n";
  } else if (*removed > 0) {
    std::printf("headevo serve: collected %d checkpoint(s) no candidate needs\n", *removed);
    std::fflush(stdout);
  }
}

// Dead workers' leases every second, checkpoints every --gc-seconds.
void StartHousekeeping(const ServeFlags& flags, Serving& s) {
  server::HousekeepingOptions options;
  options.expire_every_ms = 1'000;
  options.gc_every_ms = static_cast<int64_t>(flags.gc_seconds * 1000);
  // A checkpoint younger than a lease may belong to a result not reported yet.
  options.checkpoint_min_age_ms = s.lease_ms * 2;
  options.on_round = LogRound;
  s.housekeeping = std::make_unique<server::Housekeeping>(s.coordinator.get(), s.checkpoints.get(),
                                                          s.health.get(), std::move(options));
  s.housekeeping->Start();
}

}  // namespace

int ServeCommand(const ServeFlags& flags) {
  if (flags.lease_seconds <= 0 || flags.max_attempts < 1 || flags.keep_best < 0 ||
      flags.gc_seconds <= 0) {
    return Fail(2,
                "--lease-seconds and --gc-seconds must be > 0, --max-attempts >= 1, "
                "--keep-best >= 0");
  }
  absl::StatusOr<std::string> token = worker::TokenFromFileOrEnvironment(flags.token_file);
  if (!token.ok()) return Fail(2, std::string(token.status().message()));
  const sigset_t signals = BlockStopSignals();

  Serving s;
  if (int code = OpenEngine(flags, s); code != 0) return code;
  if (int code = StartSurfaces(flags, *token, s); code != 0) return code;
  PrintStarted(flags, *token, s);
  StartHousekeeping(flags, s);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::printf("headevo serve: %s: finishing calls in flight and stopping\n",
              signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  std::fflush(stdout);
  s.housekeeping->Stop();
  if (s.health) s.health->SetReady(false);
  s.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  s.server->Wait();
  std::printf("headevo serve: stopped cleanly\n");
  return 0;
}

}  // namespace headevo::cli
