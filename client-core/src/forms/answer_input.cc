#include "vigil/client/answer_input.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

#include "vigil/protocol/crypto.h"

namespace vigil::client {
namespace {

std::string Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ParseInt(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end == nullptr || *end != '\0') return false;
  out = v;
  return true;
}

bool ParseDouble(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == nullptr || *end != '\0' || !std::isfinite(v)) return false;
  out = v;
  return true;
}

Status Bad(const v1::Question& q, const std::string& text, const char* want) {
  return Status::InvalidArgument("question " + q.id() + ": '" + text + "' is not " + want);
}

Result<std::string> OptionFromText(const v1::Question& q, const std::string& token) {
  for (const v1::Option& o : q.options()) {
    if (o.id() == token) return o.id();
  }
  int64_t n = 0;
  if (ParseInt(token, n) && n >= 1 && n <= q.options_size()) {
    return q.options(static_cast<int>(n - 1)).id();
  }
  return Bad(q, token, "one of its options (an id or a number from the list)");
}

}  // namespace

Result<v1::Value> ParseAnswerText(const v1::Question& q, std::string_view raw) {
  std::string text = Trim(raw);
  v1::Value v;
  switch (q.type()) {
    case v1::YES_NO: {
      std::string t = Lower(text);
      if (t == "y" || t == "yes" || t == "true" || t == "1" || t == "បាទ" || t == "ចាស") {
        v.set_boolean(true);
      } else if (t == "n" || t == "no" || t == "false" || t == "0" || t == "ទេ") {
        v.set_boolean(false);
      } else {
        return Bad(q, text, "yes or no");
      }
      return v;
    }
    case v1::INTEGER: {
      int64_t n = 0;
      if (!ParseInt(text, n)) return Bad(q, text, "a whole number");
      v.set_integer(n);
      return v;
    }
    case v1::DECIMAL: {
      double d = 0;
      if (!ParseDouble(text, d)) return Bad(q, text, "a number");
      v.set_decimal(d);
      return v;
    }
    case v1::SELECT_ONE: {
      VIGIL_ASSIGN_OR_RETURN(std::string id, OptionFromText(q, text));
      v.set_text(id);
      return v;
    }
    case v1::SELECT_MANY: {
      v1::Choices* choices = v.mutable_choices();
      // "-" is nothing selected; so is "none", unless the form has an option called none
      // (the opening checklist's "which materials were missing: none").
      if (text == "-") return v;
      if (Lower(text) == "none" &&
          std::none_of(q.options().begin(), q.options().end(),
                       [](const v1::Option& o) { return o.id() == "none"; })) {
        return v;
      }
      std::string spaced = text;
      std::replace(spaced.begin(), spaced.end(), ',', ' ');
      std::istringstream in(spaced);
      std::string token;
      while (in >> token) {
        VIGIL_ASSIGN_OR_RETURN(std::string id, OptionFromText(q, token));
        choices->add_ids(id);
      }
      return v;
    }
    case v1::TEXT:
    case v1::TIME:
      v.set_text(text);
      return v;
    case v1::DATE_TIME: {
      int64_t ms = 0;
      if (Lower(text) == "now") {
        ms = static_cast<int64_t>(std::time(nullptr)) * 1000;
      } else if (!ParseInt(text, ms)) {
        std::tm tm{};
        std::istringstream in(text);
        in >> std::get_time(&tm, "%Y-%m-%d %H:%M");
        bool parsed = !in.fail();
        std::string rest;
        std::getline(in, rest);
        if (!parsed || !Trim(rest).empty()) {
          return Bad(q, text, "\"now\", milliseconds or \"YYYY-MM-DD HH:MM\" (UTC)");
        }
        ms = static_cast<int64_t>(timegm(&tm)) * 1000;
      }
      v.set_unix_ms(ms);
      return v;
    }
    case v1::LOCATION: {
      Result<v1::GeoPoint> point = ParseLocationText(text);
      if (!point.ok()) return Bad(q, text, "a location \"lat,lon\"");
      *v.mutable_location() = *point;
      return v;
    }
    case v1::PHOTO_REFERENCE: {
      if (text.rfind("sha256:", 0) == 0) {
        v.set_text(Lower(text));
        return v;
      }
      std::ifstream file(text, std::ios::binary);
      if (!file) return Bad(q, text, "a photo file or sha256:<hex> reference");
      std::ostringstream bytes;
      bytes << file.rdbuf();
      v.set_text("sha256:" + protocol::HexEncode(protocol::Sha256(bytes.str())));
      return v;
    }
    default:
      return Status::InvalidArgument("question " + q.id() + " has an unknown type");
  }
}

