#include "storage/sqlite_db.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/transaction.h"
#include "tests/storage/storage_test_util.h"
#include "tests/testutil/status_matchers.h"

namespace headevo::storage {
namespace {

constexpr int kCreate = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(db_, Database::Open(":memory:", kCreate, 1000));
    ASSERT_OK(
        db_->Exec("CREATE TABLE t (x INTEGER PRIMARY KEY, name TEXT UNIQUE);"
                  "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');",
                  "creating test table"));
  }

  int64_t CountRows() {
    absl::StatusOr<int64_t> count = db_->QueryInt64("SELECT count(*) FROM t");
    EXPECT_OK(count);
    return count.value_or(-1);
  }

  std::unique_ptr<Database> db_;
};

TEST_F(DatabaseTest, ReusesPreparedStatements) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(Statement stmt, db_->Prepare("SELECT name FROM t WHERE x = ?1"));
    ASSERT_OK_AND_ASSIGN(bool row, stmt.Bind(1, int64_t{2}).Step());
    ASSERT_TRUE(row);
    EXPECT_EQ(stmt.ColumnText(0), "b");
  }
  EXPECT_EQ(db_->CachedStatementCount(), 1u);
}

TEST_F(DatabaseTest, ReturnedStatementIsResetForTheNextBorrower) {
  {
    ASSERT_OK_AND_ASSIGN(Statement stmt, db_->Prepare("SELECT x FROM t ORDER BY x"));
    ASSERT_OK_AND_ASSIGN(bool row, stmt.Step());
    ASSERT_TRUE(row);
    ASSERT_OK_AND_ASSIGN(row, stmt.Step());  // left mid-way at row 2
  }
  ASSERT_OK_AND_ASSIGN(Statement stmt, db_->Prepare("SELECT x FROM t ORDER BY x"));
  ASSERT_OK_AND_ASSIGN(bool row, stmt.Step());
  ASSERT_TRUE(row);
  EXPECT_EQ(stmt.ColumnInt64(0), 1);
}

TEST_F(DatabaseTest, NestedUseOfTheSameSqlGetsAnIndependentStatement) {
  const char* sql = "SELECT x FROM t WHERE x >= ?1 ORDER BY x";
  ASSERT_OK_AND_ASSIGN(Statement outer, db_->Prepare(sql));
  outer.Bind(1, 1);
  ASSERT_OK_AND_ASSIGN(bool row, outer.Step());
  ASSERT_TRUE(row);
  {
    ASSERT_OK_AND_ASSIGN(Statement inner, db_->Prepare(sql));
    ASSERT_OK_AND_ASSIGN(bool inner_row, inner.Bind(1, 3).Step());
    ASSERT_TRUE(inner_row);
    EXPECT_EQ(inner.ColumnInt64(0), 3);
  }
  ASSERT_OK_AND_ASSIGN(row, outer.Step());
  ASSERT_TRUE(row);
  EXPECT_EQ(outer.ColumnInt64(0), 2);  // the outer iteration was not disturbed
  EXPECT_EQ(db_->CachedStatementCount(), 1u);
}

TEST_F(DatabaseTest, PrepareErrorNamesPathStatementAndSqliteMessage) {
  absl::StatusOr<Statement> stmt = db_->Prepare("SELECT * FROM missing_table");
  EXPECT_TRUE(testing::IsError(stmt.status(), absl::StatusCode::kInternal, ":memory:"));
  EXPECT_TRUE(testing::IsError(stmt.status(), absl::StatusCode::kInternal, "preparing"));
  EXPECT_TRUE(
      testing::IsError(stmt.status(), absl::StatusCode::kInternal, "no such table: missing_table"));
}

TEST_F(DatabaseTest, ConstraintViolationIsFailedPrecondition) {
  ASSERT_OK_AND_ASSIGN(Statement stmt, db_->Prepare("INSERT INTO t(name) VALUES (?1)"));
  absl::Status status = stmt.Bind(1, "a").Run();
  EXPECT_TRUE(
      testing::IsError(status, absl::StatusCode::kFailedPrecondition, "UNIQUE constraint failed"));
  EXPECT_EQ(CountRows(), 3);
}

TEST_F(DatabaseTest, BindErrorIsReportedByStep) {
  ASSERT_OK_AND_ASSIGN(Statement stmt, db_->Prepare("SELECT name FROM t WHERE x = ?1"));
  absl::StatusOr<bool> row = stmt.Bind(7, int64_t{1}).Step();
  EXPECT_TRUE(testing::IsError(row.status(), absl::StatusCode::kInternal, "binding parameter 7"));
}

TEST_F(DatabaseTest, ForEachRowVisitsEveryRowInOrder) {
  ASSERT_OK_AND_ASSIGN(Statement stmt, db_->Prepare("SELECT x, name FROM t ORDER BY x DESC"));
  std::vector<std::string> seen;
  ASSERT_OK(stmt.ForEachRow([&](const Statement& row) {
    seen.push_back(absl::StrCat(row.ColumnInt64(0), row.ColumnText(1)));
  }));
  EXPECT_EQ(seen, (std::vector<std::string>{"3c", "2b", "1a"}));

  ASSERT_OK_AND_ASSIGN(Statement none, db_->Prepare("SELECT x FROM t WHERE x > 99"));
  int calls = 0;
  ASSERT_OK(none.ForEachRow([&](const Statement&) { ++calls; }));
  EXPECT_EQ(calls, 0);
}

