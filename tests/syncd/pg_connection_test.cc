// The PostgreSQL backend of sql::Connection (store/pg_connection.h) and its schema
// (store/pg_schema.h), against a throwaway cluster of this test process (pg_cluster.h).
#include "store/pg_connection.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>
#include <thread>

#include "pg_cluster.h"
#include "store/pg_schema.h"
#include "store/sql_store.h"

namespace vigil::syncd {
namespace {

using testing::SharedPgCluster;

// A connection to a new, empty database of the test process's cluster.
std::unique_ptr<PgConnection> FreshConnection(std::string* url = nullptr) {
  std::string database = SharedPgCluster().FreshDatabase();
  if (url != nullptr) *url = database;
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(database);
  REQUIRE_MESSAGE(conn.ok(), conn.status().ToString());
  return std::move(conn).value();
}

// A connection to the database at `url`.
std::unique_ptr<PgConnection> Connect(const std::string& url) {
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(url);
  REQUIRE_MESSAGE(conn.ok(), conn.status().ToString());
  return std::move(conn).value();
}

// A TCP port of 127.0.0.1 nothing listens on (bound, then released).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t length = sizeof(addr);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

int64_t CountRows(sql::Connection& conn, const std::string& table) {
  sql::Statement count(conn, "SELECT count(*) FROM " + table);
  REQUIRE(count.Step().value());
  return count.Int(0);
}

TEST_CASE("postgres: every type round-trips") {
  std::unique_ptr<PgConnection> conn = FreshConnection();
  REQUIRE(conn->Exec("CREATE TABLE t(id BIGINT PRIMARY KEY, i BIGINT, s TEXT, b BYTEA, "
                     "d DOUBLE PRECISION, f BOOLEAN)")
              .ok());
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  const std::string nuls("\0a\0\0b\0", 6);
  const std::string text = "សួស្តី ✓ 'single' \"double\" \\back ?1 $1 %s\ttab\nline";
  struct Row {
    int64_t i;
    std::string s;
    std::string b;
    double d;
  };
  const std::vector<Row> rows = {
      {std::numeric_limits<int64_t>::min(), text, all_bytes, 0.1},
      {std::numeric_limits<int64_t>::max(), "", nuls, -1.5e308},
      {0, "plain", "", std::numeric_limits<double>::denorm_min()},
      {-1, "x", std::string(1, '\0'), std::numeric_limits<double>::infinity()},
  };
  sql::Statement insert(*conn, "INSERT INTO t(id, i, s, b, d, f) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  REQUIRE(insert.status().ok());
  for (size_t n = 0; n < rows.size(); ++n) {
    insert.Reset();
    insert.Bind(1, static_cast<int64_t>(n))
        .Bind(2, rows[n].i)
        .BindText(3, rows[n].s)
        .BindBlob(4, rows[n].b)
        .BindDouble(5, rows[n].d)
        .Bind(6, static_cast<int64_t>(n % 2));
    REQUIRE(insert.Run().ok());
  }
  sql::Statement select(*conn, "SELECT i, s, b, d, f FROM t ORDER BY id");
  for (size_t n = 0; n < rows.size(); ++n) {
    REQUIRE(select.Step().value());
    CHECK(select.Int(0) == rows[n].i);
    CHECK(select.Text(1) == rows[n].s);
    CHECK(select.Blob(2) == rows[n].b);
    CHECK(select.Double(3) == rows[n].d);
    CHECK(select.Int(4) == static_cast<int64_t>(n % 2));
    CHECK_FALSE(select.IsNull(0));
    CHECK_FALSE(select.IsNull(2));  // An empty blob is not NULL.
  }
  CHECK_FALSE(select.Step().value());

  // NULL, bound or left unbound; NaN; boolean expressions.
  insert.Reset();
  insert.Bind(1, 10).BindNull(2).BindNull(3).BindNull(4).BindDouble(
      5, std::numeric_limits<double>::quiet_NaN());
  REQUIRE(insert.Run().ok());
  sql::Statement nulls(*conn, "SELECT i, s, b, d, f, i IS NULL, 1 = 2 FROM t WHERE id = 10");
  REQUIRE(nulls.Step().value());
  for (int column = 0; column < 3; ++column) CHECK(nulls.IsNull(column));
  CHECK(nulls.IsNull(4));
  CHECK(nulls.Int(0) == 0);
  CHECK(std::isnan(nulls.Double(3)));
  CHECK(nulls.Int(5) == 1);
  CHECK(nulls.Int(6) == 0);
}

TEST_CASE("postgres: ?N and ? become $N outside quotes and comments") {
  int params = 0;
  CHECK(PgConnection::RewriteParameters("SELECT ?2, ?1, ?", &params) == "SELECT $2, $1, $3");
  CHECK(params == 3);
  CHECK(PgConnection::RewriteParameters("SELECT '?', ?, 'it''s ?1', \"q?\" -- ?\n, ?", &params) ==
        "SELECT '?', $1, 'it''s ?1', \"q?\" -- ?\n, $2");
  CHECK(params == 2);
  CHECK(PgConnection::RewriteParameters("SELECT /* ?3 */ ?1, $$?$$, x", &params) ==
        "SELECT /* ?3 */ $1, $$?$$, x");
  CHECK(params == 1);
  CHECK(PgConnection::RewriteParameters("SELECT 1", &params) == "SELECT 1");
  CHECK(params == 0);

  std::unique_ptr<PgConnection> conn = FreshConnection();
  sql::Statement stmt(*conn, "SELECT '?' || ?1, 'a?b', ?1 || '?'");
  stmt.BindText(1, "x");
  REQUIRE(stmt.Step().value());
  CHECK(stmt.Text(0) == "?x");
  CHECK(stmt.Text(1) == "a?b");
  CHECK(stmt.Text(2) == "x?");
  // A parameter beyond the statement's is refused, as SQLite does.
  sql::Statement one(*conn, "SELECT ?1::bigint");
  one.Bind(2, 5);
  CHECK_FALSE(one.Step().ok());
}

TEST_CASE("postgres: a statement is prepared once per connection and reused") {
  std::unique_ptr<PgConnection> conn = FreshConnection();
  auto prepared = [&] { return CountRows(*conn, "pg_prepared_statements"); };
  const char* kSql = "SELECT ?1::bigint * 2";
  int64_t before = 0;
  {
    sql::Statement first(*conn, kSql);
    before = prepared();
    first.Bind(1, 21);
    REQUIRE(first.Step().value());
    CHECK(first.Int(0) == 42);
    first.Reset();
    first.Bind(1, 5);
    REQUIRE(first.Step().value());
    CHECK(first.Int(0) == 10);
  }
  sql::Statement again(*conn, kSql);
  again.Bind(1, -4);
  REQUIRE(again.Step().value());
  CHECK(again.Int(0) == -8);
  CHECK(prepared() == before);
}

TEST_CASE("postgres: Changes counts the rows the last write touched") {
  std::unique_ptr<PgConnection> conn = FreshConnection();
  REQUIRE(conn->Exec("CREATE TABLE t(k BIGINT PRIMARY KEY, v TEXT)").ok());
  REQUIRE(conn->Exec("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')").ok());
  CHECK(conn->Changes() == 3);
  sql::Statement update(*conn, "UPDATE t SET v = ?1 WHERE k >= ?2");
  update.BindText(1, "z").Bind(2, 2);
  REQUIRE(update.Run().ok());
  CHECK(conn->Changes() == 2);
  sql::Statement select(*conn, "SELECT k FROM t");
  REQUIRE(select.Run().ok());
  CHECK(conn->Changes() == 2);  // A read changes nothing.
  sql::Statement none(*conn, "DELETE FROM t WHERE k = ?1");
  none.Bind(1, 99);
  REQUIRE(none.Run().ok());
  CHECK(conn->Changes() == 0);
}

TEST_CASE("postgres: transactions roll back unless committed") {
  std::unique_ptr<PgConnection> conn = FreshConnection();
  REQUIRE(conn->Exec("CREATE TABLE t(k BIGINT PRIMARY KEY)").ok());
  CHECK_FALSE(conn->InTransaction());
  {
    sql::Transaction txn(*conn);
    REQUIRE(txn.status().ok());
    CHECK(conn->InTransaction());
    REQUIRE(conn->Exec("INSERT INTO t VALUES (1), (2)").ok());
  }
  CHECK_FALSE(conn->InTransaction());
  CHECK(CountRows(*conn, "t") == 0);
  {
    sql::Transaction txn(*conn);
    REQUIRE(conn->Exec("INSERT INTO t VALUES (3)").ok());
    REQUIRE(txn.Commit().ok());
  }
  CHECK(CountRows(*conn, "t") == 1);
  // After an error the transaction stays open, aborted, until rolled back; COMMIT refuses.
  {
    sql::Transaction txn(*conn);
    REQUIRE(conn->Exec("INSERT INTO t VALUES (4)").ok());
    CHECK_FALSE(conn->Exec("INSERT INTO nowhere VALUES (1)").ok());
    CHECK(conn->InTransaction());
    CHECK(txn.Commit().code() == StatusCode::kAborted);
  }
  CHECK_FALSE(conn->InTransaction());
  CHECK(CountRows(*conn, "t") == 1);
}

TEST_CASE("postgres: a unique violation is kAlreadyExists, other errors kInternal") {
  std::unique_ptr<PgConnection> conn = FreshConnection();
  REQUIRE(conn->Exec("CREATE TABLE t(k BIGINT PRIMARY KEY)").ok());
  sql::Statement insert(*conn, "INSERT INTO t VALUES (?1)");
  insert.Bind(1, 7);
  REQUIRE(insert.Run().ok());
  insert.Reset();
  insert.Bind(1, 7);
  Status again = insert.Run();
  CHECK(again.code() == StatusCode::kAlreadyExists);
  CHECK(again.message().find("23505") != std::string::npos);
  Status bad = conn->Exec("SELECT nonsense FROM t");
  CHECK(bad.code() == StatusCode::kInternal);
  CHECK(bad.message().find("42703") != std::string::npos);
  sql::Statement unprepared(*conn, "SELEKT 1");
  CHECK(unprepared.status().code() == StatusCode::kInternal);
}

TEST_CASE("postgres: an unreachable server is kUnavailable and no password is shown") {
  const std::string password = "s3cret-Pw";
  const std::string closed =
      "postgresql://vigil:" + password + "@127.0.0.1:" + std::to_string(ClosedPort()) + "/vigil";
  Result<std::unique_ptr<PgConnection>> refused = PgConnection::Connect(closed);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kUnavailable);
  CHECK(refused.status().message().find("127.0.0.1") != std::string::npos);
  CHECK(refused.status().message().find(password) == std::string::npos);

  const std::string& good = SharedPgCluster().url();  // postgresql://vigil@127.0.0.1:PORT/vigil
  std::string no_database = good.substr(0, good.rfind('/')) + "/missing";
  no_database.insert(std::string("postgresql://vigil").size(), ":" + password);
  Result<std::unique_ptr<PgConnection>> missing = PgConnection::Connect(no_database);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kUnavailable);
  CHECK(missing.status().message().find(password) == std::string::npos);

