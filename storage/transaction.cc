#include "storage/transaction.h"

#include <utility>

namespace headevo::storage {

absl::StatusOr<Transaction> Transaction::Begin(Database& db, Mode mode) {
  if (!db.InAutocommit()) {
    return absl::FailedPreconditionError(
        "storage: a transaction is already open on this connection");
  }
  absl::Status status = mode == Mode::kWrite
                            ? db.Exec("BEGIN IMMEDIATE", "beginning a write transaction")
                            : db.Exec("BEGIN", "beginning a read transaction");
  if (!status.ok()) return status;
  return Transaction(&db);
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Transaction::~Transaction() {
  // SQLite may already have rolled back on its own (e.g. after SQLITE_FULL); then there is
  // nothing left to undo.
  if (db_ != nullptr && !db_->InAutocommit()) {
    db_->Exec("ROLLBACK", "rolling back").IgnoreError();
  }
}

absl::Status Transaction::Commit() {
  if (db_ == nullptr) return absl::FailedPreconditionError("storage: transaction already ended");
  absl::Status status = db_->Exec("COMMIT", "committing");
  if (status.ok()) db_ = nullptr;
  return status;
}

ForeignKeysOff::ForeignKeysOff(Database& db) : db_(db) {
  status_ = db_.Exec("PRAGMA foreign_keys = OFF", "switching foreign keys off");
}

ForeignKeysOff::~ForeignKeysOff() {
  // Every writable connection runs with foreign keys on (sqlite_store.cc); restoring it can
  // only fail on a broken connection, which the next statement reports.
  (void)db_.Exec("PRAGMA foreign_keys = ON", "switching foreign keys back on");
}

}  // namespace headevo::storage
