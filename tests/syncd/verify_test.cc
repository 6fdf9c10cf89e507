// `syncd admin verify` (syncd/src/admin/verify.cc): a store built through POST /v1/push with
// every kind of merge state verifies, while the store is open; each kind of damage is named.
#include "admin/verify.h"

#include <doctest/doctest.h>

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

// A server with forms count and incident, observer obs2, and two devices that have sent a
// bit of everything: agreement, a conflict, a QA flag, an override, two cases (one merged
// from a follow-up) with a status, a record sent again and a rejected one.
struct VerifyFixture {
  TestServer server;
  TestDevice d1, d2;

  VerifyFixture() {
    REQUIRE(server.store().PublishForm(testing::CountForm()).ok());
    REQUIRE(server.store().PublishForm(testing::IncidentForm()).ok());
    REQUIRE(server.store().AddObserver("obs2", "Dara", "", {kStation}).ok());
    d1 = server.Enroll();
    d2 = Enroll("obs2");
    Push(d1, {AsRecord(CountSubmission("s1", 10, {{"ballots", 300}, {"votes_a", 120}})),
              AsRecord(Incident("i1", "intimidation", kT0, "medium"))});
    Push(d2, {AsRecord(CountSubmission("s2", 11, {{"ballots", 300}, {"votes_a", 150}})),
              AsRecord(Incident("i2", "intimidation", kT0 + 30 * kMinute, "high")),
              AsRecord(Incident("i3", "vote_buying", kT0))});
    Push(d1, {AsRecord(CountSubmission(
                  "s3", 12, {{"ballots", 300}, {"votes_a", 1}, {"votes_b", 1}, {"invalid", 1}})),
              AsRecord(Incident("i4", "other", kT0 + 900 * kMinute, "critical", "i1")),
              testing::MakeSubmission("unknown-form", 1, "nope")});
    Push(d2, {AsRecord(CountSubmission("s2", 11, {{"ballots", 300}, {"votes_a", 150}}))});
    REQUIRE(server.store()
                .SetOverride({kStation, "count", "signed_in", "310", "Dara", "tally sheet"})
                .ok());
    REQUIRE(server.store().SetCaseStatus("i1", v1::CASE_VERIFIED, "Dara", "seen").ok());
    // A master made of an override alone, at a station nobody reported from.
    v1::Station quiet;
    quiet.set_code("12-03-07-0453");
    quiet.set_name("Pagoda");
    REQUIRE(server.store().ImportStations({quiet}).ok());
    REQUIRE(server.store()
                .SetOverride({"12-03-07-0453", "count", "ballots", "280", "Dara", "phoned in"})
                .ok());
  }

  TestDevice Enroll(const std::string& observer) { return server.EnrollAs(observer); }

  void Push(TestDevice& device, const std::vector<v1::Record>& records) {
    REQUIRE(server.Post("/v1/push", device.NextBody(records)).status == 200);
  }

  VerifyReport Verify() {
    VerifyOptions options;
    options.receipt_public_key = server.receipt_key().public_key().raw();
    Result<VerifyReport> report = server.pg_url().empty()
                                      ? VerifyStore(server.db_path(), options)
                                      : VerifyPostgresStore(server.pg_url(), options);
    REQUIRE_MESSAGE(report.ok(), report.status().ToString());
    return *report;
  }

  // Runs `sql` on the store's file from another connection (triggers dropped first when
  // evidence must be damaged).
  void Damage(const std::string& sql) {
    Result<sqlite::Db> db =
        sqlite::Db::Open(server.db_path(), {.create = false, .busy_timeout_ms = 10000});
    REQUIRE(db.ok());
    REQUIRE_MESSAGE(db->Exec(sql).ok(), sql);
  }
};

