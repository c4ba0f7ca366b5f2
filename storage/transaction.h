// RAII transactions on a Database. A Transaction that goes out of scope without Commit() rolls
// back, so an early `return status;` in the middle of a write leaves the file as it was.
#ifndef HEADEVO_STORAGE_TRANSACTION_H_
#define HEADEVO_STORAGE_TRANSACTION_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/sqlite_db.h"

namespace headevo::storage {

class Transaction {
 public:
  enum class Mode {
    // BEGIN: a consistent snapshot for a read made of several queries (WAL readers never
    // block the writer).
    kRead,
    // BEGIN IMMEDIATE: takes the write lock up front, so two writers wait (busy_timeout) at
    // BEGIN instead of one failing half-way with SQLITE_BUSY.
    kWrite,
  };

  // Opens a transaction on `db`, which must outlive it. Transactions do not nest: `db` must be
  // in autocommit mode (FailedPrecondition otherwise, a programming error).
  static absl::StatusOr<Transaction> Begin(Database& db, Mode mode);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Rolls back unless committed.
  ~Transaction();

  // Makes the changes durable. On error the transaction is still open and the destructor rolls
  // it back. Call at most once.
  absl::Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}

  Database* db_;  // null once committed or moved from
};

// Turns foreign key enforcement off on `db` for its lifetime, and back on after. SQLite
// ignores the pragma inside a transaction, so construct it before BEGIN and destroy it after
// the transaction ended. `status()` says whether switching off worked.
class ForeignKeysOff {
 public:
  explicit ForeignKeysOff(Database& db);
  ~ForeignKeysOff();
  ForeignKeysOff(const ForeignKeysOff&) = delete;
  ForeignKeysOff& operator=(const ForeignKeysOff&) = delete;
  const absl::Status& status() const { return status_; }

 private:
  Database& db_;
  absl::Status status_;
};

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_TRANSACTION_H_
