// The coordinator under test, in this process, and the temp directory that holds its files.
#ifndef HEADEVO_BENCH_COORDINATOR_IN_PROCESS_COORDINATOR_H_
#define HEADEVO_BENCH_COORDINATOR_IN_PROCESS_COORDINATOR_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "bench/coordinator/flags.h"
#include "bench/coordinator/timed_store.h"
#include "server/engine/checkpoint_store.h"
#include "server/engine/coordinator.h"
#include "server/rpc/grpc_server.h"

namespace headevo::bench_coordinator {

// A fresh temp directory, removed (with everything in it) when this is destroyed unless kept.
class TempDir {
 public:
  // Unavailable when no directory can be made under the system's temp directory.
  static absl::StatusOr<std::unique_ptr<TempDir>> Create(bool keep);
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  TempDir(std::string path, bool keep) : path_(std::move(path)), keep_(keep) {}
  const std::string path_;
  const bool keep_;
};

// What `headevo serve` runs, in this process: store, checkpoints, coordinator, gRPC server,
// and the housekeeping thread that expires leases every second. Members go in reverse order.
class InProcessCoordinator {
 public:
  // Opens the store (with flags.durability) and checkpoints under `dir`, which must outlive
  // the coordinator, and serves on 127.0.0.1 at a free port.
  static absl::StatusOr<std::unique_ptr<InProcessCoordinator>> Start(const std::string& dir,
                                                                     const Flags& flags);
  // Stops housekeeping, then shuts the server down (5 s deadline).
  ~InProcessCoordinator();

  std::string address() const;
  const TimedStore& store() const { return *store_; }

 private:
  InProcessCoordinator() = default;

  void Housekeeping();

  std::unique_ptr<TimedStore> store_;
  std::unique_ptr<storage::Store> reader_;  // as `headevo serve`, unless reads_under_lock
  std::unique_ptr<server::CheckpointStore> checkpoints_;
  std::unique_ptr<server::Coordinator> coordinator_;
  std::unique_ptr<server::CoordinatorServer> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread housekeeping_;
};

}  // namespace headevo::bench_coordinator

#endif  // HEADEVO_BENCH_COORDINATOR_IN_PROCESS_COORDINATOR_H_
