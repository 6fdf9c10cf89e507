// The rules of protocol::Form (proto/src/form_rules.cc) as the device applies them: which
// definitions compile, which answers each question type accepts, relevance, required-when-
// relevant, QA checks and critical answers. Forms are built here, not read from the samples.
#include "vigil/protocol/form_rules.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

#include "client_test_support.h"

namespace vigil::client::test {
namespace {

using protocol::AnswerMap;
using protocol::Form;

// Compiles `def`, which must be refused; returns the refusal.
Status Refusal(const v1::FormDefinition& def) {
  auto form = Form::Compile(def);
  REQUIRE_FALSE(form.ok());
  return form.status();
}

Form MustCompile(const v1::FormDefinition& def) {
  auto form = Form::Compile(def);
  REQUIRE_MESSAGE(form.ok(), form.status().ToString());
  return std::move(form).value();
}

v1::Answer MakeAnswer(const std::string& id, const v1::Value& v) {
  v1::Answer a;
  a.set_question_id(id);
  *a.mutable_value() = v;
  return a;
}

google::protobuf::RepeatedPtrField<v1::Answer> Answers(
    std::initializer_list<std::pair<const char*, v1::Value>> list) {
  google::protobuf::RepeatedPtrField<v1::Answer> out;
  for (const auto& [id, v] : list) *out.Add() = MakeAnswer(id, v);
  return out;
}

// ---- Compile

TEST_CASE("form rules: a well-formed form compiles and indexes its questions") {
  Form form = MustCompile(SmallChecklist());
  REQUIRE(form.Find("q3_count") != nullptr);
  CHECK(form.Find("q3_count")->type() == v1::INTEGER);
  CHECK(form.Find("nope") == nullptr);
}

TEST_CASE("form rules: compile refuses bad form ids and versions and kinds") {
  for (const char* bad : {"", "Opening", "open-ing", "open ing", "ouverture\xc3\xa9"}) {
    v1::FormDefinition def = SmallChecklist(bad);
    Status s = Refusal(def);
    CHECK(s.code() == StatusCode::kInvalidArgument);
  }
  CHECK(Refusal(SmallChecklist(std::string(65, 'a'))).code() == StatusCode::kInvalidArgument);
  CHECK(Form::Compile(SmallChecklist(std::string(64, 'a'))).ok());

  v1::FormDefinition no_version = SmallChecklist();
  no_version.set_version(0);
  CHECK(Contains(Refusal(no_version).message(), "version"));

  v1::FormDefinition no_kind = SmallChecklist();
  no_kind.set_kind(v1::FORM_KIND_UNSPECIFIED);
  CHECK(Contains(Refusal(no_kind).message(), "kind"));

  v1::FormDefinition empty = NewForm("empty");
  CHECK(Refusal(empty).code() == StatusCode::kInvalidArgument);

  v1::FormDefinition bad_send_by = SmallChecklist();
  bad_send_by.set_send_by("24:00");
  CHECK(Contains(Refusal(bad_send_by).message(), "send_by"));
  bad_send_by.set_send_by("17:30");
  CHECK(Form::Compile(bad_send_by).ok());
}

TEST_CASE("form rules: compile refuses bad and duplicate question ids naming them") {
  for (const char* bad : {"Q1", "q 1", "q-1", "q1!"}) {
    v1::FormDefinition def = NewForm("f");
    AddQuestion(def, bad, v1::YES_NO);
    Status s = Refusal(def);
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK_MESSAGE(Contains(s.message(), bad), s.message());
  }
  v1::FormDefinition empty_id = NewForm("f");
  AddQuestion(empty_id, "", v1::YES_NO);
  CHECK(Refusal(empty_id).code() == StatusCode::kInvalidArgument);

  v1::FormDefinition dup = NewForm("f");
  AddQuestion(dup, "q1", v1::YES_NO);
  AddQuestion(dup, "q2", v1::YES_NO);
  AddQuestion(dup, "q1", v1::INTEGER);
  Status s = Refusal(dup);
  CHECK(Contains(s.message(), "'q1'"));
  CHECK(Contains(s.message(), "duplicate"));
}

TEST_CASE("form rules: compile refuses a question without type or label") {
  v1::FormDefinition no_type = NewForm("f");
  AddQuestion(no_type, "q1", v1::QUESTION_TYPE_UNSPECIFIED);
  CHECK(Contains(Refusal(no_type).message(), "q1"));

  v1::FormDefinition unknown_type = NewForm("f");
  AddQuestion(unknown_type, "q1", static_cast<v1::QuestionType>(99));
  CHECK(Contains(Refusal(unknown_type).message(), "q1"));

  v1::FormDefinition no_label = NewForm("f");
  AddQuestion(no_label, "q1", v1::YES_NO).clear_label();
  Status s = Refusal(no_label);
  CHECK(Contains(s.message(), "q1"));
  CHECK(Contains(s.message(), "label"));
}

TEST_CASE("form rules: compile refuses select questions without options and bad options") {
  for (auto type : {v1::SELECT_ONE, v1::SELECT_MANY}) {
    v1::FormDefinition none = NewForm("f");
    AddQuestion(none, "q1", type);
    CHECK(Contains(Refusal(none).message(), "options"));

    v1::FormDefinition repeated = NewForm("f");
    AddOptions(AddQuestion(repeated, "q1", type), {"a", "b", "a"});
    CHECK(Contains(Refusal(repeated).message(), "'a'"));

    v1::FormDefinition bad_id = NewForm("f");
    AddOptions(AddQuestion(bad_id, "q1", type), {"a", "B"});
    CHECK(Contains(Refusal(bad_id).message(), "'B'"));
  }
  v1::FormDefinition options_on_text = NewForm("f");
  AddOptions(AddQuestion(options_on_text, "q1", v1::TEXT), {"a"});
  CHECK(Refusal(options_on_text).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("form rules: compile refuses min above max and accepts min equal to max") {
  v1::FormDefinition def = NewForm("f");
  auto& q = AddQuestion(def, "q1", v1::INTEGER);
  q.set_min(10);
  q.set_max(9);
  Status s = Refusal(def);
  CHECK(Contains(s.message(), "q1"));
  CHECK(Contains(s.message(), "min"));
  def.mutable_questions(0)->set_max(10);
  CHECK(Form::Compile(def).ok());
}

TEST_CASE("form rules: compile refuses bounds that are not finite numbers") {
  // Found by review for issue 6: NaN passed the min-above-max check (every comparison with
  // NaN is false) and then disabled the bound; infinities broke example answers.
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
        -std::numeric_limits<double>::infinity()}) {
    for (bool on_min : {true, false}) {
      v1::FormDefinition def = NewForm("f");
      auto& q = AddQuestion(def, "q1", v1::DECIMAL);
      if (on_min) {
        q.set_min(bad);
      } else {
        q.set_max(bad);
      }
      Status s = Refusal(def);
      CHECK(Contains(s.message(), "q1"));
      CHECK(Contains(s.message(), "finite"));
    }
  }
}

TEST_CASE("form rules: relevance may name only earlier questions") {
  SUBCASE("a later question") {
    v1::FormDefinition def = NewForm("f");
    auto& q1 = AddQuestion(def, "q1", v1::TEXT);
    AddQuestion(def, "q2", v1::YES_NO);
    AddRelevance(q1, "q2", v1::EQUALS, Bool(true));
    Status s = Refusal(def);
    CHECK(Contains(s.message(), "'q2'"));
  }
  SUBCASE("an unknown question") {
    v1::FormDefinition def = NewForm("f");
    AddQuestion(def, "q1", v1::YES_NO);
    AddRelevance(AddQuestion(def, "q2", v1::TEXT), "ghost", v1::ANSWERED);
    CHECK(Contains(Refusal(def).message(), "'ghost'"));
  }
  SUBCASE("itself") {
    v1::FormDefinition def = NewForm("f");
    auto& q1 = AddQuestion(def, "q1", v1::YES_NO);
    AddRelevance(q1, "q1", v1::EQUALS, Bool(true));
    CHECK(Refusal(def).code() == StatusCode::kInvalidArgument);
  }
  SUBCASE("a condition without operator") {
    v1::FormDefinition def = NewForm("f");
    AddQuestion(def, "q1", v1::YES_NO);
    AddRelevance(AddQuestion(def, "q2", v1::TEXT), "q1", v1::CONDITION_OPERATOR_UNSPECIFIED);
    CHECK(Contains(Refusal(def).message(), "operator"));
  }
  SUBCASE("critical_when may name the question itself") {
    v1::FormDefinition def = NewForm("f");
    auto& q1 = AddQuestion(def, "q1", v1::YES_NO);
    v1::Condition* c = q1.add_critical_when();
    c->set_question_id("q1");
    c->set_op(v1::EQUALS);
    *c->mutable_value() = Bool(false);
    CHECK(Form::Compile(def).ok());
  }
}

TEST_CASE("form rules: QA checks must name numeric questions of the form") {
  auto base = [] {
    v1::FormDefinition def = NewForm("f");
    AddQuestion(def, "a", v1::INTEGER);
    AddQuestion(def, "b", v1::DECIMAL);
    AddQuestion(def, "t", v1::TEXT);
    return def;
  };
  {
    v1::FormDefinition def = base();
    AddQaCheck(def, "ok", {QuestionTerm("a"), ConstantTerm(1)}, v1::LESS_OR_EQUAL,
               {QuestionTerm("b")});
    CHECK(Form::Compile(def).ok());
  }
  {
    v1::FormDefinition def = base();
    AddQaCheck(def, "text_term", {QuestionTerm("t")}, v1::EQUAL, {QuestionTerm("a")});
    Status s = Refusal(def);
    CHECK(Contains(s.message(), "'t'"));
    CHECK(Contains(s.message(), "text_term"));
  }
  {
    v1::FormDefinition def = base();
    AddQaCheck(def, "ghost_term", {QuestionTerm("a")}, v1::EQUAL, {QuestionTerm("ghost")});
    CHECK(Contains(Refusal(def).message(), "'ghost'"));
  }
  {
    v1::FormDefinition def = base();
    AddQaCheck(def, "one_sided", {QuestionTerm("a")}, v1::EQUAL, {});
    CHECK(Refusal(def).code() == StatusCode::kInvalidArgument);
  }
  {
    v1::FormDefinition def = base();
    AddQaCheck(def, "no_op", {QuestionTerm("a")}, v1::COMPARISON_UNSPECIFIED, {QuestionTerm("b")});
    CHECK(Refusal(def).code() == StatusCode::kInvalidArgument);
  }
  {
    v1::FormDefinition def = base();
    AddQaCheck(def, "twice", {QuestionTerm("a")}, v1::EQUAL, {QuestionTerm("b")});
    AddQaCheck(def, "twice", {QuestionTerm("a")}, v1::EQUAL, {QuestionTerm("b")});
    CHECK(Contains(Refusal(def).message(), "twice"));
  }
}

// ---- CheckAnswer per type

struct OneQuestion {
  explicit OneQuestion(v1::QuestionType type, std::optional<double> min = std::nullopt,
                       std::optional<double> max = std::nullopt,
                       std::initializer_list<const char*> options = {}) {
    v1::FormDefinition def = NewForm("f");
    auto& q = AddQuestion(def, "q1", type);
    if (min) q.set_min(*min);
    if (max) q.set_max(*max);
    AddOptions(q, options);
    form.emplace(MustCompile(def));
  }
  Status Check(const v1::Value& v) const { return form->CheckAnswer(*form->Find("q1"), v); }
  bool Accepts(const v1::Value& v) const { return Check(v).ok(); }
  std::optional<Form> form;
};

TEST_CASE("form rules: yes/no takes a boolean only") {
  OneQuestion q(v1::YES_NO);
  CHECK(q.Accepts(Bool(true)));
  CHECK(q.Accepts(Bool(false)));
  CHECK_FALSE(q.Accepts(Int(1)));
  CHECK_FALSE(q.Accepts(Text("yes")));
  CHECK_FALSE(q.Accepts(v1::Value()));
}

TEST_CASE("form rules: integer bounds are inclusive and the refusal names the question") {
  OneQuestion q(v1::INTEGER, 0, 750);
  CHECK(q.Accepts(Int(0)));
  CHECK(q.Accepts(Int(750)));
  CHECK_FALSE(q.Accepts(Dec(3.0)));
  CHECK_FALSE(q.Accepts(Text("3")));
  Status below = q.Check(Int(-1));
  CHECK(below.code() == StatusCode::kInvalidArgument);
  CHECK(Contains(below.message(), "q1"));
  Status above = q.Check(Int(751));
  CHECK(Contains(above.message(), "q1"));
  CHECK(Contains(above.message(), "751"));

  OneQuestion unbounded(v1::INTEGER);
  CHECK(unbounded.Accepts(Int(std::numeric_limits<int64_t>::min())));
  CHECK(unbounded.Accepts(Int(std::numeric_limits<int64_t>::max())));
}

TEST_CASE("form rules: decimal bounds and non-finite numbers") {
  OneQuestion q(v1::DECIMAL, -1.5, 10.5);
  CHECK(q.Accepts(Dec(-1.5)));
  CHECK(q.Accepts(Dec(10.5)));
  CHECK(q.Accepts(Dec(0.25)));
  CHECK_FALSE(q.Accepts(Dec(10.500001)));
  CHECK_FALSE(q.Accepts(Dec(-1.6)));
  CHECK_FALSE(q.Accepts(Dec(std::nan(""))));
  CHECK_FALSE(q.Accepts(Dec(std::numeric_limits<double>::infinity())));
  CHECK_FALSE(q.Accepts(Text("1.0")));
  OneQuestion unbounded(v1::DECIMAL);
  CHECK_FALSE(unbounded.Accepts(Dec(-std::numeric_limits<double>::infinity())));
}

TEST_CASE("form rules: select-one takes one known option id") {
  OneQuestion q(v1::SELECT_ONE, std::nullopt, std::nullopt, {"good", "bad"});
  CHECK(q.Accepts(Text("good")));
  CHECK(q.Accepts(Text("bad")));
  Status unknown = q.Check(Text("ugly"));
  CHECK(unknown.code() == StatusCode::kInvalidArgument);
  CHECK(Contains(unknown.message(), "ugly"));
  CHECK_FALSE(q.Accepts(Text("")));
  CHECK_FALSE(q.Accepts(Text("Good")));
  CHECK_FALSE(q.Accepts(Choices({"good"})));
}

TEST_CASE("form rules: select-many refuses duplicate and unknown and too many choices") {
  OneQuestion q(v1::SELECT_MANY, 1, 2, {"a", "b", "c"});
  CHECK(q.Accepts(Choices({"a"})));
  CHECK(q.Accepts(Choices({"c", "a"})));
  Status twice = q.Check(Choices({"a", "a"}));
  CHECK(Contains(twice.message(), "'a'"));
  Status unknown = q.Check(Choices({"a", "zz"}));
  CHECK(Contains(unknown.message(), "'zz'"));
  CHECK_FALSE(q.Accepts(Choices({"a", "b", "c"})));
  CHECK_FALSE(q.Accepts(Choices({})));
  CHECK_FALSE(q.Accepts(Text("a")));

  OneQuestion unbounded(v1::SELECT_MANY, std::nullopt, std::nullopt, {"a", "b"});
  CHECK(unbounded.Accepts(Choices({})));
  CHECK(unbounded.Accepts(Choices({"a", "b"})));
}

TEST_CASE("form rules: text length counts characters not bytes") {
  // "សួស្តី" (hello) is 6 code points in 18 bytes.
  const std::string khmer =
      "\xe1\x9e\x9f\xe1\x9e\xbd\xe1\x9e\x9f\xe1\x9f\x92\xe1\x9e\x8f\xe1\x9e\xb8";
  REQUIRE(khmer.size() == 18);
  OneQuestion six(v1::TEXT, std::nullopt, 6);
  CHECK(six.Accepts(Text(khmer)));
  CHECK(six.Accepts(Text("abcdef")));
  CHECK_FALSE(six.Accepts(Text("abcdefg")));
  OneQuestion five(v1::TEXT, std::nullopt, 5);
  Status s = five.Check(Text(khmer));
  CHECK_FALSE(s.ok());
  CHECK(Contains(s.message(), "6"));
  // A 4-byte character (U+1F5F3, ballot box with ballot) counts once.
  OneQuestion one(v1::TEXT, std::nullopt, 1);
  CHECK(one.Accepts(Text("\xf0\x9f\x97\xb3")));
  CHECK_FALSE(one.Accepts(Text("\xf0\x9f\x97\xb3x")));

  OneQuestion at_least(v1::TEXT, 2, std::nullopt);
  CHECK_FALSE(at_least.Accepts(Text("a")));
  CHECK(at_least.Accepts(Text("ab")));
  CHECK_FALSE(at_least.Accepts(Int(12)));
}

TEST_CASE("form rules: text without max is capped at the default length") {
  OneQuestion q(v1::TEXT);
  CHECK(q.Accepts(Text(std::string(protocol::kDefaultMaxTextLength, 'a'))));
  CHECK_FALSE(q.Accepts(Text(std::string(protocol::kDefaultMaxTextLength + 1, 'a'))));
}

TEST_CASE("form rules: text that is not valid UTF-8 is refused") {
  OneQuestion q(v1::TEXT);
  for (const char* bad :
       {"\xff", "abc\xc3", "\xc3\x28", "\xe1\x9e", "\x80", "\xf8\x88\x80\x80\x80"}) {
    Status s = q.Check(Text(bad));
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(Contains(s.message(), "UTF-8"));
  }
}

// RFC 3629: overlong forms, UTF-16 surrogates and code points above U+10FFFF are not UTF-8,
// and protobuf refuses to parse a string field holding them, so a stored draft holding one
// could no longer be read.
TEST_CASE("form rules: overlong and surrogate and out-of-range UTF-8 is refused") {
  OneQuestion q(v1::TEXT);
  CHECK_FALSE(q.Accepts(Text("\xc0\xaf")));          // Overlong "/".
  CHECK_FALSE(q.Accepts(Text("\xe0\x80\xaf")));      // Overlong "/".
  CHECK_FALSE(q.Accepts(Text("\xed\xa0\x80")));      // U+D800, a surrogate.
  CHECK_FALSE(q.Accepts(Text("\xf4\x90\x80\x80")));  // U+110000.
}

TEST_CASE("form rules: time is HH:MM from 00:00 to 23:59") {
  OneQuestion q(v1::TIME);
  for (const char* ok : {"00:00", "07:05", "12:30", "23:59"})
    CHECK_MESSAGE(q.Accepts(Text(ok)), std::string(ok));
  for (const char* bad : {"24:00", "23:60", "9:30", "09:3", "09-30", "0930", "ab:cd", "", "09:30 ",
                          "-1:30", "09:30:00"}) {
    CHECK_FALSE_MESSAGE(q.Accepts(Text(bad)), std::string(bad));
  }
  CHECK_FALSE(q.Accepts(Int(930)));
}

TEST_CASE("form rules: date-time lies between 2000 and 2100") {
  OneQuestion q(v1::DATE_TIME);
  constexpr int64_t k2000 = 946684800000;   // 2000-01-01T00:00:00Z
  constexpr int64_t k2100 = 4102444800000;  // 2100-01-01T00:00:00Z
  CHECK(q.Accepts(Ms(k2000)));
  CHECK(q.Accepts(Ms(k2100)));
  CHECK(q.Accepts(Ms(1690070400000)));
  CHECK_FALSE(q.Accepts(Ms(k2000 - 1)));
  CHECK_FALSE(q.Accepts(Ms(k2100 + 1)));
  CHECK_FALSE(q.Accepts(Ms(0)));
  CHECK_FALSE(q.Accepts(Int(1690070400000)));
}

TEST_CASE("form rules: location latitude and longitude and accuracy ranges") {
  OneQuestion q(v1::LOCATION);
  CHECK(q.Accepts(Loc(11.56, 104.92, 8)));
  CHECK(q.Accepts(Loc(90, 180)));
  CHECK(q.Accepts(Loc(-90, -180)));
  CHECK_FALSE(q.Accepts(Loc(90.0001, 0)));
  CHECK_FALSE(q.Accepts(Loc(-90.0001, 0)));
  CHECK_FALSE(q.Accepts(Loc(0, 180.0001)));
  CHECK_FALSE(q.Accepts(Loc(0, -180.0001)));
  CHECK_FALSE(q.Accepts(Loc(0, 0, -1)));
  CHECK_FALSE(q.Accepts(Loc(std::nan(""), 0)));
  CHECK_FALSE(q.Accepts(Loc(0, std::nan(""))));
  CHECK_FALSE(q.Accepts(Text("11.5,104.9")));
}

TEST_CASE("form rules: photo reference is sha256 and 64 lower-case hex digits") {
  OneQuestion q(v1::PHOTO_REFERENCE);
  const std::string hex64(64, 'a');
  CHECK(q.Accepts(Text("sha256:" + hex64)));
  CHECK(q.Accepts(Text("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")));
  CHECK_FALSE(q.Accepts(Text("sha256:" + std::string(63, 'a'))));
  CHECK_FALSE(q.Accepts(Text("sha256:" + std::string(65, 'a'))));
  CHECK_FALSE(q.Accepts(Text("sha256:" + std::string(64, 'A'))));
  CHECK_FALSE(q.Accepts(Text("sha256:" + std::string(63, 'a') + "g")));
  CHECK_FALSE(q.Accepts(Text("md5:" + hex64)));
  CHECK_FALSE(q.Accepts(Text("/sdcard/DCIM/photo.jpg")));
}

// ---- relevance

TEST_CASE("form rules: a question applies only while its condition holds") {
  Form form = MustCompile(SmallChecklist());
  const v1::Question& why = *form.Find("q2_why_not");
  auto none = Answers({});
  CHECK_FALSE(form.IsRelevant(why, protocol::MapAnswers(none)));
  auto yes = Answers({{"q1_sealed", Bool(true)}});
  CHECK_FALSE(form.IsRelevant(why, protocol::MapAnswers(yes)));
  auto no = Answers({{"q1_sealed", Bool(false)}});
  CHECK(form.IsRelevant(why, protocol::MapAnswers(no)));
  CHECK(form.IsRelevant(*form.Find("q1_sealed"), protocol::MapAnswers(none)));
}

TEST_CASE("form rules: a question depending on an irrelevant question is irrelevant") {
  v1::FormDefinition def = NewForm("f");
  AddQuestion(def, "q1", v1::YES_NO);
  AddRelevance(AddQuestion(def, "q2", v1::INTEGER), "q1", v1::EQUALS, Bool(false));
  AddRelevance(AddQuestion(def, "q3", v1::TEXT), "q2", v1::ANSWERED);
  AddRelevance(AddQuestion(def, "q4", v1::TEXT), "q3", v1::ANSWERED);
  Form form = MustCompile(def);
  // q2 was answered while q1 was "no"; q1 then changed to "yes": q2's stale answer must not
  // make q3 (nor q4 behind it) apply.
  auto answers = Answers({{"q1", Bool(true)}, {"q2", Int(4)}, {"q3", Text("x")}});
  AnswerMap map = protocol::MapAnswers(answers);
  CHECK_FALSE(form.IsRelevant(*form.Find("q2"), map));
  CHECK_FALSE(form.IsRelevant(*form.Find("q3"), map));
  CHECK_FALSE(form.IsRelevant(*form.Find("q4"), map));
  auto live = Answers({{"q1", Bool(false)}, {"q2", Int(4)}, {"q3", Text("x")}});
  AnswerMap live_map = protocol::MapAnswers(live);
  CHECK(form.IsRelevant(*form.Find("q3"), live_map));
  CHECK(form.IsRelevant(*form.Find("q4"), live_map));
}

TEST_CASE("form rules: relevance over shared conditions takes linear time") {
  // Found by review while fuzzing (issue 6): each question depends on the two before it, so
  // evaluating relevance without remembering it took Fibonacci(n) steps: a form like this
  // with 90 questions stalled the device and syncd's writer forever.
  v1::FormDefinition def = NewForm("f");
  AddQuestion(def, "q0", v1::INTEGER);
  AddRelevance(AddQuestion(def, "q1", v1::INTEGER), "q0", v1::ANSWERED);
  google::protobuf::RepeatedPtrField<v1::Answer> answers;
  *answers.Add() = MakeAnswer("q0", Int(1));
  *answers.Add() = MakeAnswer("q1", Int(1));
  constexpr int kQuestions = 90;
  for (int i = 2; i < kQuestions; ++i) {
    std::string id = "q" + std::to_string(i);
    v1::Question& q = AddQuestion(def, id, v1::INTEGER, true);
    AddRelevance(q, "q" + std::to_string(i - 1), v1::ANSWERED);
    AddRelevance(q, "q" + std::to_string(i - 2), v1::ANSWERED);
    v1::Condition* critical = q.add_critical_when();
    critical->set_question_id(id);
    critical->set_op(v1::ANSWERED);
    *answers.Add() = MakeAnswer(id, Int(i));
  }
  Form form = MustCompile(def);
  AnswerMap map = protocol::MapAnswers(answers);
  const std::string last = "q" + std::to_string(kQuestions - 1);
  CHECK(form.IsRelevant(*form.Find(last), map));
  CHECK(form.CheckComplete(answers).ok());
  CHECK(form.RelevantAnswers(answers).size() == kQuestions);
  CHECK(form.CriticalAnswers(map).size() == kQuestions - 2);
  // A copy of a question is judged by its own conditions, not by the form's memo.
  v1::Question copy = *form.Find(last);
  CHECK(form.IsRelevant(copy, map));
}

TEST_CASE("form rules: every condition operator") {
  v1::FormDefinition def = NewForm("f");
  AddQuestion(def, "n", v1::INTEGER);
  AddQuestion(def, "d", v1::DECIMAL);
  AddOptions(AddQuestion(def, "one", v1::SELECT_ONE), {"x", "y"});
  AddOptions(AddQuestion(def, "many", v1::SELECT_MANY), {"a", "b", "c"});
  AddRelevance(AddQuestion(def, "eq", v1::TEXT), "one", v1::EQUALS, Text("x"));
  AddRelevance(AddQuestion(def, "ne", v1::TEXT), "one", v1::NOT_EQUALS, Text("x"));
  AddRelevance(AddQuestion(def, "gt", v1::TEXT), "n", v1::GREATER_THAN, Int(10));
  AddRelevance(AddQuestion(def, "lt", v1::TEXT), "d", v1::LESS_THAN, Dec(0.5));
  AddRelevance(AddQuestion(def, "has_b", v1::TEXT), "many", v1::CONTAINS, Text("b"));
  AddRelevance(AddQuestion(def, "set_ab", v1::TEXT), "many", v1::EQUALS, Choices({"a", "b"}));
  AddRelevance(AddQuestion(def, "answered", v1::TEXT), "n", v1::ANSWERED);
  auto& both = AddQuestion(def, "both", v1::TEXT);
  AddRelevance(both, "n", v1::GREATER_THAN, Int(10));
  AddRelevance(both, "one", v1::EQUALS, Text("y"));
  Form form = MustCompile(def);
  auto relevant = [&](const char* id, const google::protobuf::RepeatedPtrField<v1::Answer>& a) {
    return form.IsRelevant(*form.Find(id), protocol::MapAnswers(a));
  };

  auto empty = Answers({});
  for (const char* id : {"eq", "ne", "gt", "lt", "has_b", "set_ab", "answered", "both"}) {
    // Nothing answered: no condition holds, NOT_EQUALS included ("not answered" is not "no").
    CHECK_FALSE_MESSAGE(relevant(id, empty), std::string(id));
  }

  auto a1 = Answers(
      {{"n", Int(11)}, {"d", Dec(0.25)}, {"one", Text("x")}, {"many", Choices({"b", "a"})}});
  CHECK(relevant("eq", a1));
  CHECK_FALSE(relevant("ne", a1));
  CHECK(relevant("gt", a1));
  CHECK(relevant("lt", a1));
  CHECK(relevant("has_b", a1));
  CHECK(relevant("set_ab", a1));  // Sets compare regardless of order.
  CHECK(relevant("answered", a1));
  CHECK_FALSE(relevant("both", a1));  // Every condition must hold.

  auto a2 = Answers(
      {{"n", Int(10)}, {"d", Dec(0.5)}, {"one", Text("y")}, {"many", Choices({"a", "b", "c"})}});
  CHECK_FALSE(relevant("eq", a2));
  CHECK(relevant("ne", a2));
  CHECK_FALSE(relevant("gt", a2));  // 10 is not greater than 10.
  CHECK_FALSE(relevant("lt", a2));  // 0.5 is not less than 0.5.
  CHECK(relevant("has_b", a2));
  CHECK_FALSE(relevant("set_ab", a2));
  CHECK(relevant("answered", a2));
  CHECK_FALSE(relevant("both", a2));

  auto a3 = Answers({{"n", Int(0)}, {"one", Text("y")}, {"many", Choices({"c"})}});
  CHECK_FALSE(relevant("has_b", a3));
  CHECK(relevant("answered", a3));  // 0 is an answer.
  auto a4 = Answers({{"n", Int(50)}, {"one", Text("y")}});
  CHECK(relevant("both", a4));
}

// ---- required-when-relevant, irrelevant answers, finalize checks

TEST_CASE("form rules: a relevant required question without answer blocks completion by id") {
  Form form = MustCompile(SmallChecklist());
  Status s = form.CheckComplete(Answers({{"q1_sealed", Bool(false)}, {"q3_count", Int(3)}}));
  CHECK(s.code() == StatusCode::kFailedPrecondition);
  CHECK(Contains(s.message(), "q2_why_not"));

  Status first = form.CheckComplete(Answers({}));
  CHECK(Contains(first.message(), "q1_sealed"));
}

TEST_CASE("form rules: an irrelevant required question does not block completion") {
  Form form = MustCompile(SmallChecklist());
  CHECK(form.CheckComplete(Answers({{"q1_sealed", Bool(true)}, {"q3_count", Int(3)}})).ok());
}

TEST_CASE("form rules: completion refuses unknown and repeated and invalid answers") {
  Form form = MustCompile(SmallChecklist());
  Status unknown = form.CheckComplete(
      Answers({{"q1_sealed", Bool(true)}, {"q3_count", Int(3)}, {"q9_ghost", Int(1)}}));
  CHECK(unknown.code() == StatusCode::kInvalidArgument);
  CHECK(Contains(unknown.message(), "q9_ghost"));
  Status twice = form.CheckComplete(
      Answers({{"q1_sealed", Bool(true)}, {"q3_count", Int(3)}, {"q3_count", Int(4)}}));
  CHECK(Contains(twice.message(), "q3_count"));
  Status invalid = form.CheckComplete(Answers({{"q1_sealed", Bool(true)}, {"q3_count", Int(101)}}));
  CHECK(Contains(invalid.message(), "q3_count"));
}

TEST_CASE("form rules: relevant answers keep form order and drop irrelevant ones") {
  Form form = MustCompile(SmallChecklist());
  auto answers = Answers({{"q4_mood", Text("calm")},
                          {"q3_count", Int(3)},
                          {"q2_why_not", Text("stale")},
                          {"q1_sealed", Bool(true)}});
  auto kept = form.RelevantAnswers(answers);
  REQUIRE(kept.size() == 3);
  CHECK(kept[0].question_id() == "q1_sealed");
  CHECK(kept[1].question_id() == "q3_count");
  CHECK(kept[1].value().integer() == 3);
  CHECK(kept[2].question_id() == "q4_mood");
}

// ---- QA checks and critical answers

TEST_CASE("form rules: QA checks pass and fail and are skipped while unanswered") {
  v1::FormDefinition def = NewForm("f");
  for (const char* id : {"p1", "p2", "invalid", "box", "signed"}) {
    AddQuestion(def, id, v1::INTEGER);
  }
  AddQuestion(def, "ratio", v1::DECIMAL);
  AddQaCheck(def, "sum_eq", {QuestionTerm("p1"), QuestionTerm("p2"), QuestionTerm("invalid")},
             v1::EQUAL, {QuestionTerm("box")});
  AddQaCheck(def, "box_le_signed", {QuestionTerm("box")}, v1::LESS_OR_EQUAL,
             {QuestionTerm("signed")});
  AddQaCheck(def, "ratio_ge_half", {QuestionTerm("ratio")}, v1::GREATER_OR_EQUAL,
             {ConstantTerm(0.5)});
  Form form = MustCompile(def);
  auto failed = [&](const google::protobuf::RepeatedPtrField<v1::Answer>& a) {
    return form.FailedQaChecks(protocol::MapAnswers(a));
  };

  CHECK(failed(Answers({})).empty());
  // Only some terms answered: skipped, not failed.
  CHECK(failed(Answers({{"p1", Int(5)}, {"box", Int(100)}})).empty());

  auto good = Answers({{"p1", Int(40)},
                       {"p2", Int(50)},
                       {"invalid", Int(10)},
                       {"box", Int(100)},
                       {"signed", Int(100)},
                       {"ratio", Dec(0.5)}});
  CHECK(failed(good).empty());

  auto bad = Answers({{"p1", Int(40)},
                      {"p2", Int(50)},
                      {"invalid", Int(11)},
                      {"box", Int(100)},
                      {"signed", Int(99)},
                      {"ratio", Dec(0.49)}});
  std::vector<std::string> want = {"sum_eq", "box_le_signed", "ratio_ge_half"};
  CHECK(failed(bad) == want);
}

TEST_CASE("form rules: critical answers are the questions whose critical condition holds") {
  v1::FormDefinition def = NewForm("f");
  auto& allowed = AddQuestion(def, "allowed_in", v1::YES_NO);
  v1::Condition* c = allowed.add_critical_when();
  c->set_question_id("allowed_in");
  c->set_op(v1::EQUALS);
  *c->mutable_value() = Bool(false);
  auto& count = AddQuestion(def, "extra_ballots", v1::INTEGER);
  v1::Condition* c2 = count.add_critical_when();
  c2->set_question_id("extra_ballots");
  c2->set_op(v1::GREATER_THAN);
  *c2->mutable_value() = Int(0);
  Form form = MustCompile(def);

  auto fine = Answers({{"allowed_in", Bool(true)}, {"extra_ballots", Int(0)}});
  CHECK(form.CriticalAnswers(protocol::MapAnswers(fine)).empty());
  auto bad = Answers({{"allowed_in", Bool(false)}, {"extra_ballots", Int(3)}});
  std::vector<std::string> want = {"allowed_in", "extra_ballots"};
  CHECK(form.CriticalAnswers(protocol::MapAnswers(bad)) == want);
  CHECK(form.CriticalAnswers(protocol::MapAnswers(Answers({}))).empty());
}

}  // namespace
}  // namespace vigil::client::test
