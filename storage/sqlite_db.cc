#include "storage/sqlite_db.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace headevo::storage {

struct Statement::CacheEntry {
  sqlite3_stmt* stmt = nullptr;
  bool in_use = false;
};

absl::StatusCode SqliteCodeToStatusCode(int sqlite_code) {
  switch (sqlite_code & 0xff) {
    case SQLITE_OK:
      return absl::StatusCode::kOk;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
      return absl::StatusCode::kUnavailable;
    case SQLITE_CONSTRAINT:
    case SQLITE_READONLY:
    case SQLITE_NOTADB:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_CORRUPT:
      return absl::StatusCode::kDataLoss;
    case SQLITE_CANTOPEN:
      return absl::StatusCode::kNotFound;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::StatusCode::kPermissionDenied;
    default:
      return absl::StatusCode::kInternal;
  }
}

// ---- Statement ----

Statement::Statement(Database* db, sqlite3_stmt* stmt, CacheEntry* cache_entry)
    : db_(db), stmt_(stmt), cache_entry_(cache_entry) {}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      cache_entry_(std::exchange(other.cache_entry_, nullptr)),
      bind_status_(std::move(other.bind_status_)) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  if (cache_entry_ == nullptr) {
    sqlite3_finalize(stmt_);
    return;
  }
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  cache_entry_->in_use = false;
}

Statement& Statement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = db_->Error(rc, absl::StrCat("binding parameter ", index));
  }
  return *this;
}

Statement& Statement::Bind(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = db_->Error(rc, absl::StrCat("binding parameter ", index));
  }
  return *this;
}

Statement& Statement::Bind(int index, absl::string_view value) {
  int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = db_->Error(rc, absl::StrCat("binding parameter ", index));
  }
  return *this;
}

Statement& Statement::BindBlob(int index, absl::string_view bytes) {
  int rc = sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = db_->Error(rc, absl::StrCat("binding parameter ", index));
  }
  return *this;
}

Statement& Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_status_.ok()) {
    bind_status_ = db_->Error(rc, absl::StrCat("binding parameter ", index));
  }
  return *this;
}

Statement& Statement::BindIdOrNull(int index, int64_t id) {
  return id == 0 ? BindNull(index) : Bind(index, id);
}

absl::StatusOr<bool> Statement::Step() {
  if (!bind_status_.ok()) return bind_status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error(rc, absl::StrCat("running \"", sqlite3_sql(stmt_), "\""));
}

absl::Status Statement::Run() {
  return ForEachRow([](const Statement&) {});
}

int64_t Statement::ColumnInt64(int column) const { return sqlite3_column_int64(stmt_, column); }

int Statement::ColumnInt(int column) const { return sqlite3_column_int(stmt_, column); }

double Statement::ColumnDouble(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

double Statement::ColumnDoubleOrNaN(int column) const {
  return ColumnIsNull(column) ? std::numeric_limits<double>::quiet_NaN() : ColumnDouble(column);
}

std::string Statement::ColumnBlob(int column) const {
  const void* bytes = sqlite3_column_blob(stmt_, column);
  if (bytes == nullptr) return "";
  return std::string(static_cast<const char*>(bytes),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Statement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// ---- Database ----

Database::Database(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

Database::~Database() {
  for (auto& [sql, entry] : cache_) sqlite3_finalize(entry->stmt);
  sqlite3_close(db_);
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path, int flags,
                                                         int busy_timeout_ms) {
  // SQLite's allocation statistics take a global mutex around every malloc and free it makes
  // (about a hundred per candidate written); nothing reads them. Only possible before SQLite
  // initialises, i.e. on the first call in the process; a later one changes nothing.
  static const int kMemstatusOff = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kMemstatusOff;
  sqlite3* raw = nullptr;
  // No mutex around each call on the connection: a Database is used by one thread at a time
  // (this file's contract), so SQLite's own serialisation would only add a lock per call.
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  // sqlite3_open_v2 hands back a handle even on failure (for the message); the Database owns
  // it from here on either way.
  std::unique_ptr<Database> db(new Database(path, raw));
  if (rc != SQLITE_OK) return db->Error(rc, "opening");
  sqlite3_extended_result_codes(raw, 1);
  rc = sqlite3_busy_timeout(raw, busy_timeout_ms);
  if (rc != SQLITE_OK) return db->Error(rc, "setting busy_timeout");
  // SQLite reads the file lazily; touch the header now so that a stray file is named as such
  // instead of failing later inside some unrelated statement.
  rc = sqlite3_exec(raw, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr);
  if ((rc & 0xff) == SQLITE_NOTADB) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not an SQLite database (", sqlite3_errmsg(raw), ")"));
  }
  if (rc != SQLITE_OK) return db->Error(rc, "reading the schema");
  return db;
}

absl::Status Database::Exec(absl::string_view sql, absl::string_view doing) {
  int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, doing);
  return absl::OkStatus();
}

absl::StatusOr<Statement> Database::Prepare(absl::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it != cache_.end() && !it->second->in_use) {
    it->second->in_use = true;
    return Statement(this, it->second->stmt, it->second.get());
  }
  // A statement already borrowed by an enclosing caller gets a private, uncached twin.
  const bool cache = it == cache_.end();
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              cache ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return Error(rc, absl::StrCat("preparing \"", sql, "\""));
  }
  if (!cache) return Statement(this, stmt, nullptr);
  auto entry = std::make_unique<Statement::CacheEntry>();
  entry->stmt = stmt;
  entry->in_use = true;
  Statement::CacheEntry* raw_entry = entry.get();
  cache_.emplace(std::string(sql), std::move(entry));
  return Statement(this, stmt, raw_entry);
}

absl::StatusOr<int64_t> Database::QueryInt64(absl::string_view sql) {
  absl::StatusOr<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(absl::StrCat("\"", sql, "\" returned no row"));
  return stmt->ColumnInt64(0);
}

absl::StatusOr<std::string> Database::QueryText(absl::string_view sql) {
  absl::StatusOr<Statement> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(absl::StrCat("\"", sql, "\" returned no row"));
  return stmt->ColumnText(0);
}

int64_t Database::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

int64_t Database::TotalChanges() const { return sqlite3_total_changes64(db_); }

bool Database::InAutocommit() const { return sqlite3_get_autocommit(db_) != 0; }

absl::Status Database::Error(int code, absl::string_view doing) const {
  const char* message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(code);
  if ((code & 0xff) == SQLITE_FULL) {
    // SQLite says "database or disk is full" (its unix VFS turns ENOSPC into SQLITE_FULL).
    // The statement was rolled back; the operator frees space and the caller's retry (a
    // worker's report, lease or upload retries on its own) records it then.
    return absl::ResourceExhaustedError(
        absl::StrCat("disk full writing ", path_,
                     ": free space on its filesystem and a retry will record it (sqlite: ", doing,
                     ": ", message, ")"));
  }
  return absl::Status(SqliteCodeToStatusCode(code),
                      absl::StrCat("sqlite ", path_, ": ", doing, ": ", message));
}

}  // namespace headevo::storage