Result<std::vector<std::pair<std::string, v1::Value>>> ParseAnswersJson(const protocol::Form& form,
                                                                        std::string_view json) {
  google::protobuf::Struct object;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &object);
  if (!parsed.ok()) {
    return Status::InvalidArgument("answers file is not a JSON object: " + parsed.ToString());
  }
  for (const auto& [qid, unused] : object.fields()) {
    if (form.Find(qid) == nullptr) {
      return Status::InvalidArgument("answers file names '" + qid + "', which form " +
                                     form.definition().form_id() + " does not have");
    }
  }
  std::vector<std::pair<std::string, v1::Value>> out;
  for (const v1::Question& q : form.definition().questions()) {
    auto it = object.fields().find(q.id());
    if (it == object.fields().end()) continue;
    const google::protobuf::Value& j = it->second;
    v1::Value v;
    switch (j.kind_case()) {
      case google::protobuf::Value::kBoolValue:
        v.set_boolean(j.bool_value());
        break;
      case google::protobuf::Value::kNumberValue: {
        double d = j.number_value();
        if (q.type() == v1::INTEGER) {
          if (std::floor(d) != d || std::fabs(d) > 9e15) {
            return Status::InvalidArgument("question " + q.id() + " wants a whole number");
          }
          v.set_integer(static_cast<int64_t>(d));
        } else if (q.type() == v1::DATE_TIME) {
          // Converting a double beyond int64 is undefined behaviour: refuse it first.
          if (std::floor(d) != d || std::fabs(d) > 9e15) {
            return Status::InvalidArgument("question " + q.id() + " wants milliseconds since 1970");
          }
          v.set_unix_ms(static_cast<int64_t>(d));
        } else {
          v.set_decimal(d);
        }
        break;
      }
      case google::protobuf::Value::kStringValue: {
        VIGIL_ASSIGN_OR_RETURN(v, ParseAnswerText(q, j.string_value()));
        break;
      }
      case google::protobuf::Value::kListValue:
        for (const auto& item : j.list_value().values()) {
          if (item.kind_case() != google::protobuf::Value::kStringValue) {
            return Status::InvalidArgument("question " + q.id() +
                                           ": list items must be option ids");
          }
          v.mutable_choices()->add_ids(item.string_value());
        }
        break;
      case google::protobuf::Value::kStructValue: {
        const auto& f = j.struct_value().fields();
        auto lat = f.find("latitude");
        auto lon = f.find("longitude");
        if (lat == f.end() || lon == f.end()) {
          return Status::InvalidArgument("question " + q.id() +
                                         ": a location needs latitude and longitude");
        }
        v.mutable_location()->set_latitude(lat->second.number_value());
        v.mutable_location()->set_longitude(lon->second.number_value());
        auto acc = f.find("accuracy_m");
        if (acc != f.end()) v.mutable_location()->set_accuracy_m(acc->second.number_value());
        break;
      }
      default:
        return Status::InvalidArgument("question " + q.id() + ": null is not an answer");
    }
    out.emplace_back(q.id(), std::move(v));
  }
  return out;
}

Result<v1::GeoPoint> ParseLocationText(std::string_view text) {
  std::string spaced(text);
  std::replace(spaced.begin(), spaced.end(), ',', ' ');
  std::istringstream in(spaced);
  std::string a, b, c;
  in >> a >> b >> c;
  double lat = 0, lon = 0, acc = 0;
  if (!ParseDouble(a, lat) || !ParseDouble(b, lon) || (!c.empty() && !ParseDouble(c, acc))) {
    return Status::InvalidArgument("'" + std::string(text) +
                                   "' is not a location \"lat,lon\" or \"lat,lon,accuracy_m\"");
  }
  v1::GeoPoint point;
  point.set_latitude(lat);
  point.set_longitude(lon);
  point.set_accuracy_m(acc);
  return point;
}

