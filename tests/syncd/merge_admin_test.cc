// The pure parts of the merge admin commands (syncd/src/admin/merge_admin.cc) and the
// override value parser (syncd/src/merge/value_text.cc).
#include "admin/merge_admin.h"

#include <doctest/doctest.h>

#include <sstream>

#include "admin/admin.h"
#include "merge/value_text.h"
#include "merge_util.h"

namespace vigil::syncd {
namespace {

TEST_CASE("merge admin: case statuses parse in any case and refuse the rest") {
  CHECK(ParseCaseStatus("verified").value() == v1::CASE_VERIFIED);
  CHECK(ParseCaseStatus("Escalated").value() == v1::CASE_ESCALATED);
  CHECK(ParseCaseStatus("CASE_REJECTED").value() == v1::CASE_REJECTED);
  CHECK(ParseCaseStatus("closed").status().code() == StatusCode::kInvalidArgument);
  CHECK(ParseCaseStatus("status_unspecified").status().code() == StatusCode::kInvalidArgument);
  CHECK(CaseStatusText(v1::CASE_RESOLVED) == "resolved");
}

TEST_CASE("merge admin: override values are typed by their question") {
  v1::Question q;
  q.set_id("q");
  q.set_type(v1::YES_NO);
  CHECK(merge::ValueFromText(q, "yes").value().boolean());
  CHECK_FALSE(merge::ValueFromText(q, "no").value().boolean());
  CHECK(merge::ValueFromText(q, "maybe").status().code() == StatusCode::kInvalidArgument);
  q.set_type(v1::INTEGER);
  CHECK(merge::ValueFromText(q, "-42").value().integer() == -42);
  CHECK_FALSE(merge::ValueFromText(q, "4x").ok());
  q.set_type(v1::DECIMAL);
  CHECK(merge::ValueFromText(q, "2.5").value().decimal() == doctest::Approx(2.5));
  q.set_type(v1::SELECT_MANY);
  v1::Value many = merge::ValueFromText(q, "ballots,seals|ink").value();
  REQUIRE(many.choices().ids_size() == 3);
  CHECK(many.choices().ids(2) == "ink");
  q.set_type(v1::LOCATION);
  CHECK(merge::ValueFromText(q, "11.5 104.9").value().location().longitude() ==
        doctest::Approx(104.9));
  CHECK_FALSE(merge::ValueFromText(q, "11.5").ok());
  q.set_type(v1::SELECT_ONE);
  CHECK(merge::ValueFromText(q, "good").value().text() == "good");
}

TEST_CASE("merge admin: texts and JSON of coverage and conflicts") {
  v1::CoverageReport report;
  report.set_level("province");
  report.set_silent_after_ms(7'200'000);
  v1::CoverageRow* row = report.add_rows();
  row->set_level("nation");
  row->set_form_id("count");
  row->set_stations(4);
  row->set_complete(1);
  row->set_complete_pct(25);
  v1::SilentObserver* silent = report.add_silent_observers();
  silent->set_observer_id("obs9");
  silent->set_station_code("01-01");
  std::string text = CoverageText(report);
  CHECK(text.find("1 (25.0%)") != std::string::npos);
  CHECK(text.find("silent observers (no sync for 120 min): 1") != std::string::npos);
  CHECK(text.find("obs9  (no device)") != std::string::npos);
  std::string json = ToJson(report).value();
  CHECK(json.find("\"complete_pct\": 25") != std::string::npos);

  v1::ConflictList conflicts;
  v1::FieldConflict* c = conflicts.add_conflicts();
  c->set_station_code("01-01");
  c->set_form_id("count");
  c->set_question_id("ballots");
  c->add_values()->set_text("300");
  c->mutable_values(0)->set_observer_id("obs1");
  CHECK(ConflictsText(conflicts).find("300  by obs1") != std::string::npos);
}

TEST_CASE("merge admin: masters export as CSV one line per master") {
  testing::TestServer server;
  REQUIRE(server.store().PublishForm(testing::CountForm()).ok());
  OverrideRequest request{testing::kStation, "count", "ballots", "300", "Dara", "tally, photo"};
  REQUIRE(server.store().SetOverride(request).ok());
  std::ostringstream out;
  REQUIRE(WriteMastersCsv(server.store(), out).ok());
  CHECK(out.str() ==
        "station_code,form_id,form_version,status,answers,conflicts,qa_flags,overrides,"
        "observers\n" +
            std::string(testing::kStation) + ",count,1,complete,ballots=300,,,ballots,0\n");
  CHECK(AuditText(server.store().Audit().value()).find("reason: tally, photo") !=
        std::string::npos);
}

}  // namespace
}  // namespace vigil::syncd
