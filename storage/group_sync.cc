#include "storage/group_sync.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"

namespace headevo::storage {
namespace {

absl::Status SyncError(const std::string& what, const std::string& path) {
  return absl::DataLossError(absl::StrCat(
      "group commit: ", what, " ", path, " failed: ", std::strerror(errno),
      "; the last transactions may not be on disk: restart the coordinator (SQLite recovers "
      "what the WAL holds) and let workers report again"));
}

}  // namespace

GroupSync::GroupSync(std::string wal_path) : wal_path_(std::move(wal_path)) {}

GroupSync::~GroupSync() {
  if (wal_fd_ >= 0) close(wal_fd_);
}

uint64_t GroupSync::Mark(bool changed) {
  if (!changed) return marks_.load(std::memory_order_acquire);
  return marks_.fetch_add(1, std::memory_order_acq_rel) + 1;
}

absl::Status GroupSync::WaitDurable(uint64_t ticket) {
  std::unique_lock<std::mutex> lock(mu_);
  while (durable_ < ticket) {
    if (!failed_.ok()) return failed_;
    if (syncing_) {
      synced_.wait(lock);
      continue;
    }
    // Lead a sync for every ticket handed out so far: their writes have returned, so the
    // fsync that starts after this load covers them.
    syncing_ = true;
    const uint64_t target = marks_.load(std::memory_order_acquire);
    lock.unlock();
    absl::Status synced = SyncWal();
    lock.lock();
    syncing_ = false;
    if (synced.ok()) {
      durable_ = std::max(durable_, target);
    } else {
      failed_ = synced;
    }
    synced_.notify_all();
  }
  return absl::OkStatus();
}

absl::Status GroupSync::SyncWal() {
  if (wal_fd_ < 0) {
    wal_fd_ = open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (wal_fd_ < 0) return SyncError("opening", wal_path_);
    // The WAL was created by the first write; make its directory entry durable once.
    const std::string dir = std::filesystem::path(wal_path_).parent_path().string();
    const int dir_fd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) return SyncError("opening the directory of", wal_path_);
    const int rc = fsync(dir_fd);
    close(dir_fd);
    if (rc != 0) return SyncError("fsync of the directory of", wal_path_);
  }
  if (fdatasync(wal_fd_) != 0) return SyncError("fdatasync of", wal_path_);
  syncs_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

}  // namespace headevo::storage
