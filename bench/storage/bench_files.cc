#include "bench/storage/bench_files.h"

#include <stdlib.h>  // mkdtemp

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/sqlite_store.h"

namespace headevo::bench_storage {

namespace fs = std::filesystem;

namespace {

// Per-table (and index) bytes from the dbstat virtual table; skipped when SQLite lacks it.
void PrintTableSizes(storage::Database& db, int64_t head_rows) {
  absl::StatusOr<storage::Statement> stmt =
      db.Prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY SUM(pgsize) DESC");
  if (!stmt.ok()) {
    std::printf("per-table sizes: skipped (%s)\n", std::string(stmt.status().message()).c_str());
    return;
  }
  std::printf("per-table sizes (dbstat):\n");
  while (true) {
    absl::StatusOr<bool> row = stmt->Step();
    if (!row.ok() || !*row) return;
    const int64_t bytes = stmt->ColumnInt64(1);
    std::printf("  %-36s %9.1f MiB %7.1f bytes/head row\n", stmt->ColumnText(0).c_str(),
                bytes / 1048576.0, static_cast<double>(bytes) / head_rows);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<BenchFiles>> BenchFiles::Create(const Flags& flags) {
  std::error_code ec;
  if (!flags.db.empty()) {
    if (fs::exists(flags.db, ec)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "--db ", flags.db, " exists; bench_storage never overwrites a file, name a new one"));
    }
    return std::unique_ptr<BenchFiles>(new BenchFiles(flags.db, "", flags.keep));
  }
  std::string dir = (fs::temp_directory_path(ec) / "bench_storage.XXXXXX").string();
  if (ec || mkdtemp(dir.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot create a directory like ", dir));
  }
  return std::unique_ptr<BenchFiles>(new BenchFiles(dir + "/lineage.db", dir, flags.keep));
}

BenchFiles::~BenchFiles() {
  if (keep_) {
    std::printf("kept %s\n", path_.c_str());
    return;
  }
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal", ".lock"}) {
    fs::remove(path_ + suffix, ec);
  }
  if (!temp_dir_.empty()) fs::remove(temp_dir_, ec);
}

absl::StatusOr<int64_t> CheckpointedFileSize(const std::string& path, int64_t head_rows) {
  {
    storage::StoreOptions options;
    options.durability = storage::StoreOptions::Durability::kNormal;
    absl::StatusOr<std::unique_ptr<storage::SqliteStore>> store =
        storage::SqliteStore::Open(path, options);
    if (!store.ok()) return store.status();
    absl::StatusOr<int64_t> busy =
        (*store)->database().QueryInt64("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!busy.ok()) return busy.status();
    if (*busy != 0) return absl::UnavailableError("wal_checkpoint(TRUNCATE) could not finish");
    PrintTableSizes((*store)->database(), head_rows);
  }
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return absl::InternalError(absl::StrCat("size of ", path, ": ", ec.message()));
  const uintmax_t wal = fs::exists(path + "-wal", ec) ? fs::file_size(path + "-wal", ec) : 0;
  return static_cast<int64_t>(size + wal);
}

}  // namespace headevo::bench_storage
