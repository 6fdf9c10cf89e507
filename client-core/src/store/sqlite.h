// RAII wrappers over the SQLite C API: a connection, a prepared statement and a transaction
// that rolls back unless committed (after couchbase-lite-core's C4Database::Transaction).
// Every failure becomes a Status naming the statement and SQLite's message; SQLITE_FULL
// becomes kResourceExhausted ("disk full") so callers can tell it apart.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::client::store {

// Turns a SQLite result code into a Status ("context: message").
Status SqliteStatus(int rc, sqlite3* db, std::string_view context);

// One prepared statement. Bind parameters are 1-based as in SQLite.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view text);
  Statement& BindBlob(int index, std::string_view bytes);
  Statement& BindNull(int index);

  // Steps once: true when a row is available, false when done.
  Result<bool> Step();
  // Steps to completion, ignoring rows.
  Status Run();
  // Resets for re-use and clears bindings.
  void Reset();

  int64_t ColumnInt(int col) const;
  std::string ColumnText(int col) const;
  std::string ColumnBlob(int col) const;
  bool ColumnIsNull(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  Status bind_status_;
};

// One SQLite connection. Not thread-safe: one per thread.
class Database {
 public:
  // Opens (creating if asked) the file, in WAL mode with a busy timeout; synchronous=FULL
  // when `durable`, else NORMAL (no flush per commit: load simulation only).
  static Result<std::unique_ptr<Database>> Open(const std::string& path, bool create,
                                                bool durable = true);
  ~Database();

  Status Exec(std::string_view sql);
  Result<Statement> Prepare(std::string_view sql);
  // The single integer the query returns (e.g. SELECT count(*)), or `fallback` for no row.
  Result<int64_t> QueryInt(std::string_view sql, int64_t fallback = 0);

  sqlite3* handle() { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless Commit() succeeded.
class Transaction {
 public:
  static Result<std::unique_ptr<Transaction>> Begin(Database& db);
  ~Transaction();
  Status Commit();

 private:
  explicit Transaction(Database& db) : db_(db) {}
  Database& db_;
  bool done_ = false;
};

}  // namespace vigil::client::store
