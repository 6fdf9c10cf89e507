#include "ingest/record_intake.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "records/record_checks.h"
#include "records/record_rules.h"
#include "vigil/protocol/batch_codec.h"

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

// A record's status, and its content hash ("" when it could not be described).
struct RecordVerdict {
  v1::RecordStatus status;
  std::string content_hash;
};

Status RaiseCriticalAlerts(LedgerTx& tx, const v1::Record& record, const protocol::Form& form,
                           const std::string& device_id, const std::string& observer_id,
                           int64_t now) {
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
    VIGIL_RETURN_IF_ERROR(tx.RaiseAlert("CRITICAL_ANSWER", device_id, detail, now));
  }
  return Status::Ok();
}

// False (and outcome.payload_status set) when the batch decodes to more than its records'
// forms allow together (note 1).
Result<bool> BatchWithinAllowance(LedgerTx& tx, const VerifiedBatch& batch,
                                  AppendOutcome& outcome) {
  size_t allowance = 0;
  for (const v1::Record& record : batch.records.records()) {
    VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form,
                           tx.CompiledForm(FormIdOf(record), FormVersionOf(record)));
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

// One record of an accepted batch (notes 2-4).
Result<RecordVerdict> StoreRecord(LedgerTx& tx, const v1::Record& record,
                                  const VerifiedBatch& batch, const std::string& observer_id,
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
  VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> previous,
                         tx.StoredContentHash(facts->record_id));
  VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form,
                         tx.CompiledForm(facts->form_id, facts->form_version));
  bool form_known = form != nullptr;
  if (!form_known) {
    // Published but not compilable here (published before syncd checked forms): known, so
    // the record is kept, but it cannot be checked, so it is held.
    VIGIL_ASSIGN_OR_RETURN(form_known, tx.FormPublished(facts->form_id, facts->form_version));
  }
  status = DecideRecord(*facts, previous, form_known);
  if (status.outcome() == v1::RECORD_DUPLICATE) {
    VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> held, tx.HeldReason(facts->record_id));
    if (held) {
      status.set_outcome(v1::RECORD_QUARANTINED);
      status.set_reason(*held);
    }
  }
  if (status.outcome() != v1::RECORD_OK) return verdict;

  std::optional<std::string> reason;
  bool keep_bytes = true;
  if (!tx.validate_enabled()) {
    // Benchmarks' baseline only (note 4).
  } else if (form == nullptr) {
    reason = "form " + facts->form_id + " v" + std::to_string(facts->form_version) +
             " cannot be checked by this server";
  } else {
    auto known = merge.senders.find(facts->station_code);
    if (known == merge.senders.end()) {
      VIGIL_ASSIGN_OR_RETURN(SenderFacts sender,
                             tx.LoadSenderFacts(observer_id, facts->station_code));
      known = merge.senders.emplace(facts->station_code, std::move(sender)).first;
    }
    const size_t allowance = tx.AllowanceOf(*form);
    reason = QuarantineReason(record, facts->bytes.size(), allowance, *form, known->second);
    keep_bytes = facts->bytes.size() <= allowance;
  }

  RecordRow row;
  row.record_id = facts->record_id;
  row.kind = facts->kind;
  row.device_id = batch.device_id;
  row.batch_seq = batch.seq;
  row.content_hash = facts->content_hash;
  if (keep_bytes) row.bytes = facts->bytes;
  row.station_code = facts->station_code.substr(0, 64);
  row.form_id = facts->form_id;
  row.form_version = facts->form_version;
  row.observer_id = observer_id;
  row.received_at_ms = now;
  VIGIL_RETURN_IF_ERROR(tx.InsertRecord(row));
  ++merge.records_stored;

  if (reason) {
    VIGIL_RETURN_IF_ERROR(
        tx.Quarantine(facts->record_id, *reason, ClaimedObserverOf(record).substr(0, 64), now));
    VIGIL_RETURN_IF_ERROR(tx.RaiseAlert("QUARANTINED", batch.device_id, *reason, now));
    status.set_outcome(v1::RECORD_QUARANTINED);
    status.set_reason(*reason);
    ++merge.records_quarantined;
    return verdict;
  }
  VIGIL_RETURN_IF_ERROR(
      MergeTrustedRecord(tx, record, form, batch.device_id, observer_id, now, merge));
  return verdict;
}

}  // namespace

