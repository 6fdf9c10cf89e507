// What a device's signature does not prove (docs/protocol.md §8.5): every record is checked
// against its form and what the server knows of its sender, through the real Router and
// SQLite store; what fails is held in quarantine, never merged and never lost.
#include <doctest/doctest.h>

#include <filesystem>

#include "ingest/ingest_service.h"
#include "merge_util.h"
#include "records/record_checks.h"
#include "test_util.h"

namespace vigil::syncd {
namespace {

using testing::AsRecord;
using testing::CountForm;
using testing::CountSubmission;
using testing::ErrorOf;
using testing::Incident;
using testing::IncidentForm;
using testing::kStation;
using testing::TestDevice;
using testing::TestServer;

constexpr const char* kOther = "12-03-07-0453";    // A station not assigned to obs1.
constexpr const char* kUnknown = "99-99-99-9999";  // Not in the station list.

// Form "checks" v1: open (YES_NO, required, critical when no); why_closed (TEXT, at most 200
// characters, relevant when open = no); voters (INTEGER 0-750); role (SELECT_ONE a|b).
v1::FormDefinition ChecksForm() {
  v1::FormDefinition form;
  form.set_form_id("checks");
  form.set_version(1);
  form.set_kind(v1::CHECKLIST);
  (*form.mutable_title())["en"] = "Checks";
  v1::Question* open = form.add_questions();
  open->set_id("open");
  open->set_type(v1::YES_NO);
  open->set_required(true);
  (*open->mutable_label())["en"] = "Did the station open?";
  v1::Condition* critical = open->add_critical_when();
  critical->set_question_id("open");
  critical->set_op(v1::EQUALS);
  critical->mutable_value()->set_boolean(false);
  v1::Question* why = form.add_questions();
  why->set_id("why_closed");
  why->set_type(v1::TEXT);
  why->set_max(200);
  (*why->mutable_label())["en"] = "Why not?";
  v1::Condition* when = why->add_relevant_when();
  when->set_question_id("open");
  when->set_op(v1::EQUALS);
  when->mutable_value()->set_boolean(false);
  v1::Question* voters = form.add_questions();
  voters->set_id("voters");
  voters->set_type(v1::INTEGER);
  voters->set_min(0);
  voters->set_max(750);
  (*voters->mutable_label())["en"] = "Voters";
  v1::Question* role = form.add_questions();
  role->set_id("role");
  role->set_type(v1::SELECT_ONE);
  (*role->mutable_label())["en"] = "Role";
  for (const char* id : {"a", "b"}) role->add_options()->set_id(id);
  return form;
}

// A "checks" submission at `station` claiming `observer`, with `answers` set by `fill`.
template <typename Fill>
v1::Record Checks(const std::string& id, Fill fill, const std::string& station = kStation,
                  const std::string& observer = "obs1") {
  v1::Record record;
  v1::Submission* s = record.mutable_submission();
  s->set_submission_id(id);
  s->set_form_id("checks");
  s->set_form_version(1);
  s->set_station_code(station);
  s->set_observer_id(observer);
  s->set_finalized_at_ms(1700000000000);
  fill(*s);
  return record;
}

void Answer(v1::Submission& s, const std::string& question, const v1::Value& value) {
  v1::Answer* a = s.add_answers();
  a->set_question_id(question);
  *a->mutable_value() = value;
}

v1::Value Bool(bool b) {
  v1::Value v;
  v.set_boolean(b);
  return v;
}
v1::Value Int(int64_t i) {
  v1::Value v;
  v.set_integer(i);
  return v;
}
v1::Value Text(const std::string& t) {
  v1::Value v;
  v.set_text(t);
  return v;
}

void OpenedWith(v1::Submission& s) { Answer(s, "open", Bool(true)); }

// A server with the "checks", "count" and "incident" forms and a second station, kOther,
// that obs1 is not assigned to.
struct Fixture {
  Fixture() : Fixture(RouterOptions{}) {}
  explicit Fixture(RouterOptions options) : server(options) {
    v1::Station other;
    other.set_code(kOther);
    other.set_name("Pagoda");
    other.set_registered_voters(500);
    REQUIRE(server.store().ImportStations({other}).ok());
    REQUIRE(server.store().PublishForm(ChecksForm()).ok());
    REQUIRE(server.store().PublishForm(CountForm()).ok());
    REQUIRE(server.store().PublishForm(IncidentForm()).ok());
    device = server.Enroll();
  }

