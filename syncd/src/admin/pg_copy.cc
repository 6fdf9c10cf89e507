#include "admin/pg_copy.h"

#include <memory>
#include <utility>
#include <vector>

#include "store/pg_connection.h"
#include "store/pg_schema.h"
#include "store/sql_store.h"
#include "store/sqlite_connection.h"

namespace vigil::syncd {
namespace {

// How a column's value is read and bound: by the SQLite column's declared type.
enum class Kind { kInt, kReal, kText, kBlob };

struct Column {
  std::string name;
  Kind kind;
};

Kind KindOf(const std::string& declared) {
  if (declared.rfind("INTEGER", 0) == 0) return Kind::kInt;
  if (declared.rfind("REAL", 0) == 0) return Kind::kReal;
  if (declared.rfind("BLOB", 0) == 0) return Kind::kBlob;
  return Kind::kText;
}

Result<std::vector<std::string>> Tables(sql::Connection& copy) {
  sql::Statement list(copy,
                      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE "
                      "'sqlite_%' ORDER BY name");
  std::vector<std::string> tables;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, list.Step());
    if (!row) return tables;
    tables.push_back(list.Text(0));
  }
}

Result<std::vector<Column>> Columns(sql::Connection& copy, const std::string& table) {
  // Table names come from sqlite_master, not from input.
  sql::Statement info(copy, "SELECT name, type FROM pragma_table_info(?)");
  info.BindText(1, table);
  std::vector<Column> columns;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, info.Step());
    if (!row) return columns;
    columns.push_back({info.Text(0), KindOf(info.Text(1))});
  }
}

Status CopyTable(sql::Connection& from, sql::Connection& to, const std::string& table) {
  VIGIL_ASSIGN_OR_RETURN(std::vector<Column> columns, Columns(to, table));
  std::string names;
  std::string params;
  for (size_t i = 0; i < columns.size(); ++i) {
    names += (i == 0 ? "" : ", ") + columns[i].name;
    params += (i == 0 ? "?" : ", ?") + std::to_string(i + 1);
  }
  // Records keep the order they were stored in (queries order by it): records.rowid on
  // PostgreSQL, SQLite's implicit rowid in the copy.
  sql::Statement read(
      from, "SELECT " + names + " FROM " + table + (table == "records" ? " ORDER BY rowid" : ""));
  sql::Statement write(to, "INSERT INTO " + table + "(" + names + ") VALUES (" + params + ")");
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, read.Step());
    if (!row) return Status::Ok();
    write.Reset();
    for (size_t i = 0; i < columns.size(); ++i) {
      const int column = static_cast<int>(i);
      const int param = column + 1;
      if (read.IsNull(column)) {
        write.BindNull(param);
        continue;
      }
      switch (columns[i].kind) {
        case Kind::kInt:
          write.Bind(param, read.Int(column));
          break;
        case Kind::kReal:
          write.BindDouble(param, read.Double(column));
          break;
        case Kind::kText:
          write.BindText(param, read.Text(column));
          break;
        case Kind::kBlob:
          write.BindBlob(param, read.Blob(column));
          break;
      }
    }
    VIGIL_RETURN_IF_ERROR(write.Run().WithContext("copying " + table));
  }
}

}  // namespace

Status CopyPostgresToSqlite(const std::string& url, const std::string& sqlite_path) {
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> pg, PgConnection::Connect(url));
  VIGIL_ASSIGN_OR_RETURN(int version, PgSchemaVersion(*pg));
  if (version == 0) return Status::FailedPrecondition("the database is not an initialized store");
  if (version != kSchemaVersion) {
    return Status::FailedPrecondition("the PostgreSQL store has schema version " +
                                      std::to_string(version) + "; this syncd copies version " +
                                      std::to_string(kSchemaVersion));
  }
  {
    // The empty SQLite store, at the same schema version.
    VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<SqlStore> created,
                           SqlStore::Open(sqlite_path, /*create=*/true));
    created->Close();
  }
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> copy,
                         SqliteConnection::Open(sqlite_path, /*create=*/false, 10000));
  VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> tables, Tables(*copy));
  // Rows arrive in any order: the foreign keys held on PostgreSQL, which enforces them.
  VIGIL_RETURN_IF_ERROR(copy->Exec("PRAGMA foreign_keys = OFF"));
  // Made by the migration in the copy; log_order's one row may only move forward.
  VIGIL_RETURN_IF_ERROR(copy->Exec("DROP TRIGGER log_order_no_delete; DELETE FROM log_order"));
  VIGIL_RETURN_IF_ERROR(pg->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  sql::Transaction txn(*copy);
  VIGIL_RETURN_IF_ERROR(txn.status());
  for (const std::string& table : tables) {
    VIGIL_RETURN_IF_ERROR(CopyTable(*pg, *copy, table));
  }
  VIGIL_RETURN_IF_ERROR(pg->Exec("COMMIT"));
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  return copy->Exec(
      "CREATE TRIGGER log_order_no_delete BEFORE DELETE ON log_order "
      "BEGIN SELECT RAISE(ABORT, 'the log order is never deleted'); END");
}

}  // namespace vigil::syncd
