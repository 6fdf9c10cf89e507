// Writes of the coordinators' dashboard: coordinators, audit entries of logins, alerts.
#include "store/inert_text.h"
#include "store/sqlite_rows.h"
#include "store/sqlite_store.h"

namespace vigil::syncd {
namespace {

constexpr int64_t kAlertWindowMs = 3600 * 1000;
constexpr size_t kMaxAlertDetail = 300;
constexpr size_t kMaxAlertDeviceId = 64;
// Distinct details kept per kind and device within kAlertWindowMs; then one overflow row.
constexpr int64_t kMaxAlertDetailsPerHour = 50;
constexpr const char* kOverflowDetail = "(more distinct details within the hour; not kept)";

// Counts one more of the alert (kind, device, detail) into its row from the last hour;
// false when there is no such row.
Result<bool> BumpAlert(Db& db, const std::string& kind, const std::string& device,
                       const std::string& detail, int64_t now) {
  Statement bump(db.get(),
                 "UPDATE alerts SET count = count + 1, last_at_ms = ?1 WHERE id = (SELECT id "
                 "FROM alerts WHERE kind = ?2 AND device_id = ?3 AND detail = ?4 AND "
                 "last_at_ms >= ?5 ORDER BY last_at_ms DESC LIMIT 1)");
  bump.Bind(1, now).BindText(2, kind).BindText(3, device).BindText(4, detail);
  bump.Bind(5, now - kAlertWindowMs);
  VIGIL_RETURN_IF_ERROR(bump.Run());
  return sqlite3_changes(db.get()) > 0;
}

}  // namespace

Status SqliteStore::AddCoordinator(const CoordinatorRecord& coordinator) {
  return RunSync([&](Db& db) -> Status {
    Statement exists(db.get(), "SELECT 1 FROM coordinators WHERE name = ?");
    exists.BindText(1, coordinator.name);
    VIGIL_ASSIGN_OR_RETURN(bool taken, exists.Step());
    if (taken) return Status::AlreadyExists("coordinator " + coordinator.name + " exists");
    Statement put(db.get(),
                  "INSERT INTO coordinators(name, role, password_hash, created_at_ms, disabled) "
                  "VALUES (?, ?, ?, ?, ?)");
    put.BindText(1, coordinator.name).Bind(2, coordinator.role);
    put.BindText(3, coordinator.password_hash).Bind(4, NowMs()).Bind(5, coordinator.disabled);
    return put.Run();
  });
}

Result<std::optional<CoordinatorRecord>> SqliteStore::FindCoordinator(const std::string& name) {
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Db> db, AcquireReader());
  Reader reader(*this, std::move(db));
  Statement stmt(reader.get(),
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

Result<v1::CoordinatorList> SqliteStore::ListCoordinators() {
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<Db> db, AcquireReader());
  Reader reader(*this, std::move(db));
  Statement stmt(reader.get(),
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

Status SqliteStore::SetCoordinatorDisabled(const std::string& name, bool disabled) {
  return RunSync([&](Db& db) -> Status {
    Statement stmt(db.get(), "UPDATE coordinators SET disabled = ? WHERE name = ?");
    stmt.Bind(1, disabled).BindText(2, name);
    VIGIL_RETURN_IF_ERROR(stmt.Run());
    if (sqlite3_changes(db.get()) == 0) return Status::NotFound("no coordinator " + name);
    return Status::Ok();
  });
}

Status SqliteStore::LogCoordinatorAction(const v1::AuditEntry& entry) {
  return RunSync([&](Db& db) -> Status {
    return AppendAuditEntry(db, entry.actor(), entry.action(), entry.target(), entry.before(),
                            entry.after(), entry.reason(), entry.at_ms());
  });
}

void SqliteStore::RecordAlert(const std::string& kind, const std::string& device_id,
                              const std::string& detail) {
  // Device ids and details may come from an attacker: both are made inert and cut to a bound
  // (store/inert_text.h). Repeats of one detail within the hour are counted in one row; each
  // distinct detail keeps its own row, up to kMaxAlertDetailsPerHour per kind and device, and
  // the rest are counted in one overflow row. So a flood adds rows per hour, not per request.
  std::string device = InertText(device_id, kMaxAlertDeviceId);
  std::string text = InertText(detail, kMaxAlertDetail);
  (void)Submit(Job{[kind, device, text](Db& db) -> Status {
                     const int64_t now = NowMs();
                     VIGIL_ASSIGN_OR_RETURN(bool counted, BumpAlert(db, kind, device, text, now));
                     if (counted) return Status::Ok();
                     std::string row_text = text;
                     Statement distinct(db.get(),
                                        "SELECT count(*) FROM alerts WHERE kind = ?1 AND "
                                        "device_id = ?2 AND last_at_ms >= ?3");
                     distinct.BindText(1, kind).BindText(2, device);
                     distinct.Bind(3, now - kAlertWindowMs);
                     VIGIL_ASSIGN_OR_RETURN(bool row, distinct.Step());
                     if (row && distinct.Int(0) >= kMaxAlertDetailsPerHour) {
                       row_text = kOverflowDetail;
                       VIGIL_ASSIGN_OR_RETURN(counted, BumpAlert(db, kind, device, row_text, now));
                       if (counted) return Status::Ok();
                     }
                     Statement put(db.get(),
                                   "INSERT INTO alerts(kind, device_id, detail, first_at_ms, "
                                   "last_at_ms, count) VALUES (?, ?, ?, ?, ?, 1)");
                     put.BindText(1, kind).BindText(2, device).BindText(3, row_text);
                     put.Bind(4, now).Bind(5, now);
                     return put.Run();
                   },
                   nullptr},
               /*droppable=*/true);
}

}  // namespace vigil::syncd
