// Pure merge of checklists (syncd/src/merge/master.cc): agreement, conflicts, the latest
// submission per observer, overrides, QA flags, status, and order independence.
#include <doctest/doctest.h>

#include "merge_util.h"

namespace vigil::syncd {
namespace {

using merge::ComputeMaster;
using merge::SubmissionInput;
using testing::CountForm;
using testing::CountSubmission;
using testing::kStation;

class MasterFixture {
 public:
  MasterFixture() : form_(protocol::Form::Compile(CountForm()).value()) {}

  v1::MasterRecord Master(const std::vector<SubmissionInput>& inputs,
                          const std::vector<v1::Override>& overrides = {}) const {
    return ComputeMaster(
        kStation, "count", inputs, overrides,
        [this](uint32_t version) { return version == 1 ? &form_ : nullptr; }, 1);
  }

 private:
  protocol::Form form_;
};

SubmissionInput From(const std::string& observer, v1::Submission s) {
  return SubmissionInput{std::move(s), observer, "dev-" + observer};
}

const v1::Answer* AnswerOf(const v1::MasterRecord& m, const std::string& q) {
  for (const v1::Answer& a : m.answers()) {
    if (a.question_id() == q) return &a;
  }
  return nullptr;
}

v1::Override OverrideOf(const std::string& q, int64_t value) {
  v1::Override o;
  o.set_station_code(kStation);
  o.set_form_id("count");
  o.set_question_id(q);
  o.mutable_value()->set_integer(value);
  o.set_by("Dara");
  o.set_reason("checked the tally sheet");
  o.set_at_ms(5);
  return o;
}

TEST_CASE("master: distances on the Earth, and the far_from_station flag (M9)") {
  constexpr double kRadius = 6371008.8;
  constexpr double kPi = 3.14159265358979323846;
  // A degree of longitude on the equator, and the pole from the equator: arcs of the sphere.
  CHECK(merge::DistanceMeters(0, 0, 0, 1) ==
        doctest::Approx(2 * kPi * kRadius / 360).epsilon(1e-9));
  CHECK(merge::DistanceMeters(0, 30, 90, 30) == doctest::Approx(kPi * kRadius / 2).epsilon(1e-9));
  CHECK(merge::DistanceMeters(11.55, 104.92, 11.55, 104.92) == 0);

  const merge::StationPlace place{11.55, 104.92, 1000};
  v1::Submission s;
  s.set_submission_id("s1");
  s.set_station_code(kStation);
  s.set_form_id("closing");
  CHECK_FALSE(merge::FarFromStationFlag(s, place).has_value());  // No location: no flag.
  // 0.045 degrees of latitude north: 5,004 m.
  s.mutable_location()->set_latitude(11.595);
  s.mutable_location()->set_longitude(104.92);
  std::optional<v1::QaFlag> far = merge::FarFromStationFlag(s, place);
  REQUIRE(far.has_value());
  CHECK(far->check_id() == "far_from_station");
  CHECK(far->submission_id() == "s1");
  CHECK(far->station_code() == kStation);
  CHECK(far->label() == "filed 5004 m from the station (more than 1000 m)");
  // 0.0081 degrees: 901 m, within the distance.
  s.mutable_location()->set_latitude(11.5581);
  CHECK_FALSE(merge::FarFromStationFlag(s, place).has_value());
  // 0.0108 degrees: 1,201 m, but the fix is only good to 300 m: not flagged.
  s.mutable_location()->set_latitude(11.5608);
  s.mutable_location()->set_accuracy_m(300);
  CHECK_FALSE(merge::FarFromStationFlag(s, place).has_value());
  s.mutable_location()->set_accuracy_m(100);
  CHECK(merge::FarFromStationFlag(s, place).has_value());
}

TEST_CASE("master: answers that agree across observers go to the master") {
  MasterFixture f;
  v1::MasterRecord m =
      f.Master({From("a", CountSubmission("s1", 10, {{"ballots", 300}, {"signed_in", 310}})),
                From("b", CountSubmission("s2", 20, {{"ballots", 300}, {"signed_in", 310}}))});
  REQUIRE(AnswerOf(m, "ballots") != nullptr);
  CHECK(AnswerOf(m, "ballots")->value().integer() == 300);
  CHECK(m.conflicts_size() == 0);
  CHECK(m.status() == v1::COVERAGE_COMPLETE);
  CHECK(m.contributors_size() == 2);
  // Answers follow the form's order.
  CHECK(m.answers(0).question_id() == "ballots");
  CHECK(m.answers(1).question_id() == "signed_in");
}

TEST_CASE("master: answers that differ are left out and listed as a conflict") {
  MasterFixture f;
  v1::MasterRecord m =
      f.Master({From("a", CountSubmission("s1", 10, {{"ballots", 300}, {"votes_a", 120}})),
                From("b", CountSubmission("s2", 20, {{"ballots", 300}, {"votes_a", 150}}))});
  CHECK(AnswerOf(m, "votes_a") == nullptr);
  CHECK(AnswerOf(m, "ballots") != nullptr);
  REQUIRE(m.conflicts_size() == 1);
  const v1::FieldConflict& c = m.conflicts(0);
  CHECK(c.question_id() == "votes_a");
  CHECK_FALSE(c.overridden());
  REQUIRE(c.values_size() == 2);
  CHECK(c.values(0).observer_id() == "a");
  CHECK(c.values(0).value().integer() == 120);
  CHECK(c.values(0).device_id() == "dev-a");
  CHECK(c.values(0).submission_id() == "s1");
  CHECK(c.values(0).text() == "120");
  CHECK(c.values(1).observer_id() == "b");
  CHECK(c.values(1).value().integer() == 150);
  CHECK(m.status() == v1::COVERAGE_CONFLICT);
}

TEST_CASE("master: an observer who did not answer neither agrees nor disagrees") {
  MasterFixture f;
  v1::MasterRecord m =
      f.Master({From("a", CountSubmission("s1", 10, {{"ballots", 300}, {"invalid", 4}})),
                From("b", CountSubmission("s2", 20, {{"ballots", 300}}))});
  CHECK(m.conflicts_size() == 0);
  REQUIRE(AnswerOf(m, "invalid") != nullptr);
  CHECK(AnswerOf(m, "invalid")->value().integer() == 4);
}

TEST_CASE("master: a conflict disappears when a newer submission agrees") {
  MasterFixture f;
  std::vector<SubmissionInput> inputs = {From("a", CountSubmission("s1", 10, {{"ballots", 300}})),
                                         From("b", CountSubmission("s2", 20, {{"ballots", 290}}))};
  CHECK(f.Master(inputs).status() == v1::COVERAGE_CONFLICT);
  inputs.push_back(From("b", CountSubmission("s3", 30, {{"ballots", 300}})));
  v1::MasterRecord m = f.Master(inputs);
  CHECK(m.conflicts_size() == 0);
  CHECK(m.status() == v1::COVERAGE_COMPLETE);
  CHECK(m.contributors(1).submission_id() == "s3");
}

TEST_CASE("master: the latest per observer is the greatest finalized time then id") {
  MasterFixture f;
  // An older finalized time loses even when listed last; equal times fall to the id.
  v1::MasterRecord m = f.Master({From("a", CountSubmission("s9", 50, {{"ballots", 1}})),
                                 From("a", CountSubmission("s1", 40, {{"ballots", 2}})),
                                 From("a", CountSubmission("s5", 50, {{"ballots", 3}}))});
  REQUIRE(m.contributors_size() == 1);
  CHECK(m.contributors(0).submission_id() == "s9");
  CHECK(AnswerOf(m, "ballots")->value().integer() == 1);
  CHECK(merge::Supersedes(CountSubmission("b", 7, {}), CountSubmission("a", 7, {})));
  CHECK_FALSE(merge::Supersedes(CountSubmission("z", 6, {}), CountSubmission("a", 7, {})));
}

TEST_CASE("master: an override wins over agreement and conflict and settles the conflict") {
  MasterFixture f;
  std::vector<SubmissionInput> inputs = {
      From("a", CountSubmission("s1", 10, {{"ballots", 300}, {"votes_a", 120}})),
      From("b", CountSubmission("s2", 20, {{"ballots", 300}, {"votes_a", 150}}))};
  v1::MasterRecord m = f.Master(inputs, {OverrideOf("votes_a", 130), OverrideOf("ballots", 299)});
  CHECK(AnswerOf(m, "votes_a")->value().integer() == 130);
  CHECK(AnswerOf(m, "ballots")->value().integer() == 299);
  REQUIRE(m.conflicts_size() == 1);
  CHECK(m.conflicts(0).overridden());
  CHECK(m.status() == v1::COVERAGE_COMPLETE);
  CHECK(m.overrides_size() == 2);
  // A newer submission does not beat the override.
  inputs.push_back(From("a", CountSubmission("s3", 30, {{"ballots", 305}})));
  m = f.Master(inputs, {OverrideOf("ballots", 299)});
  CHECK(AnswerOf(m, "ballots")->value().integer() == 299);
  // An override alone makes a master.
  m = f.Master({}, {OverrideOf("ballots", 10)});
  CHECK(m.status() == v1::COVERAGE_COMPLETE);
  CHECK(m.form_version() == 1);
}

TEST_CASE("master: QA checks flag submissions and masters and never drop answers") {
  MasterFixture f;
  protocol::Form form = protocol::Form::Compile(CountForm()).value();
  v1::Submission bad = CountSubmission(
      "s1", 10,
      {{"ballots", 300}, {"votes_a", 100}, {"votes_b", 100}, {"invalid", 1}, {"signed_in", 200}});
  std::vector<v1::QaFlag> flags = merge::SubmissionQaFlags(bad, form);
  REQUIRE(flags.size() == 2);
  CHECK(flags[0].check_id() == "box_not_over_signed");
  CHECK(flags[1].check_id() == "votes_add_up");
  CHECK(flags[1].label() == "Votes add up");
  CHECK(flags[1].submission_id() == "s1");
  v1::MasterRecord m = f.Master({From("a", bad)});
  CHECK(m.qa_flags_size() == 2);
  CHECK(m.answers_size() == 5);
  CHECK(m.status() == v1::COVERAGE_COMPLETE);
  // A check naming an unanswered question is skipped.
  CHECK(merge::SubmissionQaFlags(CountSubmission("s2", 1, {{"ballots", 5}}), form).empty());
}

TEST_CASE("master: a required question without an agreed answer makes it partial") {
  MasterFixture f;
  CHECK(f.Master({From("a", CountSubmission("s1", 10, {{"votes_a", 3}}))}).status() ==
        v1::COVERAGE_PARTIAL);
  v1::MasterRecord m = f.Master({From("a", CountSubmission("s1", 10, {{"votes_a", 3}}))});
  REQUIRE(m.missing_required_size() == 1);
  CHECK(m.missing_required(0) == "ballots");
  CHECK(f.Master({}).status() == v1::COVERAGE_MISSING);
}

TEST_CASE("master: the same set in 300 random orders with duplicates gives the same master") {
  MasterFixture f;
  std::vector<SubmissionInput> inputs;
  std::mt19937 rng(20260501);
  const char* observers[] = {"a", "b", "c", "d"};
  for (int i = 0; i < 24; ++i) {
    std::string observer = observers[i % 4];
    // Few distinct values and times so that agreement, conflict and ties all happen.
    inputs.push_back(From(observer, CountSubmission("s" + std::to_string(i), 100 + (i % 5),
                                                    {{"ballots", 300 + (i % 3 == 0)},
                                                     {"votes_a", 100 + (i % 2)},
                                                     {"votes_b", 150},
                                                     {"invalid", i % 7}})));
  }
  std::vector<v1::Override> overrides = {OverrideOf("votes_b", 151)};
  const std::string expected = DeterministicBytes(f.Master(inputs, overrides));
  v1::MasterRecord reference = f.Master(inputs, overrides);
  CHECK(reference.contributors_size() == 4);
  for (int round = 0; round < 300; ++round) {
    std::vector<SubmissionInput> shuffled = testing::ShuffledWithDuplicates(inputs, rng, 8);
    REQUIRE(DeterministicBytes(f.Master(shuffled, overrides)) == expected);
  }
}

}  // namespace
}  // namespace vigil::syncd
