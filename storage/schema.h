// The lineage database's schema as an ordered list of migrations. The file's schema version is
// `PRAGMA user_version`: 0 for a fresh file, N once migrations 1..N have run. Migrations are
// only ever appended; a released one is never edited.
#ifndef HEADEVO_STORAGE_SCHEMA_H_
#define HEADEVO_STORAGE_SCHEMA_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/sqlite_db.h"

namespace headevo::storage {

// The newest schema version this code knows.
int LatestSchemaVersion();

// The file's `PRAGMA user_version`.
absl::StatusOr<int> ReadSchemaVersion(Database& db);

// FailedPrecondition "database <path> has schema version N, this headevo understands up to M;
// upgrade headevo" when `version` is newer than LatestSchemaVersion().
absl::Status CheckNotNewer(const Database& db, int version);

// Applies every migration newer than the file's version, all in one BEGIN IMMEDIATE
// transaction that also sets user_version: the file ends at LatestSchemaVersion() or, on any
// error, exactly as it was. Re-checks the version under the write lock, so two processes
// opening one file at once migrate it once. `db` must not be inside a transaction.
absl::Status Migrate(Database& db);

// Migrate, but only up to `target_version` (<= LatestSchemaVersion()): how tests build a file
// as an older headevo left it. A file already at or past the target is left as it is.
absl::Status MigrateTo(Database& db, int target_version);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_SCHEMA_H_
