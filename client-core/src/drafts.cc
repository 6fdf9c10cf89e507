// Client: drafts, finalization and incident reports.
//
// A draft is a records row in state kDraft whose sealed value is a vigil.v1.Record holding
// the answers so far. Finalizing rewrites that same row to kOutbox in one transaction, so a
// record is never in two places and a crash leaves either the draft or the finalized
// record, never both and never neither.
#include <algorithm>
#include <cmath>

#include "client_state.h"
#include "vigil/client/answer_input.h"
#include "vigil/client/client.h"
#include "vigil/protocol/crypto.h"
#include "vigil/sqlite/db.h"

namespace vigil::client {
namespace {

constexpr size_t kMaxStationCodeLength = 64;

Status CheckStationCode(const std::string& code) {
  if (code.empty()) return Status::InvalidArgument("a station code is needed");
  return protocol::CheckText(code, "the station code", kMaxStationCodeLength);
}

// Reads a record row: its state and decrypted Record.
Result<StoredRecord> LoadRecord(Client::State& state, const std::string& id) {
  VIGIL_RETURN_IF_ERROR(state.RequireUnlocked());
  VIGIL_ASSIGN_OR_RETURN(
      auto st, state.db->Prepare("SELECT state, sealed FROM records WHERE record_id = ?"));
  st.BindText(1, id);
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no draft or record '" + id + "' on this device");
  StoredRecord out;
  out.state = static_cast<int>(st.Int(0));
  std::string sealed = st.Blob(1);
  if (sealed.empty()) {
    return Status::NotFound("record '" + id +
                            "' was acknowledged by the server and purged from this device");
  }
  VIGIL_ASSIGN_OR_RETURN(std::string plain, state.Open(sealed, RecordAad(id)));
  bool parsed = out.record.ParseFromString(plain);
  protocol::SecureWipe(plain);
  if (!parsed) return Status::DataLoss("record '" + id + "' does not parse");
  return out;
}

Result<StoredRecord> LoadDraft(Client::State& state, const std::string& id) {
  VIGIL_ASSIGN_OR_RETURN(StoredRecord r, LoadRecord(state, id));
  if (r.state != kDraft || !r.record.has_submission()) {
    return Status::FailedPrecondition("'" + id + "' is already finalized; it cannot change");
  }
  return r;
}

// Rewrites a record's sealed value while it is still in `record_state` (a draft, or an
// incident not yet sealed into a batch).
Status StoreRecord(Client::State& state, const std::string& id, const v1::Record& record,
                   RecordState record_state = kDraft) {
  std::string plain = record.SerializeAsString();
  auto sealed = state.Seal(plain, RecordAad(id));
  protocol::SecureWipe(plain);
  if (!sealed.ok()) return sealed.status();
  VIGIL_ASSIGN_OR_RETURN(
      auto st,
      state.db->Prepare("UPDATE records SET sealed = ? WHERE record_id = ? AND state = ?"));
  st.BindBlob(1, *sealed).BindText(2, id).Bind(3, static_cast<int64_t>(record_state));
  VIGIL_RETURN_IF_ERROR(st.Run());
  if (state.db->Changes() != 1) {
    return Status::Aborted(record_state == kDraft
                               ? "draft '" + id + "' was finalized or discarded meanwhile"
                               : "record '" + id + "' was sealed into a batch meanwhile");
  }
  return Status::Ok();
}

Status StoreDraft(Client::State& state, const std::string& id, const v1::Record& record) {
  return StoreRecord(state, id, record, kDraft);
}

Status CheckLocation(const v1::GeoPoint& p) {
  if (!std::isfinite(p.latitude()) || p.latitude() < -90 || p.latitude() > 90) {
    return Status::InvalidArgument("a latitude is between -90 and 90");
  }
  if (!std::isfinite(p.longitude()) || p.longitude() < -180 || p.longitude() > 180) {
    return Status::InvalidArgument("a longitude is between -180 and 180");
  }
  if (!std::isfinite(p.accuracy_m()) || p.accuracy_m() < 0) {
    return Status::InvalidArgument("a location's accuracy is 0 or more metres");
  }
  return Status::Ok();
}

// Inserts a finished record straight into the outbox (incidents have no draft stage).
Status InsertIntoOutbox(Client::State& state, const std::string& id, RecordKind kind,
                        const std::string& form_id, uint32_t version, const v1::Record& record) {
  std::string plain = record.SerializeAsString();
  auto sealed = state.Seal(plain, RecordAad(id));
  protocol::SecureWipe(plain);
  if (!sealed.ok()) return sealed.status();
  int64_t now = NowMs();
  sqlite::Transaction txn(*state.db);
  VIGIL_RETURN_IF_ERROR(txn.status());
  VIGIL_ASSIGN_OR_RETURN(
      auto st, state.db->Prepare(
                   "INSERT INTO records(record_id, kind, form_id, form_version, state, created_at, "
                   "finalized_at, outbox_order, sealed) VALUES (?, ?, ?, ?, 1, ?, ?, "
                   "(SELECT IFNULL(MAX(outbox_order), 0) + 1 FROM records), ?)"));
  st.BindText(1, id)
      .Bind(2, static_cast<int64_t>(kind))
      .BindText(3, form_id)
      .Bind(4, static_cast<int64_t>(version))
      .Bind(5, now)
      .Bind(6, now)
      .BindBlob(7, *sealed);
  VIGIL_RETURN_IF_ERROR(st.Run());
  return txn.Commit();
}

}  // namespace

Result<std::string> Client::StartDraft(const std::string& form_id, const std::string& station_code,
                                       uint32_t version) {
  VIGIL_RETURN_IF_ERROR(state_->RequireUnlocked());
  VIGIL_RETURN_IF_ERROR(CheckStationCode(station_code));
  VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form, state_->LoadForm(form_id, version));
  if (form->definition().kind() != v1::CHECKLIST) {
    return Status::InvalidArgument("form '" + form_id +
                                   "' is an incident form: use ReportIncident");
  }
  VIGIL_ASSIGN_OR_RETURN(std::string id, protocol::NewUuid());
  v1::Record record;
  v1::Submission* s = record.mutable_submission();
  s->set_submission_id(id);
  s->set_form_id(form_id);
  s->set_form_version(form->definition().version());
  s->set_station_code(station_code);
  VIGIL_ASSIGN_OR_RETURN(auto observer, state_->GetMeta("observer_id"));
  s->set_observer_id(observer.value_or(""));
  s->set_started_at_ms(NowMs());
  VIGIL_ASSIGN_OR_RETURN(std::string sealed,
                         state_->Seal(record.SerializeAsString(), RecordAad(id)));
  VIGIL_ASSIGN_OR_RETURN(
      auto st, state_->db->Prepare("INSERT INTO records(record_id, kind, form_id, form_version, "
                                   "state, created_at, sealed) VALUES (?, 1, ?, ?, 0, ?, ?)"));
  st.BindText(1, id)
      .BindText(2, form_id)
      .Bind(3, static_cast<int64_t>(form->definition().version()))
      .Bind(4, s->started_at_ms())
      .BindBlob(5, sealed);
  VIGIL_RETURN_IF_ERROR(st.Run());
  return id;
}

