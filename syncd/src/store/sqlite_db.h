// Thin RAII wrappers over the SQLite C API: a connection, a prepared statement and a
// transaction that rolls back unless committed (after couchbase's C4Database::Transaction).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::syncd {

// Maps an SQLite result code to a Status (BUSY/LOCKED -> kUnavailable, FULL ->
// kResourceExhausted, CORRUPT -> kDataLoss, others kInternal).
Status SqliteStatus(int rc, sqlite3* db, std::string_view what);

class Db;

// Copies the committed state of `source` (one consistent snapshot, taken with SQLite's online
// backup API in a single step, so writers of other connections are not blocked) into the
// database file at `path`, created when missing (an existing file is overwritten).
Status CopyDatabase(Db& source, const std::string& path);

// One SQLite connection. Not thread-safe: one thread uses it at a time.
class Db {
 public:
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  Db(Db&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  ~Db();

  // Opens (creating if asked) `path` with WAL, synchronous=FULL, foreign keys and a busy
  // timeout of `busy_timeout_ms`.
  static Result<Db> Open(const std::string& path, bool create, int busy_timeout_ms);

  // Runs one or more statements without results.
  Status Exec(std::string_view sql);

  sqlite3* get() const { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// A prepared statement. Bind indexes start at 1, column indexes at 0.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Whether preparation worked; every other call is a no-op failure otherwise.
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
  // Clears bindings and rewinds, so the statement can run again.
  void Reset();

  int64_t Int(int column) const;
  double Double(int column) const;
  std::string Text(int column) const;
  std::string Blob(int column) const;
  bool IsNull(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  Status status_;
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

}  // namespace vigil::syncd
