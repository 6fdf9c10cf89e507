// The records of an accepted batch, inside the writer's transaction (sqlite_device_ops.cc
// note 4 and 6): each record is stored, held in quarantine, or refused, and merged when it
// is stored and trusted.
//
// NOTES ON A RECORD'S WAY IN (docs/protocol.md §8.3 and §8.5)
//
//  1. The batch as a whole first: its decoded size may not exceed what the forms of its
//     records allow together (RecordAllowanceBytes, plus framing). A batch over it is refused
//     with TOO_LARGE and nothing of it is stored.
//  2. Per record, record_rules.h decides by id: a duplicate is answered as one (or as
//     QUARANTINED again while the first copy is held); other content under a known id and an
//     unknown form version are refused and logged in record_rejections.
//  3. A new record of a known form is checked by record_checks.h against the form and what
//     the server knows of its sender. Either way it is stored in records, with the device's
//     enrolled observer in records.observer_id (never the record's claim):
//       passes -> merged now (a submission at once, incidents per station after the batch),
//                 counted per minute, its critical answers raised as alerts;
//       fails  -> a quarantine row with the reason and the claimed observer; not merged, not
//                 counted, one QUARANTINED alert per distinct reason; a record over its
//                 form's size is stored without its bytes (they stay in the batch).
//  4. With validation off (SqliteStoreOptions::validate, for benchmarks only) step 3 always
//     passes.
#include <map>
#include <set>
#include <utility>

#include "ingest/record_checks.h"
#include "ingest/record_rules.h"
#include "store/sqlite_rows.h"
#include "store/sqlite_store.h"

namespace vigil::syncd {
namespace {

// What a record of an unknown form version may take in a batch's size limit (it is refused,
// but it was decoded).
constexpr size_t kUnknownFormAllowance = 4096;
// Framing of one record inside a RecordList.
constexpr size_t kRecordFraming = 16;

const std::string& FormIdOf(const v1::Record& r) {
  return r.has_incident() ? r.incident().form_id() : r.submission().form_id();
}

uint32_t FormVersionOf(const v1::Record& r) {
  return r.has_incident() ? r.incident().form_version() : r.submission().form_version();
}

const std::string& ClaimedObserverOf(const v1::Record& r) {
  return r.has_incident() ? r.incident().observer_id() : r.submission().observer_id();
}

}  // namespace

Result<SenderFacts> SqliteStore::LoadSenderFacts(sql::Connection& db,
                                                 const std::string& observer_id,
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

size_t SqliteStore::AllowanceOf(const protocol::Form& form) {
  auto [it, added] = allowances_.emplace(&form, 0);
  if (added) it->second = RecordAllowanceBytes(form);
  return it->second;
}

Status SqliteStore::RaiseCriticalAlerts(sql::Connection& db, const v1::Record& record,
                                        const protocol::Form& form, const std::string& device_id,
                                        const std::string& observer_id, int64_t now) {
  if (!form.HasCriticalConditions()) return Status::Ok();
  const auto& answers =
      record.has_incident() ? record.incident().answers() : record.submission().answers();
  protocol::AnswerMap map = protocol::MapAnswers(answers);
  const std::string& station =
      record.has_incident() ? record.incident().station_code() : record.submission().station_code();
  for (const std::string& question_id : form.CriticalAnswers(map)) {
    const v1::Question* q = form.Find(question_id);
    auto it = map.find(question_id);
    const std::string value = it == map.end() ? "(no answer)" : protocol::ValueToText(*it->second);
    const std::string detail = "station " + station + ", observer " + observer_id + ": " +
                               form.Label(*q, "en") + " = " + value + " (" +
                               form.definition().form_id() + ", record " +
                               std::string(protocol::RecordId(record)) + ")";
    VIGIL_RETURN_IF_ERROR(RaiseAlert(db, "CRITICAL_ANSWER", device_id, detail, now));
  }
  return Status::Ok();
}

Result<std::optional<std::string>> SqliteStore::HeldReason(sql::Connection& db,
                                                           const std::string& record_id) {
  sql::Statement& held = Cached(db,
                                "SELECT reason FROM quarantine WHERE record_id = ? AND "
                                "released_at_ms IS NULL");
  held.BindText(1, record_id);
  VIGIL_ASSIGN_OR_RETURN(bool row, held.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(held.Text(0));
}

Result<bool> SqliteStore::BatchWithinAllowance(sql::Connection& db, const VerifiedBatch& batch,
                                               AppendOutcome& outcome) {
  size_t allowance = 0;
  for (const v1::Record& record : batch.records.records()) {
    VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form,
                           CompiledForm(db, FormIdOf(record), FormVersionOf(record)));
    allowance +=
        (form != nullptr ? RecordAllowanceBytes(*form) : kUnknownFormAllowance) + kRecordFraming;
  }
  // The codec checked that the payload decodes to exactly uncompressed_size bytes.
  const size_t decoded = batch.payload_bytes != 0 ? static_cast<size_t>(batch.payload_bytes)
                                                  : batch.records.ByteSizeLong();
  if (decoded <= allowance) return true;
  outcome.payload_status = Status::ResourceExhausted(
      "batch payload decodes to " + std::to_string(decoded) + " bytes; the forms of its " +
      std::to_string(batch.records.records_size()) + " records allow at most " +
      std::to_string(allowance));
  return false;
}

Result<SqliteStore::RecordVerdict> SqliteStore::StoreRecord(sql::Connection& db,
                                                            const v1::Record& record,
                                                            const VerifiedBatch& batch,
                                                            const std::string& observer_id,
                                                            int64_t now, BatchMergeState& merge) {
  RecordVerdict verdict;
  v1::RecordStatus& status = verdict.status;
  Result<RecordFacts> facts = DescribeRecord(record);
  if (!facts.ok()) {
    status.set_record_id(StatusRecordId(record));
    status.set_outcome(v1::RECORD_REJECTED);
    status.set_reason(facts.status().message());
    return verdict;
  }
  verdict.content_hash = facts->content_hash;
  sql::Statement& stored = Cached(db, "SELECT content_hash FROM records WHERE record_id = ?");
  stored.BindText(1, facts->record_id);
  VIGIL_ASSIGN_OR_RETURN(bool exists, stored.Step());
  std::optional<std::string> previous;
  if (exists) previous = stored.Blob(0);
  stored.Reset();
  VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form,
                         CompiledForm(db, facts->form_id, facts->form_version));
  bool form_known = form != nullptr;
  if (!form_known) {
    // Published but not compilable here (published before syncd checked forms): known, so
    // the record is kept, but it cannot be checked, so it is held.
    sql::Statement& known = Cached(db, "SELECT 1 FROM forms WHERE form_id = ? AND version = ?");
    known.BindText(1, facts->form_id).Bind(2, facts->form_version);
    VIGIL_ASSIGN_OR_RETURN(form_known, known.Step());
  }
  status = DecideRecord(*facts, previous, form_known);
  if (status.outcome() == v1::RECORD_DUPLICATE) {
    VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> held, HeldReason(db, facts->record_id));
    if (held) {
      status.set_outcome(v1::RECORD_QUARANTINED);
      status.set_reason(*held);
    }
  }
  if (status.outcome() != v1::RECORD_OK) return verdict;

