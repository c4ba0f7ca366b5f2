// Deleting a search and every row of it (Store::DeleteSearch), as row operations on one
// connection inside the caller's write transaction.
//
// Why foreign keys are switched off around the delete: with them on, SQLite checks every
// deleted head and candidate against each table that references it, and head_stats.head_id
// and heads.created_candidate_id have no index (schema version 2 dropped them to speed up
// writes), so a search of 10^4 heads in a file of 10^6 head_stats rows would take 10^10 row
// reads. Instead the rows go in set-based statements and one PRAGMA foreign_key_check over
// the whole file afterwards proves nothing outside the search pointed at them: linear in the
// file, and it also catches tables added later that this code does not know of.
#ifndef HEADEVO_STORAGE_SEARCH_DELETION_H_
#define HEADEVO_STORAGE_SEARCH_DELETION_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/sqlite_db.h"
#include "storage/store.h"
#include "storage/transaction.h"

namespace headevo::storage {

// Deletes the search's rows (see Store::DeleteSearch) and checks the whole file's foreign
// keys. Must run inside a write transaction with foreign keys off (ForeignKeysOff): on any
// error the caller rolls back. NotFound, FailedPrecondition as Store::DeleteSearch.
absl::StatusOr<DeletedSearch> DeleteSearchRows(Database& db, int64_t search_id);

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_SEARCH_DELETION_H_
