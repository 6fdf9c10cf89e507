#include "store/sqlite_connection.h"

#include <sqlite3.h>

namespace vigil::syncd {
namespace {

// One prepared SQLite statement.
class SqliteCursor final : public sql::Cursor {
 public:
  SqliteCursor(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  SqliteCursor(const SqliteCursor&) = delete;
  SqliteCursor& operator=(const SqliteCursor&) = delete;
  ~SqliteCursor() override { sqlite3_finalize(stmt_); }

  Status BindInt(int index, int64_t value) override {
    return Bound(sqlite3_bind_int64(stmt_, index, value), index);
  }
  Status BindText(int index, std::string_view text) override {
    return Bound(sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                                   SQLITE_TRANSIENT),
                 index);
  }
  Status BindBlob(int index, std::string_view bytes) override {
    // A zero-length blob is still a blob, not NULL: bind it from a non-null pointer.
    const char* data = bytes.empty() ? "" : bytes.data();
    return Bound(
        sqlite3_bind_blob(stmt_, index, data, static_cast<int>(bytes.size()), SQLITE_TRANSIENT),
        index);
  }
  Status BindDouble(int index, double value) override {
    return Bound(sqlite3_bind_double(stmt_, index, value), index);
  }
  Status BindNull(int index) override { return Bound(sqlite3_bind_null(stmt_, index), index); }

  Result<bool> Step() override {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteStatus(rc, db_, "step");
  }
  void Reset() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int64_t Int(int column) const override { return sqlite3_column_int64(stmt_, column); }
  double Double(int column) const override { return sqlite3_column_double(stmt_, column); }
  std::string Text(int column) const override {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  std::string Blob(int column) const override {
    const void* blob = sqlite3_column_blob(stmt_, column);
    if (blob == nullptr) return {};
    return std::string(static_cast<const char*>(blob),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  bool IsNull(int column) const override {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
  }

 private:
  Status Bound(int rc, int index) {
    if (rc == SQLITE_OK) return Status::Ok();
    return SqliteStatus(rc, db_, "binding parameter " + std::to_string(index));
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

}  // namespace

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(const std::string& path,
                                                                 bool create, int busy_timeout_ms) {
  VIGIL_ASSIGN_OR_RETURN(Db db, Db::Open(path, create, busy_timeout_ms));
  return std::make_unique<SqliteConnection>(std::move(db));
}

Result<std::unique_ptr<sql::Cursor>> SqliteConnection::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_->get(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteStatus(rc, db_->get(), "prepare");
  }
  return std::unique_ptr<sql::Cursor>(std::make_unique<SqliteCursor>(db_->get(), stmt));
}

int64_t SqliteConnection::Changes() const { return sqlite3_changes(db_->get()); }

bool SqliteConnection::InTransaction() const { return sqlite3_get_autocommit(db_->get()) == 0; }

}  // namespace vigil::syncd
