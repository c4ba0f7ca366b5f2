// One writer per database: a coordinator that opens a lineage file for writing holds an
// exclusive advisory lock (flock) on "<database>.lock" beside it for as long as its store
// lives. A second process (or a second store in the same process) that tries to write the same
// file gets FailedPrecondition naming the holder instead of interleaving its writes with the
// first one's. The kernel drops the lock when the holder dies, even by SIGKILL, so a crashed
// coordinator never leaves a stale lock behind. Readers take no lock.
//
// The lock file holds "pid <p> host <h> since <unix seconds>" of the current holder, for the
// error message; its content is informational only, the flock is what excludes.
#ifndef HEADEVO_STORAGE_WRITER_LOCK_H_
#define HEADEVO_STORAGE_WRITER_LOCK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace headevo::storage {

class WriterLock {
 public:
  // Takes the lock for `database_path` without waiting. FailedPrecondition "database <path> is
  // already open for writing by pid P on host H ..." when another holder has it; Unavailable
  // (naming the lock file and errno) when the lock file cannot be created.
  static absl::StatusOr<std::unique_ptr<WriterLock>> Acquire(const std::string& database_path);

  // Releases the lock (the lock file stays, empty of meaning).
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  const std::string& lock_path() const { return lock_path_; }

 private:
  WriterLock(std::string lock_path, int fd) : lock_path_(std::move(lock_path)), fd_(fd) {}

  std::string lock_path_;
  int fd_;
};

// "<database_path>.lock".
std::string WriterLockPath(const std::string& database_path);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_WRITER_LOCK_H_
