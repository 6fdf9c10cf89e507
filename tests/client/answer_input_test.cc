// Turning typed text, JSON answer files and example seeds into answers
// (client-core/src/forms/answer_input.cc).
#include "vigil/client/answer_input.h"

#include <doctest/doctest.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/sha.h>

#include <cctype>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <string>

#include "client_test_support.h"

namespace vigil::client::test {
namespace {

using protocol::Form;

// A form with one question of every type, with bounds where the type has them.
v1::FormDefinition EveryTypeForm() {
  v1::FormDefinition def = NewForm("every_type");
  AddQuestion(def, "q_yes", v1::YES_NO, true);
  auto& n = AddQuestion(def, "q_int", v1::INTEGER, true);
  n.set_min(5);
  n.set_max(750);
  auto& d = AddQuestion(def, "q_dec", v1::DECIMAL);
  d.set_min(-2);
  d.set_max(2);
  AddOptions(AddQuestion(def, "q_one", v1::SELECT_ONE), {"red", "green", "blue"});
  auto& many = AddQuestion(def, "q_many", v1::SELECT_MANY);
  AddOptions(many, {"a", "b", "c", "d"});
  many.set_min(2);
  many.set_max(3);
  AddQuestion(def, "q_text", v1::TEXT).set_max(40);
  AddQuestion(def, "q_time", v1::TIME);
  AddQuestion(def, "q_when", v1::DATE_TIME);
  AddQuestion(def, "q_where", v1::LOCATION);
  AddQuestion(def, "q_photo", v1::PHOTO_REFERENCE);
  AddRelevance(AddQuestion(def, "q_after_no", v1::TEXT), "q_yes", v1::EQUALS, Bool(false));
  return def;
}

Form Compiled(const v1::FormDefinition& def) {
  auto f = Form::Compile(def);
  REQUIRE_MESSAGE(f.ok(), f.status().ToString());
  return std::move(f).value();
}

v1::Value Parsed(const Form& form, const char* qid, std::string_view text) {
  const v1::Question* q = form.Find(qid);
  REQUIRE(q != nullptr);
  auto v = ParseAnswerText(*q, text);
  REQUIRE_MESSAGE(v.ok(), std::string(text) << ": " << v.status().ToString());
  return std::move(v).value();
}

Status ParseError(const Form& form, const char* qid, std::string_view text) {
  auto v = ParseAnswerText(*form.Find(qid), text);
  REQUIRE_FALSE_MESSAGE(v.ok(), text);
  return v.status();
}

TEST_CASE("answer input: yes and no in English and Khmer") {
  Form form = Compiled(EveryTypeForm());
  for (const char* yes :
       {"yes", "y", "YES", " Yes ", "true", "1", "\xe1\x9e\x94\xe1\x9e\xb6\xe1\x9e\x91",
        "\xe1\x9e\x85\xe1\x9e\xb6\xe1\x9e\x9f"}) {  // បាទ, ចាស
    v1::Value v = Parsed(form, "q_yes", yes);
    CHECK(v.kind_case() == v1::Value::kBoolean);
    CHECK_MESSAGE(v.boolean(), std::string(yes));
  }
  for (const char* no : {"no", "n", "No", "false", "0", "\xe1\x9e\x91\xe1\x9f\x81"}) {  // ទេ
    v1::Value v = Parsed(form, "q_yes", no);
    CHECK(v.kind_case() == v1::Value::kBoolean);
    CHECK_FALSE_MESSAGE(v.boolean(), std::string(no));
  }
  Status s = ParseError(form, "q_yes", "maybe");
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(Contains(s.message(), "q_yes"));
  CHECK(ParseError(form, "q_yes", "").code() == StatusCode::kInvalidArgument);
}

TEST_CASE("answer input: whole numbers") {
  Form form = Compiled(EveryTypeForm());
  CHECK(Parsed(form, "q_int", "42").integer() == 42);
  CHECK(Parsed(form, "q_int", " -3 ").integer() == -3);
  // Bounds are not the parser's business: 1000 parses and CheckAnswer refuses it.
  v1::Value big = Parsed(form, "q_int", "1000");
  CHECK(big.integer() == 1000);
  CHECK_FALSE(form.CheckAnswer(*form.Find("q_int"), big).ok());
  for (const char* bad : {"4.5", "abc", "", "12abc", "99999999999999999999"}) {
    CHECK(Contains(ParseError(form, "q_int", bad).message(), "q_int"));
  }
}

TEST_CASE("answer input: decimal numbers") {
  Form form = Compiled(EveryTypeForm());
  CHECK(Parsed(form, "q_dec", "1.5").decimal() == 1.5);
  CHECK(Parsed(form, "q_dec", "-0.25").decimal() == -0.25);
  CHECK(Parsed(form, "q_dec", "2").decimal() == 2.0);
  for (const char* bad : {"nan", "inf", "1e400", "x", "", "1.5.2"})
    CHECK(ParseError(form, "q_dec", bad).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("answer input: select-one by id or by 1-based number") {
  Form form = Compiled(EveryTypeForm());
  CHECK(Parsed(form, "q_one", "green").text() == "green");
  CHECK(Parsed(form, "q_one", "1").text() == "red");
  CHECK(Parsed(form, "q_one", "3").text() == "blue");
  for (const char* bad : {"0", "4", "purple", "", "-1"}) {
    CHECK(Contains(ParseError(form, "q_one", bad).message(), "q_one"));
  }
}

TEST_CASE("answer input: select-many by ids and numbers and none") {
  Form form = Compiled(EveryTypeForm());
  v1::Value v = Parsed(form, "q_many", "a, 3 d");
  REQUIRE(v.kind_case() == v1::Value::kChoices);
  REQUIRE(v.choices().ids_size() == 3);
  CHECK(v.choices().ids(0) == "a");
  CHECK(v.choices().ids(1) == "c");
  CHECK(v.choices().ids(2) == "d");
  v1::Value none = Parsed(form, "q_many", "none");
  CHECK(none.kind_case() == v1::Value::kChoices);
  CHECK(none.choices().ids_size() == 0);
  CHECK(Parsed(form, "q_many", "-").choices().ids_size() == 0);
  CHECK(ParseError(form, "q_many", "a,zz").code() == StatusCode::kInvalidArgument);
  CHECK(ParseError(form, "q_many", "5").code() == StatusCode::kInvalidArgument);
}

TEST_CASE("answer input: none is the option when a select-many question has one called none") {
  v1::FormDefinition def = NewForm("missing_materials");
  AddOptions(AddQuestion(def, "q_missing", v1::SELECT_MANY), {"ink", "ballots", "none"});
  Form form = Compiled(def);
  v1::Value none = Parsed(form, "q_missing", "none");
  REQUIRE(none.choices().ids_size() == 1);
  CHECK(none.choices().ids(0) == "none");
  CHECK(Parsed(form, "q_missing", "-").choices().ids_size() == 0);
}

TEST_CASE("answer input: text and time are taken as typed without surrounding spaces") {
  Form form = Compiled(EveryTypeForm());
  CHECK(Parsed(form, "q_text", "  ballot box arrived late  ").text() == "ballot box arrived late");
  CHECK(Parsed(form, "q_time", "23:59").text() == "23:59");
  // TIME is checked by CheckAnswer, not by the parser.
  v1::Value late = Parsed(form, "q_time", "24:00");
  CHECK_FALSE(form.CheckAnswer(*form.Find("q_time"), late).ok());
}

TEST_CASE("answer input: date and time as now or milliseconds or YYYY-MM-DD HH:MM in UTC") {
  Form form = Compiled(EveryTypeForm());
  using std::chrono::duration_cast;
  using std::chrono::hours;
  using std::chrono::July;
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  using std::chrono::sys_days;
  using std::chrono::year;
  const int64_t expected =
      duration_cast<milliseconds>(
          (sys_days{year{2023} / July / 23} + hours{7} + minutes{30}).time_since_epoch())
          .count();
  CHECK(Parsed(form, "q_when", "2023-07-23 07:30").unix_ms() == expected);
  CHECK(Parsed(form, "q_when", std::to_string(expected)).unix_ms() == expected);
  int64_t before = static_cast<int64_t>(std::time(nullptr)) * 1000;
  int64_t now = Parsed(form, "q_when", "now").unix_ms();
  int64_t after = static_cast<int64_t>(std::time(nullptr)) * 1000;
  CHECK(now >= before);
  CHECK(now <= after);
  CHECK(ParseError(form, "q_when", "yesterday").code() == StatusCode::kInvalidArgument);
  CHECK(ParseError(form, "q_when", "23/07/2023").code() == StatusCode::kInvalidArgument);
}

TEST_CASE("answer input: a date and time with anything after HH:MM is refused") {
  Form form = Compiled(EveryTypeForm());
  // "07:30pm" silently read as 07:30 would record the wrong half of the day.
  for (const char* bad : {"2023-07-23 07:30pm", "2023-07-23 07:30 +07", "2023-07-23 07:30:45"}) {
    auto v = ParseAnswerText(*form.Find("q_when"), bad);
    CHECK_FALSE_MESSAGE(v.ok(), std::string(bad) << " parsed as " << (v.ok() ? v->unix_ms() : 0));
  }
}

TEST_CASE("answer input: location as lat and lon with optional accuracy") {
  Form form = Compiled(EveryTypeForm());
  v1::Value v = Parsed(form, "q_where", "11.5625,104.9160");
  CHECK(v.location().latitude() == doctest::Approx(11.5625));
  CHECK(v.location().longitude() == doctest::Approx(104.916));
  CHECK(v.location().accuracy_m() == 0);
  v1::Value w = Parsed(form, "q_where", "11.5, 104.9, 12");
  CHECK(w.location().accuracy_m() == 12);
  for (const char* bad : {"11.5", "a,b", "", "11.5,x"})
    CHECK(ParseError(form, "q_where", bad).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("answer input: photo reference from sha256 text or from a photo file") {
  Form form = Compiled(EveryTypeForm());
  const std::string hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  std::string upper_hex = hex;
  for (char& c : upper_hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(Parsed(form, "q_photo", "sha256:" + upper_hex).text() == "sha256:" + hex);

  TempDir dir;
  const std::string photo = std::string("\xff\xd8\xff\xe0 not really a jpeg", 22);
  WriteBytes(dir / "photo.jpg", photo);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(photo.data()), photo.size(), digest);
  std::string want = "sha256:";
  for (unsigned char b : digest) {
    const char* digits = "0123456789abcdef";
    want += digits[b >> 4];
    want += digits[b & 15];
  }
  v1::Value from_file = Parsed(form, "q_photo", dir / "photo.jpg");
  CHECK(from_file.text() == want);
  CHECK(form.CheckAnswer(*form.Find("q_photo"), from_file).ok());

  v1::Value typed = Parsed(form, "q_photo", "sha256:" + hex);
  CHECK(typed.text() == "sha256:" + hex);
  CHECK(ParseError(form, "q_photo", dir / "missing.jpg").code() == StatusCode::kInvalidArgument);
}

TEST_CASE("answer input: a JSON answers file gives answers in form order") {
  Form form = Compiled(EveryTypeForm());
  auto answers = ParseAnswersJson(form, R"({
    "q_where": {"latitude": 11.5, "longitude": 104.9, "accuracy_m": 5},
    "q_text": "hello",
    "q_many": ["a", "c"],
    "q_one": "blue",
    "q_dec": 1.25,
    "q_int": 7,
    "q_yes": true,
    "q_time": "07:30",
    "q_when": 1690070400000
  })");
  REQUIRE_MESSAGE(answers.ok(), answers.status().ToString());
  std::vector<std::string> ids;
  for (const auto& [id, v] : *answers) ids.push_back(id);
  std::vector<std::string> want = {"q_yes",  "q_int",  "q_dec",  "q_one",  "q_many",
                                   "q_text", "q_time", "q_when", "q_where"};
  CHECK(ids == want);
  const auto& a = *answers;
  CHECK(a[0].second.boolean());
  CHECK(a[1].second.integer() == 7);
  CHECK(a[2].second.decimal() == 1.25);
  CHECK(a[3].second.text() == "blue");
  CHECK(a[4].second.choices().ids_size() == 2);
  CHECK(a[5].second.text() == "hello");
  CHECK(a[6].second.text() == "07:30");
  CHECK(a[7].second.unix_ms() == 1690070400000);
  CHECK(a[8].second.location().latitude() == 11.5);
  CHECK(a[8].second.location().accuracy_m() == 5);
  for (const auto& [id, v] : a) {
    Status s = form.CheckAnswer(*form.Find(id), v);
    CHECK_MESSAGE(s.ok(), s.ToString());
  }
}

TEST_CASE("answer input: a JSON answers file naming an unknown question is refused by name") {
  Form form = Compiled(EveryTypeForm());
  auto r = ParseAnswersJson(form, R"({"q_yes": true, "q_nonexistent_42": 3})");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(Contains(r.status().message(), "q_nonexistent_42"));
}

TEST_CASE("answer input: JSON answers of the wrong shape are refused") {
  Form form = Compiled(EveryTypeForm());
  CHECK_FALSE(ParseAnswersJson(form, R"({"q_int": 4.5})").ok());
  CHECK_FALSE(ParseAnswersJson(form, R"({"q_int": null})").ok());
  CHECK_FALSE(ParseAnswersJson(form, R"({"q_many": [1, 2]})").ok());
  CHECK_FALSE(ParseAnswersJson(form, R"({"q_where": {"latitude": 1}})").ok());
  CHECK_FALSE(ParseAnswersJson(form, R"([1, 2])").ok());
  CHECK_FALSE(ParseAnswersJson(form, "not json").ok());
  auto empty = ParseAnswersJson(form, "{}");
  REQUIRE(empty.ok());
  CHECK(empty->empty());
}

TEST_CASE("answer input: a JSON date and time beyond 64-bit milliseconds is refused") {
  // Found by review for issue 6: the double was converted to int64 unchecked (undefined
  // behaviour, flagged by UBSan's float-cast-overflow).
  Form form = Compiled(EveryTypeForm());
  for (const char* json : {R"({"q_when": 1e300})", R"({"q_when": -1e19})", R"({"q_when": 1.5})"}) {
    auto r = ParseAnswersJson(form, json);
    REQUIRE_FALSE_MESSAGE(r.ok(), json);
    CHECK(Contains(r.status().message(), "q_when"));
  }
  auto ok = ParseAnswersJson(form, R"({"q_when": 1690070400000})");
  REQUIRE(ok.ok());
  REQUIRE(ok->size() == 1);
  CHECK((*ok)[0].second.unix_ms() == 1690070400000);
}

TEST_CASE("answer input: example answers survive extreme and negative bounds") {
  // Found by review for issue 6: a select-many with a negative max removed choices from an
  // empty list (protobuf's RemoveLast on size 0 corrupts the field), and huge integer bounds
  // were converted to int64 unchecked.
  v1::FormDefinition def = NewForm("extreme");
  auto& many = AddQuestion(def, "q_many", v1::SELECT_MANY);
  AddOptions(many, {"a", "b", "c"});
  many.set_min(-5);
  many.set_max(-1);
  auto& huge = AddQuestion(def, "q_huge", v1::INTEGER);
  huge.set_min(1e300);
  auto& tiny = AddQuestion(def, "q_tiny", v1::INTEGER);
  tiny.set_max(-1e300);
  auto& wide = AddQuestion(def, "q_wide", v1::INTEGER);
  wide.set_min(-1e300);
  wide.set_max(1e300);
  Form form = Compiled(def);
  for (uint64_t seed : {0ull, 3ull, 99ull}) {
    auto answers = ExampleAnswers(form, seed);
    REQUIRE(answers.size() == 4);
    CHECK(answers[0].second.choices().ids_size() == 0);
    CHECK(answers[3].second.kind_case() == v1::Value::kInteger);
  }
}

std::string Serialized(const std::vector<std::pair<std::string, v1::Value>>& answers) {
  std::string out;
  for (const auto& [id, v] : answers) out += id + "=" + v.SerializeAsString() + ";";
  return out;
}

TEST_CASE("answer input: example answers are deterministic and valid for every question") {
  Form form = Compiled(EveryTypeForm());
  for (uint64_t seed : {0ull, 1ull, 42ull, 0xffffffffffffffffull}) {
    auto a = ExampleAnswers(form, seed);
    auto b = ExampleAnswers(form, seed);
    CHECK(Serialized(a) == Serialized(b));
    REQUIRE(a.size() == static_cast<size_t>(form.definition().questions_size()));
    for (int i = 0; i < form.definition().questions_size(); ++i) {
      const v1::Question& q = form.definition().questions(i);
      CHECK(a[static_cast<size_t>(i)].first == q.id());
      Status s = form.CheckAnswer(q, a[static_cast<size_t>(i)].second);
      CHECK_MESSAGE(s.ok(), "seed " << seed << ": " << s.ToString());
    }
  }
}

TEST_CASE("answer input: example answers satisfy sum checks of a form built here") {
  v1::FormDefinition def = NewForm("count");
  for (const char* id : {"p1", "p2", "p3", "invalid"}) {
    auto& q = AddQuestion(def, id, v1::INTEGER, true);
    q.set_min(0);
    q.set_max(100);
  }
  auto& box = AddQuestion(def, "box", v1::INTEGER, true);
  box.set_min(0);
  box.set_max(1000);
  auto& signed_list = AddQuestion(def, "signed", v1::INTEGER, true);
  signed_list.set_min(0);
  signed_list.set_max(1000);
  AddQaCheck(def, "adds_up",
             {QuestionTerm("p1"), QuestionTerm("p2"), QuestionTerm("p3"), QuestionTerm("invalid")},
             v1::EQUAL, {QuestionTerm("box")});
  AddQaCheck(def, "box_le_signed", {QuestionTerm("box")}, v1::LESS_OR_EQUAL,
             {QuestionTerm("signed")});
  Form form = Compiled(def);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto answers = ExampleAnswers(form, seed);
    google::protobuf::RepeatedPtrField<v1::Answer> list;
    for (const auto& [id, v] : answers) {
      v1::Answer* a = list.Add();
      a->set_question_id(id);
      *a->mutable_value() = v;
    }
    CHECK(form.CheckComplete(list).ok());
    auto failed = form.FailedQaChecks(protocol::MapAnswers(list));
    CHECK_MESSAGE(failed.empty(), "seed " << seed << " fails " << failed.size() << " checks");
  }
}

Result<Form> SampleForm(const std::string& name) {
  std::string json = ReadBytes(std::filesystem::path(VIGIL_FORMS_DIR) / (name + ".json"));
  if (json.empty()) return Status::NotFound(name + ".json is not in " VIGIL_FORMS_DIR);
  v1::FormDefinition def;
  auto parsed = google::protobuf::util::JsonStringToMessage(json, &def);
  if (!parsed.ok()) return Status::InvalidArgument(name + ".json: " + parsed.ToString());
  return Form::Compile(def);
}

TEST_CASE("answer input: example answers are valid on every sample form") {
  for (const char* name : {"opening", "voting", "closing", "incident"}) {
    auto form = SampleForm(name);
    if (!form.ok() && form.status().code() == StatusCode::kNotFound) {
      MESSAGE("sample form " << name << " is not written yet");
      continue;
    }
    REQUIRE_MESSAGE(form.ok(), form.status().ToString());
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      for (const auto& [id, v] : ExampleAnswers(*form, seed)) {
        Status s = form->CheckAnswer(*form->Find(id), v);
        CHECK_MESSAGE(s.ok(), name << " seed " << seed << ": " << s.ToString());
      }
    }
  }
}

TEST_CASE("answer input: example answers on the sample closing form pass its QA checks") {
  auto form = SampleForm("closing");
  REQUIRE_MESSAGE(form.ok(), form.status().ToString());
  REQUIRE(form->definition().qa_checks_size() > 0);
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    auto answers = ExampleAnswers(*form, seed);
    google::protobuf::RepeatedPtrField<v1::Answer> list;
    for (const auto& [id, v] : answers) {
      v1::Answer* a = list.Add();
      a->set_question_id(id);
      *a->mutable_value() = v;
    }
    auto kept = form->RelevantAnswers(list);
    CHECK(form->CheckComplete(kept).ok());
    auto failed = form->FailedQaChecks(protocol::MapAnswers(kept));
    std::string names;
    for (const auto& f : failed) names += f + " ";
    CHECK_MESSAGE(failed.empty(), "seed " << seed << " fails: " << names);
  }
}

}  // namespace
}  // namespace vigil::client::test
