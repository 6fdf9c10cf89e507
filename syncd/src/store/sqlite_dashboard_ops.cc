// Writes of the coordinators' dashboard: coordinators, audit entries of logins, alerts.
#include "store/sql_store.h"
#include "store/sqlite_rows.h"

namespace vigil::syncd {

Status SqlStore::AddCoordinator(const CoordinatorRecord& coordinator) {
  return RunSync([&](sql::Connection& db) -> Status {
    sql::Statement exists(db, "SELECT 1 FROM coordinators WHERE name = ?");
    exists.BindText(1, coordinator.name);
    VIGIL_ASSIGN_OR_RETURN(bool taken, exists.Step());
    if (taken) return Status::AlreadyExists("coordinator " + coordinator.name + " exists");
    sql::Statement put(
        db,
        "INSERT INTO coordinators(name, role, password_hash, created_at_ms, disabled) "
        "VALUES (?, ?, ?, ?, ?)");
    put.BindText(1, coordinator.name).Bind(2, coordinator.role);
    put.BindText(3, coordinator.password_hash).Bind(4, NowMs()).Bind(5, coordinator.disabled);
    return put.Run();
  });
}

Result<std::optional<CoordinatorRecord>> SqlStore::FindCoordinator(const std::string& name) {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  sql::Statement stmt(reader,
                      "SELECT name, role, password_hash, created_at_ms, disabled FROM coordinators "
                      "WHERE name = ?");
  stmt.BindText(1, name);
  VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<CoordinatorRecord>();
  CoordinatorRecord out;
  out.name = stmt.Text(0);
  out.role = static_cast<v1::CoordinatorRole>(stmt.Int(1));
  out.password_hash = stmt.Text(2);
  out.created_at_ms = stmt.Int(3);
  out.disabled = stmt.Int(4) != 0;
  return std::optional<CoordinatorRecord>(std::move(out));
}

Result<v1::CoordinatorList> SqlStore::ListCoordinators() {
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  sql::Statement stmt(reader,
                      "SELECT name, role, created_at_ms, disabled FROM coordinators ORDER BY name");
  v1::CoordinatorList list;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return list;
    v1::Coordinator* c = list.add_coordinators();
    c->set_name(stmt.Text(0));
    c->set_role(static_cast<v1::CoordinatorRole>(stmt.Int(1)));
    c->set_created_at_ms(stmt.Int(2));
    c->set_disabled(stmt.Int(3) != 0);
  }
}

Status SqlStore::SetCoordinatorDisabled(const std::string& name, bool disabled) {
  return RunSync([&](sql::Connection& db) -> Status {
    sql::Statement stmt(db, "UPDATE coordinators SET disabled = ? WHERE name = ?");
    stmt.Bind(1, disabled).BindText(2, name);
    VIGIL_RETURN_IF_ERROR(stmt.Run());
    if (db.Changes() == 0) return Status::NotFound("no coordinator " + name);
    // A disabled coordinator's sessions end with the change, on every node.
    return disabled ? DeleteSessionsOf(db, name) : Status::Ok();
  });
}

Status SqlStore::LogCoordinatorAction(const v1::AuditEntry& entry) {
  return RunSync([&](sql::Connection& db) -> Status {
    return AppendAuditEntry(db, entry.actor(), entry.action(), entry.target(), entry.before(),
                            entry.after(), entry.reason(), entry.at_ms());
  });
}

void SqlStore::RecordAlert(const std::string& kind, const std::string& device_id,
                           const std::string& detail) {
  // Cut before queuing, so that a queued alert holds little memory; RaiseAlert cuts further.
  (void)Submit(Job{[kind, device = device_id.substr(0, 256), text = detail.substr(0, 4096)](
                       sql::Connection& db) { return RaiseAlert(db, kind, device, text, NowMs()); },
                   nullptr},
               /*droppable=*/true);
}

}  // namespace vigil::syncd
