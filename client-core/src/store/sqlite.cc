#include "store/sqlite.h"

namespace vigil::client::store {

Status SqliteStatus(int rc, sqlite3* db, std::string_view context) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
  std::string msg(context);
  msg += ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return Status::ResourceExhausted(msg + " (the disk is full; nothing was lost)");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::DataLoss(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return Status::FailedPrecondition(msg);
    case SQLITE_CONSTRAINT:
      return Status::AlreadyExists(msg);
    default:
      return Status::Internal(msg);
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), bind_status_(std::move(other.bind_status_)) {
  other.stmt_ = nullptr;
}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement& Statement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = SqliteStatus(rc, db_, "bind");
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = SqliteStatus(rc, db_, "bind");
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  int rc = sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()),
                             SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = SqliteStatus(rc, db_, "bind");
  return *this;
}

Statement& Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = SqliteStatus(rc, db_, "bind");
  return *this;
}

Result<bool> Statement::Step() {
  if (!bind_status_.ok()) return bind_status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(rc, db_, sqlite3_sql(stmt_));
}

Status Statement::Run() {
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_status_ = Status::Ok();
}

int64_t Statement::ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::ColumnText(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), n);
}

std::string Statement::ColumnBlob(int col) const {
  const void* blob = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return blob == nullptr ? std::string() : std::string(static_cast<const char*>(blob), n);
}

bool Statement::ColumnIsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, bool create,
                                                 bool durable) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteStatus(rc, db, "cannot open the store " + path);
    sqlite3_close(db);
    if (rc == SQLITE_CANTOPEN && !create) {
      return Status::NotFound("no store at " + path + " (run `observer init` first)");
    }
    return s;
  }
  std::unique_ptr<Database> out(new Database(db));
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
  VIGIL_RETURN_IF_ERROR(out->Exec("PRAGMA journal_mode=WAL"));
  VIGIL_RETURN_IF_ERROR(
      out->Exec(durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  VIGIL_RETURN_IF_ERROR(out->Exec("PRAGMA foreign_keys=ON"));
  VIGIL_RETURN_IF_ERROR(out->Exec("PRAGMA secure_delete=ON"));
  return out;
}

Database::~Database() { sqlite3_close_v2(db_); }

Status Database::Exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  return SqliteStatus(rc, db_, s.substr(0, 60));
}

Result<Statement> Database::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(rc, db_, std::string("prepare ") + std::string(sql));
  return Statement(db_, stmt);
}

Result<int64_t> Database::QueryInt(std::string_view sql, int64_t fallback) {
  VIGIL_ASSIGN_OR_RETURN(Statement st, Prepare(sql));
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt(0) : fallback;
}

Result<std::unique_ptr<Transaction>> Transaction::Begin(Database& db) {
  VIGIL_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  return std::unique_ptr<Transaction>(new Transaction(db));
}

Transaction::~Transaction() {
  if (!done_) (void)db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  Status s = db_.Exec("COMMIT");
  if (s.ok()) done_ = true;
  return s;
}

}  // namespace vigil::client::store
