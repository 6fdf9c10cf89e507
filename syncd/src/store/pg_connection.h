// The PostgreSQL backend of sql::Connection (store/sql.h) over libpq (docs/architecture.md §6).
//
// Statements: `?N` and `?` outside quotes and comments become `$N`; each distinct SQL text is
// prepared on the server once per connection and reused. Parameters go as text, blobs as
// binary; results come back as text (bytea in hex, decoded by Blob and Text).
//
// ERRORS (libpq failure → StatusCode)
//   cannot connect, connection lost, server shutting down
//     (SQLSTATE class 08, 57P01-57P03)                              → kUnavailable
//   23505 unique_violation                                          → kAlreadyExists
//   40001 serialization_failure, 40P01 deadlock_detected,
//     COMMIT of a transaction an earlier error aborted              → kAborted
//   53100 disk_full, 53200 out_of_memory                            → kResourceExhausted
//   anything else                                                   → kInternal
// Messages start with "postgres: " and name the server as host:port; never a password. After
// kUnavailable the connection is dead: the caller drops it and connects again.
//
// PIPELINE (Statement::Queue)
//   A queued statement is sent in libpq's pipeline mode and not waited for. The next statement
//   that waits (Step/Run) goes out behind the queued ones with one Sync: one round trip for
//   all of them. Exec and Prepare first collect the queued outcomes (a round trip of their
//   own). The first failure among the queued statements is returned by whichever call
//   collects it, naming the statement; the statements after it did not run, and in a
//   transaction block the transaction is aborted as after any failed statement. At most
//   kMaxQueued statements wait unanswered, so neither side's socket buffer can fill up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "store/sql.h"

struct pg_conn;
struct pg_result;

namespace vigil::syncd {

// "host:port/db" of a libpq connection (possibly a failed one), for messages; never the
// password.
std::string PgServerOf(pg_conn* conn);

// An sql::Connection on one libpq connection.
class PgConnection final : public sql::Connection {
 public:
  // Connects to `url` (postgresql://user@host:port/db or a libpq key=value string). Unless
  // the URL says otherwise: connect_timeout=5, TCP keepalives after 10 s idle (3 probes 5 s
  // apart), and target_session_attrs=read-write, so that a URL naming the primary and its
  // standbys (postgresql://h1:p1,h2:p2/db) reaches whichever is the primary now.
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& url);
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection() override;

  sql::Backend backend() const override { return sql::Backend::kPostgres; }
  Status Exec(std::string_view sql) override;
  Result<std::unique_ptr<sql::Cursor>> Prepare(std::string_view sql) override;
  int64_t Changes() const override { return changes_; }
  // BEGIN ISOLATION LEVEL READ COMMITTED.
  Status Begin() override;
  // True also while a failed transaction waits for its ROLLBACK.
  bool InTransaction() const override;
  // libpq lost the connection (PQstatus is CONNECTION_BAD).
  bool Broken() const override;

  // The server process serving this connection (pg_stat_activity.pid).
  int BackendPid() const;

  // Statements sent and not answered at most (PIPELINE above).
  static constexpr size_t kMaxQueued = 64;
  // How many statements are sent and not answered now.
  size_t queued() const { return queued_.size(); }

  // `sql` with `?N` / `?` outside string literals, quoted names and comments turned into `$N`;
  // `params` gets the number of parameters (the highest N).
  static std::string RewriteParameters(std::string_view sql, int* params);

 private:
  friend class PgCursor;
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}

  // Sends one prepared statement into the pipeline (PIPELINE above); `head` names it in errors.
  Status SendQueued(const std::string& name, std::string_view head, int count,
                    const char* const* values, const int* lengths, const int* formats);
  // Ends the pipeline: sends a Sync and collects every queued statement's outcome, and, when
  // `own` is true, the result of the statement sent last (the caller's), which it returns.
  Result<pg_result*> Collect(bool own);
  // Collects the queued outcomes when there are any (Exec and Prepare cannot pipeline).
  Status Flush();
  // Exec without the Flush.
  Status ExecNow(std::string_view sql);

  pg_conn* conn_;
  std::string where_;  // "host:port/db", for messages.
  int64_t changes_ = 0;
  // The queued statements' heads, oldest first, while the connection is in pipeline mode.
  std::deque<std::string> queued_;
  // SQL text → name of its server-side prepared statement and its parameter count.
  std::map<std::string, std::pair<std::string, int>, std::less<>> prepared_;
};

}  // namespace vigil::syncd