Status MergeTrustedRecord(LedgerTx& tx, const v1::Record& record, const protocol::Form* form,
                          const std::string& device_id, const std::string& observer_id,
                          int64_t now_ms, BatchMergeState& merge) {
  ++(record.has_incident() ? merge.incidents_stored : merge.submissions_stored);
  if (form != nullptr) {
    VIGIL_RETURN_IF_ERROR(RaiseCriticalAlerts(tx, record, *form, device_id, observer_id, now_ms));
  }
  if (!tx.merge_enabled()) return Status::Ok();
  if (record.has_submission()) {
    return tx.MergeSubmission(record.submission(), device_id, observer_id, merge.dirty);
  }
  merge.incident_stations.insert(record.incident().station_code());
  return Status::Ok();
}

Status FinishBatchMerge(LedgerTx& tx, const BatchMergeState& merge, int64_t now_ms) {
  if (merge.submissions_stored == 0 && merge.incidents_stored == 0 && merge.dirty.empty() &&
      merge.incident_stations.empty()) {
    return Status::Ok();
  }
  // Rows every batch touches (the minute's count, a station's master and cases) are written
  // when the writer's group ends, one node at a time (sql_store.h note 7).
  return tx.AtGroupEnd([submissions = merge.submissions_stored, incidents = merge.incidents_stored,
                        dirty = merge.dirty, stations = merge.incident_stations,
                        now_ms](LedgerTx& end) -> Status {
    for (const auto& [kind, n] :
         {std::pair<const char*, int64_t>{"submission", submissions}, {"incident", incidents}}) {
      if (n == 0) continue;
      VIGIL_RETURN_IF_ERROR(end.CountMinute(now_ms / 60000, kind, n));
    }
    for (const auto& [station, form] : dirty) {
      VIGIL_RETURN_IF_ERROR(end.RecomputeMaster(station, form));
    }
    for (const std::string& station : stations) {
      VIGIL_RETURN_IF_ERROR(end.RecomputeCases(station));
    }
    return Status::Ok();
  });
}

Status StoreBatchRecords(LedgerTx& tx, const VerifiedBatch& batch, const std::string& observer_id,
                         int64_t now_ms, v1::PushResponse& response, AppendOutcome& outcome) {
  if (tx.validate_enabled()) {
    VIGIL_ASSIGN_OR_RETURN(bool within, BatchWithinAllowance(tx, batch, outcome));
    if (!within) return Status::Ok();
  }
  std::vector<std::string> record_ids;
  std::set<std::string> stations;
  for (const v1::Record& record : batch.records.records()) {
    record_ids.emplace_back(protocol::RecordId(record));
    if (record.has_submission() && tx.merge_enabled()) {
      stations.insert(record.submission().station_code());
    }
  }
  VIGIL_RETURN_IF_ERROR(tx.ReadAhead(record_ids, observer_id, stations));
  BatchMergeState merge;
  for (const v1::Record& record : batch.records.records()) {
    VIGIL_ASSIGN_OR_RETURN(RecordVerdict verdict,
                           StoreRecord(tx, record, batch, observer_id, now_ms, merge));
    v1::RecordStatus& status = verdict.status;
    if (status.outcome() == v1::RECORD_REJECTED) {
      VIGIL_RETURN_IF_ERROR(tx.InsertRejection(status.record_id(), batch.device_id, batch.seq,
                                               status.reason(), verdict.content_hash, now_ms));
      outcome.record_rejections.push_back(status.reason());
    }
    *response.add_statuses() = std::move(status);
  }
  outcome.records_stored = merge.records_stored;
  outcome.records_quarantined = merge.records_quarantined;
  return FinishBatchMerge(tx, merge, now_ms);
}

}  // namespace vigil::syncd
