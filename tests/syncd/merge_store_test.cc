// Merge through the store (syncd/src/store/sqlite_merge_*.cc), records arriving by
// POST /v1/push: conflicts and their resolution, overrides and the audit log, the case
// workflow and what a device pulls, merged cases keeping their status, coverage roll-ups on
// a small synthetic country, silent observers, and order independence end to end.
#include <doctest/doctest.h>

#include <map>

#include "merge_util.h"

namespace vigil::syncd {
namespace {

using testing::AsRecord;
using testing::CountSubmission;
using testing::Incident;
using testing::kStation;
using testing::TestDevice;
using testing::TestServer;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kT0 = 1'690'000'000'000;

// A TestServer with forms count and incident, observers obs2 and obs3 at kStation, and
// devices whose keys come from fixed seeds (the same device ids in every fixture).
class MergeServer {
 public:
  // `store_options.validate = false` tests merge's rules on records that ingest's checks
  // (docs/protocol.md §8.5) would hold, e.g. a partial checklist.
  explicit MergeServer(SqlStoreOptions store_options = {}) : server({}, store_options) {
    REQUIRE(server.store().PublishForm(testing::CountForm()).ok());
    REQUIRE(server.store().PublishForm(testing::IncidentForm()).ok());
    REQUIRE(server.store().AddObserver("obs2", "Dara", "", {kStation}).ok());
    REQUIRE(server.store().AddObserver("obs3", "Vanna", "", {kStation}).ok());
  }

  // Enrolls the device of `observer` (its key seeded by `seed_char`).
  TestDevice Enroll(const std::string& observer, char seed_char) {
    return server.EnrollAs(observer, seed_char);
  }

  void Push(TestDevice& device, const std::vector<v1::Record>& records) {
    HttpResponse response = server.Post("/v1/push", device.NextBody(records));
    REQUIRE(response.status == 200);
    v1::PushResponse push;
    REQUIRE(push.ParseFromString(response.body));
    for (const v1::RecordStatus& s : push.statuses()) REQUIRE(s.outcome() != v1::RECORD_REJECTED);
  }

  v1::MasterRecord Master(const std::string& station = kStation,
                          const std::string& form = "count") {
    v1::MasterRecord found;
    REQUIRE(server.store()
                .ForEachMaster([&](const v1::MasterRecord& m) {
                  if (m.station_code() == station && m.form_id() == form) found = m;
                })
                .ok());
    return found;
  }

