// The database file: where it lives, its clean-up, and its size once the WAL is folded in.
#ifndef HEADEVO_BENCH_STORAGE_BENCH_FILES_H_
#define HEADEVO_BENCH_STORAGE_BENCH_FILES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "bench/storage/flags.h"

namespace headevo::bench_storage {

// The database and the files SQLite and the writer lock put beside it; removed when this goes
// out of scope unless kept.
class BenchFiles {
 public:
  // AlreadyExists when --db names an existing file (never overwritten); Unavailable when no
  // temp directory can be made.
  static absl::StatusOr<std::unique_ptr<BenchFiles>> Create(const Flags& flags);
  ~BenchFiles();

  const std::string& path() const { return path_; }

 private:
  BenchFiles(std::string path, std::string temp_dir, bool keep)
      : path_(std::move(path)), temp_dir_(std::move(temp_dir)), keep_(keep) {}

  const std::string path_;
  const std::string temp_dir_;  // "" when the user named the file
  const bool keep_;
};

// Folds the WAL into the file (the store itself, not the store's API: Store has no call for
// it), prints per-table sizes, and returns the file's size.
absl::StatusOr<int64_t> CheckpointedFileSize(const std::string& path, int64_t head_rows);

}  // namespace headevo::bench_storage

#endif  // HEADEVO_BENCH_STORAGE_BENCH_FILES_H_
