#include "store/sqlite_connection.h"

#include <utility>

namespace vigil::syncd {
namespace {

// One prepared statement: sqlite::Statement behind the sql::Cursor interface.
class SqliteCursor final : public sql::Cursor {
 public:
  explicit SqliteCursor(sqlite::Statement statement) : statement_(std::move(statement)) {}

  Status BindInt(int index, int64_t value) override {
    return statement_.Bind(index, value).status();
  }
  Status BindText(int index, std::string_view text) override {
    return statement_.BindText(index, text).status();
  }
  Status BindBlob(int index, std::string_view bytes) override {
    return statement_.BindBlob(index, bytes).status();
  }
  Status BindDouble(int index, double value) override {
    return statement_.BindDouble(index, value).status();
  }
  Status BindNull(int index) override { return statement_.BindNull(index).status(); }

  Result<bool> Step() override { return statement_.Step(); }
  void Reset() override { statement_.Reset(); }

  int64_t Int(int column) const override { return statement_.Int(column); }
  double Double(int column) const override { return statement_.Double(column); }
  std::string Text(int column) const override { return statement_.Text(column); }
  std::string Blob(int column) const override { return statement_.Blob(column); }
  bool IsNull(int column) const override { return statement_.IsNull(column); }

 private:
  sqlite::Statement statement_;
};

}  // namespace

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(const std::string& path,
                                                                 bool create, int busy_timeout_ms) {
  VIGIL_ASSIGN_OR_RETURN(
      sqlite::Db db,
      sqlite::Db::Open(path, {.create = create, .busy_timeout_ms = busy_timeout_ms}));
  return std::make_unique<SqliteConnection>(std::move(db));
}

Result<std::unique_ptr<sql::Cursor>> SqliteConnection::Prepare(std::string_view sql) {
  VIGIL_ASSIGN_OR_RETURN(sqlite::Statement statement, db_->Prepare(sql));
  return std::unique_ptr<sql::Cursor>(std::make_unique<SqliteCursor>(std::move(statement)));
}

}  // namespace vigil::syncd
