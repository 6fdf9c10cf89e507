#include "store/sql.h"

#include <utility>

namespace vigil::syncd::sql {

std::string_view ForUpdate(const Connection& conn) {
  return conn.backend() == Backend::kPostgres ? " FOR UPDATE" : "";
}

std::string Contains(const Connection& conn, std::string_view haystack, std::string_view needle) {
  std::string function = conn.backend() == Backend::kPostgres ? "strpos(" : "instr(";
  return function + std::string(haystack) + ", " + std::string(needle) + ") > 0";
}

Status Cursor::Send() {
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

Statement::Statement(Connection& conn, std::string_view sql) : sql_head_(sql.substr(0, 60)) {
  Result<std::unique_ptr<Cursor>> cursor = conn.Prepare(sql);
  if (cursor.ok()) {
    cursor_ = std::move(cursor).value();
  } else {
    status_ = cursor.status();
  }
}

void Statement::Keep(const Status& status) {
  if (status_.ok() && !status.ok()) {
    status_ = Status(status.code(), status.message() + " (in: " + sql_head_ + "…)");
  }
}

Statement& Statement::Bind(int index, int64_t value) {
  if (cursor_) Keep(cursor_->BindInt(index, value));
  return *this;
}

Statement& Statement::BindText(int index, std::string_view text) {
  if (cursor_) Keep(cursor_->BindText(index, text));
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  if (cursor_) Keep(cursor_->BindBlob(index, bytes));
  return *this;
}

Statement& Statement::BindDouble(int index, double value) {
  if (cursor_) Keep(cursor_->BindDouble(index, value));
  return *this;
}

Statement& Statement::BindNull(int index) {
  if (cursor_) Keep(cursor_->BindNull(index));
  return *this;
}

Result<bool> Statement::Step() {
  if (!status_.ok()) return status_;
  return cursor_->Step();
}

Status Statement::Run() {
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

Status Statement::Queue() {
  if (!status_.ok()) return status_;
  return cursor_->Send();
}

void Statement::Reset() {
  if (cursor_) cursor_->Reset();
  // A bind failure belongs to the run it spoiled; a prepare failure stays.
  if (cursor_) status_ = Status::Ok();
}

Transaction::Transaction(Connection& conn) : conn_(conn) {
  status_ = conn_.Begin();
  open_ = status_.ok();
}

Transaction::~Transaction() {
  if (open_ && conn_.InTransaction()) (void)conn_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  if (!open_) return status_.ok() ? Status::Internal("transaction already finished") : status_;
  Status status = conn_.Exec("COMMIT");
  if (status.ok()) open_ = false;
  return status;
}

}  // namespace vigil::syncd::sql