google::protobuf::Struct AnswersToStruct(
    const google::protobuf::RepeatedPtrField<v1::Answer>& answers) {
  google::protobuf::Struct out;
  auto& fields = *out.mutable_fields();
  for (const v1::Answer& a : answers) {
    google::protobuf::Value& j = fields[a.question_id()];
    const v1::Value& v = a.value();
    switch (v.kind_case()) {
      case v1::Value::kBoolean:
        j.set_bool_value(v.boolean());
        break;
      case v1::Value::kInteger:
        j.set_number_value(static_cast<double>(v.integer()));
        break;
      case v1::Value::kDecimal:
        j.set_number_value(v.decimal());
        break;
      case v1::Value::kText:
        j.set_string_value(v.text());
        break;
      case v1::Value::kChoices:
        for (const std::string& id : v.choices().ids()) {
          j.mutable_list_value()->add_values()->set_string_value(id);
        }
        if (v.choices().ids_size() == 0) j.mutable_list_value();
        break;
      case v1::Value::kUnixMs:
        j.set_number_value(static_cast<double>(v.unix_ms()));
        break;
      case v1::Value::kLocation: {
        auto& loc = *j.mutable_struct_value()->mutable_fields();
        loc["latitude"].set_number_value(v.location().latitude());
        loc["longitude"].set_number_value(v.location().longitude());
        loc["accuracy_m"].set_number_value(v.location().accuracy_m());
        break;
      }
      default:
        j.set_null_value(google::protobuf::NULL_VALUE);
        break;
    }
  }
  return out;
}

std::string AnswersToJson(const google::protobuf::RepeatedPtrField<v1::Answer>& answers) {
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(AnswersToStruct(answers), &text);
  return text;
}