bool Mentions(const VerifyReport& report, const std::string& text) {
  for (const std::string& p : report.problems) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("verify: a store with merges and cases and overrides verifies while it is open") {
  VerifyFixture f;
  VerifyReport report = f.Verify();
  INFO(VerifyText(report));
  CHECK(report.ok());
  CHECK(report.devices == 2);
  CHECK(report.batches == 4);
  CHECK(report.records == 7);
  CHECK(report.records_again == 1);
  CHECK(report.records_rejected == 1);
  CHECK(report.masters == 2);
  CHECK(report.conflicts == 1);
  CHECK(report.cases == 2);
  CHECK(VerifyText(report).find("verify: ok") != std::string::npos);
  // The store itself is untouched: the merge tables were recomputed on a copy.
  CHECK(f.server.store().Conflicts().value().conflicts_size() == 1);
}

TEST_CASE("verify: each kind of damage is named") {
  VerifyFixture f;
  SUBCASE("a master that is not its recomputation") {
    f.Damage("UPDATE masters SET master = x'00'");
    VerifyReport report = f.Verify();
    REQUIRE_FALSE(report.ok());
    CHECK(report.problems.front() ==
          "master 12-03-07-0452/count: stored differs from its recomputation");
    CHECK(VerifyText(report).find("verify: FAILED: master") != std::string::npos);
  }
  SUBCASE("a lost case and a stray conflict") {
    f.Damage("DELETE FROM cases WHERE case_id = 'i3'");
    f.Damage("INSERT INTO conflicts VALUES ('12-03-07-0452', 'count', 'ballots', x'01')");
    VerifyReport report = f.Verify();
    CHECK(Mentions(report, "case i3: recomputed, but none is stored"));
    CHECK(Mentions(report, "conflict 12-03-07-0452/count/ballots: stored, but the recomputation"));
  }
  SUBCASE("a wrong latest submission") {
    f.Damage("UPDATE merge_latest SET submission_id = 's1' WHERE observer_id = 'obs2'");
    CHECK(Mentions(f.Verify(), "latest submission of 12-03-07-0452/count/obs2"));
  }
  SUBCASE("a device whose last_seq runs ahead of its batches") {
    f.Damage("UPDATE devices SET last_seq = last_seq + 1 WHERE device_id = '" + f.d1.device_id +
             "'");
    CHECK(Mentions(f.Verify(), "device " + f.d1.device_id + ": last_seq is 3"));
  }
  SUBCASE("a record lost from its batch and one stored without a batch") {
    f.Damage(
        "DROP TRIGGER records_append_only_d; DROP TRIGGER records_append_only_u; "
        "DELETE FROM records WHERE record_id = 'i2'; "
        "UPDATE records SET batch_seq = 9 WHERE record_id = 's1'");
    VerifyReport report = f.Verify();
    CHECK(Mentions(report, "record i2 is neither stored nor listed as rejected"));
    CHECK(Mentions(report, "record s1 is stored for device " + f.d1.device_id +
                               " batch 9, which does not carry it"));
  }
  SUBCASE("a batch whose bytes changed") {
    f.Damage(
        "DROP TRIGGER batches_append_only_u; "
        "UPDATE batches SET hash = zeroblob(32) WHERE seq = 2 AND device_id = '" +
        f.d1.device_id + "'");
    VerifyReport report = f.Verify();
    CHECK(Mentions(report, "batch 2: stored hash 0000000000000000 is not the SHA-256"));
    CHECK(Mentions(report, "batch 2: its receipt names another device"));
  }
  SUBCASE("receipts signed by another key") {
    VerifyOptions options;
    options.receipt_public_key = protocol::Ed25519PrivateKey::Generate().value().public_key().raw();
    Result<VerifyReport> report = VerifyStore(f.server.db_path(), options);
    REQUIRE(report.ok());
    CHECK(Mentions(*report, "its receipt's signature does not verify with the receipt key"));
  }
}

TEST_CASE("verify: no store is an error, not a report") {
  testing::TempDir dir;
  Result<VerifyReport> report = VerifyStore(dir.path() + "/none.db", {});
  CHECK(report.status().code() == StatusCode::kNotFound);
}

}  // namespace
}  // namespace vigil::syncd
