#include "cli/run_command.h"

#include <chrono>
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/exported_genomes.h"
#include "cli/summary.h"
#include "server/config/search_config.h"
#include "server/embedded/search_driver.h"
#include "server/http/dashboard_server.h"
#include "storage/store.h"
#include "worker/torch_evaluator.h"

namespace headevo::cli {
namespace {

class PrintingListener : public server::SearchListener {
 public:
  PrintingListener(bool quiet, server::DashboardOptions dashboard)
      : quiet_(quiet), dashboard_options_(std::move(dashboard)) {}

  void OnCoordinatorStarted(server::Coordinator* coordinator) override {
    if (dashboard_options_.listen.empty()) return;
    absl::StatusOr<std::unique_ptr<server::DashboardServer>> dashboard =
        server::DashboardServer::Start(coordinator, dashboard_options_);
    if (!dashboard.ok()) {
      // Checked before the search started (Validate); what is left is a port taken since.
      std::cerr << "headevo run: no dashboard: " << dashboard.status().message() << "\n";
      return;
    }
    dashboard_ = *std::move(dashboard);
    std::printf("headevo run: dashboard on %s/\n", dashboard_->url().c_str());
    std::fflush(stdout);
  }
  void OnCoordinatorStopping() override { dashboard_.reset(); }

  void OnSearchStarted(int64_t search_id, int total_candidates) override {
    std::printf("search %lld: %d candidates to evaluate\n", static_cast<long long>(search_id),
                total_candidates);
    std::fflush(stdout);
  }
  void OnCandidateFinished(const server::CandidateProgress& progress) override {
    if (quiet_) return;
    std::printf("%s\n", FormatProgressLine(progress).c_str());
    std::fflush(stdout);
  }
  void OnBaselineStarted(const char* what) override {
    if (quiet_) return;
    std::printf("training the %s baseline...\n", what);
    std::fflush(stdout);
  }

 private:
  bool quiet_;
  server::DashboardOptions dashboard_options_;
  std::unique_ptr<server::DashboardServer> dashboard_;
};

int Fail(int code, const std::string& message) {
  std::cerr << "headevo: " << message << "\n";
  return code;
}

}  // namespace

int RunCommand(const RunFlags& flags) {
  const auto start = std::chrono::steady_clock::now();

  std::string config_text;
  absl::StatusOr<search::SearchOptions> options =
      server::LoadSearchConfigFile(flags.config_path, &config_text);
  if (!options.ok()) return Fail(2, std::string(options.status().message()));

  // Flags are checked before the database is touched: a typo must not create a file.
  worker::TorchEvaluatorOptions worker_options;
  worker_options.device = flags.device;
  worker_options.num_threads = flags.threads;
  worker_options.checkpoint_dir = flags.checkpoint_dir;
  if (worker_options.checkpoint_dir.empty() &&
      (options->inherit_weights || options->fidelity.enabled)) {
    worker_options.checkpoint_dir = flags.db_path + ".checkpoints";
  }
  server::DashboardOptions dashboard;
  dashboard.listen = flags.http_listen;
  dashboard.assets_dir = flags.http_assets;
  dashboard.insecure = flags.insecure;
  if (!flags.http_listen.empty()) {
    if (absl::Status valid = dashboard.Validate(); !valid.ok()) {
      return Fail(2, std::string(valid.message()));
    }
  }
  std::vector<headevo::v1::Genome> start_genomes;
  if (!flags.start_from.empty()) {
    absl::StatusOr<std::vector<headevo::v1::Genome>> genomes = ReadExportedGenomes(flags.start_from);
    if (!genomes.ok()) return Fail(2, std::string(genomes.status().message()));
    start_genomes = *std::move(genomes);
  }
  absl::StatusOr<std::unique_ptr<worker::TorchEvaluator>> evaluator =
      worker::TorchEvaluator::Create(worker_options);
  if (!evaluator.ok()) return Fail(2, std::string(evaluator.status().message()));

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

  absl::StatusOr<std::unique_ptr<storage::Store>> reader =
      storage::Store::OpenReader(flags.db_path);
  if (!reader.ok()) {
    return Fail(1, absl::StrCat("cannot open database '", flags.db_path,
                                "' for reading: ", reader.status().message()));
  }

  std::printf("headevo run %s: database %s, device %s%s\n", flags.config_path.c_str(),
              flags.db_path.c_str(), flags.device.c_str(),
              worker_options.checkpoint_dir.empty()
                  ? ""
                  : absl::StrCat(", checkpoints in ", worker_options.checkpoint_dir).c_str());
  PrintingListener listener(flags.quiet, std::move(dashboard));
  server::SearchDriver driver(store->get(), evaluator->get(), &listener);
  driver.set_initial_genomes(std::move(start_genomes));
  driver.set_reader(reader->get());
  absl::StatusOr<server::SearchOutcome> outcome = driver.Run(*options, config_text);
  if (!outcome.ok()) return Fail(1, std::string(outcome.status().message()));

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s", FormatSummary(*options, *outcome, seconds).c_str());
  return 0;
}

}  // namespace headevo::cli