  // Pushes `records` in the device's next batch; the statuses (the batch must be accepted).
  v1::PushResponse Push(const std::vector<v1::Record>& records) {
    HttpResponse response = server.Post("/v1/push", device.NextBody(records));
    REQUIRE_MESSAGE(response.status == 200, ErrorOf(response).message());
    v1::PushResponse push;
    REQUIRE(push.ParseFromString(response.body));
    return push;
  }

  // The reason `record` is held for ("" when it was stored as OK).
  std::string HeldFor(const v1::Record& record) {
    v1::PushResponse push = Push({record});
    REQUIRE(push.statuses_size() == 1);
    if (push.statuses(0).outcome() == v1::RECORD_OK) return "";
    REQUIRE(push.statuses(0).outcome() == v1::RECORD_QUARANTINED);
    return push.statuses(0).reason();
  }

  v1::QuarantinePage Held() { return server.store().QuarantinePage(false, {}).value(); }

  TestServer server;
  TestDevice device;
};

TEST_CASE("quarantine: a record that passes every check is stored as OK and merged") {
  Fixture f;
  CHECK(f.HeldFor(Checks("ok-1", [](v1::Submission& s) {
    OpenedWith(s);
    Answer(s, "voters", Int(700));
    Answer(s, "role", Text("a"));
  })) == "");
  CHECK(f.Held().total() == 0);
  CHECK(f.server.store().StationDetail(kStation).value().masters_size() >= 1);
}

TEST_CASE("quarantine: each rule holds the record with its reason") {
  Fixture f;
  struct Case {
    const char* name;
    v1::Record record;
    const char* reason;  // A part of the reason the server must give.
  };
  std::vector<Case> cases = {
      {"another observer's claim", Checks("r-claim", OpenedWith, kStation, "obs2"),
       "record claims observer 'obs2' but the device is enrolled for 'obs1'"},
      {"an unassigned station", Checks("r-unassigned", OpenedWith, kOther),
       "is not assigned to observer obs1"},
      {"an unknown station", Checks("r-unknown", OpenedWith, kUnknown), "unknown station"},
      {"a question not in the form",
       Checks("r-noq",
              [](v1::Submission& s) {
                OpenedWith(s);
                Answer(s, "q99_invented", Int(1));
              }),
       "has no question 'q99_invented'"},
      {"a text over its limit",
       Checks("r-long",
              [](v1::Submission& s) {
                Answer(s, "open", Bool(false));
                Answer(s, "why_closed", Text(std::string(201, 'x')));
              }),
       "at most 200 allowed"},
      {"an answer to a question that is not relevant",
       Checks("r-irrelevant",
              [](v1::Submission& s) {
                OpenedWith(s);
                Answer(s, "why_closed", Text("no key"));
              }),
       "why_closed is answered but not relevant"},
      {"a required answer missing",
       Checks("r-required", [](v1::Submission& s) { Answer(s, "voters", Int(3)); }),
       "is required and has no answer"},
      {"a value over its bound",
       Checks("r-bound",
              [](v1::Submission& s) {
                OpenedWith(s);
                Answer(s, "voters", Int(751));
              }),
       "above the maximum 750"},
      {"an option the question does not have",
       Checks("r-option",
              [](v1::Submission& s) {
                OpenedWith(s);
                Answer(s, "role", Text("z"));
              }),
       "not one of its options"},
      {"a value of the wrong type",
       Checks("r-type", [](v1::Submission& s) { Answer(s, "open", Int(1)); }), "wants yes or no"},
      {"a question answered twice",
       Checks("r-twice",
              [](v1::Submission& s) {
                OpenedWith(s);
                OpenedWith(s);
              }),
       "answered twice"},
      {"a record id with a control character", Checks(std::string("r-\x01-id"), OpenedWith),
       "record id is not"},
      {"a checklist submission naming an incident form",
       [] {
         v1::Record r = Checks("r-kind", OpenedWith);
         r.mutable_submission()->set_form_id("incident");
         return r;
       }(),
       "a checklist submission names incident form incident"},
      {"an incident report naming a checklist form",
       [] {
         v1::IncidentReport i = Incident("r-kind2", "intimidation", 1700000000000);
         i.set_form_id("checks");
         return AsRecord(i);
       }(),
       "an incident report names checklist form checks"},
      {"an incident with a malformed photo reference",
       [] {
         v1::IncidentReport i = Incident("r-photo", "intimidation", 1700000000000);
         i.add_photo_refs("sha256:not-hex");
         return AsRecord(i);
       }(),
       "photo reference"},
      {"a location out of range",
       Checks("r-where",
              [](v1::Submission& s) {
                OpenedWith(s);
                s.mutable_location()->set_latitude(91);
              }),
       "location is out of range"},
  };
  uint32_t held = 0;
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const std::string reason = f.HeldFor(c.record);
    CHECK_MESSAGE(reason.find(c.reason) != std::string::npos, "reason: " << reason);
    ++held;
  }
  // Every one is kept (listed, with its enrolled and claimed observer), none merged.
  v1::QuarantinePage page = f.Held();
  CHECK(page.total() == held);
  bool saw_claim = false;
  for (const v1::QuarantinedRecord& r : page.records()) {
    CHECK(r.observer_id() == "obs1");
    CHECK(r.device_id() == f.device.device_id);
    if (r.record_id() == "r-claim") {
      saw_claim = true;
      CHECK(r.claimed_observer_id() == "obs2");
    }
  }
  CHECK(saw_claim);
  v1::ServerStats stats = f.server.store().Stats().value();
  CHECK(stats.records() == 0);
  CHECK(stats.submissions() == 0);
  CHECK(stats.quarantined() == held);
  CHECK(f.server.store().StationDetail(kStation).value().masters_size() == 0);
  CHECK(f.server.store().StationDetail(kStation).value().submissions_size() == 0);
  CHECK(f.server.store().Cases(v1::CASE_STATUS_UNSPECIFIED).value().cases_size() == 0);
  size_t exported = 0;
  REQUIRE(f.server.store().ForEachSubmission([&](const SubmissionRow&) { ++exported; }).ok());
  CHECK(exported == 0);
  v1::Overview overview = f.server.store().Overview(3'600'000).value();
  CHECK(overview.submissions() == 0);
  for (const auto& minute : overview.reports_per_minute()) CHECK(minute.submissions() == 0);
}

TEST_CASE("quarantine: merge and exports use the enrolled observer, never the record's claim") {
  Fixture f;
  // A record with no claim at all (made before enrollment) is the enrolled observer's.
  CHECK(f.HeldFor(Checks("unclaimed", OpenedWith, kStation, "")) == "");
  std::vector<std::string> observers;
  REQUIRE(f.server.store()
              .ForEachSubmission([&](const SubmissionRow& row) {
                observers.push_back(row.submission.observer_id());
              })
              .ok());
  REQUIRE(observers.size() == 1);
  CHECK(observers[0] == "obs1");
  v1::StationDetail detail = f.server.store().StationDetail(kStation).value();
  REQUIRE(detail.submissions_size() == 1);
  CHECK(detail.submissions(0).submission().observer_id() == "obs1");
}

TEST_CASE("quarantine: a held record sent again is answered as held, and its device is told") {
  Fixture f;
  v1::Record claim = Checks("again", OpenedWith, kOther);
  REQUIRE(f.HeldFor(claim) != "");
  v1::PushResponse again = f.Push({claim});
  CHECK(again.statuses(0).outcome() == v1::RECORD_QUARANTINED);
  CHECK(again.statuses(0).reason().find("not assigned") != std::string::npos);
  CHECK(f.Held().total() == 1);

  HttpResponse pull = f.server.Post("/v1/pull", f.device.PullBody(0, std::string(16, 'n')));
  REQUIRE(pull.status == 200);
  v1::PullResponse answer;
  REQUIRE(answer.ParseFromString(pull.body));
  REQUIRE(answer.held_records_size() == 1);
  CHECK(answer.held_records(0).record_id() == "again");
  CHECK(answer.held_records(0).reason().find("not assigned") != std::string::npos);
}

TEST_CASE("quarantine: release re-checks against today's assignments and merges exactly once") {
  Fixture f;
  v1::Record record = Checks(
      "moved",
      [](v1::Submission& s) {
        OpenedWith(s);
        Answer(s, "voters", Int(10));
      },
      kOther);
  REQUIRE(f.HeldFor(record).find("not assigned") != std::string::npos);
  SqlStore& store = f.server.store();

  CHECK(ReleaseQuarantine(store, "moved", "", "why").status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(ReleaseQuarantine(store, "nope", "ana", "why").status().code() == StatusCode::kNotFound);
  Result<v1::QuarantinedRecord> early = ReleaseQuarantine(store, "moved", "ana", "moved there");
  CHECK(early.status().code() == StatusCode::kFailedPrecondition);
  CHECK(early.status().message().find("still fails") != std::string::npos);
  CHECK(store.StationDetail(kOther).value().masters_size() == 0);

  REQUIRE(store.AssignStations("obs1", {kOther}, "ana").ok());
  Result<v1::QuarantinedRecord> released =
      ReleaseQuarantine(store, "moved", "ana", "obs1 was moved to the pagoda");
  REQUIRE(released.ok());
  CHECK(released->released_by() == "ana");
  CHECK(store.StationDetail(kOther).value().masters_size() == 1);
  CHECK(ReleaseQuarantine(store, "moved", "ana", "again").status().code() ==
        StatusCode::kFailedPrecondition);
  CHECK(f.Held().total() == 0);
  CHECK(store.QuarantinePage(true, {}).value().total() == 1);
  CHECK(store.Stats().value().submissions() == 1);

  // The same record pushed again is a duplicate, not a second report.
  v1::PushResponse again = f.Push({record});
  CHECK(again.statuses(0).outcome() == v1::RECORD_DUPLICATE);
  v1::StationDetail detail = store.StationDetail(kOther).value();
  REQUIRE(detail.masters_size() == 1);
  CHECK(detail.masters(0).contributors_size() == 1);
  CHECK(detail.submissions_size() == 1);

  bool audited = false;
  const v1::AuditLog audit = store.Audit().value();
  for (const v1::AuditEntry& e : audit.entries()) {
    if (e.action() == "quarantine.release" && e.target() == "moved" && e.actor() == "ana") {
      audited = true;
    }
  }
  CHECK(audited);
}

TEST_CASE("quarantine: critical answers become alerts with the station and the observer") {
  Fixture f;
  REQUIRE(f.HeldFor(Checks("closed", [](v1::Submission& s) {
    Answer(s, "open", Bool(false));
    Answer(s, "why_closed", Text("no staff"));
  })) == "");
  v1::AlertPage alerts = f.server.store().AlertPage("CRITICAL_ANSWER", {}).value();
  REQUIRE(alerts.alerts_size() == 1);
  const std::string& detail = alerts.alerts(0).detail();
  CHECK(detail.find(kStation) != std::string::npos);
  CHECK(detail.find("obs1") != std::string::npos);
  CHECK(detail.find("Did the station open? = no") != std::string::npos);
  CHECK(alerts.alerts(0).device_id() == f.device.device_id);
  // A held record raises no critical alert (it is not trusted), only its QUARANTINED one.
  REQUIRE(f.HeldFor(Checks(
              "closed-elsewhere", [](v1::Submission& s) { Answer(s, "open", Bool(false)); },
              kOther)) != "");
  CHECK(f.server.store().AlertPage("CRITICAL_ANSWER", {}).value().alerts_size() == 1);
  CHECK(f.server.store().AlertPage("QUARANTINED", {}).value().alerts_size() == 1);
}

TEST_CASE("quarantine: an 8 MB answer compressed into a small batch grows the store by little") {
  Fixture f;
  SqlStore& store = f.server.store();
  const protocol::Form count = protocol::Form::Compile(CountForm()).value();
  const size_t allowance = RecordAllowanceBytes(count);
  auto file_size = [&] {
    return std::filesystem::file_size(f.server.db_path()) +
           std::filesystem::file_size(f.server.db_path() + "-wal");
  };
  v1::Submission huge = CountSubmission("huge", 1700000000000, {{"ballots", 1}});
  v1::Answer* remarks = huge.add_answers();
  remarks->set_question_id("remarks");
  remarks->mutable_value()->set_text(std::string(8'000'000, 'a'));

  // Alone, the batch decodes to far more than one count record may take: refused, not stored.
  const auto before = file_size();
  HttpResponse alone = f.server.Post("/v1/push", f.device.NextBody({AsRecord(huge)}));
  CHECK(alone.status == 413);
  CHECK(ErrorOf(alone).code() == v1::TOO_LARGE);
  CHECK(ErrorOf(alone).message().find("allow at most") != std::string::npos);
  CHECK(file_size() - before < 64 * 1024);
  CHECK(store.Stats().value().batches() == 0);

  // Among 200 small records the batch is within its forms' allowance: the huge record is
  // held without its bytes (they stay only in the compressed batch), the others stored.
  f.device.next_seq = 1;
  f.device.last_hash = protocol::GenesisHash();
  std::vector<v1::Record> records = {AsRecord(huge)};
  for (int i = 0; i < 200; ++i) {
    records.push_back(AsRecord(
        CountSubmission("small-" + std::to_string(i), 1700000000000 + i, {{"ballots", i}})));
  }
  const auto middle = file_size();
  v1::PushResponse push = f.Push(records);
  CHECK(push.statuses(0).outcome() == v1::RECORD_QUARANTINED);
  CHECK(push.statuses(0).reason().find("kept only in its batch") != std::string::npos);
  for (int i = 1; i <= 200; ++i) CHECK(push.statuses(i).outcome() == v1::RECORD_OK);
  CHECK(file_size() - middle < allowance + 200 * 4096);
  CHECK(ReleaseQuarantine(store, "huge", "ana", "try").status().code() ==
        StatusCode::kFailedPrecondition);
}

TEST_CASE("quarantine: a device's decompressed bytes are budgeted per minute, with Retry-After") {
  RouterOptions options;
  options.device_bytes_per_minute = 64 * 1024;
  options.device_bytes_per_day = 1 << 20;
  Fixture f(options);
  v1::Submission big = CountSubmission("budget-1", 1700000000000, {{"ballots", 1}});
  v1::Answer* remarks = big.add_answers();
  remarks->set_question_id("remarks");
  remarks->mutable_value()->set_text(std::string(9000, 'b'));  // Within the form's 10,000.
  std::vector<v1::Record> records;
  for (int i = 0; i < 8; ++i) {
    big.set_submission_id("budget-" + std::to_string(i));
    records.push_back(AsRecord(big));
  }
  f.Push(records);  // ~72 KB decoded: spends the minute's budget (and more).
  HttpResponse over = f.server.Post("/v1/push", f.device.NextBody({records[0]}));
  CHECK(over.status == 429);
  v1::Error error = ErrorOf(over);
  CHECK(error.code() == v1::RATE_LIMITED);
  CHECK(error.retryable());
  CHECK(error.message().find("decompressed bytes per minute") != std::string::npos);
  bool retry_after = false;
  for (const auto& [name, value] : over.headers) retry_after |= name == "Retry-After";
  CHECK(retry_after);
}

TEST_CASE("quarantine: the allowance of a form bounds every record that passes its rules") {
  const protocol::Form count = protocol::Form::Compile(CountForm()).value();
  v1::Submission full = CountSubmission(std::string(64, 'i'), 1700000000000,
                                        {{"ballots", INT64_MAX},
                                         {"votes_a", INT64_MIN},
                                         {"votes_b", INT64_MAX},
                                         {"invalid", INT64_MAX},
                                         {"signed_in", INT64_MAX}},
                                        std::string(64, 's'));
  full.set_observer_id(std::string(64, 'o'));
  v1::Answer* remarks = full.add_answers();
  remarks->set_question_id("remarks");
  std::string longest;
  for (size_t i = 0; i < protocol::kDefaultMaxTextLength; ++i) longest += "\xF0\x9F\x98\x80";
  remarks->mutable_value()->set_text(longest);  // 10,000 four-byte code points.
  full.mutable_location()->set_latitude(-89.999999);
  full.mutable_location()->set_longitude(179.999999);
  full.mutable_location()->set_accuracy_m(1e300);
  full.set_started_at_ms(INT64_MIN);
  full.set_finalized_at_ms(INT64_MIN);
  REQUIRE(count.CheckComplete(full.answers()).ok());
  CHECK(AsRecord(full).ByteSizeLong() <= RecordAllowanceBytes(count));
}

}  // namespace
}  // namespace vigil::syncd