namespace {

// Checks one answer against the draft's current answers and puts it in.
Status ApplyAnswer(const protocol::Form& form, v1::Submission& s, const std::string& question_id,
                   const v1::Value& value) {
  const v1::Question* q = form.Find(question_id);
  if (q == nullptr) {
    return Status::InvalidArgument("form " + s.form_id() + " has no question '" + question_id +
                                   "'");
  }
  protocol::AnswerMap answers = protocol::MapAnswers(s.answers());
  if (!form.IsRelevant(*q, answers)) {
    std::string because = q->relevant_when_size() > 0 ? q->relevant_when(0).question_id() : "";
    return Status::FailedPrecondition("question " + question_id +
                                      " does not apply with the answers given so far (it "
                                      "depends on " +
                                      because + ")");
  }
  VIGIL_RETURN_IF_ERROR(form.CheckAnswer(*q, value));
  auto* list = s.mutable_answers();
  auto it = std::find_if(list->begin(), list->end(),
                         [&](const v1::Answer& a) { return a.question_id() == question_id; });
  v1::Answer* a = it != list->end() ? &*it : list->Add();
  a->set_question_id(question_id);
  *a->mutable_value() = value;
  return Status::Ok();
}

}  // namespace

Status Client::SetAnswer(const std::string& draft_id, const std::string& question_id,
                         const v1::Value& value) {
  return SetAnswers(draft_id, {{question_id, value}});
}

