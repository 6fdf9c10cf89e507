// The one SQLite wrapper of client-core and syncd: a connection, a prepared statement and a
// transaction that rolls back unless committed (after couchbase-lite-core's
// C4Database::Transaction). Every failure is a Status "<what>: <SQLite's message>".
//
// SQLITE RESULT CODES -> STATUS CODES (SqliteStatus; by the primary code, rc & 0xff)
//   OK, ROW, DONE                 -> OK
//   BUSY, LOCKED                  -> kUnavailable        (another writer; retry with backoff)
//   FULL                          -> kResourceExhausted  (disk full or max_page_count reached;
//                                    the message ends "(the disk is full; nothing was lost)")
//   CORRUPT, NOTADB               -> kDataLoss           (the file is damaged or not a store)
//   CANTOPEN, PERM, READONLY, AUTH -> kFailedPrecondition (the file cannot be opened or written
//                                    as asked; fix the path or its permissions first)
//   CONSTRAINT                    -> kAlreadyExists      (a unique key or a trigger refused)
//   anything else (IOERR, NOMEM, MISUSE, RANGE, …) -> kInternal
// A missing file is the caller's to report (NotFound, with what to do), checked before Open.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::sqlite {

// Turns an SQLite result code into a Status "what: message" (table above); OK for OK, ROW
// and DONE. The message is the connection's when `db` is given, else SQLite's text for `rc`.
Status SqliteStatus(int rc, sqlite3* db, std::string_view what);

// How Db::Open opens a file.
struct OpenOptions {
  bool create = false;         // Create the file when missing.
  int busy_timeout_ms = 5000;  // How long a statement waits for another connection's lock.
  bool durable = true;         // synchronous=FULL (a flush per commit), else NORMAL.
  bool secure_delete = false;  // Overwrite deleted content (PRAGMA secure_delete).
};

class Statement;

// One SQLite connection in WAL mode with foreign keys on and extended result codes. Not
// thread-safe: one thread uses it at a time.
class Db {
 public:
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  Db(Db&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Db& operator=(Db&& other) noexcept;
  ~Db();

  // Opens `path` as `options` say.
  static Result<Db> Open(const std::string& path, const OpenOptions& options);

  // Runs one or more statements without parameters or results.
  Status Exec(std::string_view sql);
  // Prepares one statement; the Result holds the preparation's failure.
  Result<Statement> Prepare(std::string_view sql);
  // The single integer a query returns (e.g. SELECT count(*)), or `fallback` for no row.
  Result<int64_t> QueryInt(std::string_view sql, int64_t fallback = 0);

  // Rows changed by the last INSERT, UPDATE or DELETE that finished.
  int64_t Changes() const;
  // The rowid of the last row inserted on this connection.
  int64_t LastInsertRowId() const;
  // Whether a transaction is open (false after an error SQLite rolled back by itself).
  bool InTransaction() const;

  // The raw connection (backups, sqlite3_* calls this wrapper does not cover).
  sqlite3* get() const { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// Copies the committed state of `source` (one consistent snapshot, taken with SQLite's online
// backup API in a single step, so writers of other connections are not blocked) into the
// database file at `path`, created when missing (an existing file is overwritten).
Status CopyDatabase(Db& source, const std::string& path);

// A prepared statement. Bind indexes start at 1, column indexes at 0. Every bind checks its
// return code; the first failure (preparation or bind) is kept in status() and returned by
// Step and Run, so a chain of binds needs one check.
class Statement {
 public:
  // Prepares `sql` on `db`; status() says whether that worked.
  Statement(sqlite3* db, std::string_view sql);
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // The first failure so far (preparation, or a bind since the last Reset).
  const Status& status() const { return status_; }

  Statement& Bind(int index, int64_t value);
  Statement& BindText(int index, std::string_view text);
  // A zero-length blob is still a blob, not NULL.
  Statement& BindBlob(int index, std::string_view bytes);
  Statement& BindDouble(int index, double value);
  Statement& BindNull(int index);

  // Advances: true when a row is available, false when done.
  Result<bool> Step();
  // Steps until done (for statements without result rows).
  Status Run();
  // Rewinds and clears the bindings (and a bind failure), so the statement can run again.
  void Reset();

  int64_t Int(int column) const;
  double Double(int column) const;
  std::string Text(int column) const;
  std::string Blob(int column) const;
  bool IsNull(int column) const;

 private:
  // Keeps the first failure of a bind of parameter `index`.
  Statement& Bound(int rc, int index);

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string head_;  // The statement's start, naming it in errors.
  Status status_;
  bool prepared_ = false;
};

// BEGIN IMMEDIATE on construction; ROLLBACK in the destructor unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Db& db);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // Whether BEGIN worked.
  const Status& status() const { return status_; }
  Status Commit();

 private:
  Db& db_;
  Status status_;
  bool open_ = false;
};

}  // namespace vigil::sqlite