std::vector<std::pair<std::string, v1::Value>> ExampleAnswers(const protocol::Form& form,
                                                              uint64_t seed) {
  // splitmix64: a tiny deterministic generator; quality is irrelevant here.
  uint64_t state = seed ^ 0x9e3779b97f4a7c15ull;
  auto next = [&]() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  // A question summed with k others in a QA check gets 1/k of the usual span, so that the
  // sum still fits the question it must equal (e.g. 18 parties' votes + invalid = ballots).
  std::map<std::string, int> terms_beside;
  for (const v1::QaCheck& check : form.definition().qa_checks()) {
    for (const auto* side : {&check.left(), &check.right()}) {
      for (const v1::Term& t : *side) {
        if (t.kind_case() != v1::Term::kQuestionId) continue;
        terms_beside[t.question_id()] = std::max(terms_beside[t.question_id()], side->size());
      }
    }
  }
  std::map<std::string, v1::Value> values;
  for (const v1::Question& q : form.definition().questions()) {
    v1::Value v;
    // Bounds within +-9e15 (where doubles hold every integer), so that the conversions to
    // integers below stay defined whatever the form says.
    auto bounded = [](double x) { return std::clamp(x, -9e15, 9e15); };
    double lo = q.has_min() ? bounded(q.min()) : 0;
    double hi = q.has_max() ? bounded(q.max()) : lo + 100;
    switch (q.type()) {
      case v1::YES_NO:
        // Mostly "yes": a checklist where everything is fine is the common case, and a
        // critical "no" should stay rare in examples.
        v.set_boolean(next() % 10 != 0);
        break;
      case v1::INTEGER: {
        int k = std::max(1, terms_beside[q.id()]);
        double share = k > 1 ? 2.0 * k : 5.0;  // the lower fifth, or 1/(2k) when summed
        auto span = static_cast<uint64_t>(std::max(0.0, std::floor((hi - lo) / share)));
        v.set_integer(static_cast<int64_t>(std::ceil(lo)) +
                      static_cast<int64_t>(next() % (span + 1)));
        break;
      }
      case v1::DECIMAL:
        v.set_decimal(lo + static_cast<double>(next() % 1000) / 1000.0 * (hi - lo) / 5);
        break;
      case v1::SELECT_ONE:
        v.set_text(
            q.options(static_cast<int>(next() % static_cast<uint64_t>(q.options_size()))).id());
        break;
      case v1::SELECT_MANY: {
        auto* choices = v.mutable_choices();
        for (const v1::Option& o : q.options()) {
          if (next() % 3 == 0) choices->add_ids(o.id());
        }
        size_t want_min =
            q.has_min() && q.min() > 0
                ? static_cast<size_t>(std::min(q.min(), static_cast<double>(q.options_size())))
                : 0;
        for (const v1::Option& o : q.options()) {
          if (static_cast<size_t>(choices->ids_size()) >= want_min) break;
          if (std::find(choices->ids().begin(), choices->ids().end(), o.id()) ==
              choices->ids().end()) {
            choices->add_ids(o.id());
          }
        }
        while (q.has_max() && !choices->ids().empty() &&
               static_cast<double>(choices->ids_size()) > q.max()) {
          choices->mutable_ids()->RemoveLast();
        }
        break;
      }
      case v1::TEXT:
        v.set_text("Example answer " + std::to_string(next() % 1000) + ".");
        break;
      case v1::TIME: {
        uint64_t minutes = 6 * 60 + next() % (11 * 60);
        char buf[6];
        std::snprintf(buf, sizeof buf, "%02d:%02d", static_cast<int>(minutes / 60),
                      static_cast<int>(minutes % 60));
        v.set_text(buf);
        break;
      }
      case v1::DATE_TIME:
        v.set_unix_ms(1690070400000 + static_cast<int64_t>(next() % 36000) * 1000);  // 2023-07-23
        break;
      case v1::LOCATION:
        v.mutable_location()->set_latitude(10.5 + static_cast<double>(next() % 3000) / 1000.0);
        v.mutable_location()->set_longitude(103.0 + static_cast<double>(next() % 4000) / 1000.0);
        v.mutable_location()->set_accuracy_m(10);
        break;
      case v1::PHOTO_REFERENCE:
        v.set_text("sha256:" + protocol::HexEncode(protocol::Sha256(std::to_string(next()))));
        break;
      default:
        continue;
    }
    values[q.id()] = std::move(v);
  }
  // Make QA checks hold where one side is a single question: set it from the other side
  // (within its bounds). A few rounds settle chains such as box <= signed <= list.
  for (int round = 0; round < 4; ++round) {
    for (const v1::QaCheck& check : form.definition().qa_checks()) {
      for (bool fix_right : {true, false}) {
        const auto& target_side = fix_right ? check.right() : check.left();
        const auto& other_side = fix_right ? check.left() : check.right();
        if (target_side.size() != 1 || target_side[0].kind_case() != v1::Term::kQuestionId)
          continue;
        const v1::Question* tq = form.Find(target_side[0].question_id());
        if (tq == nullptr || tq->type() != v1::INTEGER) continue;
        double sum = 0;
        for (const v1::Term& t : other_side) {
          double x = 0;
          if (t.kind_case() == v1::Term::kConstant) {
            sum += t.constant();
          } else if (values.count(t.question_id()) &&
                     protocol::NumericValue(values[t.question_id()], x)) {
            sum += x;
          }
        }
        auto current = static_cast<double>(values[tq->id()].integer());
        bool target_is_greater = (check.op() == v1::LESS_OR_EQUAL) == fix_right;
        double wanted = current;
        if (check.op() == v1::EQUAL || (target_is_greater && current < sum) ||
            (!target_is_greater && current > sum)) {
          wanted = sum;
        }
        if ((tq->has_min() && wanted < tq->min()) || (tq->has_max() && wanted > tq->max()) ||
            !(std::fabs(wanted) <= 9e15))
          continue;
        values[tq->id()].set_integer(static_cast<int64_t>(wanted));
        break;
      }
    }
  }
  std::vector<std::pair<std::string, v1::Value>> out;
  for (const v1::Question& q : form.definition().questions()) {
    auto it = values.find(q.id());
    if (it != values.end()) out.emplace_back(q.id(), it->second);
  }
  return out;
}

}  // namespace vigil::client