Status Client::SetAnswers(const std::string& draft_id,
                          const std::vector<std::pair<std::string, v1::Value>>& answers,
                          bool skip_inapplicable) {
  VIGIL_ASSIGN_OR_RETURN(StoredRecord draft, LoadDraft(*state_, draft_id));
  v1::Submission* s = draft.record.mutable_submission();
  VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form,
                         state_->LoadForm(s->form_id(), s->form_version()));
  for (const auto& [question_id, value] : answers) {
    Status applied = ApplyAnswer(*form, *s, question_id, value);
    if (!applied.ok() && skip_inapplicable && applied.code() == StatusCode::kFailedPrecondition) {
      continue;
    }
    VIGIL_RETURN_IF_ERROR(applied);
  }
  return StoreDraft(*state_, draft_id, draft.record);
}

Status Client::SetAnswerText(const std::string& draft_id, const std::string& question_id,
                             std::string_view text) {
  VIGIL_ASSIGN_OR_RETURN(StoredRecord draft, LoadDraft(*state_, draft_id));
  const v1::Submission& s = draft.record.submission();
  VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form,
                         state_->LoadForm(s.form_id(), s.form_version()));
  const v1::Question* q = form->Find(question_id);
  if (q == nullptr) {
    return Status::InvalidArgument("form " + s.form_id() + " has no question '" + question_id +
                                   "'");
  }
  VIGIL_ASSIGN_OR_RETURN(v1::Value value, ParseAnswerText(*q, text));
  return SetAnswer(draft_id, question_id, value);
}

Result<std::vector<std::string>> Client::RelevantQuestions(const std::string& draft_id) {
  VIGIL_ASSIGN_OR_RETURN(StoredRecord draft, LoadDraft(*state_, draft_id));
  const v1::Submission& s = draft.record.submission();
  VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form,
                         state_->LoadForm(s.form_id(), s.form_version()));
  protocol::AnswerMap answers = protocol::MapAnswers(s.answers());
  std::vector<std::string> ids;
  for (const v1::Question& q : form->definition().questions()) {
    if (form->IsRelevant(q, answers)) ids.push_back(q.id());
  }
  return ids;
}

Result<std::vector<QaWarning>> Client::QaWarnings(const std::string& draft_id) {
  VIGIL_ASSIGN_OR_RETURN(StoredRecord draft, LoadDraft(*state_, draft_id));
  const v1::Submission& s = draft.record.submission();
  VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form,
                         state_->LoadForm(s.form_id(), s.form_version()));
  // As at finalize: only the answers that apply count.
  auto relevant = form->RelevantAnswers(s.answers());
  std::vector<std::string> failed = form->FailedQaChecks(protocol::MapAnswers(relevant));
  std::vector<QaWarning> out;
  for (const v1::QaCheck& check : form->definition().qa_checks()) {
    if (std::find(failed.begin(), failed.end(), check.id()) == failed.end()) continue;
    QaWarning w;
    w.check_id = check.id();
    w.label.insert(check.label().begin(), check.label().end());
    for (const auto* side : {&check.left(), &check.right()}) {
      for (const v1::Term& t : *side) {
        if (t.kind_case() == v1::Term::kQuestionId) w.question_ids.push_back(t.question_id());
      }
    }
    out.push_back(std::move(w));
  }
  return out;
}

Status Client::SetLocation(const std::string& record_id, const v1::GeoPoint& location) {
  VIGIL_RETURN_IF_ERROR(CheckLocation(location));
  VIGIL_ASSIGN_OR_RETURN(StoredRecord r, LoadRecord(*state_, record_id));
  if (r.state == kDraft && r.record.has_submission()) {
    *r.record.mutable_submission()->mutable_location() = location;
    return StoreRecord(*state_, record_id, r.record, kDraft);
  }
  if (r.state == kOutbox && r.record.has_incident()) {
    *r.record.mutable_incident()->mutable_location() = location;
    return StoreRecord(*state_, record_id, r.record, kOutbox);
  }
  return Status::FailedPrecondition(
      "'" + record_id +
      "' can no longer change: a location goes on a draft, or on an incident before it is "
      "sealed into a batch");
}

