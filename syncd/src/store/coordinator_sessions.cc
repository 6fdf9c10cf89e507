// Coordinators' sessions in the database (table coordinator_sessions, schema 6), so that a
// session made on one syncd node works on every node and outlives a restart. The rules of a
// session's lifetime are the dashboard's (dashboard/sessions.h); here are only the rows.
#include <string>

#include "store/sql_store.h"

namespace vigil::syncd {
namespace {

constexpr size_t kTokenHashBytes = 32;

}  // namespace

Status SqlStore::AddSession(const CoordinatorSession& session, const SessionPruning& pruning) {
  if (session.token_hash.size() != kTokenHashBytes) {
    return Status::InvalidArgument("a session is stored under the SHA-256 of its token");
  }
  return RunSync([&](sql::Connection& db) -> Status {
    sql::Statement known(db, "SELECT 1 FROM coordinators WHERE name = ?");
    known.BindText(1, session.name);
    VIGIL_ASSIGN_OR_RETURN(bool exists, known.Step());
    if (!exists) return Status::NotFound("no coordinator " + session.name);
    sql::Statement expired(
        db, "DELETE FROM coordinator_sessions WHERE last_used_ms < ? OR created_ms < ?");
    expired.Bind(1, pruning.idle_before_ms).Bind(2, pruning.created_before_ms);
    VIGIL_RETURN_IF_ERROR(expired.Run());
    sql::Statement count(db, "SELECT count(*) FROM coordinator_sessions");
    VIGIL_ASSIGN_OR_RETURN(bool counted, count.Step());
    const int64_t held = counted ? count.Int(0) : 0;
    const auto room = static_cast<int64_t>(pruning.max_sessions > 0 ? pruning.max_sessions - 1 : 0);
    if (held > room) {
      // The least recently used go first; ties go by hash, as the in-memory table did.
      sql::Statement evict(db,
                           "DELETE FROM coordinator_sessions WHERE token_hash IN (SELECT "
                           "token_hash FROM coordinator_sessions ORDER BY last_used_ms, "
                           "token_hash LIMIT ?)");
      evict.Bind(1, held - room);
      VIGIL_RETURN_IF_ERROR(evict.Run());
    }
    sql::Statement put(db,
                       "INSERT INTO coordinator_sessions(token_hash, name, role, csrf_token, "
                       "created_ms, last_used_ms) VALUES (?, ?, ?, ?, ?, ?)");
    put.BindBlob(1, session.token_hash).BindText(2, session.name).Bind(3, session.role);
    put.BindText(4, session.csrf_token).Bind(5, session.created_ms).Bind(6, session.last_used_ms);
    return put.Run();
  });
}

Result<std::optional<CoordinatorSession>> SqlStore::FindSession(const std::string& token_hash) {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  sql::Statement stmt(reader,
                      "SELECT name, role, csrf_token, created_ms, last_used_ms FROM "
                      "coordinator_sessions WHERE token_hash = ?");
  stmt.BindBlob(1, token_hash);
  VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<CoordinatorSession>();
  CoordinatorSession session;
  session.token_hash = token_hash;
  session.name = stmt.Text(0);
  session.role = static_cast<v1::CoordinatorRole>(stmt.Int(1));
  session.csrf_token = stmt.Text(2);
  session.created_ms = stmt.Int(3);
  session.last_used_ms = stmt.Int(4);
  return std::optional<CoordinatorSession>(std::move(session));
}

Status SqlStore::TouchSession(const std::string& token_hash, int64_t used_ms) {
  return RunSync([&](sql::Connection& db) -> Status {
    // On PostgreSQL, a row another node's transaction holds is skipped rather than waited for:
    // that node is recording a use of the same session at about the same time, and a wait
    // inside the writer's group could close a cycle with the ledger's locks.
    const std::string skip_locked =
        db.backend() == sql::Backend::kPostgres ? " FOR UPDATE SKIP LOCKED" : "";
    sql::Statement touch(db,
                         "UPDATE coordinator_sessions SET last_used_ms = ?2 WHERE token_hash IN "
                         "(SELECT token_hash FROM coordinator_sessions WHERE token_hash = ?1 AND "
                         "last_used_ms < ?2" +
                             skip_locked + ")");
    touch.BindBlob(1, token_hash).Bind(2, used_ms);
    return touch.Run();
  });
}

Status SqlStore::RemoveSession(const std::string& token_hash) {
  return RunSync([&](sql::Connection& db) -> Status {
    sql::Statement remove(db, "DELETE FROM coordinator_sessions WHERE token_hash = ?");
    remove.BindBlob(1, token_hash);
    return remove.Run();
  });
}

Status SqlStore::RemoveSessionsOf(const std::string& name) {
  return RunSync([&](sql::Connection& db) -> Status { return DeleteSessionsOf(db, name); });
}

Status SqlStore::DeleteSessionsOf(sql::Connection& db, const std::string& name) {
  sql::Statement remove(db, "DELETE FROM coordinator_sessions WHERE name = ?");
  remove.BindText(1, name);
  return remove.Run();
}

}  // namespace vigil::syncd
