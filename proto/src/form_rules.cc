#include "vigil/protocol/form_rules.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace vigil::protocol {
namespace {

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsNumericType(v1::QuestionType t) { return t == v1::INTEGER || t == v1::DECIMAL; }

bool IsSelect(v1::QuestionType t) { return t == v1::SELECT_ONE || t == v1::SELECT_MANY; }

bool ValidTime(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return false;
  for (int i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  return h < 24 && m < 60;
}

bool ValidPhotoRef(std::string_view s) {
  constexpr std::string_view kPrefix = "sha256:";
  if (s.size() != kPrefix.size() + 64 || s.substr(0, kPrefix.size()) != kPrefix) return false;
  return std::all_of(s.begin() + kPrefix.size(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string Quoted(const v1::Question& q) { return "question " + q.id(); }

std::string FormatNumber(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  return std::to_string(v);
}

bool HasOption(const v1::Question& q, std::string_view id) {
  return std::any_of(q.options().begin(), q.options().end(),
                     [&](const v1::Option& o) { return o.id() == id; });
}

}  // namespace

long Utf8Length(std::string_view s) {
  long n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    unsigned char c = byte(0);
    size_t len = 0;
    unsigned char lo = 0x80;  // bounds of the second byte (RFC 3629 §4)
    unsigned char hi = 0xbf;
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;  // no overlong forms
      if (c == 0xed) hi = 0x9f;  // no UTF-16 surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;  // no overlong forms
      if (c == 0xf4) hi = 0x8f;  // nothing above U+10FFFF
    } else {
      return -1;
    }
    if (i + len > s.size()) return -1;
    if (len > 1 && (byte(1) < lo || byte(1) > hi)) return -1;
    for (size_t k = 2; k < len; ++k) {
      if (byte(k) < 0x80 || byte(k) > 0xbf) return -1;
    }
    i += len;
  }
  return n;
}

Status CheckText(std::string_view text, std::string_view what, size_t max_chars) {
  long n = Utf8Length(text);
  if (n < 0) return Status::InvalidArgument(std::string(what) + " is not valid UTF-8");
  if (static_cast<size_t>(n) > max_chars) {
    return Status::InvalidArgument(std::string(what) + " has " + std::to_string(n) +
                                   " characters; at most " + std::to_string(max_chars) +
                                   " allowed");
  }
  return Status::Ok();
}

AnswerMap MapAnswers(const google::protobuf::RepeatedPtrField<v1::Answer>& answers) {
  AnswerMap map;
  for (const v1::Answer& a : answers) map[a.question_id()] = &a.value();
  return map;
}

bool NumericValue(const v1::Value& value, double& out) {
  if (value.kind_case() == v1::Value::kInteger) {
    out = static_cast<double>(value.integer());
    return true;
  }
  if (value.kind_case() == v1::Value::kDecimal) {
    out = value.decimal();
    return true;
  }
  return false;
}

bool SameValue(const v1::Value& a, const v1::Value& b) {
  if (a.kind_case() != b.kind_case()) return false;
  switch (a.kind_case()) {
    case v1::Value::kBoolean:
      return a.boolean() == b.boolean();
    case v1::Value::kInteger:
      return a.integer() == b.integer();
    case v1::Value::kDecimal:
      return a.decimal() == b.decimal();
    case v1::Value::kText:
      return a.text() == b.text();
    case v1::Value::kUnixMs:
      return a.unix_ms() == b.unix_ms();
    case v1::Value::kChoices: {
      std::set<std::string> x(a.choices().ids().begin(), a.choices().ids().end());
      std::set<std::string> y(b.choices().ids().begin(), b.choices().ids().end());
      return x == y;
    }
    case v1::Value::kLocation:
      return a.location().latitude() == b.location().latitude() &&
             a.location().longitude() == b.location().longitude();
    case v1::Value::KIND_NOT_SET:
      return true;
  }
  return false;
}

std::string ValueToText(const v1::Value& value) {
  switch (value.kind_case()) {
    case v1::Value::kBoolean:
      return value.boolean() ? "yes" : "no";
    case v1::Value::kInteger:
      return std::to_string(value.integer());
    case v1::Value::kDecimal:
      return FormatNumber(value.decimal());
    case v1::Value::kText:
      return value.text();
    case v1::Value::kUnixMs:
      return std::to_string(value.unix_ms());
    case v1::Value::kChoices: {
      std::string out;
      for (const std::string& id : value.choices().ids()) {
        if (!out.empty()) out += ", ";
        out += id;
      }
      return out;
    }
    case v1::Value::kLocation:
      return std::to_string(value.location().latitude()) + "," +
             std::to_string(value.location().longitude());
    case v1::Value::KIND_NOT_SET:
      return "";
  }
  return "";
}

Result<Form> Form::Compile(v1::FormDefinition definition) {
  const std::string& fid = definition.form_id();
  if (!ValidId(fid)) {
    return Status::InvalidArgument("form id '" + fid + "' must be 1-64 of [a-z0-9_]");
  }
  std::string where = "form " + fid + " v" + std::to_string(definition.version());
  if (definition.version() == 0) return Status::InvalidArgument(where + ": version must be >= 1");
  if (definition.kind() != v1::CHECKLIST && definition.kind() != v1::INCIDENT) {
    return Status::InvalidArgument(where + ": kind must be CHECKLIST or INCIDENT");
  }
  if (definition.questions_size() == 0 || definition.questions_size() > kMaxQuestionsPerForm) {
    return Status::InvalidArgument(where + ": a form has 1 to 1000 questions");
  }
  if (!definition.send_by().empty() && !ValidTime(definition.send_by())) {
    return Status::InvalidArgument(where + ": send_by must be HH:MM");
  }
  Form form(std::move(definition));
  const v1::FormDefinition& def = form.definition_;
  for (int i = 0; i < def.questions_size(); ++i) {
    const v1::Question& q = def.questions(i);
    std::string qwhere = where + ", question '" + q.id() + "'";
    if (!ValidId(q.id())) return Status::InvalidArgument(qwhere + ": id must be 1-64 of [a-z0-9_]");
    if (form.index_.count(q.id()) != 0) return Status::InvalidArgument(qwhere + ": duplicate id");
    if (q.type() == v1::QUESTION_TYPE_UNSPECIFIED || !v1::QuestionType_IsValid(q.type())) {
      return Status::InvalidArgument(qwhere + ": no type");
    }
    if (q.label().empty()) return Status::InvalidArgument(qwhere + ": no label");
    if ((q.has_min() && !std::isfinite(q.min())) || (q.has_max() && !std::isfinite(q.max()))) {
      return Status::InvalidArgument(qwhere + ": min and max must be finite numbers");
    }
    if (q.has_min() && q.has_max() && q.min() > q.max()) {
      return Status::InvalidArgument(qwhere + ": min is above max");
    }
    if (IsSelect(q.type())) {
      if (q.options_size() == 0) return Status::InvalidArgument(qwhere + ": no options");
      std::set<std::string> seen;
      for (const v1::Option& o : q.options()) {
        if (!ValidId(o.id()) || !seen.insert(o.id()).second) {
          return Status::InvalidArgument(qwhere + ": option id '" + o.id() +
                                         "' is invalid or repeated");
        }
      }
    } else if (q.options_size() != 0) {
      return Status::InvalidArgument(qwhere + ": only select questions have options");
    }
    for (const auto* conds : {&q.relevant_when(), &q.critical_when()}) {
      for (const v1::Condition& c : *conds) {
        bool self = c.question_id() == q.id();
        bool earlier = form.index_.count(c.question_id()) != 0;
        if (!(earlier || (self && conds == &q.critical_when()))) {
          return Status::InvalidArgument(qwhere + ": condition names '" + c.question_id() +
                                         "', which is not an earlier question");
        }
        if (c.op() == v1::CONDITION_OPERATOR_UNSPECIFIED ||
            !v1::ConditionOperator_IsValid(c.op())) {
          return Status::InvalidArgument(qwhere + ": condition has no operator");
        }
      }
    }
    form.index_[q.id()] = i;
  }
  std::set<std::string> check_ids;
  for (const v1::QaCheck& check : def.qa_checks()) {
    std::string cwhere = where + ", QA check '" + check.id() + "'";
    if (!ValidId(check.id()) || !check_ids.insert(check.id()).second) {
      return Status::InvalidArgument(cwhere + ": id is invalid or repeated");
    }
    if (check.op() == v1::COMPARISON_UNSPECIFIED || !v1::Comparison_IsValid(check.op())) {
      return Status::InvalidArgument(cwhere + ": no comparison");
    }
    if (check.left_size() == 0 || check.right_size() == 0) {
      return Status::InvalidArgument(cwhere + ": both sides need a term");
    }
    for (const auto* side : {&check.left(), &check.right()}) {
      for (const v1::Term& t : *side) {
        if (t.kind_case() != v1::Term::kQuestionId) continue;
        const v1::Question* q = form.Find(t.question_id());
        if (q == nullptr || !IsNumericType(q->type())) {
          return Status::InvalidArgument(cwhere + ": term '" + t.question_id() +
                                         "' is not a numeric question of the form");
        }
      }
    }
  }
  return form;
}

const v1::Question* Form::Find(std::string_view question_id) const {
  auto it = index_.find(question_id);
  return it == index_.end() ? nullptr : &definition_.questions(it->second);
}

std::string Form::LabelIn(const google::protobuf::Map<std::string, std::string>& labels,
                          std::string_view lang, std::string_view fallback_lang,
                          std::string_view fallback) {
  for (std::string_view l : {lang, fallback_lang, std::string_view("en")}) {
    auto it = labels.find(std::string(l));
    if (it != labels.end() && !it->second.empty()) return it->second;
  }
  if (!labels.empty()) return labels.begin()->second;
  return std::string(fallback);
}

std::string Form::Label(const v1::Question& q, std::string_view lang) const {
  return LabelIn(q.label(), lang, definition_.default_language(), q.id());
}

// Relevance may name earlier questions only (Compile checks it), so the recursion through
// Holds and IsRelevantAt ends; the memo keeps it linear in the number of questions (without
// it, questions whose conditions name two earlier ones made it exponential).
bool Form::Holds(const v1::Condition& c, const AnswerMap& answers, RelevanceMemo& memo) const {
  const v1::Question* q = Find(c.question_id());
  if (q == nullptr) return false;
  if (!IsRelevantAt(*q, answers, memo)) return false;
  auto it = answers.find(c.question_id());
  if (it == answers.end() || it->second == nullptr) return false;
  const v1::Value& v = *it->second;
  switch (c.op()) {
    case v1::EQUALS:
      return SameValue(v, c.value());
    case v1::NOT_EQUALS:
      return !SameValue(v, c.value());
    case v1::GREATER_THAN:
    case v1::LESS_THAN: {
      double x = 0;
      double y = 0;
      if (!NumericValue(v, x) || !NumericValue(c.value(), y)) return false;
      return c.op() == v1::GREATER_THAN ? x > y : x < y;
    }
    case v1::CONTAINS: {
      if (v.kind_case() != v1::Value::kChoices) return false;
      const auto& ids = v.choices().ids();
      return std::find(ids.begin(), ids.end(), c.value().text()) != ids.end();
    }
    case v1::ANSWERED:
      return true;
    default:
      return false;
  }
}

bool Form::IsRelevantAt(const v1::Question& q, const AnswerMap& answers,
                        RelevanceMemo& memo) const {
  // Only the form's own questions are remembered (a caller may pass a copy).
  auto it = index_.find(q.id());
  signed char* known = it != index_.end() && &definition_.questions(it->second) == &q
                           ? &memo[static_cast<size_t>(it->second)]
                           : nullptr;
  if (known != nullptr && *known >= 0) return *known != 0;
  bool relevant = true;
  for (const v1::Condition& c : q.relevant_when()) {
    if (!Holds(c, answers, memo)) {
      relevant = false;
      break;
    }
  }
  if (known != nullptr) *known = relevant ? 1 : 0;
  return relevant;
}

bool Form::IsRelevant(const v1::Question& q, const AnswerMap& answers) const {
  RelevanceMemo memo(static_cast<size_t>(definition_.questions_size()), -1);
  return IsRelevantAt(q, answers, memo);
}

Status Form::CheckAnswer(const v1::Question& q, const v1::Value& v) const {
  auto wrong_kind = [&](const char* want) {
    return Status::InvalidArgument(Quoted(q) + " wants " + want);
  };
  auto bounds = [&](double x, const char* what) -> Status {
    if (q.has_min() && x < q.min()) {
      return Status::InvalidArgument(Quoted(q) + ": " + what + " " + FormatNumber(x) +
                                     " is below the minimum " + FormatNumber(q.min()));
    }
    if (q.has_max() && x > q.max()) {
      return Status::InvalidArgument(Quoted(q) + ": " + what + " " + FormatNumber(x) +
                                     " is above the maximum " + FormatNumber(q.max()));
    }
    return Status::Ok();
  };
  switch (q.type()) {
    case v1::YES_NO:
      if (v.kind_case() != v1::Value::kBoolean) return wrong_kind("yes or no");
      return Status::Ok();
    case v1::INTEGER:
      if (v.kind_case() != v1::Value::kInteger) return wrong_kind("a whole number");
      return bounds(static_cast<double>(v.integer()), "value");
    case v1::DECIMAL: {
      double x = 0;
      if (!NumericValue(v, x) || !std::isfinite(x)) return wrong_kind("a number");
      return bounds(x, "value");
    }
    case v1::SELECT_ONE:
      if (v.kind_case() != v1::Value::kText) return wrong_kind("one option");
      if (!HasOption(q, v.text())) {
        return Status::InvalidArgument(Quoted(q) + ": '" + v.text() +
                                       "' is not one of its options");
      }
      return Status::Ok();
    case v1::SELECT_MANY: {
      if (v.kind_case() != v1::Value::kChoices) return wrong_kind("a list of options");
      std::set<std::string> seen;
      for (const std::string& id : v.choices().ids()) {
        if (!HasOption(q, id)) {
          return Status::InvalidArgument(Quoted(q) + ": '" + id + "' is not one of its options");
        }
        if (!seen.insert(id).second) {
          return Status::InvalidArgument(Quoted(q) + ": '" + id + "' is chosen twice");
        }
      }
      return bounds(static_cast<double>(seen.size()), "number of choices");
    }
    case v1::TEXT: {
      if (v.kind_case() != v1::Value::kText) return wrong_kind("text");
      long n = Utf8Length(v.text());
      if (n < 0) return Status::InvalidArgument(Quoted(q) + ": text is not valid UTF-8");
      double max = q.has_max() ? q.max() : static_cast<double>(kDefaultMaxTextLength);
      if (static_cast<double>(n) > max) {
        return Status::InvalidArgument(Quoted(q) + ": text has " + std::to_string(n) +
                                       " characters; at most " + FormatNumber(max) + " allowed");
      }
      if (q.has_min() && static_cast<double>(n) < q.min()) {
        return Status::InvalidArgument(Quoted(q) + ": text needs at least " +
                                       FormatNumber(q.min()) + " characters");
      }
      return Status::Ok();
    }
    case v1::TIME:
      if (v.kind_case() != v1::Value::kText || !ValidTime(v.text())) {
        return wrong_kind("a time as HH:MM (00:00-23:59)");
      }
      return Status::Ok();
    case v1::DATE_TIME: {
      // 2000-01-01 .. 2100-01-01: anything else is a broken clock or a typo.
      constexpr int64_t kLow = 946684800000;
      constexpr int64_t kHigh = 4102444800000;
      if (v.kind_case() != v1::Value::kUnixMs) return wrong_kind("a date and time");
      if (v.unix_ms() < kLow || v.unix_ms() > kHigh) {
        return Status::InvalidArgument(Quoted(q) + ": date is outside 2000-2100");
      }
      return Status::Ok();
    }
    case v1::LOCATION: {
      if (v.kind_case() != v1::Value::kLocation) return wrong_kind("a location");
      const v1::GeoPoint& p = v.location();
      if (!(std::fabs(p.latitude()) <= 90) || !(std::fabs(p.longitude()) <= 180) ||
          !(p.accuracy_m() >= 0)) {
        return Status::InvalidArgument(Quoted(q) + ": location is out of range");
      }
      return Status::Ok();
    }
    case v1::PHOTO_REFERENCE:
      if (v.kind_case() != v1::Value::kText || !ValidPhotoRef(v.text())) {
        return wrong_kind("a photo reference sha256:<64 hex digits>");
      }
      return Status::Ok();
    default:
      return Status::InvalidArgument(Quoted(q) + " has an unknown type");
  }
}

Status Form::CheckComplete(const google::protobuf::RepeatedPtrField<v1::Answer>& answers) const {
  std::set<std::string_view> seen;
  for (const v1::Answer& a : answers) {
    const v1::Question* q = Find(a.question_id());
    if (q == nullptr) {
      return Status::InvalidArgument("form " + definition_.form_id() + " has no question '" +
                                     a.question_id() + "'");
    }
    if (!seen.insert(a.question_id()).second) {
      return Status::InvalidArgument(Quoted(*q) + " is answered twice");
    }
    VIGIL_RETURN_IF_ERROR(CheckAnswer(*q, a.value()));
  }
  AnswerMap map = MapAnswers(answers);
  for (const v1::Question& q : definition_.questions()) {
    if (q.required() && map.count(q.id()) == 0 && IsRelevant(q, map)) {
      return Status::FailedPrecondition(Quoted(q) + " (" + Label(q, "en") +
                                        ") is required and has no answer");
    }
  }
  return Status::Ok();
}

Status Form::CheckFinalized(const google::protobuf::RepeatedPtrField<v1::Answer>& answers) const {
  AnswerMap map;
  for (const v1::Answer& a : answers) {
    const v1::Question* q = Find(a.question_id());
    if (q == nullptr) {
      return Status::InvalidArgument("form " + definition_.form_id() + " has no question '" +
                                     a.question_id() + "'");
    }
    if (!map.emplace(a.question_id(), &a.value()).second) {
      return Status::InvalidArgument(Quoted(*q) + " is answered twice");
    }
    VIGIL_RETURN_IF_ERROR(CheckAnswer(*q, a.value()));
  }
  RelevanceMemo memo(static_cast<size_t>(definition_.questions_size()), -1);
  for (const v1::Question& q : definition_.questions()) {
    const bool answered = map.count(q.id()) != 0;
    if (!answered && !q.required()) continue;
    const bool relevant = IsRelevantAt(q, map, memo);
    if (answered && !relevant) {
      return Status::InvalidArgument(Quoted(q) + " is answered but not relevant");
    }
    if (!answered && relevant) {
      return Status::FailedPrecondition(Quoted(q) + " (" + Label(q, "en") +
                                        ") is required and has no answer");
    }
  }
  return Status::Ok();
}

bool Form::HasCriticalConditions() const {
  return std::any_of(definition_.questions().begin(), definition_.questions().end(),
                     [](const v1::Question& q) { return !q.critical_when().empty(); });
}

google::protobuf::RepeatedPtrField<v1::Answer> Form::RelevantAnswers(
    const google::protobuf::RepeatedPtrField<v1::Answer>& answers) const {
  AnswerMap map = MapAnswers(answers);
  google::protobuf::RepeatedPtrField<v1::Answer> out;
  for (const v1::Question& q : definition_.questions()) {
    auto it = map.find(q.id());
    if (it == map.end() || !IsRelevant(q, map)) continue;
    v1::Answer* a = out.Add();
    a->set_question_id(q.id());
    *a->mutable_value() = *it->second;
  }
  return out;
}

std::vector<std::string> Form::FailedQaChecks(const AnswerMap& answers) const {
  std::vector<std::string> failed;
  for (const v1::QaCheck& check : definition_.qa_checks()) {
    bool complete = true;
    auto sum = [&](const google::protobuf::RepeatedPtrField<v1::Term>& terms) {
      double total = 0;
      for (const v1::Term& t : terms) {
        if (t.kind_case() == v1::Term::kConstant) {
          total += t.constant();
          continue;
        }
        auto it = answers.find(t.question_id());
        double x = 0;
        if (it == answers.end() || it->second == nullptr || !NumericValue(*it->second, x)) {
          complete = false;
        }
        total += x;
      }
      return total;
    };
    double left = sum(check.left());
    double right = sum(check.right());
    if (!complete) continue;
    bool ok = check.op() == v1::EQUAL           ? std::fabs(left - right) < 1e-9
              : check.op() == v1::LESS_OR_EQUAL ? left <= right + 1e-9
                                                : left + 1e-9 >= right;
    if (!ok) failed.push_back(check.id());
  }
  return failed;
}

std::vector<std::string> Form::CriticalAnswers(const AnswerMap& answers) const {
  std::vector<std::string> critical;
  RelevanceMemo memo(static_cast<size_t>(definition_.questions_size()), -1);
  for (const v1::Question& q : definition_.questions()) {
    for (const v1::Condition& c : q.critical_when()) {
      if (Holds(c, answers, memo)) {
        critical.push_back(q.id());
        break;
      }
    }
  }
  return critical;
}

}  // namespace vigil::protocol
