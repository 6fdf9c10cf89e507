// Pure clustering of incident reports into cases (syncd/src/merge/cases.cc): the window's
// edges, single linkage, follow-ups, severity, case ids, the status workflow, and order
// independence.
#include <doctest/doctest.h>

#include "merge_util.h"

namespace vigil::syncd {
namespace {

using merge::ClusterIncidents;
using merge::IncidentInput;
using testing::Incident;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kWindow = 60 * kMinute;
constexpr int64_t kT0 = 1'690'000'000'000;

IncidentInput In(v1::IncidentReport r) { return IncidentInput{std::move(r), "obs1", "dev1"}; }

std::vector<std::string> Members(const v1::Case& c) {
  std::vector<std::string> ids;
  for (const v1::CaseEvent& e : c.timeline()) ids.push_back(e.incident_id());
  return ids;
}

TEST_CASE("cases: reports exactly one window apart join and one ms more splits") {
  std::vector<v1::Case> cases = ClusterIncidents(
      {In(Incident("i1", "intimidation", kT0)), In(Incident("i2", "intimidation", kT0 + kWindow)),
       In(Incident("i3", "intimidation", kT0 + 2 * kWindow + 1))},
      kWindow);
  REQUIRE(cases.size() == 2);
  CHECK(cases[0].case_id() == "i1");
  CHECK(Members(cases[0]) == std::vector<std::string>{"i1", "i2"});
  CHECK(cases[1].case_id() == "i3");
  CHECK(cases[1].report_count() == 1);
}

TEST_CASE("cases: single linkage chains reports whose neighbours are within the window") {
  std::vector<v1::Case> cases =
      ClusterIncidents({In(Incident("i1", "vote_buying", kT0)),
                        In(Incident("i2", "vote_buying", kT0 + 50 * kMinute)),
                        In(Incident("i3", "vote_buying", kT0 + 100 * kMinute))},
                       kWindow);
  REQUIRE(cases.size() == 1);
  CHECK(cases[0].report_count() == 3);
  CHECK(cases[0].first_occurred_at_ms() == kT0);
  CHECK(cases[0].last_occurred_at_ms() == kT0 + 100 * kMinute);
}

TEST_CASE("cases: other categories and other stations are other cases") {
  std::vector<v1::Case> cases = ClusterIncidents(
      {In(Incident("i1", "intimidation", kT0)), In(Incident("i2", "vote_buying", kT0 + kMinute)),
       In(Incident("i3", "intimidation", kT0 + kMinute, "low", "", "99-99"))},
      kWindow);
  CHECK(cases.size() == 3);
}

TEST_CASE("cases: severity is the highest of the reports and the id is the earliest") {
  std::vector<v1::Case> cases =
      ClusterIncidents({In(Incident("zz", "violence", kT0 + 5 * kMinute, "medium")),
                        In(Incident("yy", "violence", kT0 + 6 * kMinute, "critical")),
                        In(Incident("xx", "violence", kT0 + 10 * kMinute, "high")),
                        In(Incident("ww", "violence", kT0 + 5 * kMinute, "low"))},
                       kWindow);
  REQUIRE(cases.size() == 1);
  CHECK(cases[0].severity() == "critical");
  CHECK(cases[0].case_id() == "ww");  // Same time as "zz": the id decides.
  CHECK(Members(cases[0]) == std::vector<std::string>{"ww", "zz", "yy", "xx"});
  CHECK(merge::SeverityRank("critical") > merge::SeverityRank("high"));
  CHECK(merge::SeverityRank("nonsense") < merge::SeverityRank("low"));
}

TEST_CASE("cases: follow-ups join their root's case whatever their time or category") {
  std::vector<v1::Case> cases = ClusterIncidents(
      {In(Incident("i1", "intimidation", kT0, "low")),
       In(Incident("f1", "other", kT0 + 5 * kWindow, "high", "i1")),
       In(Incident("f2", "other", kT0 + 6 * kWindow, "low", "f1")),
       In(Incident("lost", "intimidation", kT0 + 10 * kWindow, "low", "absent-parent")),
       In(Incident("far", "intimidation", kT0, "low", "i1", "99-99"))},
      kWindow);
  REQUIRE(cases.size() == 3);
  const v1::Case* main = nullptr;
  for (const v1::Case& c : cases) {
    if (c.case_id() == "i1") main = &c;
  }
  REQUIRE(main != nullptr);
  CHECK(Members(*main) == std::vector<std::string>{"i1", "f1", "f2"});
  CHECK(main->severity() == "high");
  CHECK(main->timeline(1).parent_id() == "i1");
}

TEST_CASE("cases: a parent cycle leaves each report on its own") {
  std::vector<v1::Case> cases =
      ClusterIncidents({In(Incident("a", "x", kT0, "low", "b")),
                        In(Incident("b", "x", kT0 + 3 * kWindow, "low", "a"))},
                       kWindow);
  CHECK(cases.size() == 2);
}

TEST_CASE("cases: the status workflow allows only its arrows") {
  using merge::CaseTransitionAllowed;
  CHECK(CaseTransitionAllowed(v1::CASE_NEW, v1::CASE_VERIFIED));
  CHECK(CaseTransitionAllowed(v1::CASE_VERIFIED, v1::CASE_ESCALATED));
  CHECK(CaseTransitionAllowed(v1::CASE_ESCALATED, v1::CASE_RESOLVED));
  CHECK(CaseTransitionAllowed(v1::CASE_NEW, v1::CASE_REJECTED));
  CHECK(CaseTransitionAllowed(v1::CASE_VERIFIED, v1::CASE_REJECTED));
  CHECK(CaseTransitionAllowed(v1::CASE_ESCALATED, v1::CASE_REJECTED));
  CHECK_FALSE(CaseTransitionAllowed(v1::CASE_NEW, v1::CASE_ESCALATED));
  CHECK_FALSE(CaseTransitionAllowed(v1::CASE_NEW, v1::CASE_RESOLVED));
  CHECK_FALSE(CaseTransitionAllowed(v1::CASE_VERIFIED, v1::CASE_NEW));
  CHECK_FALSE(CaseTransitionAllowed(v1::CASE_RESOLVED, v1::CASE_REJECTED));
  CHECK_FALSE(CaseTransitionAllowed(v1::CASE_REJECTED, v1::CASE_NEW));
  CHECK_FALSE(CaseTransitionAllowed(v1::CASE_NEW, v1::CASE_NEW));
  CHECK_FALSE(CaseTransitionAllowed(v1::CASE_NEW, v1::CASE_STATUS_UNSPECIFIED));
}

TEST_CASE("cases: the same set in 300 random orders with duplicates gives the same cases") {
  std::mt19937 rng(7);
  std::vector<IncidentInput> inputs;
  const char* categories[] = {"intimidation", "vote_buying"};
  const char* severities[] = {"low", "medium", "high", "critical"};
  for (int i = 0; i < 30; ++i) {
    // Times on a 20-minute grid so that gaps of exactly the window occur.
    int64_t at = kT0 + (static_cast<int64_t>(rng() % 12) * 20 * kMinute);
    std::string parent = (i > 3 && i % 5 == 0) ? "i" + std::to_string(i - 3) : "";
    inputs.push_back(In(Incident("i" + std::to_string(i), categories[i % 2], at,
                                 severities[rng() % 4], parent, i % 7 == 0 ? "99-99" : "s1")));
  }
  auto bytes = [](const std::vector<v1::Case>& cases) {
    std::string out;
    for (const v1::Case& c : cases) out += DeterministicBytes(c);
    return out;
  };
  const std::string expected = bytes(ClusterIncidents(inputs, kWindow));
  for (int round = 0; round < 300; ++round) {
    REQUIRE(bytes(ClusterIncidents(testing::ShuffledWithDuplicates(inputs, rng, 10), kWindow)) ==
            expected);
  }
}

}  // namespace
}  // namespace vigil::syncd
