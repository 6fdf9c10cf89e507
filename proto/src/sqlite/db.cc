#include "vigil/sqlite/db.h"

#include <memory>
#include <utility>

namespace vigil::sqlite {
namespace {

// The start of a statement, on one line, to name it in errors.
std::string Head(std::string_view sql) {
  std::string head(sql.substr(0, 60));
  for (char& c : head) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return head;
}

}  // namespace

Status SqliteStatus(int rc, sqlite3* db, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return Status::Ok();
  std::string message(what);
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(std::move(message));
    case SQLITE_FULL:
      return Status::ResourceExhausted(std::move(message) +
                                       " (the disk is full; nothing was lost)");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::DataLoss(std::move(message));
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
      return Status::FailedPrecondition(std::move(message));
    case SQLITE_CONSTRAINT:
      return Status::AlreadyExists(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = other.db_;
    other.db_ = nullptr;
  }
  return *this;
}

Db::~Db() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Result<Db> Db::Open(const std::string& path, const OpenOptions& options) {
  sqlite3* raw = nullptr;
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (options.create ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);  // Closes the handle SQLite allocates even when opening fails.
  if (rc != SQLITE_OK) return SqliteStatus(rc, raw, "cannot open " + path);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);
  VIGIL_RETURN_IF_ERROR(db.Exec("PRAGMA journal_mode=WAL"));
  VIGIL_RETURN_IF_ERROR(
      db.Exec(options.durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  VIGIL_RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys=ON"));
  if (options.secure_delete) VIGIL_RETURN_IF_ERROR(db.Exec("PRAGMA secure_delete=ON"));
  return db;
}

Status Db::Exec(std::string_view sql) {
  const std::string text(sql);
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  sqlite3_free(error);  // The same text as sqlite3_errmsg, which SqliteStatus reads.
  return SqliteStatus(rc, db_, Head(sql));
}

Result<Statement> Db::Prepare(std::string_view sql) {
  Statement statement(db_, sql);
  if (!statement.status().ok()) return statement.status();
  return statement;
}

Result<int64_t> Db::QueryInt(std::string_view sql, int64_t fallback) {
  Statement statement(db_, sql);
  VIGIL_ASSIGN_OR_RETURN(bool row, statement.Step());
  return row ? statement.Int(0) : fallback;
}

int64_t Db::Changes() const { return sqlite3_changes(db_); }

int64_t Db::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

bool Db::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

Status CopyDatabase(Db& source, const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> target(raw, sqlite3_close_v2);
  if (rc != SQLITE_OK) return SqliteStatus(rc, raw, "cannot create the copy " + path);
  sqlite3_backup* backup = sqlite3_backup_init(target.get(), "main", source.get(), "main");
  if (backup == nullptr) return SqliteStatus(sqlite3_errcode(raw), raw, "cannot copy the store");
  rc = sqlite3_backup_step(backup, -1);
  const int finished = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return SqliteStatus(rc, raw, "copying the store");
  return SqliteStatus(finished, raw, "copying the store");
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db), head_(Head(sql)) {
  const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    status_ = SqliteStatus(rc, db, "prepare " + head_);
  } else if (stmt_ == nullptr) {
    status_ = Status::Internal("prepare " + head_ + ": no statement in the text");
  } else {
    prepared_ = true;
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(other.stmt_),
      head_(std::move(other.head_)),
      status_(std::move(other.status_)),
      prepared_(other.prepared_) {
  other.stmt_ = nullptr;
  other.prepared_ = false;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bound(int rc, int index) {
  if (rc != SQLITE_OK && status_.ok()) {
    status_ = SqliteStatus(rc, db_, "bind ?" + std::to_string(index) + " of " + head_);
  }
  return *this;
}

Statement& Statement::Bind(int index, int64_t value) {
  if (!prepared_) return *this;
  return Bound(sqlite3_bind_int64(stmt_, index, value), index);
}

Statement& Statement::BindText(int index, std::string_view text) {
  if (!prepared_) return *this;
  return Bound(
      sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT),
      index);
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  if (!prepared_) return *this;
  // SQLite binds NULL for a null pointer: give an empty blob a non-null one.
  const char* data = bytes.empty() ? "" : bytes.data();
  return Bound(
      sqlite3_bind_blob(stmt_, index, data, static_cast<int>(bytes.size()), SQLITE_TRANSIENT),
      index);
}

Statement& Statement::BindDouble(int index, double value) {
  if (!prepared_) return *this;
  return Bound(sqlite3_bind_double(stmt_, index, value), index);
}

Statement& Statement::BindNull(int index) {
  if (!prepared_) return *this;
  return Bound(sqlite3_bind_null(stmt_, index), index);
}

Result<bool> Statement::Step() {
  if (!status_.ok()) return status_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(rc, db_, head_);
}

Status Statement::Run() {
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

void Statement::Reset() {
  if (!prepared_) return;  // A preparation failure stays.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  status_ = Status::Ok();
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::Double(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::string Statement::Blob(int column) const {
  const void* blob = sqlite3_column_blob(stmt_, column);
  if (blob == nullptr) return {};
  return std::string(static_cast<const char*>(blob),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Transaction::Transaction(Db& db) : db_(db) {
  status_ = db_.Exec("BEGIN IMMEDIATE");
  open_ = status_.ok();
}

Transaction::~Transaction() {
  if (open_ && db_.InTransaction()) (void)db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  if (!open_) return status_.ok() ? Status::Internal("transaction already finished") : status_;
  Status status = db_.Exec("COMMIT");
  if (status.ok()) open_ = false;
  return status;
}

}  // namespace vigil::sqlite