TEST_F(DatabaseTest, ForEachRowStopsAtTheCallbacksErrorAndReturnsIt) {
  ASSERT_OK_AND_ASSIGN(Statement stmt, db_->Prepare("SELECT x FROM t ORDER BY x"));
  std::vector<int64_t> seen;
  absl::Status status = stmt.ForEachRow([&](const Statement& row) -> absl::Status {
    seen.push_back(row.ColumnInt64(0));
    if (row.ColumnInt64(0) == 2) return absl::DataLossError("row 2 is bad");
    return absl::OkStatus();
  });
  EXPECT_TRUE(testing::IsError(status, absl::StatusCode::kDataLoss, "row 2 is bad"));
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2}));  // row 3 was never read
}

TEST_F(DatabaseTest, ForEachRowStopsWithoutErrorWhenTheCallbackSaysFalse) {
  ASSERT_OK_AND_ASSIGN(Statement stmt, db_->Prepare("SELECT x FROM t ORDER BY x"));
  std::vector<int64_t> seen;
  ASSERT_OK(stmt.ForEachRow([&](const Statement& row) {
    seen.push_back(row.ColumnInt64(0));
    return seen.size() < 2;
  }));
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2}));
  // The statement stays where the walk stopped: the next step is row 3.
  ASSERT_OK_AND_ASSIGN(bool row, stmt.Step());
  ASSERT_TRUE(row);
  EXPECT_EQ(stmt.ColumnInt64(0), 3);
}

TEST_F(DatabaseTest, ForEachRowReturnsBindAndStepErrorsWithoutCallingBack) {
  ASSERT_OK_AND_ASSIGN(Statement bad_bind, db_->Prepare("SELECT name FROM t WHERE x = ?1"));
  int calls = 0;
  absl::Status status = bad_bind.Bind(7, int64_t{1}).ForEachRow([&](const Statement&) { ++calls; });
  EXPECT_TRUE(testing::IsError(status, absl::StatusCode::kInternal, "binding parameter 7"));
  EXPECT_EQ(calls, 0);

  // A step error after some rows: the rows before it were visited, then the error returned.
  ASSERT_OK_AND_ASSIGN(Statement failing,
                       db_->Prepare("SELECT CASE WHEN x < 3 THEN x ELSE abs(-9223372036854775807 "
                                    "- 1) END FROM t ORDER BY x"));
  status = failing.ForEachRow([&](const Statement&) { ++calls; });
  EXPECT_TRUE(testing::IsError(status, absl::StatusCode::kInternal, "integer overflow"));
  EXPECT_EQ(calls, 2);
}

TEST_F(DatabaseTest, NullBindsAndReadsBackAsZeroId) {
  ASSERT_OK(db_->Exec("CREATE TABLE r (id INTEGER PRIMARY KEY, ref INTEGER)", "creating r"));
  ASSERT_OK_AND_ASSIGN(Statement insert, db_->Prepare("INSERT INTO r(ref) VALUES (?1)"));
  ASSERT_OK(insert.BindIdOrNull(1, 0).Run());
  ASSERT_OK_AND_ASSIGN(int64_t nulls, db_->QueryInt64("SELECT count(*) FROM r WHERE ref IS NULL"));
  EXPECT_EQ(nulls, 1);
  ASSERT_OK_AND_ASSIGN(Statement select, db_->Prepare("SELECT ref FROM r"));
  ASSERT_OK_AND_ASSIGN(bool row, select.Step());
  ASSERT_TRUE(row);
  EXPECT_TRUE(select.ColumnIsNull(0));
  EXPECT_EQ(select.ColumnIdOrZero(0), 0);
}

TEST_F(DatabaseTest, TransactionRollsBackUnlessCommitted) {
  {
    ASSERT_OK_AND_ASSIGN(Transaction txn, Transaction::Begin(*db_, Transaction::Mode::kWrite));
    ASSERT_OK(db_->Exec("INSERT INTO t(name) VALUES ('d')", "inserting"));
    EXPECT_EQ(CountRows(), 4);
  }  // early exit: rolled back
  EXPECT_EQ(CountRows(), 3);
  EXPECT_TRUE(db_->InAutocommit());
  {
    ASSERT_OK_AND_ASSIGN(Transaction txn, Transaction::Begin(*db_, Transaction::Mode::kWrite));
    ASSERT_OK(db_->Exec("INSERT INTO t(name) VALUES ('d')", "inserting"));
    ASSERT_OK(txn.Commit());
  }
  EXPECT_EQ(CountRows(), 4);
}

TEST_F(DatabaseTest, TransactionsDoNotNest) {
  ASSERT_OK_AND_ASSIGN(Transaction txn, Transaction::Begin(*db_, Transaction::Mode::kWrite));
  absl::StatusOr<Transaction> nested = Transaction::Begin(*db_, Transaction::Mode::kRead);
  EXPECT_EQ(nested.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SqliteCodeTest, MapsLockAndCorruptionCodes) {
  EXPECT_EQ(SqliteCodeToStatusCode(SQLITE_BUSY), absl::StatusCode::kUnavailable);
  EXPECT_EQ(SqliteCodeToStatusCode(SQLITE_BUSY_SNAPSHOT), absl::StatusCode::kUnavailable);
  EXPECT_EQ(SqliteCodeToStatusCode(SQLITE_CONSTRAINT_FOREIGNKEY),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(SqliteCodeToStatusCode(SQLITE_CORRUPT), absl::StatusCode::kDataLoss);
  EXPECT_EQ(SqliteCodeToStatusCode(SQLITE_ERROR), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace headevo::storage
