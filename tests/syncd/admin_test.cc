// The pure parts of `syncd admin`: station CSV, form JSON, durations, payloads.
#include "admin/admin.h"

#include <doctest/doctest.h>

#include "vigil/protocol/crypto.h"

namespace vigil::syncd {
namespace {

constexpr const char* kHeader = "code,name,province,district,commune,registered_voters,lat,lon\n";

TEST_CASE("a good station file parses with quotes and optional positions") {
  Result<std::vector<v1::Station>> stations =
      ParseStationsCsv(std::string(kHeader) +
                       "01-01-01-0001,\"School \"\"A\"\", north\",P,D,C,700,11.5,104.9\r\n"
                       "01-01-01-0002,School B,P,D,C,650,,\n"
                       "01-01-01-0003,School C,P,D,C,12\n");
  REQUIRE(stations.ok());
  REQUIRE(stations->size() == 3);
  CHECK((*stations)[0].name() == "School \"A\", north");
  CHECK((*stations)[0].location().latitude() == doctest::Approx(11.5));
  CHECK_FALSE((*stations)[1].has_location());
  CHECK((*stations)[2].registered_voters() == 12);
}

TEST_CASE("bad station lines are reported by number and nothing is returned") {
  Result<std::vector<v1::Station>> stations = ParseStationsCsv(std::string(kHeader) +
                                                               "01-01-01-0001,A,P,D,C,700\n"
                                                               "01-01-01-0002,B,P,D,C,many\n"
                                                               "01-01-01-0001,A again,P,D,C,1\n"
                                                               "short,line\n"
                                                               "01-01-01-0005,E,P,D,C,1,95,0\n"
                                                               "01-01-01-0006,\"open,P,D,C,1\n");
  REQUIRE_FALSE(stations.ok());
  const std::string m = stations.status().message();
  CHECK(m.find("5 bad line(s)") != std::string::npos);
  CHECK(m.find("line 3:") != std::string::npos);
  CHECK(m.find("line 4: station code 01-01-01-0001 appears twice") != std::string::npos);
  CHECK(m.find("line 5:") != std::string::npos);
  CHECK(m.find("line 6:") != std::string::npos);
  CHECK(m.find("line 7: unterminated quote") != std::string::npos);
  CHECK(m.find("line 2:") == std::string::npos);
}

TEST_CASE("a station file needs its header") {
  CHECK_FALSE(ParseStationsCsv("01,A,P,D,C,1\n").ok());
  CHECK_FALSE(ParseStationsCsv("").ok());
}

TEST_CASE("forms parse from protobuf JSON and are checked") {
  Result<v1::FormDefinition> form = ParseFormJson(R"({
    "formId": "opening", "version": 1, "kind": "CHECKLIST", "title": {"en": "Opening"},
    "questions": [{"id": "q01", "type": "YES_NO", "label": {"en": "Open?"}}]})");
  REQUIRE(form.ok());
  CHECK(form->questions(0).type() == v1::YES_NO);
  CHECK_FALSE(ParseFormJson("{").ok());
  CHECK_FALSE(ParseFormJson(R"({"formId": "x", "version": 1, "kind": "CHECKLIST"})").ok());
  CHECK_FALSE(ParseFormJson(R"({"formId": "Bad Id", "version": 1, "kind": "CHECKLIST",
      "questions": [{"id": "q", "type": "TEXT"}]})")
                  .ok());
  CHECK_FALSE(ParseFormJson(R"({"formId": "x", "version": 1, "kind": "CHECKLIST",
      "questions": [{"id": "q", "type": "TEXT"}, {"id": "q", "type": "TEXT"}]})")
                  .ok());
  CHECK_FALSE(ParseFormJson(R"({"formId": "x", "version": 1, "kind": "CHECKLIST",
      "unknownField": 1, "questions": [{"id": "q", "type": "TEXT"}]})")
                  .ok());
}

TEST_CASE("publishing refuses a form the devices would refuse") {
  // Relevance on a later question, and a select question without options: both pass a
  // shallow check but make every device's import (and so its enrollment) fail.
  CHECK_FALSE(ParseFormJson(R"({"formId": "f", "version": 1, "kind": "CHECKLIST",
    "questions": [
      {"id": "a", "type": "YES_NO", "label": {"en": "A"},
       "relevantWhen": [{"questionId": "b", "op": "ANSWERED"}]},
      {"id": "b", "type": "YES_NO", "label": {"en": "B"}}]})")
                  .ok());
  Result<v1::FormDefinition> no_options = ParseFormJson(R"({"formId": "f", "version": 1,
    "kind": "CHECKLIST", "questions": [{"id": "a", "type": "SELECT_ONE", "label": {"en": "A"}}]})");
  REQUIRE_FALSE(no_options.ok());
  CHECK(no_options.status().message().find("no options") != std::string::npos);
}

TEST_CASE("durations") {
  CHECK(ParseDuration("90s").value() == 90'000);
  CHECK(ParseDuration("24h").value() == 86'400'000);
  CHECK(ParseDuration("7d").value() == 7 * 86'400'000LL);
  CHECK_FALSE(ParseDuration("h").ok());
  CHECK_FALSE(ParseDuration("-1h").ok());
  CHECK_FALSE(ParseDuration("10y").ok());
  CHECK_FALSE(ParseDuration("400d").ok());
}

TEST_CASE("the enrollment payload is base64url of EnrollmentPayload") {
  std::string pin(32, '\x07');
  Result<std::string> raw =
      protocol::Base64UrlDecode(MakeEnrollmentPayload("https://127.0.0.1:443", pin, "c0de"));
  REQUIRE(raw.ok());
  v1::EnrollmentPayload payload;
  REQUIRE(payload.ParseFromString(*raw));
  CHECK(payload.server_url() == "https://127.0.0.1:443");
  CHECK(payload.tls_pin() == pin);
  CHECK(payload.code() == "c0de");
}

TEST_CASE("CSV cells are quoted when needed and inert in spreadsheets") {
  CHECK(CsvCell("12-03-07-0452") == "12-03-07-0452");
  CHECK(CsvCell("Hall \"B\", north") == "\"Hall \"\"B\"\", north\"");
  CHECK(CsvCell("line\nbreak") == "\"line\nbreak\"");
  // A cell a spreadsheet would run as a formula starts with a quote instead.
  for (const char* formula : {"=HYPERLINK(A1)", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"}) {
    INFO(formula);
    CHECK(CsvCell(formula).find('\'') <= 1);
    CHECK(CsvCell(formula).find(formula) != std::string::npos);
  }
  CHECK(CsvCell("=1,2") == "\"'=1,2\"");
  CHECK(CsvCell("") == "");
}

}  // namespace
}  // namespace vigil::syncd
