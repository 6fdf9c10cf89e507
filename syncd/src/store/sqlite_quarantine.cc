// Quarantined records (docs/protocol.md §8.5, records/record_checks.h Q1-Q4): the listing
// coordinators read, the release they may make, and what a device's pull says of its own.
#include <algorithm>

#include "store/sql_store.h"
#include "store/sqlite_rows.h"

namespace vigil::syncd {
namespace {

constexpr uint32_t kMaxPageSize = 200;
// Held records one pull reports; the device shows them, a longer list says nothing more.
constexpr int kMaxHeldPerPull = 500;

// The columns QuarantinedRecordFrom reads, in order.
constexpr const char* kQuarantineColumns =
    "q.record_id, r.kind, r.device_id, r.observer_id, q.claimed_observer_id, r.station_code, "
    "r.form_id, r.form_version, q.reason, r.received_at_ms, r.batch_seq, "
    "coalesce(q.released_by, ''), coalesce(q.release_reason, ''), "
    "coalesce(q.released_at_ms, 0)";
constexpr const char* kQuarantineFrom = " FROM quarantine q JOIN records r USING (record_id)";

v1::QuarantinedRecord QuarantinedRecordFrom(sql::Statement& row) {
  v1::QuarantinedRecord out;
  out.set_record_id(row.Text(0));
  out.set_kind(row.Text(1));
  out.set_device_id(row.Text(2));
  out.set_observer_id(row.Text(3));
  out.set_claimed_observer_id(row.Text(4));
  out.set_station_code(row.Text(5));
  out.set_form_id(row.Text(6));
  out.set_form_version(static_cast<uint32_t>(row.Int(7)));
  out.set_reason(row.Text(8));
  out.set_received_at_ms(row.Int(9));
  out.set_batch_seq(static_cast<uint64_t>(row.Int(10)));
  out.set_released_by(row.Text(11));
  out.set_release_reason(row.Text(12));
  out.set_released_at_ms(row.Int(13));
  return out;
}

}  // namespace

Result<v1::QuarantinePage> SqlStore::QuarantinePage(bool released, PageRequest page) {
  page.page = std::max<uint32_t>(page.page, 1);
  page.page_size = std::clamp<uint32_t>(page.page_size, 1, kMaxPageSize);
  VIGIL_ASSIGN_OR_RETURN(Reader reader, Read());
  v1::QuarantinePage out;
  out.set_page(page.page);
  out.set_page_size(page.page_size);
  const char* which = released ? "q.released_at_ms IS NOT NULL" : "q.released_at_ms IS NULL";
  {
    sql::Statement count(reader, std::string("SELECT count(*) FROM quarantine q WHERE ") + which);
    VIGIL_ASSIGN_OR_RETURN(bool row, count.Step());
    if (row) out.set_total(static_cast<uint32_t>(count.Int(0)));
  }
  sql::Statement rows(reader, std::string("SELECT ") + kQuarantineColumns + kQuarantineFrom +
                                  " WHERE " + which +
                                  " ORDER BY q.quarantined_at_ms DESC, q.record_id LIMIT ? "
                                  "OFFSET ?");
  rows.Bind(1, page.page_size).Bind(2, static_cast<int64_t>(page.page - 1) * page.page_size);
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, rows.Step());
    if (!row) return out;
    *out.add_records() = QuarantinedRecordFrom(rows);
  }
}

Result<HeldRecord> SqlStore::LoadHeld(sql::Connection& db, const std::string& record_id) {
  sql::Statement held(db, std::string("SELECT ") + kQuarantineColumns + ", r.bytes" +
                              kQuarantineFrom + " WHERE q.record_id = ?");
  held.BindText(1, record_id);
  VIGIL_ASSIGN_OR_RETURN(bool found, held.Step());
  if (!found) return Status::NotFound("record " + record_id + " is not in quarantine");
  return HeldRecord{QuarantinedRecordFrom(held), held.Blob(14)};
}

Status SqlStore::AddHeldRecords(sql::Connection& db, const std::string& device_id,
                                v1::PullResponse& response) {
  sql::Statement& held =
      Cached(db,
             "SELECT q.record_id, q.reason FROM quarantine q JOIN records r "
             "USING (record_id) WHERE r.device_id = ? AND q.released_at_ms IS NULL "
             "ORDER BY q.quarantined_at_ms, q.record_id LIMIT ?");
  held.BindText(1, device_id).Bind(2, kMaxHeldPerPull);
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, held.Step());
    if (!row) return Status::Ok();
    v1::RecordStatus* status = response.add_held_records();
    status->set_record_id(held.Text(0));
    status->set_outcome(v1::RECORD_QUARANTINED);
    status->set_reason(held.Text(1));
  }
}

}  // namespace vigil::syncd
