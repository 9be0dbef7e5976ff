#include "storage/metadata/sqlite_conn.h"

#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "testing/testing.h"

namespace vigil::storage::sqlite {
namespace {

class SqliteConnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = Conn::Open(dir_.Join("t.sqlite"));
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(*conn);
    ASSERT_TRUE(conn_->ExecScript("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)", "create").ok());
  }

  Status Insert(const std::string& k, int64_t v) {
    auto stmt = conn_->Prepare("INSERT INTO t VALUES (?1, ?2)");
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, k);
    stmt->Bind(2, v);
    return stmt->Run();
  }

  int64_t Count() {
    auto stmt = conn_->Prepare("SELECT COUNT(*) FROM t");
    EXPECT_TRUE(stmt.ok());
    auto row = stmt->Step();
    EXPECT_TRUE(row.ok() && *row);
    return stmt->Int(0);
  }

  testing::TempDir dir_;
  std::unique_ptr<Conn> conn_;
};

TEST_F(SqliteConnTest, StatementsAreCachedAndReusable) {
  ASSERT_TRUE(Insert("a", 1).ok());
  size_t cached = conn_->CachedStatements();
  ASSERT_TRUE(Insert("b", 2).ok());
  EXPECT_EQ(cached, conn_->CachedStatements());
  EXPECT_EQ(2, Count());
}

TEST_F(SqliteConnTest, BusyCachedStatementGivesAFreshOne) {
  ASSERT_TRUE(Insert("a", 1).ok());
  ASSERT_TRUE(Insert("b", 2).ok());
  auto outer = conn_->Prepare("SELECT k FROM t ORDER BY k");
  ASSERT_TRUE(outer.ok());
  ASSERT_TRUE(*outer->Step());
  EXPECT_EQ("a", outer->Text(0));
  {
    // The same SQL while the first is mid-step: an independent statement.
    auto inner = conn_->Prepare("SELECT k FROM t ORDER BY k");
    ASSERT_TRUE(inner.ok());
    ASSERT_TRUE(*inner->Step());
    EXPECT_EQ("a", inner->Text(0));
    ASSERT_TRUE(*inner->Step());
    EXPECT_EQ("b", inner->Text(0));
  }
  ASSERT_TRUE(*outer->Step());
  EXPECT_EQ("b", outer->Text(0));
  EXPECT_FALSE(*outer->Step());
}

TEST_F(SqliteConnTest, HandleResetsStatementOnDestruction) {
  ASSERT_TRUE(Insert("a", 1).ok());
  ASSERT_TRUE(Insert("b", 2).ok());
  {
    auto stmt = conn_->Prepare("SELECT k FROM t WHERE v >= ?1 ORDER BY k");
    ASSERT_TRUE(stmt.ok());
    stmt->Bind(1, int64_t{0});
    ASSERT_TRUE(*stmt->Step());  // left mid-way
  }
  auto stmt = conn_->Prepare("SELECT k FROM t WHERE v >= ?1 ORDER BY k");
  ASSERT_TRUE(stmt.ok());
  // Bindings were cleared: NULL matches nothing.
  EXPECT_FALSE(*stmt->Step());
}

TEST_F(SqliteConnTest, CacheStaysBounded) {
  for (int i = 0; i < 500; ++i) {
    auto stmt = conn_->Prepare(fmt::format("SELECT {}", i));
    ASSERT_TRUE(stmt.ok());
    ASSERT_TRUE(*stmt->Step());
    EXPECT_EQ(i, stmt->Int(0));
  }
  EXPECT_LE(conn_->CachedStatements(), 128u);
}

TEST_F(SqliteConnTest, ConstraintViolationIsInvalidArgumentWithExtendedCode) {
  ASSERT_TRUE(Insert("a", 1).ok());
  auto stmt = conn_->Prepare("INSERT INTO t VALUES (?1, ?2)");
  ASSERT_TRUE(stmt.ok());
  stmt->Bind(1, std::string_view("a"));
  stmt->Bind(2, int64_t{2});
  Status st = stmt->Run();
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_EQ(SQLITE_CONSTRAINT_PRIMARYKEY, stmt->rc());
  EXPECT_NE(std::string::npos, st.message().find("UNIQUE constraint failed"));
  EXPECT_NE(std::string::npos, st.message().find("t.sqlite"));
}

TEST_F(SqliteConnTest, BadSqlIsInternal) {
  auto stmt = conn_->Prepare("SELECT nope FROM nowhere");
  ASSERT_FALSE(stmt.ok());
  EXPECT_EQ(StatusCode::kInternal, stmt.status().code());
  EXPECT_NE(std::string::npos, stmt.status().message().find("no such table"));
}

TEST_F(SqliteConnTest, TransactionRollsBackUnlessCommitted) {
  {
    auto tx = Transaction::Begin(conn_.get(), /*immediate=*/true);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(Insert("gone", 1).ok());
  }
  EXPECT_EQ(0, Count());
  {
    auto tx = Transaction::Begin(conn_.get(), /*immediate=*/true);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(Insert("kept", 1).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  EXPECT_EQ(1, Count());
}

TEST_F(SqliteConnTest, EmptyStringBindsAsTextNotNull) {
  ASSERT_TRUE(Insert("", 7).ok());
  auto stmt = conn_->Prepare("SELECT v FROM t WHERE k = ''");
  ASSERT_TRUE(stmt.ok());
  ASSERT_TRUE(*stmt->Step());
  EXPECT_EQ(7, stmt->Int(0));
}

}  // namespace
}  // namespace vigil::storage::sqlite