  std::optional<std::string> reason;
  bool keep_bytes = true;
  if (!options_.validate) {
    // Benchmarks' baseline only (note 4).
  } else if (form == nullptr) {
    reason = "form " + facts->form_id + " v" + std::to_string(facts->form_version) +
             " cannot be checked by this server";
  } else {
    auto known = merge.senders.find(facts->station_code);
    if (known == merge.senders.end()) {
      VIGIL_ASSIGN_OR_RETURN(SenderFacts sender,
                             LoadSenderFacts(db, observer_id, facts->station_code));
      known = merge.senders.emplace(facts->station_code, std::move(sender)).first;
    }
    const size_t allowance = AllowanceOf(*form);
    reason = QuarantineReason(record, facts->bytes.size(), allowance, *form, known->second);
    keep_bytes = facts->bytes.size() <= allowance;
  }

  sql::Statement& insert =
      Cached(db,
             "INSERT INTO records(record_id, kind, device_id, batch_seq, "
             "content_hash, bytes, station_code, form_id, form_version, "
             "observer_id, received_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.BindText(1, facts->record_id).BindText(2, facts->kind);
  insert.BindText(3, batch.device_id).Bind(4, static_cast<int64_t>(batch.seq));
  insert.BindBlob(5, facts->content_hash).BindBlob(6, keep_bytes ? facts->bytes : std::string());
  insert.BindText(7, facts->station_code.substr(0, 64)).BindText(8, facts->form_id);
  insert.Bind(9, facts->form_version).BindText(10, observer_id);
  insert.Bind(11, now);
  VIGIL_RETURN_IF_ERROR(insert.Run());
  ++merge.records_stored;

  if (reason) {
    sql::Statement& hold = Cached(db,
                                  "INSERT INTO quarantine(record_id, reason, claimed_observer_id, "
                                  "quarantined_at_ms) VALUES (?, ?, ?, ?)");
    hold.BindText(1, facts->record_id).BindText(2, *reason);
    hold.BindText(3, ClaimedObserverOf(record).substr(0, 64)).Bind(4, now);
    VIGIL_RETURN_IF_ERROR(hold.Run());
    VIGIL_RETURN_IF_ERROR(RaiseAlert(db, "QUARANTINED", batch.device_id, *reason, now));
    status.set_outcome(v1::RECORD_QUARANTINED);
    status.set_reason(*reason);
    ++merge.records_quarantined;
    return verdict;
  }
  VIGIL_RETURN_IF_ERROR(
      MergeTrustedRecord(db, record, form, batch.device_id, observer_id, now, merge));
  return verdict;
}

Status SqliteStore::MergeTrustedRecord(sql::Connection& db, const v1::Record& record,
                                       const protocol::Form* form, const std::string& device_id,
                                       const std::string& observer_id, int64_t now,
                                       BatchMergeState& merge) {
  ++(record.has_incident() ? merge.incidents_stored : merge.submissions_stored);
  if (form != nullptr) {
    VIGIL_RETURN_IF_ERROR(RaiseCriticalAlerts(db, record, *form, device_id, observer_id, now));
  }
  if (!options_.merge) return Status::Ok();
  if (record.has_submission()) {
    return MergeSubmission(db, record.submission(), device_id, observer_id, merge.dirty);
  }
  merge.incident_stations.insert(record.incident().station_code());
  return Status::Ok();
}

Status SqliteStore::FinishBatchMerge(sql::Connection& db, const BatchMergeState& merge,
                                     int64_t now) {
  sql::Statement& per_minute =
      Cached(db,
             "INSERT INTO minute_counts(minute, kind, count) VALUES (?, ?, ?) "
             "ON CONFLICT(minute, kind) DO UPDATE SET count = count + "
             "excluded.count");
  for (const auto& [kind, n] :
       {std::pair<const char*, int64_t>{"submission", merge.submissions_stored},
        {"incident", merge.incidents_stored}}) {
    if (n == 0) continue;
    per_minute.Reset();
    per_minute.Bind(1, now / 60000).BindText(2, kind).Bind(3, n);
    VIGIL_RETURN_IF_ERROR(per_minute.Run());
  }
  for (const auto& [station, form] : merge.dirty) {
    VIGIL_RETURN_IF_ERROR(RecomputeMaster(db, station, form).status());
  }
  for (const std::string& station : merge.incident_stations) {
    VIGIL_RETURN_IF_ERROR(RecomputeCases(db, station));
  }
  return Status::Ok();
}

Status SqliteStore::StoreBatchRecords(sql::Connection& db, const VerifiedBatch& batch,
                                      const std::string& observer_id, v1::PushResponse& response,
                                      AppendOutcome& outcome) {
  if (options_.validate) {
    VIGIL_ASSIGN_OR_RETURN(bool within, BatchWithinAllowance(db, batch, outcome));
    if (!within) return Status::Ok();
  }
  const int64_t now = NowMs();
  sql::Statement& reject =
      Cached(db,
             "INSERT INTO record_rejections(record_id, device_id, batch_seq, "
             "reason, content_hash, received_at_ms) VALUES (?, ?, ?, ?, ?, ?)");
  BatchMergeState merge;
  for (const v1::Record& record : batch.records.records()) {
    VIGIL_ASSIGN_OR_RETURN(RecordVerdict verdict,
                           StoreRecord(db, record, batch, observer_id, now, merge));
    v1::RecordStatus& status = verdict.status;
    if (status.outcome() == v1::RECORD_REJECTED) {
      reject.Reset();
      reject.BindText(1, status.record_id()).BindText(2, batch.device_id);
      reject.Bind(3, static_cast<int64_t>(batch.seq)).BindText(4, status.reason());
      reject.BindBlob(5, verdict.content_hash).Bind(6, now);
      VIGIL_RETURN_IF_ERROR(reject.Run());
      outcome.record_rejections.push_back(status.reason());
    }
    *response.add_statuses() = std::move(status);
  }
  outcome.records_stored = merge.records_stored;
  outcome.records_quarantined = merge.records_quarantined;
  return FinishBatchMerge(db, merge, now);
}

}  // namespace vigil::syncd
