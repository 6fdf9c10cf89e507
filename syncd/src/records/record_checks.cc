#include "records/record_checks.h"

#include <algorithm>
#include <cmath>

namespace vigil::syncd {
namespace {

// Room for a record's fixed fields at their limits: ids and codes (64 bytes each), device
// times, form version, location, category and severity (64 characters each), field tags.
constexpr size_t kFixedFieldsBytes = 2048;
// Per answer: the Answer and Value framing, the question id (<= 64) and a scalar value.
constexpr size_t kAnswerOverheadBytes = 96;
// Bytes one code point may take in UTF-8.
constexpr size_t kMaxUtf8Bytes = 4;
// Longest category and severity accepted (as on the device).
constexpr size_t kMaxShortText = 64;

size_t TextAllowance(double max_chars) {
  return static_cast<size_t>(std::max(0.0, max_chars)) * kMaxUtf8Bytes;
}

size_t AnswerAllowance(const v1::Question& q) {
  size_t value = 0;
  switch (q.type()) {
    case v1::TEXT:
      value = TextAllowance(q.has_max() ? q.max()
                                        : static_cast<double>(protocol::kDefaultMaxTextLength));
      break;
    case v1::SELECT_ONE:
    case v1::SELECT_MANY:
      for (const v1::Option& o : q.options()) value += o.id().size() + 2;
      break;
    case v1::PHOTO_REFERENCE:
      value = 80;
      break;
    default:
      value = 32;  // A number, a boolean, a time, a point.
  }
  return kAnswerOverheadBytes + value;
}

bool ValidUtf8Within(std::string_view text, size_t max_chars) {
  long n = protocol::Utf8Length(text);
  return n >= 0 && static_cast<size_t>(n) <= max_chars;
}

// `text` cut to 64 bytes with anything but printable ASCII shown as '?': a device's claim
// quoted in a reason must stay inert in logs, CSV and the dashboard.
std::string Inert(std::string_view text) {
  std::string out(text.substr(0, 64));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

bool ValidLocation(const v1::GeoPoint& p) {
  return std::fabs(p.latitude()) <= 90 && std::fabs(p.longitude()) <= 180 && p.accuracy_m() >= 0;
}

// The text of the answer to `question_id`, nullopt when unanswered or not text.
std::optional<std::string> AnswerText(const protocol::AnswerMap& answers,
                                      std::string_view question_id) {
  auto it = answers.find(question_id);
  if (it == answers.end() || it->second->kind_case() != v1::Value::kText) return std::nullopt;
  return it->second->text();
}

std::optional<std::string> IncidentReason(const v1::IncidentReport& r, const protocol::Form& form) {
  if (!r.parent_id().empty() && !ValidRecordId(r.parent_id())) {
    return "parent_id is not a record id";
  }
  if (!ValidUtf8Within(r.category(), kMaxShortText) || r.category().empty()) {
    return "category is missing or longer than 64 characters";
  }
  if (!ValidUtf8Within(r.severity(), kMaxShortText) || r.severity().empty()) {
    return "severity is missing or longer than 64 characters";
  }
  if (!ValidUtf8Within(r.narrative(), protocol::kDefaultMaxTextLength)) {
    return "narrative is longer than " + std::to_string(protocol::kDefaultMaxTextLength) +
           " characters";
  }
  if (r.photo_refs_size() > kMaxPhotoRefs) {
    return "more than " + std::to_string(kMaxPhotoRefs) + " photo references";
  }
  v1::Question photo;
  photo.set_id("photo_refs");
  photo.set_type(v1::PHOTO_REFERENCE);
  for (const std::string& ref : r.photo_refs()) {
    v1::Value v;
    v.set_text(ref);
    if (!form.CheckAnswer(photo, v).ok()) return "a photo reference is not sha256:<64 hex digits>";
  }
  // The report's own category and severity must be what its answers say, where the form asks.
  protocol::AnswerMap answers = protocol::MapAnswers(r.answers());
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string*>{"category", &r.category()},
        {"severity", &r.severity()}}) {
    if (form.Find(field) == nullptr) continue;
    std::optional<std::string> answered = AnswerText(answers, field);
    if (answered != *value) {
      return std::string(field) + " '" + Inert(*value) + "' is not the answer to question " + field;
    }
  }
  return std::nullopt;
}

}  // namespace

size_t RecordAllowanceBytes(const protocol::Form& form) {
  size_t total = kFixedFieldsBytes;
  for (const v1::Question& q : form.definition().questions()) total += AnswerAllowance(q);
  if (form.definition().kind() == v1::INCIDENT) {
    total += TextAllowance(static_cast<double>(protocol::kDefaultMaxTextLength));  // narrative
    total += static_cast<size_t>(kMaxPhotoRefs) * 80;
  }
  return total;
}

bool ValidRecordId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

std::optional<std::string> QuarantineReason(const v1::Record& record, size_t record_bytes,
                                            size_t allowance, const protocol::Form& form,
                                            const SenderFacts& sender) {
  if (record_bytes > allowance) {
    return "record of " + std::to_string(record_bytes) + " bytes; form " +
           form.definition().form_id() + " allows at most " + std::to_string(allowance) +
           " (kept only in its batch)";
  }
  const bool incident = record.has_incident();
  const std::string_view id =
      incident ? record.incident().incident_id() : record.submission().submission_id();
  if (!ValidRecordId(id)) return "record id is not 1-64 characters of [A-Za-z0-9._-]";
  const v1::FormKind want = incident ? v1::INCIDENT : v1::CHECKLIST;
  if (form.definition().kind() != want) {
    return incident ? "an incident report names checklist form " + form.definition().form_id()
                    : "a checklist submission names incident form " + form.definition().form_id();
  }
  const std::string& claimed =
      incident ? record.incident().observer_id() : record.submission().observer_id();
  if (!claimed.empty() && claimed != sender.enrolled_observer_id) {
    return "record claims observer '" + Inert(claimed) + "' but the device is enrolled for '" +
           sender.enrolled_observer_id + "'";
  }
  const std::string& station =
      incident ? record.incident().station_code() : record.submission().station_code();
  if (!sender.station_known) return "unknown station '" + Inert(station) + "'";
  if (!sender.station_assigned) {
    return "station " + station + " is not assigned to observer " + sender.enrolled_observer_id;
  }
  const v1::GeoPoint* location = nullptr;
  if (incident && record.incident().has_location()) location = &record.incident().location();
  if (!incident && record.submission().has_location()) location = &record.submission().location();
  if (location != nullptr && !ValidLocation(*location)) return "location is out of range";
  if (incident) {
    if (std::optional<std::string> reason = IncidentReason(record.incident(), form)) return reason;
  }
  Status answers =
      form.CheckFinalized(incident ? record.incident().answers() : record.submission().answers());
  if (!answers.ok()) return answers.message();
  return std::nullopt;
}

}  // namespace vigil::syncd
