#include "store/pg_connection.h"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

namespace vigil::syncd {
namespace {

constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;

// Whether SQLSTATE `state` means the connection is unusable (class 08, server shutting down).
bool IsConnectionState(std::string_view state) {
  return state.substr(0, 2) == "08" || state == "57P01" || state == "57P02" || state == "57P03";
}

// The password in a connection URL or key=value string (raw and decoded), to keep it out of
// messages.
std::vector<std::string> PasswordsIn(const std::string& url) {
  std::vector<std::string> passwords;
  char* error = nullptr;
  if (PQconninfoOption* options = PQconninfoParse(url.c_str(), &error)) {
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr && *o->val != '\0') {
        passwords.emplace_back(o->val);
      }
    }
    PQconninfoFree(options);
  }
  PQfreemem(error);
  // The URL as written (when libpq could not parse it): scheme://user:password@host…
  size_t scheme = url.find("://");
  if (scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t end = url.find_first_of("/?", start);
    std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
    size_t at = authority.rfind('@');
    size_t colon = authority.find(':');
    if (at != std::string::npos && colon < at && colon + 1 < at) {
      passwords.push_back(authority.substr(colon + 1, at - colon - 1));
    }
  }
  size_t key = url.find("password=");
  if (key != std::string::npos) {
    size_t start = key + 9;
    size_t end = url.find_first_of("& ", start);
    std::string value = url.substr(start, end == std::string::npos ? end : end - start);
    if (!value.empty()) passwords.push_back(value);
  }
  return passwords;
}

// `message` with every password of `url` replaced by "***", trimmed of trailing newlines.
std::string Scrubbed(std::string message, const std::string& url) {
  for (const std::string& password : PasswordsIn(url)) {
    for (size_t at = message.find(password); at != std::string::npos;
         at = message.find(password, at)) {
      message.replace(at, password.size(), "***");
    }
  }
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

std::string HexDecoded(const char* value, int length) {
  if (length < 2 || value[0] != '\\' || value[1] != 'x') return std::string(value, length);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 0;
  };
  std::string bytes;
  bytes.reserve(static_cast<size_t>(length - 2) / 2);
  for (int i = 2; i + 1 < length; i += 2) {
    bytes.push_back(static_cast<char>(nibble(value[i]) << 4 | nibble(value[i + 1])));
  }
  return bytes;
}

std::string DoubleText(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buffer[32];
  std::to_chars_result done = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, done.ptr);
}

// Whether a command tag (PQcmdStatus) is one whose row count Changes() reports.
bool CountsChanges(const char* tag) {
  return std::strncmp(tag, "INSERT", 6) == 0 || std::strncmp(tag, "UPDATE", 6) == 0 ||
         std::strncmp(tag, "DELETE", 6) == 0 || std::strncmp(tag, "MERGE", 5) == 0;
}

// Owns a PGresult.
struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// The Status of a failed libpq call on `conn` (the ERRORS table in the header).
Status PgStatus(PGconn* conn, const PGresult* result, const std::string& where,
                std::string_view what) {
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return Status::Unavailable("postgres: connection to " + where + " lost (" + std::string(what) +
                               "): " + message);
  }
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary =
      result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string sqlstate = state != nullptr ? state : "";
  std::string message = primary != nullptr ? primary : PQerrorMessage(conn);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  message = "postgres: " + message + " (SQLSTATE " + (sqlstate.empty() ? "none" : sqlstate) + ", " +
            std::string(what) + " on " + where + ")";
  if (IsConnectionState(sqlstate)) return Status::Unavailable(std::move(message));
  if (sqlstate == "23505") return Status::AlreadyExists(std::move(message));
  if (sqlstate == "40001" || sqlstate == "40P01") return Status::Aborted(std::move(message));
  if (sqlstate == "53100" || sqlstate == "53200") {
    return Status::ResourceExhausted(std::move(message));
  }
  return Status::Internal(std::move(message));
}

}  // namespace

// One server-side prepared statement with its bindings and its current result.
class PgCursor final : public sql::Cursor {
 public:
  PgCursor(PgConnection& conn, const std::string& name, std::string_view sql, int params)
      : conn_(conn),
        name_(name),
        head_(sql.substr(0, 60)),
        values_(static_cast<size_t>(params)),
        bound_(static_cast<size_t>(params), false),
        formats_(static_cast<size_t>(params), 0) {}

