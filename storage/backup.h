// Online backup of a lineage database that a running coordinator may be writing to.
#ifndef HEADEVO_STORAGE_BACKUP_H_
#define HEADEVO_STORAGE_BACKUP_H_

#include <string>

#include "absl/status/status.h"

namespace headevo::storage {

// Copies the database at `source_path` to the new file `destination_path`, as one consistent
// snapshot of what was committed when the copy began (a single read transaction: writes
// committed later, and transactions still open, are not in it). Safe while another process
// has the source open for writing: the source is opened read-only (SQLITE_OPEN_READONLY,
// busy timeout 5000 ms) and, in WAL mode, never blocks its writer. The file's bytes are never
// copied directly (that would miss the WAL and could tear a page); SQLite writes the copy.
//
// Steps: check the source is an SQLite database whose schema is not newer than this code;
// `VACUUM INTO` the temporary file `destination_path + ".partial"` (a leftover one from an
// earlier failed backup is removed first); run `PRAGMA integrity_check` on the copy; fsync
// it; rename() it onto `destination_path` and fsync the directory. A reader of
// `destination_path` therefore sees no file or a whole, checked backup, never a half-written
// one; on any error the ".partial" file is removed and `destination_path` is not created.
// The backup is a compact rollback-journal file; Store::Open puts it back in WAL mode.
//
// Never overwrites a file: `destination_path` is checked before the copy and again just
// before the rename (a file created by someone else between that check and the rename itself
// would be replaced; do not aim two backups at one destination at once).
//
// Errors, each naming the path and what to do:
//   InvalidArgument: an empty path; source and destination are the same file (also when
//     written differently, e.g. "./a.db" and "a.db"), or the ".partial" file would be the
//     source.
//   NotFound: the source does not exist, or the destination's directory does not.
//   AlreadyExists: the destination exists (it is left untouched).
//   FailedPrecondition: the source is not an SQLite database, or its schema is newer than
//     this headevo understands.
//   DataLoss: the copy failed `PRAGMA integrity_check` (the source is probably damaged); the
//     message quotes up to 5 of its lines. (SQLite 3.40's false "NULL value in T.C" lines for
//     WITHOUT ROWID tables whose primary key is not a prefix of their columns, as in schema
//     version 1 files, are checked with a query and dropped when the column holds no NULL.)
//   Anything SQLite reports is converted as in sqlite_db.h (e.g. Unavailable when the source
//   stayed locked past the busy timeout: retry); file system errors by their errno.
//
// No exceptions escape. Thread-compatible: touches no shared state besides the files.
absl::Status BackupDatabase(const std::string& source_path, const std::string& destination_path);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_BACKUP_H_