  Result<std::unique_ptr<PgConnection>> malformed =
      PgConnection::Connect("postgresql://vigil:" + password + "@127.0.0.1:notaport/vigil");
  REQUIRE_FALSE(malformed.ok());
  CHECK(malformed.status().code() == StatusCode::kUnavailable);
  CHECK(malformed.status().message().find(password) == std::string::npos);
}

TEST_CASE("postgres: a dropped connection is kUnavailable and can be replaced") {
  std::string url;
  std::unique_ptr<PgConnection> victim = FreshConnection(&url);
  std::unique_ptr<PgConnection> admin = Connect(url);
  sql::Statement terminate(*admin, "SELECT pg_terminate_backend(?1::int)");
  terminate.Bind(1, victim->BackendPid());
  REQUIRE(terminate.Step().value());
  REQUIRE(terminate.Int(0) == 1);
  // The backend is gone once pg_stat_activity no longer lists it.
  while (true) {
    sql::Statement alive(*admin, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?1::int");
    alive.Bind(1, victim->BackendPid());
    REQUIRE(alive.Step().value());
    if (alive.Int(0) == 0) break;
  }
  Status lost = victim->Exec("SELECT 1");
  CHECK(lost.code() == StatusCode::kUnavailable);
  CHECK(lost.message().find("127.0.0.1") != std::string::npos);
  std::unique_ptr<PgConnection> replacement = Connect(url);
  CHECK(replacement->Exec("SELECT 1").ok());
}

TEST_CASE("postgres: SELECT FOR UPDATE holds a second transaction until the first commits") {
  std::string url;
  std::unique_ptr<PgConnection> first = FreshConnection(&url);
  std::unique_ptr<PgConnection> second = Connect(url);
  std::unique_ptr<PgConnection> observer = Connect(url);
  REQUIRE(first
              ->Exec("CREATE TABLE chain(device TEXT PRIMARY KEY, seq BIGINT NOT NULL);"
                     "INSERT INTO chain VALUES ('d1', 1)")
              .ok());
  const std::string select =
      "SELECT seq FROM chain WHERE device = ?1" + std::string(sql::ForUpdate(*first));

  sql::Transaction txn(*first);
  REQUIRE(txn.status().ok());
  {
    sql::Statement lock(*first, select);
    lock.BindText(1, "d1");
    REQUIRE(lock.Step().value());
    CHECK(lock.Int(0) == 1);
  }

  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  bool done = false;
  int64_t seen = -1;
  Status second_status;
  const int second_pid = second->BackendPid();
  std::thread waiter([&] {
    sql::Transaction second_txn(*second);
    {
      std::lock_guard lock(mu);
      started = true;
    }
    cv.notify_all();
    sql::Statement lock(*second, select);
    lock.BindText(1, "d1");
    Result<bool> row = lock.Step();
    int64_t value = row.ok() && *row ? lock.Int(0) : -1;
    Status committed = second_txn.Commit();
    std::lock_guard guard(mu);
    second_status = row.ok() ? committed : row.status();
    seen = value;
    done = true;
    cv.notify_all();
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return started; });
  }
  // Wait until the server reports the second connection waiting for the row lock.
  bool waiting = false;
  while (!waiting) {
    sql::Statement locks(*observer,
                         "SELECT count(*) FROM pg_locks WHERE pid = ?1::int AND NOT granted");
    locks.Bind(1, second_pid);
    REQUIRE(locks.Step().value());
    waiting = locks.Int(0) > 0;
    std::lock_guard guard(mu);
    REQUIRE_FALSE(done);
  }
  {
    sql::Statement bump(*first, "UPDATE chain SET seq = seq + 1 WHERE device = ?1");
    bump.BindText(1, "d1");
    REQUIRE(bump.Run().ok());
  }
  {
    std::lock_guard guard(mu);
    CHECK_FALSE(done);
  }
  REQUIRE(txn.Commit().ok());
  waiter.join();
  CHECK(done);
  CHECK(second_status.ok());
  CHECK(seen == 2);  // It read the row as the first transaction left it.
}

TEST_CASE("postgres: the schema migrates on a fresh database and reports its version") {
  std::unique_ptr<PgConnection> conn = FreshConnection();
  CHECK(PgSchemaVersion(*conn).value() == 0);
  REQUIRE(MigratePgSchema(*conn).ok());
  CHECK(PgSchemaVersion(*conn).value() == kSchemaVersion);
  CHECK(MigratePgSchema(*conn).ok());  // A no-op the second time.
  CHECK(PgSchemaVersion(*conn).value() == kSchemaVersion);
  // Every table of the SQLite schema is there.
  for (const char* table :
       {"settings",      "stations",          "observers",  "assignments",     "forms",
        "broadcasts",    "enrollment_codes",  "devices",    "batches",         "equivocations",
        "records",       "record_rejections", "rejections", "pull_nonces",     "merge_latest",
        "masters",       "conflicts",         "overrides",  "qa_flags",        "cases",
        "case_members",  "case_status",       "audit_log",  "coordinators",    "alerts",
        "minute_counts", "quarantine",        "backups",    "backup_coverage", "chain_gaps"}) {
    CAPTURE(table);
    CHECK(CountRows(*conn, table) == 0);
  }
  // Evidence is append-only.
  REQUIRE(conn->Exec("INSERT INTO audit_log(at_ms, actor, action, target, before, after, reason) "
                     "VALUES (1, 'a', 'b', 'c', '', '', 'r')")
              .ok());
  CHECK_FALSE(conn->Exec("UPDATE audit_log SET reason = 'x'").ok());
  CHECK_FALSE(conn->Exec("DELETE FROM audit_log").ok());
  CHECK(CountRows(*conn, "audit_log") == 1);
  // A newer schema is refused.
  REQUIRE(conn->Exec("UPDATE schema_version SET version = version + 1").ok());
  CHECK(MigratePgSchema(*conn).code() == StatusCode::kUnimplemented);
}

TEST_CASE("postgres: queued writes run in order, and a read behind them sees every one") {
  std::unique_ptr<PgConnection> conn = FreshConnection();
  REQUIRE(conn->Exec("CREATE TABLE t(k BIGINT PRIMARY KEY, v TEXT)").ok());
  sql::Transaction txn(*conn);
  REQUIRE(txn.status().ok());
  sql::Statement insert(*conn, "INSERT INTO t(k, v) VALUES (?1, ?2)");
  const int64_t rows = 3 * static_cast<int64_t>(PgConnection::kMaxQueued) + 5;
  for (int64_t k = 1; k <= rows; ++k) {
    insert.Reset();
    insert.Bind(1, k).BindText(2, "v" + std::to_string(k));
    REQUIRE(insert.Queue().ok());
    CHECK(conn->queued() <= PgConnection::kMaxQueued);  // Never more waiting unanswered.
  }
  CHECK(conn->queued() > 0);
  sql::Statement update(*conn, "UPDATE t SET v = ?1 WHERE k = ?2");
  update.BindText(1, "last").Bind(2, rows);
  REQUIRE(update.Queue().ok());
  sql::Statement read(*conn, "SELECT count(*), max(k), min(v) FILTER (WHERE k = ?1) FROM t");
  read.Bind(1, rows);
  REQUIRE(read.Step().value());
  CHECK(conn->queued() == 0);
  CHECK(read.Int(0) == rows);
  CHECK(read.Int(1) == rows);
  CHECK(read.Text(2) == "last");  // The update ran after the inserts, as queued.
  REQUIRE(txn.Commit().ok());
  CHECK(CountRows(*conn, "t") == rows);
}

TEST_CASE("postgres: a queued write's failure comes back with the next statement that waits") {
  std::unique_ptr<PgConnection> conn = FreshConnection();
  REQUIRE(conn->Exec("CREATE TABLE t(k BIGINT PRIMARY KEY)").ok());
  REQUIRE(conn->Exec("INSERT INTO t VALUES (1)").ok());
  sql::Statement insert(*conn, "INSERT INTO t(k) VALUES (?1)");
  {
    sql::Transaction txn(*conn);
    insert.Reset();
    insert.Bind(1, 2);
    REQUIRE(insert.Queue().ok());
    insert.Reset();
    insert.Bind(1, 1);  // A unique violation, not known yet.
    REQUIRE(insert.Queue().ok());
    insert.Reset();
    insert.Bind(1, 3);  // Never runs: the transaction is aborted by then.
    REQUIRE(insert.Queue().ok());
    sql::Statement read(*conn, "SELECT count(*) FROM t");
    Result<bool> row = read.Step();
    REQUIRE_FALSE(row.ok());
    CHECK(row.status().code() == StatusCode::kAlreadyExists);
    CHECK(row.status().message().find("queued statement: INSERT INTO t(k)") != std::string::npos);
    CHECK(conn->queued() == 0);
    CHECK(conn->InTransaction());
    CHECK(txn.Commit().code() == StatusCode::kAborted);
  }
  CHECK(CountRows(*conn, "t") == 1);

  // Inside a savepoint, as syncd's writer runs a job: the RELEASE reports the failure, and
  // rolling back to the savepoint keeps what came before it.
  sql::Transaction txn(*conn);
  insert.Reset();
  insert.Bind(1, 10);
  REQUIRE(insert.Queue().ok());
  REQUIRE(sql::Statement(*conn, "SAVEPOINT job").Queue().ok());
  insert.Reset();
  insert.Bind(1, 1);
  REQUIRE(insert.Queue().ok());
  Status released = sql::Statement(*conn, "RELEASE job").Run();
  CHECK(released.code() == StatusCode::kAlreadyExists);
  REQUIRE(conn->Exec("ROLLBACK TO job; RELEASE job").ok());
  insert.Reset();
  insert.Bind(1, 11);
  REQUIRE(insert.Queue().ok());
  REQUIRE(txn.Commit().ok());  // COMMIT collects the queued insert first.
  CHECK(CountRows(*conn, "t") == 3);
}

TEST_CASE("postgres: Exec after a queued failure returns it and still runs its statement") {
  std::unique_ptr<PgConnection> conn = FreshConnection();
  REQUIRE(conn->Exec("CREATE TABLE t(k BIGINT PRIMARY KEY)").ok());
  REQUIRE(conn->Begin().ok());
  sql::Statement bad(*conn, "INSERT INTO t(k) VALUES (?1 / 0)");
  bad.Bind(1, 1);
  REQUIRE(bad.Queue().ok());
  CHECK(conn->InTransaction());
  Status rolled = conn->Exec("ROLLBACK");
  CHECK(rolled.code() == StatusCode::kInternal);
  CHECK(rolled.message().find("22012") != std::string::npos);  // division_by_zero
  CHECK_FALSE(conn->InTransaction());                          // The ROLLBACK ran.
  CHECK(conn->Exec("SELECT 1").ok());
}

}  // namespace
}  // namespace vigil::syncd