  Status BindInt(int index, int64_t value) override { return Set(index, std::to_string(value), 0); }
  Status BindText(int index, std::string_view text) override {
    return Set(index, std::string(text), 0);
  }
  Status BindBlob(int index, std::string_view bytes) override {
    return Set(index, std::string(bytes), 1);
  }
  Status BindDouble(int index, double value) override { return Set(index, DoubleText(value), 0); }
  Status BindNull(int index) override {
    VIGIL_RETURN_IF_ERROR(InRange(index));
    bound_[static_cast<size_t>(index - 1)] = false;
    return Status::Ok();
  }

  Result<bool> Step() override {
    if (!result_) {
      Parameters p = Pointers();
      if (conn_.queued() == 0) {
        result_.reset(PQexecPrepared(conn_.conn_, name_.c_str(), p.count, p.values.data(),
                                     p.lengths.data(), formats_.data(), 0));
      } else {  // Behind the queued statements, in the same round trip.
        VIGIL_RETURN_IF_ERROR(conn_.SendQueued(name_, head_, p.count, p.values.data(),
                                               p.lengths.data(), formats_.data()));
        VIGIL_ASSIGN_OR_RETURN(PGresult * own, conn_.Collect(/*own=*/true));
        result_.reset(own);
      }
      ExecStatusType status = PQresultStatus(result_.get());
      if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        Status failure = PgStatus(conn_.conn_, result_.get(), conn_.where_, "step");
        result_.reset();
        return failure;
      }
      if (CountsChanges(PQcmdStatus(result_.get()))) {
        conn_.changes_ = std::strtoll(PQcmdTuples(result_.get()), nullptr, 10);
      }
      rows_ = PQntuples(result_.get());
      row_ = -1;
    }
    if (row_ < rows_) ++row_;
    return row_ < rows_;
  }
  Status Send() override {
    result_.reset();
    Parameters p = Pointers();
    return conn_.SendQueued(name_, head_, p.count, p.values.data(), p.lengths.data(),
                            formats_.data());
  }
  void Reset() override {
    result_.reset();
    std::fill(bound_.begin(), bound_.end(), false);
  }

  int64_t Int(int column) const override {
    if (IsNull(column)) return 0;
    const char* value = PQgetvalue(result_.get(), row_, column);
    if (PQftype(result_.get(), column) == kBoolOid) return value[0] == 't' ? 1 : 0;
    return std::strtoll(value, nullptr, 10);
  }
  double Double(int column) const override {
    if (IsNull(column)) return 0;
    return std::strtod(PQgetvalue(result_.get(), row_, column), nullptr);
  }
  std::string Text(int column) const override { return Blob(column); }
  std::string Blob(int column) const override {
    if (IsNull(column)) return {};
    const char* value = PQgetvalue(result_.get(), row_, column);
    int length = PQgetlength(result_.get(), row_, column);
    if (PQftype(result_.get(), column) == kByteaOid) return HexDecoded(value, length);
    return std::string(value, static_cast<size_t>(length));
  }
  bool IsNull(int column) const override {
    return !result_ || row_ < 0 || row_ >= rows_ || PQgetisnull(result_.get(), row_, column) != 0;
  }

 private:
  Status InRange(int index) const {
    if (index >= 1 && static_cast<size_t>(index) <= values_.size()) return Status::Ok();
    return Status::Internal("postgres: binding parameter " + std::to_string(index) +
                            " of a statement with " + std::to_string(values_.size()));
  }
  // The bound values as libpq takes them (unbound: NULL).
  struct Parameters {
    int count = 0;
    std::vector<const char*> values;
    std::vector<int> lengths;
  };
  Parameters Pointers() const {
    Parameters p;
    p.count = static_cast<int>(values_.size());
    p.values.resize(values_.size());
    p.lengths.resize(values_.size());
    for (size_t i = 0; i < values_.size(); ++i) {
      p.values[i] = bound_[i] ? values_[i].data() : nullptr;
      p.lengths[i] = static_cast<int>(values_[i].size());
    }
    return p;
  }
  Status Set(int index, std::string value, int format) {
    VIGIL_RETURN_IF_ERROR(InRange(index));
    auto i = static_cast<size_t>(index - 1);
    values_[i] = std::move(value);
    bound_[i] = true;
    formats_[i] = format;
    return Status::Ok();
  }

  PgConnection& conn_;
  const std::string name_;
  const std::string head_;  // The statement's start, for errors found in the pipeline.
  std::vector<std::string> values_;
  std::vector<bool> bound_;  // Unbound parameters are NULL, as in SQLite.
  std::vector<int> formats_;
  ResultPtr result_;
  int rows_ = 0;
  int row_ = -1;
};

