// What ingest's repository (sql_ledger_tx.cc) asks of the store's writer-side caches and
// lookups about a record's sender, form and quarantine.
#include <utility>

#include "records/record_checks.h"
#include "store/sql_store.h"

namespace vigil::syncd {

Result<SenderFacts> SqlStore::LoadSenderFacts(sql::Connection& db, const std::string& observer_id,
                                              const std::string& station_code) {
  sql::Statement& facts = Cached(db,
                                 "SELECT EXISTS(SELECT 1 FROM stations WHERE code = ?1), "
                                 "EXISTS(SELECT 1 FROM assignments WHERE observer_id = ?2 AND "
                                 "station_code = ?1)");
  facts.BindText(1, station_code).BindText(2, observer_id);
  VIGIL_ASSIGN_OR_RETURN(bool row, facts.Step());
  if (!row) return Status::Internal("station lookup returned nothing");
  SenderFacts out;
  out.enrolled_observer_id = observer_id;
  out.station_known = facts.Int(0) != 0;
  out.station_assigned = facts.Int(1) != 0;
  return out;
}

size_t SqlStore::AllowanceOf(const protocol::Form& form) {
  auto [it, added] = allowances_.emplace(&form, 0);
  if (added) it->second = RecordAllowanceBytes(form);
  return it->second;
}

Result<std::optional<std::string>> SqlStore::HeldReason(sql::Connection& db,
                                                        const std::string& record_id) {
  sql::Statement& held = Cached(db,
                                "SELECT reason FROM quarantine WHERE record_id = ? AND "
                                "released_at_ms IS NULL");
  held.BindText(1, record_id);
  VIGIL_ASSIGN_OR_RETURN(bool row, held.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(held.Text(0));
}

}  // namespace vigil::syncd