Status Client::ClearAnswer(const std::string& draft_id, const std::string& question_id) {
  VIGIL_ASSIGN_OR_RETURN(StoredRecord draft, LoadDraft(*state_, draft_id));
  auto* list = draft.record.mutable_submission()->mutable_answers();
  auto it = std::remove_if(list->begin(), list->end(),
                           [&](const v1::Answer& a) { return a.question_id() == question_id; });
  list->erase(it, list->end());
  return StoreDraft(*state_, draft_id, draft.record);
}

Result<std::string> Client::Finalize(const std::string& draft_id) {
  VIGIL_ASSIGN_OR_RETURN(StoredRecord draft, LoadDraft(*state_, draft_id));
  v1::Submission* s = draft.record.mutable_submission();
  VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form,
                         state_->LoadForm(s->form_id(), s->form_version()));
  VIGIL_RETURN_IF_ERROR(form->CheckComplete(s->answers()));
  *s->mutable_answers() = form->RelevantAnswers(s->answers());
  int64_t now = NowMs();
  s->set_finalized_at_ms(now);
  std::string plain = draft.record.SerializeAsString();
  auto sealed = state_->Seal(plain, RecordAad(draft_id));
  protocol::SecureWipe(plain);
  if (!sealed.ok()) return sealed.status();

  sqlite::Transaction txn(*state_->db);

  VIGIL_RETURN_IF_ERROR(txn.status());
  VIGIL_ASSIGN_OR_RETURN(
      auto st, state_->db->Prepare(
                   "UPDATE records SET state = 1, finalized_at = ?, sealed = ?, outbox_order = "
                   "(SELECT IFNULL(MAX(outbox_order), 0) + 1 FROM records) "
                   "WHERE record_id = ? AND state = 0"));
  st.Bind(1, now).BindBlob(2, *sealed).BindText(3, draft_id);
  // A full disk (kResourceExhausted) rolls the whole transaction back: the draft stays a
  // draft with its answers, and finalizing it again once there is room works.
  auto kept = [&](const Status& failure) {
    return failure.WithContext("cannot finalize draft '" + draft_id + "'; it is kept as a draft");
  };
  if (Status run = st.Run(); !run.ok()) return kept(run);
  if (state_->db->Changes() != 1) {
    return Status::Aborted("draft '" + draft_id + "' was finalized or discarded meanwhile");
  }
  if (Status committed = txn.Commit(); !committed.ok()) return kept(committed);
  return draft_id;
}

Status Client::DiscardDraft(const std::string& draft_id) {
  VIGIL_RETURN_IF_ERROR(state_->RequireUnlocked());
  VIGIL_ASSIGN_OR_RETURN(
      auto st, state_->db->Prepare("DELETE FROM records WHERE record_id = ? AND state = 0"));
  st.BindText(1, draft_id);
  VIGIL_RETURN_IF_ERROR(st.Run());
  if (state_->db->Changes() != 1) {
    return Status::NotFound("no draft '" + draft_id + "' (finalized records cannot be discarded)");
  }
  return Status::Ok();
}

Result<std::vector<std::string>> Client::ListDrafts() {
  VIGIL_ASSIGN_OR_RETURN(auto st,
                         state_->db->Prepare("SELECT record_id FROM records WHERE state = 0 "
                                             "ORDER BY rowid"));
  std::vector<std::string> ids;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    ids.push_back(st.Text(0));
  }
  return ids;
}

