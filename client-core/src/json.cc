// JSON views of the device's results (vigil/client/json.h), built as google.protobuf.Struct and
// written with protobuf's JSON printer, like DeviceStatusToJson.
#include "vigil/client/json.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "vigil/client/answer_input.h"

namespace vigil::client {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

std::string Print(const google::protobuf::Message& m) {
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(m, &text);
  return text;
}

double Num(uint64_t n) { return static_cast<double>(n); }
double Num(int64_t n) { return static_cast<double>(n); }

void AddStrings(Value& v, const std::vector<std::string>& strings) {
  ListValue& list = *v.mutable_list_value();
  for (const std::string& s : strings) list.add_values()->set_string_value(s);
}

// A JSON array of messages, each in protobuf's JSON mapping.
template <typename M>
std::string MessagesToJson(const std::vector<M>& messages) {
  std::string out = "[";
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) out += ",";
    out += Print(messages[i]);
  }
  return out + "]";
}

}  // namespace

std::string FormsToJson(const std::vector<FormSummary>& forms) {
  ListValue list;
  for (const FormSummary& f : forms) {
    auto& fields = *list.add_values()->mutable_struct_value()->mutable_fields();
    fields["formId"].set_string_value(f.form_id);
    fields["version"].set_number_value(f.version);
    fields["kind"].set_string_value(v1::FormKind_Name(f.kind));
    fields["titleEn"].set_string_value(f.title_en);
    fields["titleKm"].set_string_value(f.title_km);
    fields["questions"].set_number_value(f.question_count);
  }
  return Print(list);
}

std::string StringsToJson(const std::vector<std::string>& strings) {
  Value v;
  AddStrings(v, strings);
  return Print(v.list_value());
}

std::string DraftsToJson(const std::vector<DraftSummary>& drafts) {
  ListValue list;
  for (const DraftSummary& d : drafts) {
    auto& f = *list.add_values()->mutable_struct_value()->mutable_fields();
    f["draftId"].set_string_value(d.draft_id);
    f["formId"].set_string_value(d.form_id);
    f["formVersion"].set_number_value(d.form_version);
    f["stationCode"].set_string_value(d.station_code);
    f["startedAtMs"].set_number_value(Num(d.started_at_ms));
    f["answered"].set_number_value(d.answered);
  }
  return Print(list);
}

std::string DraftToJson(const StoredRecord& draft) {
  const v1::Submission& s = draft.record.submission();
  Struct out;
  auto& f = *out.mutable_fields();
  f["draftId"].set_string_value(s.submission_id());
  f["formId"].set_string_value(s.form_id());
  f["formVersion"].set_number_value(s.form_version());
  f["stationCode"].set_string_value(s.station_code());
  f["startedAtMs"].set_number_value(Num(s.started_at_ms()));
  if (s.has_location()) {
    auto& loc = *f["location"].mutable_struct_value()->mutable_fields();
    loc["latitude"].set_number_value(s.location().latitude());
    loc["longitude"].set_number_value(s.location().longitude());
    loc["accuracy_m"].set_number_value(s.location().accuracy_m());
  }
  *f["answers"].mutable_struct_value() = AnswersToStruct(s.answers());
  return Print(out);
}

std::string QaWarningsToJson(const std::vector<QaWarning>& warnings) {
  ListValue list;
  for (const QaWarning& w : warnings) {
    auto& f = *list.add_values()->mutable_struct_value()->mutable_fields();
    f["checkId"].set_string_value(w.check_id);
    auto& label = *f["label"].mutable_struct_value()->mutable_fields();
    for (const auto& [lang, text] : w.label) label[lang].set_string_value(text);
    AddStrings(f["questions"], w.question_ids);
  }
  return Print(list);
}

std::string EnrollmentToJson(const v1::EnrollResponse& response) {
  Struct out;
  auto& f = *out.mutable_fields();
  f["deviceId"].set_string_value(response.device_id());
  f["serverId"].set_string_value(response.server_id());
  f["observerId"].set_string_value(response.assignment().observer_id());
  std::vector<std::string> stations;
  for (const v1::Station& s : response.assignment().stations()) stations.push_back(s.code());
  AddStrings(f["stations"], stations);
  std::vector<std::string> forms;
  for (const v1::FormDefinition& d : response.forms()) forms.push_back(d.form_id());
  AddStrings(f["forms"], forms);
  return Print(out);
}

std::string SyncReportToJson(const SyncReport& r) {
  Struct out;
  auto& f = *out.mutable_fields();
  f["batchesSent"].set_number_value(Num(r.batches_sent));
  f["recordsOk"].set_number_value(Num(r.records_ok));
  f["recordsDuplicate"].set_number_value(Num(r.records_duplicate));
  f["recordsRejected"].set_number_value(Num(r.records_rejected));
  AddStrings(f["rejections"], r.rejections);
  f["recordsHeld"].set_number_value(Num(r.records_held));
  AddStrings(f["held"], r.held);
  f["retries"].set_number_value(Num(r.retries));
  f["bytesSent"].set_number_value(Num(r.bytes_sent));
  f["formsReceived"].set_number_value(Num(r.forms_received));
  f["broadcastsReceived"].set_number_value(Num(r.broadcasts_received));
  f["incidentUpdates"].set_number_value(Num(r.incident_updates));
  f["serverLastSeq"].set_number_value(Num(r.server_last_seq));
  f["backedUpSeq"].set_number_value(Num(r.backed_up_seq));
  f["batchesResent"].set_number_value(Num(r.batches_resent));
  AddStrings(f["lostBatches"], r.lost_batches);
  f["serverUrl"].set_string_value(r.server_url);
  AddStrings(f["warnings"], r.warnings);
  return Print(out);
}

std::string ReceiptCheckToJson(const ReceiptCheck& check) {
  Struct out;
  auto& f = *out.mutable_fields();
  f["verified"].set_number_value(Num(check.verified));
  AddStrings(f["failures"], check.failures);
  return Print(out);
}

std::string BroadcastsToJson(const std::vector<v1::Broadcast>& inbox) {
  return MessagesToJson(inbox);
}

std::string IncidentStatusesToJson(const std::vector<v1::IncidentStatus>& statuses) {
  return MessagesToJson(statuses);
}

std::string OutboxExportToJson(const OutboxExport& e) {
  Struct out;
  auto& f = *out.mutable_fields();
  f["sealedNow"].set_number_value(e.sealed_now);
  ListValue& batches = *f["batches"].mutable_list_value();
  for (const ExportedBatch& b : e.batches) {
    auto& bf = *batches.add_values()->mutable_struct_value()->mutable_fields();
    bf["seq"].set_number_value(Num(b.seq));
    bf["file"].set_string_value(b.file);
    bf["records"].set_number_value(b.record_count);
    bf["bytes"].set_number_value(Num(b.bytes));
  }
  AddStrings(f["files"], e.other_files);
  return Print(out);
}

}  // namespace vigil::client
