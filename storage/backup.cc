#include "storage/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "storage/schema.h"
#include "storage/sqlite_db.h"

namespace headevo::storage {
namespace {

namespace fs = std::filesystem;

constexpr int kBusyTimeoutMs = 5000;
constexpr char kPartialSuffix[] = ".partial";

absl::Status FileError(const std::error_code& ec, absl::string_view doing) {
  return absl::ErrnoToStatus(ec.value(), absl::StrCat("backup: ", doing, ": ", ec.message()));
}

// `path` with symlinks resolved and "." / ".." removed, to tell when two spellings name one
// file (the file need not exist).
fs::path Normalized(const std::string& path) {
  std::error_code ec;
  fs::path normal = fs::weakly_canonical(path, ec);
  if (ec) return fs::path(path).lexically_normal();
  return normal;
}

fs::path DirectoryOf(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

absl::Status CheckPaths(const std::string& source, const std::string& destination) {
  if (source.empty() || destination.empty()) {
    return absl::InvalidArgumentError("backup: source and destination paths must not be empty");
  }
  const fs::path normal_source = Normalized(source);
  if (normal_source == Normalized(destination)) {
    return absl::InvalidArgumentError(absl::StrCat("backup: destination ", destination,
                                                   " is the source ", source, "; name a new file"));
  }
  if (normal_source == Normalized(destination + kPartialSuffix)) {
    return absl::InvalidArgumentError(absl::StrCat("backup: the temporary file ", destination,
                                                   kPartialSuffix, " would be the source ", source,
                                                   "; choose another destination"));
  }
  std::error_code ec;
  if (!fs::exists(source, ec)) {
    if (ec) return FileError(ec, absl::StrCat("looking for source ", source));
    return absl::NotFoundError(
        absl::StrCat("backup: source database ", source, " does not exist; check the path"));
  }
  const fs::path directory = DirectoryOf(destination);
  if (!fs::is_directory(directory, ec)) {
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return FileError(ec, absl::StrCat("looking for directory ", directory.string()));
    }
    return absl::NotFoundError(absl::StrCat("backup: directory ", directory.string(),
                                            " of destination ", destination,
                                            " does not exist; create it first"));
  }
  if (fs::exists(fs::symlink_status(destination, ec))) {
    return absl::AlreadyExistsError(
        absl::StrCat("backup: destination ", destination,
                     " already exists; a backup never overwrites a file: choose a new name or "
                     "remove it"));
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return FileError(ec, absl::StrCat("looking for destination ", destination));
  }
  return absl::OkStatus();
}

absl::Status RemoveIfPresent(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) return FileError(ec, absl::StrCat("removing ", path));
  return absl::OkStatus();
}

// Removes the temporary copy unless Release()d: every early return leaves no ".partial".
class PartialFileGuard {
 public:
  explicit PartialFileGuard(std::string path) : path_(std::move(path)) {}
  ~PartialFileGuard() {
    if (!path_.empty()) RemoveIfPresent(path_).IgnoreError();
  }
  PartialFileGuard(const PartialFileGuard&) = delete;
  PartialFileGuard& operator=(const PartialFileGuard&) = delete;
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

// One read-only snapshot of `source` written to the empty file name `copy` by SQLite.
absl::Status CopySnapshot(const std::string& source, const std::string& copy) {
  absl::StatusOr<std::unique_ptr<Database>> db =
      Database::Open(source, SQLITE_OPEN_READONLY, kBusyTimeoutMs);
  if (!db.ok()) return db.status();
  absl::StatusOr<int> version = ReadSchemaVersion(**db);
  if (!version.ok()) return version.status();
  if (absl::Status s = CheckNotNewer(**db, *version); !s.ok()) return s;
  // The path is bound, never spliced into the SQL text.
  absl::StatusOr<Statement> vacuum = (*db)->Prepare("VACUUM INTO ?1");
  if (!vacuum.ok()) return vacuum.status();
  return vacuum->Bind(1, copy).Run();
}

// SQLite 3.40 reports "NULL value in T.C" for NOT NULL columns of a WITHOUT ROWID table whose
// PRIMARY KEY lists its columns in another order than the table does (pruned_heads), once per
// row, though no value is NULL. Each such claim is checked with a plain query, which reads the
// columns right; typeof() because `C IS NULL` is folded to false for a NOT NULL column.
constexpr char kNullValuePrefix[] = "NULL value in ";

// a"b -> "a""b": the names come from the file, so they are quoted, never pasted in bare.
std::string QuoteIdentifier(absl::string_view name) {
  return absl::StrCat("\"", absl::StrReplaceAll(name, {{"\"", "\"\""}}), "\"");
}

// Whether the column named in `claim` ("NULL value in T.C") really holds a NULL. A claim that
// cannot be parsed unambiguously counts as real.
absl::StatusOr<bool> NullClaimIsReal(Database& db, absl::string_view claim) {
  absl::string_view column = claim.substr(std::strlen(kNullValuePrefix));
  const size_t dot = column.find('.');
  if (dot == absl::string_view::npos || column.find('.', dot + 1) != absl::string_view::npos) {
    return true;
  }
  const std::string query =
      absl::StrCat("SELECT count(*) FROM ", QuoteIdentifier(column.substr(0, dot)),
                   " WHERE typeof(", QuoteIdentifier(column.substr(dot + 1)), ") = 'null'");
  absl::StatusOr<int64_t> nulls = db.QueryInt64(query);
  if (!nulls.ok()) return nulls.status();
  return *nulls > 0;
}

// What `PRAGMA integrity_check` finds wrong with `db`, after dropping the false NULL claims
// above: empty when the file is whole, else up to kMaxProblems lines.
absl::StatusOr<std::vector<std::string>> IntegrityProblems(Database& db) {
  constexpr size_t kMaxProblems = 5;
  std::vector<std::string> problems;
  std::set<std::string> null_claims;
  {
    // No cap on the rows: false claims, one per row, must not crowd out the checks after them.
    absl::StatusOr<Statement> check = db.Prepare("PRAGMA integrity_check(2147483647)");
    if (!check.ok()) return check.status();
    absl::Status status = check->ForEachRow([&](const Statement& row) {
      std::string line = row.ColumnText(0);
      if (absl::StartsWith(line, kNullValuePrefix)) {
        null_claims.insert(std::move(line));
      } else if (line != "ok") {
        problems.push_back(std::move(line));
      }
      return problems.size() < kMaxProblems;  // enough to name the damage: stop the check
    });
    if (!status.ok()) return status;
  }
  for (const std::string& claim : null_claims) {
    if (problems.size() >= kMaxProblems) break;
    absl::StatusOr<bool> real = NullClaimIsReal(db, claim);
    if (!real.ok()) return real.status();
    if (*real) problems.push_back(claim);
  }
  return problems;
}

absl::Status CheckIntegrity(const std::string& source, const std::string& copy) {
  absl::StatusOr<std::unique_ptr<Database>> db =
      Database::Open(copy, SQLITE_OPEN_READONLY, kBusyTimeoutMs);
  if (!db.ok()) return db.status();
  absl::StatusOr<std::vector<std::string>> problems = IntegrityProblems(**db);
  if (!problems.ok()) return problems.status();
  if (problems->empty()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat("backup: the copy ", copy, " of ", source,
                                          " failed integrity_check (",
                                          absl::StrJoin(*problems, "; "),
                                          "); the source is probably damaged: run "
                                          "`PRAGMA integrity_check` on it"));
}

// fsync on a file or directory: VACUUM INTO does not sync its output, and a rename is durable
// only once its directory is synced.
absl::Status Sync(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("backup: opening ", path));
  const int rc = ::fsync(fd);
  const int sync_errno = errno;
  ::close(fd);
  if (rc != 0) return absl::ErrnoToStatus(sync_errno, absl::StrCat("backup: syncing ", path));
  return absl::OkStatus();
}

absl::Status Publish(const std::string& partial, const std::string& destination) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(destination, ec))) {
    return absl::AlreadyExistsError(absl::StrCat("backup: destination ", destination,
                                                 " appeared during the backup; it was left "
                                                 "untouched: choose a new name"));
  }
  fs::rename(partial, destination, ec);
  if (ec) return FileError(ec, absl::StrCat("renaming ", partial, " to ", destination));
  return Sync(DirectoryOf(destination).string());
}

}  // namespace

absl::Status BackupDatabase(const std::string& source_path, const std::string& destination_path) {
  if (absl::Status s = CheckPaths(source_path, destination_path); !s.ok()) return s;
  const std::string partial = destination_path + kPartialSuffix;
  // VACUUM INTO refuses a non-empty output file: clear what an earlier failed backup left.
  if (absl::Status s = RemoveIfPresent(partial); !s.ok()) return s;
  PartialFileGuard guard(partial);
  if (absl::Status s = CopySnapshot(source_path, partial); !s.ok()) return s;
  if (absl::Status s = CheckIntegrity(source_path, partial); !s.ok()) return s;
  if (absl::Status s = Sync(partial); !s.ok()) return s;
  if (absl::Status s = Publish(partial, destination_path); !s.ok()) return s;
  guard.Release();
  return absl::OkStatus();
}

}  // namespace headevo::storage