std::string PgServerOf(PGconn* conn) {
  const char* host = PQhost(conn);
  const char* port = PQport(conn);
  const char* db = PQdb(conn);
  std::string where = host != nullptr && *host != '\0' ? host : "(no host)";
  if (port != nullptr && *port != '\0') where += std::string(":") + port;
  if (db != nullptr && *db != '\0') where += std::string("/") + db;
  return where;
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& url) {
  // The defaults first: the URL, expanded in place of dbname, overrides any of them.
  const char* const keywords[] = {
      "connect_timeout",  "keepalives",           "keepalives_idle", "keepalives_interval",
      "keepalives_count", "target_session_attrs", "dbname",          nullptr};
  const char* const values[] = {"5", "1", "10", "5", "3", "read-write", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Status::Unavailable("postgres: out of memory connecting");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = "postgres: cannot connect to " + PgServerOf(conn) + ": " +
                          Scrubbed(PQerrorMessage(conn), url);
    PQfinish(conn);
    return Status::Unavailable(Scrubbed(std::move(message), url));
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  std::unique_ptr<PgConnection> connection(new PgConnection(conn));
  connection->where_ = PgServerOf(conn);
  VIGIL_RETURN_IF_ERROR(connection->Exec("SET bytea_output = 'hex'"));
  return connection;
}

PgConnection::~PgConnection() { PQfinish(conn_); }

Status PgConnection::SendQueued(const std::string& name, std::string_view head, int count,
                                const char* const* values, const int* lengths, const int* formats) {
  if (queued_.size() >= kMaxQueued) VIGIL_RETURN_IF_ERROR(Flush());
  if (PQpipelineStatus(conn_) == PQ_PIPELINE_OFF && PQenterPipelineMode(conn_) != 1) {
    return PgStatus(conn_, nullptr, where_, "entering pipeline mode");
  }
  if (PQsendQueryPrepared(conn_, name.c_str(), count, values, lengths, formats, 0) != 1) {
    Status failure = PgStatus(conn_, nullptr, where_, "queue");
    (void)Flush();
    return failure;
  }
  queued_.emplace_back(head);
  return Status::Ok();
}

Result<PGresult*> PgConnection::Collect(bool own) {
  std::deque<std::string> sent = std::move(queued_);
  queued_.clear();
  Status failure;
  ResultPtr mine;
  if (PQpipelineSync(conn_) != 1) {
    failure = PgStatus(conn_, nullptr, where_, "pipeline sync");
  } else {
    // Each statement's results end with a NULL; the Sync's answer comes last.
    for (size_t i = 0; i < sent.size() && failure.code() != StatusCode::kUnavailable; ++i) {
      ResultPtr first(PQgetResult(conn_));
      if (!first) {
        failure = PgStatus(conn_, nullptr, where_, "pipeline");
        break;
      }
      while (ResultPtr more{PQgetResult(conn_)}) {
      }
      ExecStatusType status = PQresultStatus(first.get());
      const bool last = i + 1 == sent.size();
      if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) {
        if (failure.ok()) {
          failure = PgStatus(conn_, first.get(), where_,
                             own && last ? "step" : "queued statement: " + sent[i] + "…");
        }
      } else if (own && last) {
        mine = std::move(first);
      }
    }
    while (PQstatus(conn_) == CONNECTION_OK) {
      ResultPtr sync(PQgetResult(conn_));
      if (!sync || PQresultStatus(sync.get()) == PGRES_PIPELINE_SYNC) break;
    }
  }
  if (PQstatus(conn_) == CONNECTION_OK && PQexitPipelineMode(conn_) != 1 && failure.ok()) {
    failure = PgStatus(conn_, nullptr, where_, "leaving pipeline mode");
  }
  if (!failure.ok()) return failure;
  return mine.release();
}

Status PgConnection::Flush() {
  if (queued_.empty()) return Status::Ok();
  return Collect(/*own=*/false).status();
}

