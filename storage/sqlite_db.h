// A thin RAII layer over the SQLite C API: one connection (Database) and the prepared
// statements run on it (Statement). Every SQLite error becomes an absl::Status whose message
// names the database path, what was being done, and sqlite3_errmsg; no SQLite code escapes.
//
// Thread safety: a Database and its Statements are used by one thread at a time.
#ifndef HEADEVO_STORAGE_SQLITE_DB_H_
#define HEADEVO_STORAGE_SQLITE_DB_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace headevo::storage {

// The canonical status code for an SQLite result code (primary or extended):
// BUSY/LOCKED -> Unavailable (another connection holds the lock; retry), CONSTRAINT,
// READONLY, NOTADB -> FailedPrecondition, CORRUPT -> DataLoss, CANTOPEN -> NotFound,
// FULL/NOMEM -> ResourceExhausted, PERM/AUTH -> PermissionDenied, IOERR -> Unavailable,
// anything else -> Internal.
absl::StatusCode SqliteCodeToStatusCode(int sqlite_code);

class Database;

// One prepared statement, borrowed from its Database's cache (or owned, when the cached one
// is already in use by an enclosing caller). Move-only. On destruction the statement is reset
// and its bindings cleared, ready for the next borrower. Must not outlive its Database.
//
// Binding is chainable; the first bind error is kept and returned by the next Step()/Run().
// Parameter indexes are 1-based, column indexes 0-based, as in SQLite.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& Bind(int index, double value);
  Statement& Bind(int index, absl::string_view value);
  Statement& Bind(int index, const char* value) { return Bind(index, absl::string_view(value)); }
  // Binds bytes as a BLOB (serialized protos): no text encoding is implied.
  Statement& BindBlob(int index, absl::string_view bytes);
  Statement& BindNull(int index);
  // Binds NULL for 0: how optional references (parent_id, source_head_id) are stored.
  Statement& BindIdOrNull(int index, int64_t id);

  // Binds `values` to parameters 1, 2, ... in order.
  template <typename... Values>
  Statement& BindAll(const Values&... values) {
    int index = 0;
    (Bind(++index, values), ...);
    return *this;
  }

  // Advances one row: true while a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion, for statements that return no rows (INSERT, UPDATE, ...).
  absl::Status Run();

  // Steps through the remaining rows, calling `on_row(const Statement&)` on each (read the
  // row's columns from the Statement it is given). What `on_row` returns decides what follows:
  //   void          -> the next row;
  //   bool          -> the next row on true; false stops the walk, which is not an error;
  //   absl::Status  -> the next row on OK; an error stops the walk and is returned as is.
  // Returns OK once every row was visited or `on_row` stopped, the bind or step error
  // (Step()'s) otherwise; rows after an error or a stop are not stepped to. The statement
  // stays where the walk ended (its destructor resets it), so `on_row` may fill the caller's
  // containers and a caller can tell from them how far it got.
  template <typename OnRow>
  absl::Status ForEachRow(OnRow&& on_row);

  int64_t ColumnInt64(int column) const;
  int ColumnInt(int column) const;
  double ColumnDouble(int column) const;
  // NaN for NULL: SQLite stores a NaN double as NULL, so a NULL in a column that held a
  // double (a loss, a statistic) was a NaN (a diverged run, the entropy of a k = 1 head).
  double ColumnDoubleOrNaN(int column) const;
  std::string ColumnText(int column) const;  // "" for NULL
  std::string ColumnBlob(int column) const;  // "" for NULL
  bool ColumnIsNull(int column) const;
  // 0 for NULL, the inverse of BindIdOrNull.
  int64_t ColumnIdOrZero(int column) const { return ColumnInt64(column); }

 private:
  friend class Database;
  struct CacheEntry;
  Statement(Database* db, sqlite3_stmt* stmt, CacheEntry* cache_entry);

  Database* db_;
  sqlite3_stmt* stmt_;
  CacheEntry* cache_entry_;  // null for a statement this object owns and finalizes
  absl::Status bind_status_;
};

template <typename OnRow>
absl::Status Statement::ForEachRow(OnRow&& on_row) {
  using Result = std::invoke_result_t<OnRow&, const Statement&>;
  static_assert(std::is_void_v<Result> || std::is_same_v<Result, bool> ||
                    std::is_same_v<Result, absl::Status>,
                "ForEachRow's callback returns void, bool or absl::Status");
  const Statement& row_view = *this;
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    if constexpr (std::is_void_v<Result>) {
      on_row(row_view);
    } else if constexpr (std::is_same_v<Result, bool>) {
      if (!on_row(row_view)) return absl::OkStatus();
    } else {
      if (absl::Status status = on_row(row_view); !status.ok()) return status;
    }
  }
}

// One SQLite connection with a cache of prepared statements keyed by SQL text.
class Database {
 public:
  // Opens `path` with sqlite3_open_v2 `flags` (SQLITE_OPEN_*), turns on extended result codes,
  // sets the busy timeout, and checks that the file is an SQLite database: a file that is not
  // gives FailedPrecondition "<path> is not an SQLite database".
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path, int flags,
                                                        int busy_timeout_ms);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more ';'-separated statements that return no rows we need (DDL, BEGIN, ...).
  // `doing` says what for, and goes into the error message.
  absl::Status Exec(absl::string_view sql, absl::string_view doing);

  // A statement for `sql`, prepared once per Database and reused while the Database lives.
  absl::StatusOr<Statement> Prepare(absl::string_view sql);

  // Runs a query expected to yield a single integer (e.g. "PRAGMA user_version").
  absl::StatusOr<int64_t> QueryInt64(absl::string_view sql);
  // Runs a query expected to yield a single text value (e.g. "PRAGMA journal_mode").
  absl::StatusOr<std::string> QueryText(absl::string_view sql);

  int64_t LastInsertRowId() const;
  // Rows inserted, updated or deleted on this connection since it opened (rolled-back ones
  // included): a change in it means something was written.
  int64_t TotalChanges() const;
  // True unless a transaction is open on this connection.
  bool InAutocommit() const;
  const std::string& path() const { return path_; }
  // How many statements the cache holds (for tests of statement reuse).
  size_t CachedStatementCount() const { return cache_.size(); }

  // The Status for SQLite result `code`: "sqlite <path>: <doing>: <errmsg>".
  absl::Status Error(int code, absl::string_view doing) const;

 private:
  Database(std::string path, sqlite3* db);

  std::string path_;
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Statement::CacheEntry>> cache_;
};

}  // namespace headevo::storage

#endif  // HEADEVO_STORAGE_SQLITE_DB_H_
