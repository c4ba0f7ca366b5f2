// The coordinator's checkpoint directory: trained weights, one file per checkpoint named
// "<sha256>.ckpt" (the name workers use too). Files arrive by upload, are checked against
// their SHA-256 before they take their name, and are collected when nothing needs them.
//
// A file under its final name was complete and correct when it took that name: an upload is
// written to a temporary file, hashed as it streams, fsynced and only then renamed. A failed
// or abandoned upload leaves nothing behind. Bytes damaged later on disk are caught when the
// file is served (Verify): such a file is moved aside as "<sha256>.ckpt.damaged" (kept for an
// operator to inspect; nothing collects it) and never handed to a worker again.
//
// A full filesystem is ResourceExhausted, naming the file, on every write: nothing is kept,
// and the same upload succeeds once space is freed (the worker retries it on its own).
//
// Thread safety: any number of threads may upload, read and collect at once; two uploads of
// the same checkpoint both succeed (the second rename replaces identical bytes).
#ifndef HEADEVO_SERVER_ENGINE_CHECKPOINT_STORE_H_
#define HEADEVO_SERVER_ENGINE_CHECKPOINT_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace headevo::server {

class CheckpointUpload;

struct CheckpointStoreOptions {
  // One line per event an operator should hear of (a damaged file quarantined). Called from
  // whichever thread found it. Empty: the line goes to stderr.
  std::function<void(const std::string&)> log;
};

class CheckpointStore {
 public:
  // Creates `dir` when missing. InvalidArgument for an empty path; FailedPrecondition naming
  // the path when it cannot be created or is not a writable directory.
  static absl::StatusOr<std::unique_ptr<CheckpointStore>> Open(
      const std::string& dir, CheckpointStoreOptions options = {});

  const std::string& dir() const { return dir_; }
  // The file of a checkpoint (whether or not it exists).
  std::string PathOf(const std::string& sha256) const;
  bool Has(const std::string& sha256) const;
  // Size in bytes; NotFound when absent.
  absl::StatusOr<int64_t> SizeOf(const std::string& sha256) const;

  // Whether the checkpoint's bytes still hash to its name (it reads the whole file); called
  // before it is served. OK when they do. DataLoss naming the file when they do not: the file is quarantined (renamed to
  // "<sha256>.ckpt.damaged", or removed when that fails) and a line is logged, so Has() is
  // false from then on and a worker holding a good copy may upload it again. DataLoss too for
  // a checkpoint quarantined earlier; NotFound when absent; Internal when it cannot be read.
  absl::Status Verify(const std::string& sha256) const;

  // Starts an upload of `total_bytes` bytes that must hash to `sha256` (64 lower-case hex
  // digits; the caller checked the format). ResourceExhausted when the filesystem is full;
  // Internal for another failure to create the temporary file.
  absl::StatusOr<std::unique_ptr<CheckpointUpload>> BeginUpload(const std::string& sha256,
                                                                int64_t total_bytes);

  // Deletes one checkpoint's file now, whatever its age (the caller knows nothing needs it:
  // a deleted search's). True when a file went, false when there was none. InvalidArgument for
  // a sha256 that is not 64 lower-case hex digits (no path is built from it); Internal naming
  // the path when the file cannot be removed.
  absl::StatusOr<bool> Remove(const std::string& sha256);

  // Deletes every checkpoint not in `keep` whose file is older than `min_age_ms` (so a file
  // uploaded moments before its result is reported is never taken). Returns how many went.
  // Temporary files of uploads abandoned more than a day ago go too.
  absl::StatusOr<int> Collect(const std::set<std::string>& keep, int64_t min_age_ms);

 private:
  CheckpointStore(std::string dir, CheckpointStoreOptions options)
      : dir_(std::move(dir)), options_(std::move(options)) {}
  void Log(const std::string& line) const;

  std::string dir_;
  CheckpointStoreOptions options_;
};

// One upload in progress. Destroying it before Finish() removes the partial file.
class CheckpointUpload {
 public:
  ~CheckpointUpload();
  // InvalidArgument when the bytes so far exceed the announced total; ResourceExhausted,
  // naming the file, when the filesystem is full; Internal for another write error.
  absl::Status Append(const std::string& bytes);
  // DataLoss when the bytes do not hash to the announced SHA-256 or fall short of the total
  // (nothing is kept); ResourceExhausted / Internal as Append when the file cannot be synced
  // or renamed; otherwise the file takes its name. Returns the bytes written.
  absl::StatusOr<int64_t> Finish();

 private:
  friend class CheckpointStore;
  CheckpointUpload(std::string sha256, int64_t total_bytes, std::string final_path,
                   std::string temp_path, int fd, void* hash);
  std::string sha256_;
  int64_t total_bytes_;
  int64_t written_ = 0;
  std::string final_path_;
  std::string temp_path_;
  int fd_;
  void* hash_;  // EVP_MD_CTX*
  bool finished_ = false;
};

// The hex SHA-256 of a file's bytes; NotFound/Internal naming the path on failure.
absl::StatusOr<std::string> Sha256OfFile(const std::string& path);

// The Status of a failed write (open, write, fsync, rename) of `path` with errno
// `error_number`: ResourceExhausted "disk full writing <path>: ..." for ENOSPC and EDQUOT
// (space may come back, so the writer should retry), Internal "cannot <what> <path>: <reason>"
// for anything else.
absl::Status WriteFailure(const std::string& what, const std::string& path, int error_number);

}  // namespace headevo::server

#endif  // HEADEVO_SERVER_ENGINE_CHECKPOINT_STORE_H_
