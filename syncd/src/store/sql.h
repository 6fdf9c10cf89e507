// A backend-neutral SQL connection, statement and transaction (docs/architecture.md §6): the
// store's SQL is written once and runs on SQLite (sqlite_connection.h) and PostgreSQL
// (pg_connection.h).
//
// PORTABLE SQL (what every statement the store prepares must keep to)
//  1. Parameters are `?N` (1-based) or `?`; the PostgreSQL backend rewrites them to `$N`.
//  2. Types: integers are 64-bit (`INTEGER` in SQLite, `BIGINT` in PostgreSQL), bytes are
//     bound with BindBlob and read with Blob (BLOB / BYTEA), text with BindText / Text.
//     A boolean expression read with Int() is 1 or 0 on both.
//  3. Upserts use `INSERT … ON CONFLICT(…) DO NOTHING | DO UPDATE SET … = excluded.…`; no
//     `INSERT OR IGNORE/REPLACE`, no `rowid`, no SQLite-only functions (instr and strpos are
//     spelled through Contains()).
//  4. Rows a transaction must serialise on (a device's chain) are read with
//     `ForUpdate(conn)` appended: nothing on SQLite (its write transactions are already
//     serial), `FOR UPDATE` on PostgreSQL (several syncd nodes share one database).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::syncd::sql {

// Which database a connection talks to.
enum class Backend { kSqlite, kPostgres };

// The backend's part of a prepared statement. Bind indexes start at 1, columns at 0.
class Cursor {
 public:
  virtual ~Cursor() = default;
  virtual Status BindInt(int index, int64_t value) = 0;
  virtual Status BindText(int index, std::string_view text) = 0;
  virtual Status BindBlob(int index, std::string_view bytes) = 0;
  virtual Status BindDouble(int index, double value) = 0;
  virtual Status BindNull(int index) = 0;
  // Runs the statement on the first call; true while a row is available.
  virtual Result<bool> Step() = 0;
  // Runs a statement whose rows and change count nobody reads (Statement::Queue). The
  // default runs it at once; PostgreSQL only sends it.
  virtual Status Send();
  // Rewinds and clears the bindings, so the statement can run again.
  virtual void Reset() = 0;
  virtual int64_t Int(int column) const = 0;
  virtual double Double(int column) const = 0;
  virtual std::string Text(int column) const = 0;
  virtual std::string Blob(int column) const = 0;
  virtual bool IsNull(int column) const = 0;
};

// One connection. Not thread-safe: one thread uses it at a time.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Backend backend() const = 0;
  // Runs one or more statements without parameters or results.
  virtual Status Exec(std::string_view sql) = 0;
  // Prepares one statement (PORTABLE SQL above).
  virtual Result<std::unique_ptr<Cursor>> Prepare(std::string_view sql) = 0;
  // Rows inserted, updated or deleted by the last statement run with Step/Run (not Queue).
  virtual int64_t Changes() const = 0;
  // Starts a write transaction (SQLite: BEGIN IMMEDIATE).
  virtual Status Begin() = 0;
  // Whether a transaction is open (false after an error the backend rolled back by itself).
  virtual bool InTransaction() const = 0;
  // Whether the connection is known dead (its server went away): drop it and connect again.
  // A SQLite connection never is.
  virtual bool Broken() const { return false; }
};

// " FOR UPDATE" on PostgreSQL, "" on SQLite (note 4).
std::string_view ForUpdate(const Connection& conn);

// An SQL condition: text `needle` occurs in text `haystack` (both SQL expressions), with
// instr() on SQLite and strpos() on PostgreSQL (note 3).
std::string Contains(const Connection& conn, std::string_view haystack, std::string_view needle);

// A prepared statement; the first failure (prepare or bind) is kept and returned by Step/Run.
class Statement {
 public:
  Statement(Connection& conn, std::string_view sql);
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Whether preparation worked.
  const Status& status() const { return status_; }

  Statement& Bind(int index, int64_t value);
  Statement& BindText(int index, std::string_view text);
  Statement& BindBlob(int index, std::string_view bytes);
  Statement& BindDouble(int index, double value);
  Statement& BindNull(int index);

  // Advances: true when a row is available, false when done.
  Result<bool> Step();
  // Steps until done (for statements without result rows).
  Status Run();
  // Runs a statement without result rows whose failure may be reported late: SQLite runs it
  // now; PostgreSQL sends it without waiting (libpq's pipeline mode) and its outcome arrives
  // with the next statement that waits, or the next Exec/Prepare. Only for statements whose
  // failure fails the whole transaction (an insert, an update, an upsert), and never before a
  // Changes() that should count it. The database server's cost is per round trip
  // (docs/performance.md), and most of ingest's statements are such writes.
  Status Queue();
  // Clears bindings and rewinds, so the statement can run again.
  void Reset();

  int64_t Int(int column) const { return cursor_->Int(column); }
  double Double(int column) const { return cursor_->Double(column); }
  std::string Text(int column) const { return cursor_->Text(column); }
  std::string Blob(int column) const { return cursor_->Blob(column); }
  bool IsNull(int column) const { return cursor_->IsNull(column); }

 private:
  void Keep(const Status& status);

  std::unique_ptr<Cursor> cursor_;
  std::string sql_head_;  // The statement's start, to name it in errors.
  Status status_;
};

// Begins a write transaction on construction; rolls back in the destructor unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& conn);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // Whether BEGIN worked.
  const Status& status() const { return status_; }
  Status Commit();

 private:
  Connection& conn_;
  Status status_;
  bool open_ = false;
};

}  // namespace vigil::syncd::sql