Result<std::vector<DraftSummary>> Client::Drafts() {
  VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> ids, ListDrafts());
  std::vector<DraftSummary> out;
  for (const std::string& id : ids) {
    Result<StoredRecord> draft = LoadDraft(*state_, id);
    // Finalized or discarded by another handle since the list was read: not a draft now.
    if (!draft.ok() &&
        (draft.status().code() == StatusCode::kNotFound ||
         draft.status().code() == StatusCode::kFailedPrecondition) &&
        state_->RequireUnlocked().ok()) {
      continue;
    }
    VIGIL_RETURN_IF_ERROR(draft.status());
    const v1::Submission& s = draft->record.submission();
    DraftSummary d;
    d.draft_id = id;
    d.form_id = s.form_id();
    d.form_version = s.form_version();
    d.station_code = s.station_code();
    d.started_at_ms = s.started_at_ms();
    d.answered = s.answers_size();
    out.push_back(std::move(d));
  }
  return out;
}

Result<StoredRecord> Client::GetRecord(const std::string& record_id) {
  return LoadRecord(*state_, record_id);
}

Result<std::string> Client::ReportIncident(const IncidentInput& in) {
  VIGIL_RETURN_IF_ERROR(state_->RequireUnlocked());
  VIGIL_RETURN_IF_ERROR(CheckStationCode(in.station_code));
  VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form, state_->LoadForm("incident", 0));
  const v1::FormDefinition& def = form->definition();
  if (def.kind() != v1::INCIDENT) {
    return Status::FailedPrecondition("form 'incident' is not an incident form");
  }
  VIGIL_RETURN_IF_ERROR(protocol::CheckText(in.category, "the category", 64));
  VIGIL_RETURN_IF_ERROR(protocol::CheckText(in.severity, "the severity", 64));
  VIGIL_RETURN_IF_ERROR(
      protocol::CheckText(in.narrative, "the narrative", protocol::kDefaultMaxTextLength));
  VIGIL_RETURN_IF_ERROR(protocol::CheckText(in.parent_id, "the parent incident id", 64));
  if (!in.parent_id.empty()) {
    VIGIL_ASSIGN_OR_RETURN(auto st,
                           state_->db->Prepare("SELECT kind FROM records WHERE record_id = ?"));
    st.BindText(1, in.parent_id);
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || st.Int(0) != kIncidentKind) {
      return Status::NotFound("no incident '" + in.parent_id + "' on this device to follow up");
    }
  }
  int64_t now = NowMs();
  v1::Record record;
  v1::IncidentReport* r = record.mutable_incident();
  VIGIL_ASSIGN_OR_RETURN(std::string id, protocol::NewUuid());
  r->set_incident_id(id);
  r->set_parent_id(in.parent_id);
  r->set_form_id(def.form_id());
  r->set_form_version(def.version());
  r->set_station_code(in.station_code);
  VIGIL_ASSIGN_OR_RETURN(auto observer, state_->GetMeta("observer_id"));
  r->set_observer_id(observer.value_or(""));
  r->set_category(in.category);
  r->set_severity(in.severity);
  r->set_occurred_at_ms(in.occurred_at_ms != 0 ? in.occurred_at_ms : now);
  r->set_reported_at_ms(now);
  r->set_narrative(in.narrative);
  if (in.location) {
    VIGIL_RETURN_IF_ERROR(CheckLocation(*in.location));
    *r->mutable_location() = *in.location;
  }

  auto add = [&](const char* qid, v1::Value value) {
    if (form->Find(qid) == nullptr) return;
    v1::Answer* a = r->add_answers();
    a->set_question_id(qid);
    *a->mutable_value() = std::move(value);
  };
  v1::Value v;
  v.set_text(in.category);
  add("category", v);
  v.set_text(in.severity);
  add("severity", v);
  v.set_unix_ms(r->occurred_at_ms());
  add("occurred_at", v);
  if (in.people_affected) {
    v.set_integer(*in.people_affected);
    add("people_affected", v);
  }
  if (!in.narrative.empty()) {
    v.set_text(in.narrative);
    add("narrative", v);
  }
  if (in.reported_to_authority) {
    v.set_boolean(*in.reported_to_authority);
    add("reported_to_authority", v);
  }
  VIGIL_RETURN_IF_ERROR(form->CheckComplete(r->answers()));
  *r->mutable_answers() = form->RelevantAnswers(r->answers());
  VIGIL_RETURN_IF_ERROR(
      InsertIntoOutbox(*state_, id, kIncidentKind, def.form_id(), def.version(), record));
  return id;
}

}  // namespace vigil::client
