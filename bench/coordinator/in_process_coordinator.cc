#include "bench/coordinator/in_process_coordinator.h"

#include <stdlib.h>  // mkdtemp

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace headevo::bench_coordinator {

namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<TempDir>> TempDir::Create(bool keep) {
  std::error_code ec;
  std::string dir = (fs::temp_directory_path(ec) / "bench_coordinator.XXXXXX").string();
  if (ec || mkdtemp(dir.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot create a directory like ", dir));
  }
  return std::unique_ptr<TempDir>(new TempDir(dir, keep));
}

TempDir::~TempDir() {
  if (keep_) {
    std::printf("kept %s\n", path_.c_str());
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

absl::StatusOr<std::unique_ptr<InProcessCoordinator>> InProcessCoordinator::Start(
    const std::string& dir, const Flags& flags) {
  std::unique_ptr<InProcessCoordinator> c(new InProcessCoordinator());
  storage::StoreOptions store_options;
  store_options.durability =
      flags.durability == "normal" ? storage::StoreOptions::Durability::kNormal
      : flags.durability == "full" ? storage::StoreOptions::Durability::kFull
                                   : storage::StoreOptions::Durability::kGroup;
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      storage::Store::Open(dir + "/headevo.db", store_options);
  if (!store.ok()) return store.status();
  c->store_ = std::make_unique<TimedStore>(*std::move(store));
  server::CoordinatorOptions options;
  if (!flags.reads_under_lock) {
    absl::StatusOr<std::unique_ptr<storage::Store>> reader =
        storage::Store::OpenReader(dir + "/headevo.db");
    if (!reader.ok()) return reader.status();
    c->reader_ = *std::move(reader);
    options.reader = c->reader_.get();
  }
  absl::StatusOr<std::unique_ptr<server::CheckpointStore>> checkpoints =
      server::CheckpointStore::Open(dir + "/checkpoints");
  if (!checkpoints.ok()) return checkpoints.status();
  c->checkpoints_ = *std::move(checkpoints);
  absl::StatusOr<std::unique_ptr<server::Coordinator>> coordinator =
      server::Coordinator::Create(c->store_.get(), options);
  if (!coordinator.ok()) return coordinator.status();
  c->coordinator_ = *std::move(coordinator);
  server::ServerOptions server_options;
  server_options.listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<server::CoordinatorServer>> grpc_server =
      server::CoordinatorServer::Start(c->coordinator_.get(), c->checkpoints_.get(),
                                       server_options);
  if (!grpc_server.ok()) return grpc_server.status();
  c->server_ = *std::move(grpc_server);
  c->housekeeping_ = std::thread([raw = c.get()] { raw->Housekeeping(); });
  return c;
}

InProcessCoordinator::~InProcessCoordinator() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (housekeeping_.joinable()) housekeeping_.join();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_->Wait();
  }
}

std::string InProcessCoordinator::address() const {
  return absl::StrCat("127.0.0.1:", server_->port());
}

void InProcessCoordinator::Housekeeping() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
    lock.unlock();
    if (absl::Status s = coordinator_->ExpireLeases(); !s.ok()) {
      std::fprintf(stderr, "bench_coordinator: expiring leases: %s\n", s.ToString().c_str());
    }
    lock.lock();
  }
}

}  // namespace headevo::bench_coordinator
