// Drafts, finalization, form versions and incident reports through the public Client API
// (client-core/src/drafts.cc, client.cc).
#include <doctest/doctest.h>
#include <google/protobuf/util/message_differencer.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "client_test_support.h"
#include "vigil/client/client.h"

namespace vigil::client::test {
namespace {

constexpr char kStation[] = "12-03-07-0452";

struct Fixture {
  Fixture() : client(InitClient(dir / "home")) {
    REQUIRE(client->ImportForm(SmallChecklist()).ok());
    REQUIRE(client->ImportForm(SmallIncidentForm()).ok());
  }
  std::string Start(const std::string& form = "small", uint32_t version = 0) {
    auto id = client->StartDraft(form, kStation, version);
    REQUIRE_MESSAGE(id.ok(), id.status().ToString());
    return *id;
  }
  void Set(const std::string& draft, const std::string& q, const v1::Value& v) {
    Status s = client->SetAnswer(draft, q, v);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
  }
  StoredRecord Get(const std::string& id) {
    auto r = client->GetRecord(id);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    return *r;
  }
  TempDir dir;
  std::unique_ptr<Client> client;
};

std::vector<std::string> AnswerIds(const v1::Submission& s) {
  std::vector<std::string> ids;
  for (const auto& a : s.answers()) ids.push_back(a.question_id());
  return ids;
}

TEST_CASE("drafts: a draft names its form version and station and keeps its answers") {
  Fixture f;
  std::string id = f.Start();
  f.Set(id, "q1_sealed", Bool(true));
  f.Set(id, "q3_count", Int(42));
  f.Set(id, "q3_count", Int(43));  // Answering again replaces the answer.
  StoredRecord r = f.Get(id);
  CHECK(r.state == 0);
  REQUIRE(r.record.has_submission());
  const v1::Submission& s = r.record.submission();
  CHECK(s.submission_id() == id);
  CHECK(s.form_id() == "small");
  CHECK(s.form_version() == 1);
  CHECK(s.station_code() == kStation);
  REQUIRE(s.answers_size() == 2);
  CHECK(s.answers(1).value().integer() == 43);
  auto drafts = f.client->ListDrafts();
  REQUIRE(drafts.ok());
  CHECK(*drafts == std::vector<std::string>{id});
}

TEST_CASE("drafts: starting a draft refuses unknown forms and incident forms and bad stations") {
  Fixture f;
  CHECK(f.client->StartDraft("ghost", kStation).status().code() == StatusCode::kNotFound);
  CHECK(f.client->StartDraft("small", kStation, 7).status().code() == StatusCode::kNotFound);
  CHECK(f.client->StartDraft("incident", kStation).status().code() == StatusCode::kInvalidArgument);
  CHECK(f.client->StartDraft("small", "").status().code() == StatusCode::kInvalidArgument);
  CHECK(f.client->StartDraft("small", std::string(65, '1')).status().code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("drafts: a station code that is not valid UTF-8 is refused") {
  Fixture f;
  auto id = f.client->StartDraft("small", "12-03\xff-0452");
  CHECK(id.status().code() == StatusCode::kInvalidArgument);
  if (id.ok()) {
    // Accepted: then it must at least still be readable.
    auto r = f.client->GetRecord(*id);
    CHECK_MESSAGE(r.ok(), r.status().ToString());
  }
}

TEST_CASE("drafts: an invalid answer is refused and nothing is stored") {
  Fixture f;
  std::string id = f.Start();
  Status s = f.client->SetAnswer(id, "q3_count", Int(101));
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(Contains(s.message(), "q3_count"));
  CHECK(f.client->SetAnswer(id, "q3_count", Text("12")).code() == StatusCode::kInvalidArgument);
  Status unknown = f.client->SetAnswer(id, "q99_ghost", Int(1));
  CHECK(unknown.code() == StatusCode::kInvalidArgument);
  CHECK(Contains(unknown.message(), "q99_ghost"));
  CHECK(f.Get(id).record.submission().answers_size() == 0);
}

TEST_CASE("drafts: answering a question that does not apply is refused naming its condition") {
  Fixture f;
  std::string id = f.Start();
  Status before = f.client->SetAnswer(id, "q2_why_not", Text("why"));
  CHECK(before.code() == StatusCode::kFailedPrecondition);
  CHECK(Contains(before.message(), "q1_sealed"));
  f.Set(id, "q1_sealed", Bool(true));
  CHECK(f.client->SetAnswer(id, "q2_why_not", Text("why")).code() ==
        StatusCode::kFailedPrecondition);
  f.Set(id, "q1_sealed", Bool(false));
  CHECK(f.client->SetAnswer(id, "q2_why_not", Text("why")).ok());
}

TEST_CASE("drafts: several answers set at once apply in order as one write") {
  Fixture f;
  std::string id = f.Start();
  // q2 applies only because q1 = no comes first in the same call.
  Status s = f.client->SetAnswers(
      id, {{"q1_sealed", Bool(false)}, {"q2_why_not", Text("torn")}, {"q3_count", Int(5)}});
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  CHECK(AnswerIds(f.Get(id).record.submission()) ==
        std::vector<std::string>{"q1_sealed", "q2_why_not", "q3_count"});
}

TEST_CASE("drafts: several answers at once skip what does not apply only when asked") {
  Fixture f;
  std::string id = f.Start();
  const std::vector<std::pair<std::string, v1::Value>> answers = {
      {"q1_sealed", Bool(true)}, {"q2_why_not", Text("n/a")}, {"q3_count", Int(5)}};
  Status strict = f.client->SetAnswers(id, answers);
  CHECK(strict.code() == StatusCode::kFailedPrecondition);
  CHECK(Contains(strict.message(), "q2_why_not"));
  CHECK(f.Get(id).record.submission().answers_size() == 0);  // All or nothing.

  REQUIRE(f.client->SetAnswers(id, answers, /*skip_inapplicable=*/true).ok());
  CHECK(AnswerIds(f.Get(id).record.submission()) ==
        std::vector<std::string>{"q1_sealed", "q3_count"});

  std::string other = f.Start();
  Status invalid = f.client->SetAnswers(other, {{"q1_sealed", Bool(true)}, {"q3_count", Int(500)}},
                                        /*skip_inapplicable=*/true);
  CHECK(invalid.code() == StatusCode::kInvalidArgument);
  CHECK(Contains(invalid.message(), "q3_count"));
  CHECK(f.Get(other).record.submission().answers_size() == 0);
}

TEST_CASE("drafts: finalize refuses while a relevant required question is empty and names it") {
  Fixture f;
  std::string id = f.Start();
  f.Set(id, "q1_sealed", Bool(false));
  f.Set(id, "q3_count", Int(3));
  auto r = f.client->Finalize(id);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kFailedPrecondition);
  CHECK(Contains(r.status().message(), "q2_why_not"));
  CHECK(f.Get(id).state == 0);  // Still a draft, answers kept.
  CHECK(f.Get(id).record.submission().answers_size() == 2);
  f.Set(id, "q2_why_not", Text("the seal was broken"));
  auto ok = f.client->Finalize(id);
  REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  CHECK(*ok == id);
  CHECK(f.Get(id).state == 1);
}

TEST_CASE("drafts: an irrelevant required question does not block finalize") {
  Fixture f;
  std::string id = f.Start();
  f.Set(id, "q1_sealed", Bool(true));
  f.Set(id, "q3_count", Int(3));
  CHECK(f.client->Finalize(id).ok());
}

TEST_CASE("drafts: finalize drops answers that no longer apply and keeps form order") {
  Fixture f;
  std::string id = f.Start();
  f.Set(id, "q4_mood", Text("tense"));
  f.Set(id, "q3_count", Int(9));
  f.Set(id, "q1_sealed", Bool(false));
  f.Set(id, "q2_why_not", Text("stale reason"));
  f.Set(id, "q1_sealed", Bool(true));  // q2 no longer applies.
  REQUIRE(f.client->Finalize(id).ok());
  StoredRecord r = f.Get(id);
  CHECK(AnswerIds(r.record.submission()) ==
        std::vector<std::string>{"q1_sealed", "q3_count", "q4_mood"});
  CHECK(r.record.submission().finalized_at_ms() >= r.record.submission().started_at_ms());
}

TEST_CASE("drafts: clearing a required answer blocks finalize again") {
  Fixture f;
  std::string id = f.Start();
  f.Set(id, "q1_sealed", Bool(true));
  f.Set(id, "q3_count", Int(3));
  REQUIRE(f.client->ClearAnswer(id, "q3_count").ok());
  auto r = f.client->Finalize(id);
  REQUIRE_FALSE(r.ok());
  CHECK(Contains(r.status().message(), "q3_count"));
}

TEST_CASE("drafts: a finalized record cannot change or be discarded or finalized twice") {
  Fixture f;
  std::string id = f.Start();
  f.Set(id, "q1_sealed", Bool(true));
  f.Set(id, "q3_count", Int(3));
  REQUIRE(f.client->Finalize(id).ok());
  CHECK(f.client->SetAnswer(id, "q3_count", Int(4)).code() == StatusCode::kFailedPrecondition);
  CHECK(f.client->ClearAnswer(id, "q3_count").code() == StatusCode::kFailedPrecondition);
  CHECK_FALSE(f.client->Finalize(id).ok());
  CHECK(f.client->DiscardDraft(id).code() == StatusCode::kNotFound);
  StoredRecord r = f.Get(id);
  CHECK(r.state == 1);
  CHECK(r.record.submission().answers(1).value().integer() == 3);
  auto status = f.client->GetStatus();
  REQUIRE(status.ok());
  CHECK(status->drafts == 0);
  CHECK(status->outbox == 1);
}

TEST_CASE("drafts: open drafts are listed oldest first even within one millisecond") {
  Fixture f;
  std::vector<std::string> started;
  started.reserve(10);
  for (int i = 0; i < 10; ++i) started.push_back(f.Start());
  auto drafts = f.client->ListDrafts();
  REQUIRE(drafts.ok());
  CHECK(*drafts == started);
  // Drafts started within the same millisecond (the device clock's resolution) keep the
  // order they were started in; simulate it by giving them all one start time.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2((f.dir / "home/vigil.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) ==
          SQLITE_OK);
  int rc =
      sqlite3_exec(db, "UPDATE records SET created_at = 1690070400000", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
  auto same_ms = f.client->ListDrafts();
  REQUIRE(same_ms.ok());
  CHECK(*same_ms == started);
}

TEST_CASE("drafts: discarding a draft removes it") {
  Fixture f;
  std::string keep = f.Start();
  std::string drop = f.Start();
  REQUIRE(f.client->DiscardDraft(drop).ok());
  CHECK(f.client->GetRecord(drop).status().code() == StatusCode::kNotFound);
  CHECK(f.client->DiscardDraft(drop).code() == StatusCode::kNotFound);
  auto drafts = f.client->ListDrafts();
  REQUIRE(drafts.ok());
  CHECK(*drafts == std::vector<std::string>{keep});
}

// Protobuf refuses to parse a string field that is not valid UTF-8 (RFC 3629), so an answer
// that passes CheckAnswer but is not strictly valid must not be able to spoil the draft.
TEST_CASE("drafts: an overlong UTF-8 text answer is refused and the draft stays readable") {
  Fixture f;
  std::string id = f.Start();
  f.Set(id, "q1_sealed", Bool(false));
  Status s = f.client->SetAnswer(id, "q2_why_not", Text("seal \xc0\xaf broken"));
  CHECK(s.code() == StatusCode::kInvalidArgument);
  auto r = f.client->GetRecord(id);
  CHECK_MESSAGE(r.ok(), r.status().ToString());
}

// ---- form versions

v1::FormDefinition SmallV2() {
  v1::FormDefinition v2 = SmallChecklist("small", 2);
  AddQuestion(v2, "q5_new_in_v2", v1::YES_NO, true);
  return v2;
}

TEST_CASE("drafts: a new draft takes the newest form version") {
  Fixture f;
  REQUIRE(f.client->ImportForm(SmallV2()).ok());
  std::string id = f.Start();
  CHECK(f.Get(id).record.submission().form_version() == 2);
  f.Set(id, "q1_sealed", Bool(true));
  f.Set(id, "q3_count", Int(1));
  auto r = f.client->Finalize(id);
  REQUIRE_FALSE(r.ok());
  CHECK(Contains(r.status().message(), "q5_new_in_v2"));
  auto form = f.client->GetForm("small");
  REQUIRE(form.ok());
  CHECK(form->definition().version() == 2);
  auto v1_form = f.client->GetForm("small", 1);
  REQUIRE(v1_form.ok());
  CHECK(v1_form->definition().version() == 1);
}

TEST_CASE("drafts: a draft on version 1 still finalizes against version 1") {
  Fixture f;
  std::string old_draft = f.Start();
  f.Set(old_draft, "q1_sealed", Bool(true));
  REQUIRE(f.client->ImportForm(SmallV2()).ok());
  f.Set(old_draft, "q3_count", Int(5));
  // q5 exists only in v2: the v1 draft neither needs it nor accepts it.
  CHECK(f.client->SetAnswer(old_draft, "q5_new_in_v2", Bool(true)).code() ==
        StatusCode::kInvalidArgument);
  auto r = f.client->Finalize(old_draft);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(f.Get(old_draft).record.submission().form_version() == 1);
  std::string explicit_v1 = f.Start("small", 1);
  CHECK(f.Get(explicit_v1).record.submission().form_version() == 1);
}

TEST_CASE("drafts: re-importing the same form is a no-op and other content is refused") {
  Fixture f;
  REQUIRE(f.client->ImportForm(SmallV2()).ok());
  CHECK(f.client->ImportForm(SmallChecklist()).ok());
  CHECK(f.client->ImportForm(SmallV2()).ok());
  auto forms = f.client->ListForms();
  REQUIRE(forms.ok());
  int small_versions = 0;
  for (const auto& s : *forms) small_versions += s.form_id == "small" ? 1 : 0;
  CHECK(small_versions == 2);

  v1::FormDefinition changed = SmallChecklist();
  (*changed.mutable_questions(0)->mutable_label())["en"] = "Another wording";
  Status s = f.client->ImportForm(changed);
  CHECK(s.code() == StatusCode::kAlreadyExists);
  CHECK(Contains(s.message(), "small"));
  // The stored version 1 is unchanged.
  auto v1_form = f.client->GetForm("small", 1);
  REQUIRE(v1_form.ok());
  CHECK(v1_form->definition().SerializeAsString() == SmallChecklist().SerializeAsString());
}

// Labels are protobuf maps, whose iteration order (and so serialization order) may differ
// between two equal messages: "same content" must not depend on it.
TEST_CASE("drafts: re-importing the same bilingual form is always a no-op") {
  Fixture f;
  v1::FormDefinition def = SmallChecklist("bilingual");
  const char* langs[] = {"en", "km", "fr", "th", "vi", "lo"};
  for (int i = 0; i < def.questions_size(); ++i) {
    for (const char* lang : langs) {
      (*def.mutable_questions(i)->mutable_label())[lang] = std::string(lang) + " label";
    }
  }
  for (const char* lang : langs) (*def.mutable_title())[lang] = std::string(lang) + " title";
  REQUIRE(f.client->ImportForm(def).ok());
  for (int round = 0; round < 20; ++round) {
    // The same content, with the maps filled in another order.
    v1::FormDefinition again = def;
    for (int i = 0; i < again.questions_size(); ++i) {
      auto* labels = again.mutable_questions(i)->mutable_label();
      labels->clear();
      for (int k = 5; k >= 0; --k)
        (*labels)[langs[(k + round) % 6]] = std::string(langs[(k + round) % 6]) + " label";
    }
    REQUIRE(google::protobuf::util::MessageDifferencer::Equals(def, again));
    Status s = f.client->ImportForm(again);
    CHECK_MESSAGE(s.ok(), "round " << round << ": " << s.ToString());
  }
}

TEST_CASE("drafts: re-importing a sample form file is a no-op") {
  Fixture f;
  const std::string json = ReadBytes(std::filesystem::path(VIGIL_FORMS_DIR) / "closing.json");
  REQUIRE_FALSE(json.empty());
  REQUIRE(f.client->ImportFormJson(json).ok());
  for (int round = 0; round < 5; ++round) {
    Status s = f.client->ImportFormJson(json);
    CHECK_MESSAGE(s.ok(), "round " << round << ": " << s.ToString());
  }
}

TEST_CASE("drafts: a form that does not compile is not imported") {
  Fixture f;
  v1::FormDefinition bad = SmallChecklist("broken");
  bad.mutable_questions(2)->set_min(200);  // min above max
  CHECK(f.client->ImportForm(bad).code() == StatusCode::kInvalidArgument);
  CHECK(f.client->GetForm("broken").status().code() == StatusCode::kNotFound);
  CHECK(f.client->ImportFormJson("{\"formId\": \"x\", \"bogusField\": 1}").code() ==
        StatusCode::kInvalidArgument);
  CHECK(f.client->ImportFormJson("not json").code() == StatusCode::kInvalidArgument);
}

// ---- incidents

IncidentInput Incident(std::string narrative = "Men in uniform stood at the door.") {
  IncidentInput in;
  in.station_code = kStation;
  in.category = "intimidation";
  in.severity = "high";
  in.narrative = std::move(narrative);
  in.occurred_at_ms = 1690092000000;
  in.people_affected = 12;
  in.reported_to_authority = false;
  return in;
}

TEST_CASE("drafts: an incident report goes straight to the outbox with its answers") {
  Fixture f;
  auto id = f.client->ReportIncident(Incident());
  REQUIRE_MESSAGE(id.ok(), id.status().ToString());
  StoredRecord r = f.Get(*id);
  CHECK(r.state == 1);
  REQUIRE(r.record.has_incident());
  const v1::IncidentReport& inc = r.record.incident();
  CHECK(inc.incident_id() == *id);
  CHECK(inc.parent_id().empty());
  CHECK(inc.form_id() == "incident");
  CHECK(inc.category() == "intimidation");
  CHECK(inc.severity() == "high");
  CHECK(inc.station_code() == kStation);
  CHECK(inc.occurred_at_ms() == 1690092000000);
  CHECK(inc.narrative() == "Men in uniform stood at the door.");
  protocol::AnswerMap answers = protocol::MapAnswers(inc.answers());
  REQUIRE(answers.count("people_affected") == 1);
  CHECK(answers.at("people_affected")->integer() == 12);
  REQUIRE(answers.count("reported_to_authority") == 1);
  CHECK_FALSE(answers.at("reported_to_authority")->boolean());
}

TEST_CASE("drafts: a follow-up names its parent incident") {
  Fixture f;
  auto first = f.client->ReportIncident(Incident());
  REQUIRE(first.ok());
  IncidentInput follow = Incident("They left at 09:10.");
  follow.parent_id = *first;
  auto second = f.client->ReportIncident(follow);
  REQUIRE_MESSAGE(second.ok(), second.status().ToString());
  CHECK(*second != *first);
  CHECK(f.Get(*second).record.incident().parent_id() == *first);

  IncidentInput orphan = Incident();
  orphan.parent_id = "00000000-0000-4000-8000-000000000000";
  CHECK(f.client->ReportIncident(orphan).status().code() == StatusCode::kNotFound);
  std::string draft = f.Start();
  orphan.parent_id = draft;  // A checklist is not an incident.
  CHECK(f.client->ReportIncident(orphan).status().code() == StatusCode::kNotFound);
}

TEST_CASE("drafts: an incident with an unknown category or no narrative is refused") {
  Fixture f;
  IncidentInput bad = Incident();
  bad.category = "alien_landing";
  Status s = f.client->ReportIncident(bad).status();
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(Contains(s.message(), "alien_landing"));
  IncidentInput silent = Incident("");
  Status missing = f.client->ReportIncident(silent).status();
  CHECK(missing.code() == StatusCode::kFailedPrecondition);
  CHECK(Contains(missing.message(), "narrative"));
  auto status = f.client->GetStatus();
  REQUIRE(status.ok());
  CHECK(status->outbox == 0);
}

}  // namespace
}  // namespace vigil::client::test