Status PgConnection::Exec(std::string_view sql) {
  // A queued failure is this call's answer, but the statement still runs: it may be the
  // ROLLBACK that clears that failure.
  Status flushed = Flush();
  if (flushed.code() == StatusCode::kUnavailable) return flushed;
  Status ran = ExecNow(sql);
  return flushed.ok() ? ran : flushed;
}

Status PgConnection::ExecNow(std::string_view sql) {
  ResultPtr result(PQexec(conn_, std::string(sql).c_str()));
  ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
    return PgStatus(conn_, result.get(), where_, "exec");
  }
  const char* tag = PQcmdStatus(result.get());
  if (CountsChanges(tag)) changes_ = std::strtoll(PQcmdTuples(result.get()), nullptr, 10);
  // COMMIT of a transaction an error aborted answers ROLLBACK, successfully.
  if (std::strcmp(tag, "ROLLBACK") == 0 && (sql == "COMMIT" || sql == "END")) {
    return Status::Aborted("postgres: the transaction was rolled back after an earlier error (" +
                           where_ + ")");
  }
  return Status::Ok();
}

Result<std::unique_ptr<sql::Cursor>> PgConnection::Prepare(std::string_view sql) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    VIGIL_RETURN_IF_ERROR(Flush());
    int params = 0;
    std::string text = RewriteParameters(sql, &params);
    std::string name = "vigil_" + std::to_string(prepared_.size() + 1);
    ResultPtr result(PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr));
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
      return PgStatus(conn_, result.get(), where_, "prepare");
    }
    it = prepared_.emplace(std::string(sql), std::make_pair(name, params)).first;
  }
  return std::unique_ptr<sql::Cursor>(
      std::make_unique<PgCursor>(*this, it->second.first, it->first, it->second.second));
}

bool PgConnection::Broken() const { return PQstatus(conn_) == CONNECTION_BAD; }

Status PgConnection::Begin() { return Exec("BEGIN ISOLATION LEVEL READ COMMITTED"); }

bool PgConnection::InTransaction() const {
  if (!queued_.empty()) return true;  // Statements of the transaction are on their way.
  PGTransactionStatusType status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
}

int PgConnection::BackendPid() const { return PQbackendPID(conn_); }

std::string PgConnection::RewriteParameters(std::string_view sql, int* params) {
  std::string out;
  out.reserve(sql.size() + 8);
  int highest = 0;
  size_t i = 0;
  // Copies sql[i, end) and moves i to end.
  auto copy_to = [&](size_t end) {
    end = std::min(end, sql.size());
    out.append(sql.substr(i, end - i));
    i = end;
  };
  auto is_word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  while (i < sql.size()) {
    char c = sql[i];
    if (c == '\'' || c == '"') {  // A literal or quoted name; a doubled quote reopens it.
      size_t close = sql.find(c, i + 1);
      copy_to(close == std::string_view::npos ? sql.size() : close + 1);
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t eol = sql.find('\n', i);
      copy_to(eol == std::string_view::npos ? sql.size() : eol + 1);
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      size_t close = sql.find("*/", i + 2);
      copy_to(close == std::string_view::npos ? sql.size() : close + 2);
    } else if (c == '$' && (i == 0 || !is_word(sql[i - 1])) && i + 1 < sql.size() &&
               !(sql[i + 1] >= '0' && sql[i + 1] <= '9')) {  // $tag$ … $tag$
      size_t tag_end = i + 1;
      while (tag_end < sql.size() && is_word(sql[tag_end])) ++tag_end;
      if (tag_end < sql.size() && sql[tag_end] == '$') {
        std::string_view tag = sql.substr(i, tag_end - i + 1);
        size_t close = sql.find(tag, tag_end + 1);
        copy_to(close == std::string_view::npos ? sql.size() : close + tag.size());
      } else {
        copy_to(i + 1);
      }
    } else if (c == '?') {
      size_t digits = i + 1;
      while (digits < sql.size() && sql[digits] >= '0' && sql[digits] <= '9') ++digits;
      int n = highest + 1;
      if (digits > i + 1) {
        n = static_cast<int>(
            std::strtol(std::string(sql.substr(i + 1, digits - i - 1)).c_str(), nullptr, 10));
      }
      highest = std::max(highest, n);
      out += "$" + std::to_string(n);
      i = digits;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  *params = highest;
  return out;
}

}  // namespace vigil::syncd
