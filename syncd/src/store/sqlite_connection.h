// The SQLite backend of sql::Connection (store/sql.h) over one database file.
#pragma once

#include <memory>
#include <string>

#include "store/sql.h"
#include "vigil/sqlite/db.h"

namespace vigil::syncd {

// An sql::Connection on one SQLite connection (WAL, synchronous=FULL, foreign keys).
class SqliteConnection final : public sql::Connection {
 public:
  // Opens (creating if asked) `path`; see sqlite::Db::Open.
  static Result<std::unique_ptr<SqliteConnection>> Open(const std::string& path, bool create,
                                                        int busy_timeout_ms);
  // Owns `db`.
  explicit SqliteConnection(sqlite::Db db) : owned_(std::move(db)), db_(&owned_) {}
  // Borrows `db`, which must outlive this connection.
  explicit SqliteConnection(sqlite::Db* db) : db_(db) {}
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  sql::Backend backend() const override { return sql::Backend::kSqlite; }
  Status Exec(std::string_view sql) override { return db_->Exec(sql); }
  Result<std::unique_ptr<sql::Cursor>> Prepare(std::string_view sql) override;
  int64_t Changes() const override { return db_->Changes(); }
  Status Begin() override { return db_->Exec("BEGIN IMMEDIATE"); }
  bool InTransaction() const override { return db_->InTransaction(); }

  // The underlying SQLite connection (backups, PRAGMAs).
  sqlite::Db& db() { return *db_; }

 private:
  sqlite::Db owned_;
  sqlite::Db* db_;
};

// The schema version of an SQLite store (PRAGMA user_version), and its migration to
// kSchemaVersion (sqlite_schema.cc), for callers holding a plain sqlite::Db.
Result<int> SchemaVersion(sqlite::Db& db);
Status MigrateSchema(sqlite::Db& db);

}  // namespace vigil::syncd