  TestServer server;
};

const v1::Answer* AnswerOf(const v1::MasterRecord& m, const std::string& q) {
  for (const v1::Answer& a : m.answers()) {
    if (a.question_id() == q) return &a;
  }
  return nullptr;
}

TEST_CASE("merge store: two observers conflict and a newer submission resolves it") {
  MergeServer s;
  TestDevice d1 = s.Enroll("obs1", 'a');
  TestDevice d2 = s.Enroll("obs2", 'b');
  s.Push(d1, {AsRecord(CountSubmission("s1", 10, {{"ballots", 300}, {"votes_a", 120}}))});
  CHECK(s.Master().status() == v1::COVERAGE_COMPLETE);
  s.Push(d2, {AsRecord(CountSubmission("s2", 11, {{"ballots", 300}, {"votes_a", 150}}))});
  v1::MasterRecord m = s.Master();
  CHECK(m.status() == v1::COVERAGE_CONFLICT);
  CHECK(AnswerOf(m, "votes_a") == nullptr);
  v1::ConflictList conflicts = s.server.store().Conflicts().value();
  REQUIRE(conflicts.conflicts_size() == 1);
  CHECK(conflicts.conflicts(0).question_id() == "votes_a");
  REQUIRE(conflicts.conflicts(0).values_size() == 2);
  CHECK(conflicts.conflicts(0).values(0).observer_id() == "obs1");
  CHECK(conflicts.conflicts(0).values(0).device_id() == d1.device_id);
  CHECK(conflicts.conflicts(0).values(1).submission_id() == "s2");
  // An older submission of obs2 arriving late changes nothing.
  s.Push(d2, {AsRecord(CountSubmission("s0", 5, {{"ballots", 300}, {"votes_a", 120}}))});
  CHECK(s.Master().status() == v1::COVERAGE_CONFLICT);
  // A newer one that agrees resolves the conflict.
  s.Push(d2, {AsRecord(CountSubmission("s3", 12, {{"ballots", 300}, {"votes_a", 120}}))});
  m = s.Master();
  CHECK(m.status() == v1::COVERAGE_COMPLETE);
  CHECK(AnswerOf(m, "votes_a")->value().integer() == 120);
  CHECK(s.server.store().Conflicts().value().conflicts_size() == 0);
}

TEST_CASE("merge store: an override wins over later submissions and is audited") {
  MergeServer s;
  TestDevice d1 = s.Enroll("obs1", 'a');
  TestDevice d2 = s.Enroll("obs2", 'b');
  s.Push(d1, {AsRecord(CountSubmission("s1", 10, {{"ballots", 300}}))});
  s.Push(d2, {AsRecord(CountSubmission("s2", 10, {{"ballots", 310}}))});
  CHECK(s.Master().status() == v1::COVERAGE_CONFLICT);

  OverrideRequest request{kStation, "count", "ballots", "305", "Dara", "tally sheet photo"};
  Result<v1::MasterRecord> m = s.server.store().SetOverride(request);
  REQUIRE(m.ok());
  CHECK(m->status() == v1::COVERAGE_COMPLETE);
  CHECK(AnswerOf(*m, "ballots")->value().integer() == 305);
  CHECK(s.server.store().Conflicts().value().conflicts_size() == 0);
  // A later submission does not beat it.
  s.Push(d1, {AsRecord(CountSubmission("s3", 20, {{"ballots", 999}}))});
  CHECK(AnswerOf(s.Master(), "ballots")->value().integer() == 305);

  // Refusals: bad value, unknown question, no reason.
  OverrideRequest bad = request;
  bad.value_text = "three hundred";
  CHECK(s.server.store().SetOverride(bad).status().code() == StatusCode::kInvalidArgument);
  bad = request;
  bad.question_id = "nope";
  CHECK(s.server.store().SetOverride(bad).status().code() == StatusCode::kNotFound);
  bad = request;
  bad.reason = "";
  CHECK(s.server.store().SetOverride(bad).status().code() == StatusCode::kInvalidArgument);

  OverrideRequest removal{kStation, "count", "ballots", std::nullopt, "Sokha", "wrong sheet"};
  REQUIRE(s.server.store().SetOverride(removal).ok());
  CHECK(s.Master().status() == v1::COVERAGE_CONFLICT);  // 999 against 310.
  CHECK(s.server.store().SetOverride(removal).status().code() == StatusCode::kNotFound);

  v1::AuditLog log = s.server.store().Audit().value();
  REQUIRE(log.entries_size() == 2);
  CHECK(log.entries(0).action() == "override.set");
  CHECK(log.entries(0).actor() == "Dara");
  CHECK(log.entries(0).target() == std::string(kStation) + "/count/ballots");
  CHECK(log.entries(0).after() == "305");
  CHECK(log.entries(0).reason() == "tally sheet photo");
  CHECK(log.entries(0).at_ms() > 0);
  CHECK(log.entries(1).action() == "override.remove");
  CHECK(log.entries(1).before() == "305");
  CHECK(log.entries(1).actor() == "Sokha");
}

TEST_CASE("merge store: QA flags are kept for submissions and masters") {
  MergeServer s;
  TestDevice d1 = s.Enroll("obs1", 'a');
  s.Push(d1, {AsRecord(CountSubmission(
                 "s1", 10, {{"ballots", 300}, {"votes_a", 1}, {"votes_b", 1}, {"invalid", 1}}))});
  v1::MasterRecord m = s.Master();
  REQUIRE(m.qa_flags_size() == 1);
  CHECK(m.qa_flags(0).check_id() == "votes_add_up");
  CHECK(m.status() == v1::COVERAGE_COMPLETE);  // A flag, not a rejection.
}

TEST_CASE("merge store: case status workflow with refusals and the device's pull") {
  MergeServer s;
  TestDevice d1 = s.Enroll("obs1", 'a');
  TestDevice d2 = s.Enroll("obs2", 'b');
  s.Push(d1, {AsRecord(Incident("i1", "intimidation", kT0, "medium"))});
  s.Push(d2, {AsRecord(Incident("i2", "intimidation", kT0 + 30 * kMinute, "high")),
              AsRecord(Incident("i3", "vote_buying", kT0, "low"))});
  v1::CaseList cases = s.server.store().Cases(v1::CASE_STATUS_UNSPECIFIED).value();
  REQUIRE(cases.cases_size() == 2);
  const v1::Case& first = cases.cases(0);
  CHECK(first.case_id() == "i1");
  CHECK(first.severity() == "high");
  CHECK(first.status() == v1::CASE_NEW);
  CHECK(first.report_count() == 2);

  Store& store = s.server.store();
  CHECK(store.SetCaseStatus("i1", v1::CASE_ESCALATED, "Dara", "skip").status().code() ==
        StatusCode::kFailedPrecondition);
  CHECK(store.SetCaseStatus("nope", v1::CASE_VERIFIED, "Dara", "x").status().code() ==
        StatusCode::kNotFound);
  CHECK(store.SetCaseStatus("i1", v1::CASE_VERIFIED, "", "x").status().code() ==
        StatusCode::kInvalidArgument);
  REQUIRE(store.SetCaseStatus("i1", v1::CASE_VERIFIED, "Dara", "two observers saw it").ok());
  REQUIRE(store.SetCaseStatus("i1", v1::CASE_ESCALATED, "Dara", "sent to NEC").ok());
  CHECK(store.SetCaseStatus("i1", v1::CASE_VERIFIED, "Dara", "back").status().code() ==
        StatusCode::kFailedPrecondition);
  REQUIRE(store.SetCaseStatus("i1", v1::CASE_RESOLVED, "Dara", "NEC answered").ok());
  CHECK(store.SetCaseStatus("i1", v1::CASE_REJECTED, "Dara", "late").status().code() ==
        StatusCode::kFailedPrecondition);
  REQUIRE(store.SetCaseStatus("i3", v1::CASE_REJECTED, "Dara", "rumour").ok());

  CHECK(store.Cases(v1::CASE_RESOLVED).value().cases_size() == 1);
  CHECK(store.Cases(v1::CASE_NEW).value().cases_size() == 0);
  v1::AuditLog log = store.Audit().value();
  REQUIRE(log.entries_size() == 4);
  CHECK(log.entries(0).action() == "case.status");
  CHECK(log.entries(0).before() == "CASE_NEW");
  CHECK(log.entries(0).after() == "CASE_VERIFIED");

  // The reporting device sees its incidents' statuses on its next pull.
  HttpResponse r = s.server.Post("/v1/pull", d2.PullBody(0, std::string(16, 'n')));
  REQUIRE(r.status == 200);
  v1::PullResponse pull;
  REQUIRE(pull.ParseFromString(r.body));
  std::map<std::string, v1::IncidentStatus> statuses;
  for (const v1::IncidentStatus& st : pull.incident_statuses()) statuses[st.incident_id()] = st;
  REQUIRE(statuses.size() == 2);
  CHECK(statuses["i2"].case_id() == "i1");
  CHECK(statuses["i2"].status() == v1::CASE_RESOLVED);
  CHECK(statuses["i3"].status() == v1::CASE_REJECTED);
  CHECK(statuses["i3"].changed_at_ms() > 0);
}

TEST_CASE("merge store: when cases merge the survivor keeps the furthest status") {
  MergeServer s;
  TestDevice d1 = s.Enroll("obs1", 'a');
  s.Push(d1, {AsRecord(Incident("late", "intimidation", kT0 + 100 * kMinute)),
              AsRecord(Incident("early", "intimidation", kT0))});
  Store& store = s.server.store();
  REQUIRE(store.Cases(v1::CASE_STATUS_UNSPECIFIED).value().cases_size() == 2);
  REQUIRE(store.SetCaseStatus("late", v1::CASE_VERIFIED, "Dara", "seen").ok());
  // A report between them within the window of each joins the two into case "early".
  s.Push(d1, {AsRecord(Incident("middle", "intimidation", kT0 + 50 * kMinute))});
  v1::CaseList cases = store.Cases(v1::CASE_STATUS_UNSPECIFIED).value();
  REQUIRE(cases.cases_size() == 1);
  CHECK(cases.cases(0).case_id() == "early");
  CHECK(cases.cases(0).status() == v1::CASE_VERIFIED);
  CHECK(cases.cases(0).report_count() == 3);
  v1::AuditLog log = store.Audit().value();
  REQUIRE(log.entries_size() == 2);
  CHECK(log.entries(1).action() == "case.merge");
  CHECK(log.entries(1).actor() == "merge");
  CHECK(log.entries(1).target() == "early");
  // A follow-up joins the case, wherever its time.
  s.Push(d1, {AsRecord(Incident("follow", "other", kT0 + 900 * kMinute, "critical", "late"))});
  cases = store.Cases(v1::CASE_STATUS_UNSPECIFIED).value();
  REQUIRE(cases.cases_size() == 1);
  CHECK(cases.cases(0).severity() == "critical");
  CHECK(cases.cases(0).timeline(3).incident_id() == "follow");
}

TEST_CASE("merge store: coverage rolls up a small synthetic country") {
  // Unchecked: a device never sends a partial checklist (its form's required answer missing);
  // this fixture makes one to see coverage count it.
  SqlStoreOptions unchecked;
  unchecked.validate = false;
  MergeServer s(unchecked);
  Store& store = s.server.store();
  // Two provinces; P1 has districts D1 (communes C1, C2) and D2 (C3); P2 has D3 (C4).
  std::vector<v1::Station> stations;
  auto add = [&](const std::string& code, const char* p, const char* d, const char* c) {
    v1::Station st;
    st.set_code(code);
    st.set_name("S " + code);
    st.set_province(p);
    st.set_district(d);
    st.set_commune(c);
    st.set_registered_voters(500);
    stations.push_back(st);
  };
  add("01-01-01-0001", "P1", "D1", "C1");
  add("01-01-01-0002", "P1", "D1", "C1");
  add("01-01-02-0003", "P1", "D1", "C2");
  add("01-02-03-0004", "P1", "D2", "C3");
  add("02-03-04-0005", "P2", "D3", "C4");
  add("02-03-04-0006", "P2", "D3", "C4");
  add("02-03-04-0007", "P2", "D3", "C4");
  REQUIRE(store.ImportStations(stations).ok());  // Plus kStation in province "".
  REQUIRE(store.AddObserver("obs4", "Nary", "", {"02-03-04-0007"}).ok());
  TestDevice d1 = s.Enroll("obs1", 'a');
  TestDevice d2 = s.Enroll("obs2", 'b');
  // Complete: 0001, 0004, 0005. Partial (no ballots): 0002. Conflict: 0006.
  s.Push(d1, {AsRecord(CountSubmission("a1", 1, {{"ballots", 1}}, "01-01-01-0001")),
              AsRecord(CountSubmission("a2", 1, {{"votes_a", 1}}, "01-01-01-0002")),
              AsRecord(CountSubmission("a4", 1, {{"ballots", 1}}, "01-02-03-0004")),
              AsRecord(CountSubmission("a5", 1, {{"ballots", 1}}, "02-03-04-0005")),
              AsRecord(CountSubmission("a6", 1, {{"ballots", 1}}, "02-03-04-0006"))});
  s.Push(d2, {AsRecord(CountSubmission("b6", 1, {{"ballots", 2}}, "02-03-04-0006"))});

  CoverageQuery query;
  query.form_id = "count";
  query.level = "province";
  v1::CoverageReport report = store.Coverage(query).value();
  REQUIRE(report.rows_size() == 4);  // Nation, "", P1, P2.
  const v1::CoverageRow& nation = report.rows(0);
  CHECK(nation.level() == "nation");
  CHECK(nation.stations() == 8);
  CHECK(nation.complete() == 3);
  CHECK(nation.partial() == 1);
  CHECK(nation.conflict() == 1);
  CHECK(nation.missing() == 3);
  CHECK(nation.complete_pct() == doctest::Approx(37.5));
  const v1::CoverageRow& p1 = report.rows(2);
  CHECK(p1.area() == "P1");
  CHECK(p1.stations() == 4);
  CHECK(p1.complete() == 2);
  CHECK(p1.partial() == 1);
  CHECK(p1.missing() == 1);
  CHECK(p1.missing_pct() == doctest::Approx(25.0));
  const v1::CoverageRow& p2 = report.rows(3);
  CHECK(p2.area() == "P2");
  CHECK(p2.complete() == 1);
  CHECK(p2.conflict() == 1);
  CHECK(p2.missing() == 1);
  CHECK(p2.conflict_pct() == doctest::Approx(100.0 / 3));

  query.level = "commune";
  report = store.Coverage(query).value();
  std::map<std::string, v1::CoverageRow> by_area;
  for (const v1::CoverageRow& r : report.rows()) by_area[r.area()] = r;
  CHECK(by_area["P1 / D1 / C1"].stations() == 2);
  CHECK(by_area["P1 / D1 / C1"].complete() == 1);
  CHECK(by_area["P1 / D1 / C1"].partial() == 1);
  CHECK(by_area["P2 / D3 / C4"].conflict() == 1);
  query.level = "district";
  report = store.Coverage(query).value();
  by_area.clear();
  for (const v1::CoverageRow& r : report.rows()) by_area[r.area()] = r;
  CHECK(by_area["P1 / D1"].stations() == 3);
  CHECK(by_area["P1 / D2"].complete_pct() == doctest::Approx(100.0));

  // Every checklist form without --form: opening and count, each with its nation row.
  query.form_id = "";
  query.level = "nation";
  report = store.Coverage(query).value();
  REQUIRE(report.rows_size() == 2);
  CHECK(report.rows(0).form_id() == "count");
  CHECK(report.rows(1).form_id() == "opening");
  CHECK(report.rows(1).missing() == 8);

  // Silent: obs3 and obs4 have no device; the two devices synced just now.
  query.silent_after_ms = 3'600'000;
  report = store.Coverage(query).value();
  REQUIRE(report.silent_observers_size() == 2);
  CHECK(report.silent_observers(0).observer_id() == "obs4");
  CHECK(report.silent_observers(0).device_id().empty());
  CHECK(report.silent_observers(1).observer_id() == "obs3");
  query.silent_after_ms = -3'600'000;  // Everyone counts as silent.
  CHECK(store.Coverage(query).value().silent_observers_size() == 4);
  query.level = "village";
  CHECK(store.Coverage(query).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("merge store: records stored before schema 2 are merged on the upgrade") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/old.db";
  {
    // Records stored with merge off stand for records stored by a schema-1 syncd.
    SqlStoreOptions off;
    off.merge = false;
    std::unique_ptr<SqlStore> store = SqlStore::Open(path, true, off).value();
    REQUIRE(store->InitSetting("server_id", testing::kServerId).ok());
    v1::Station station;
    station.set_code(kStation);
    REQUIRE(store->ImportStations({station}).ok());
    REQUIRE(store->AddObserver("obs1", "Sok", "", {kStation}).ok());
    REQUIRE(store->AddObserver("obs2", "Dara", "", {kStation}).ok());
    REQUIRE(store->PublishForm(testing::CountForm()).ok());
    REQUIRE(store->PublishForm(testing::IncidentForm()).ok());
    Metrics metrics;
    auto key = std::make_shared<const protocol::Ed25519PrivateKey>(
        protocol::Ed25519PrivateKey::Generate().value());
    RouterOptions options;
    options.server_id = testing::kServerId;
    Router router(*store, metrics, key, options);
    std::vector<TestDevice> devices;
    for (const char* observer : {"obs1", "obs2"}) {
      TestDevice device;
      device.key = std::make_unique<protocol::Ed25519PrivateKey>(
          protocol::Ed25519PrivateKey::Generate().value());
      std::string code = std::string("code-") + observer;
      REQUIRE(store->AddEnrollmentCode(protocol::Sha256(code), observer, NowMs() + 60000).ok());
      REQUIRE(
          router.Handle({"POST", "/v1/enroll", TestDevice::EnrollBody(*device.key, code)}).status ==
          200);
      device.device_id = protocol::DeviceIdFromPublicKey(device.key->public_key().raw());
      devices.push_back(std::move(device));
    }
    std::vector<v1::Record> first = {AsRecord(CountSubmission("s1", 1, {{"ballots", 300}})),
                                     AsRecord(Incident("i1", "intimidation", kT0))};
    REQUIRE(router.Handle({"POST", "/v1/push", devices[0].NextBody(first)}).status == 200);
    REQUIRE(
        router
            .Handle({"POST", "/v1/push",
                     devices[1].NextBody({AsRecord(CountSubmission("s2", 1, {{"ballots", 310}}))})})
            .status == 200);
    CHECK(store->Conflicts().value().conflicts_size() == 0);  // Not merged.
    store->Close();
  }
  {
    // Back to schema 1: the tables of migrations 6, 5, 4, 3 and 2 gone, user_version 1.
    sqlite::Db db = sqlite::Db::Open(path, {.create = false, .busy_timeout_ms = 1000}).value();
    REQUIRE(db.Exec("DROP TABLE coordinator_sessions; DROP TABLE log_order; "
                    "DROP TABLE coordinators; DROP TABLE alerts; DROP TABLE minute_counts; "
                    "DROP INDEX devices_by_seen; DROP INDEX assignments_by_station; "
                    "DROP TABLE merge_latest; DROP TABLE masters; DROP TABLE conflicts; "
                    "DROP TABLE overrides; DROP TABLE qa_flags; DROP TABLE cases; "
                    "DROP TABLE case_members; DROP TABLE case_status; DROP TABLE audit_log; "
                    "DROP INDEX stations_by_area; DROP INDEX records_incidents_by_station; "
                    "DROP TABLE quarantine; DROP TABLE chain_gaps; DROP TABLE backup_coverage; "
                    "DROP TABLE backups; "
                    "PRAGMA user_version=1")
                .ok());
  }
  std::unique_ptr<SqlStore> store = SqlStore::Open(path, false).value();
  v1::ConflictList conflicts = store->Conflicts().value();
  REQUIRE(conflicts.conflicts_size() == 1);
  CHECK(conflicts.conflicts(0).question_id() == "ballots");
  CHECK(store->Cases(v1::CASE_STATUS_UNSPECIFIED).value().cases_size() == 1);
}

TEST_CASE("merge store: 200 arrival orders with duplicates give the same masters and cases") {
  // The records of three observers; each order is pushed in batches of 1-3 records by the
  // device of the record's observer, with repeats.
  std::vector<std::pair<int, v1::Record>> records;
  for (int i = 0; i < 9; ++i) {
    int observer = i % 3;
    records.emplace_back(observer, AsRecord(CountSubmission(
                                       "s" + std::to_string(i), 100 + i % 4,
                                       {{"ballots", 300 + (i % 2)}, {"votes_a", 100 + (i % 3)}})));
    records.emplace_back(
        observer, AsRecord(Incident("i" + std::to_string(i), i % 2 ? "intimidation" : "vote_buying",
                                    kT0 + (i % 5) * 60 * kMinute, i % 3 ? "low" : "high",
                                    i == 7 ? "i1" : "")));
  }
  std::mt19937 rng(99);
  std::string expected;
  for (int round = 0; round < 200; ++round) {
    MergeServer s;
    std::vector<TestDevice> devices;
    devices.push_back(s.Enroll("obs1", 'a'));
    devices.push_back(s.Enroll("obs2", 'b'));
    devices.push_back(s.Enroll("obs3", 'c'));
    std::vector<std::pair<int, v1::Record>> order =
        testing::ShuffledWithDuplicates(records, rng, 4);
    for (size_t i = 0; i < order.size();) {
      int device = order[i].first;
      std::vector<v1::Record> batch;
      size_t want = 1 + rng() % 3;
      while (i < order.size() && order[i].first == device && batch.size() < want) {
        batch.push_back(order[i++].second);
      }
      s.Push(devices[device], batch);
    }
    std::string got;
    REQUIRE(s.server.store()
                .ForEachMaster([&](const v1::MasterRecord& m) { got += DeterministicBytes(m); })
                .ok());
    v1::CaseList cases = s.server.store().Cases(v1::CASE_STATUS_UNSPECIFIED).value();
    for (const v1::Case& c : cases.cases()) got += DeterministicBytes(c);
    v1::ConflictList conflicts = s.server.store().Conflicts().value();
    for (const v1::FieldConflict& c : conflicts.conflicts()) got += DeterministicBytes(c);
    if (round == 0) expected = got;
    REQUIRE(got == expected);
  }
  CHECK(!expected.empty());
}

}  // namespace
}  // namespace vigil::syncd
