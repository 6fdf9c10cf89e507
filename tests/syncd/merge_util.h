// Helpers for the merge tests: a small count form with QA checks, submissions and incident
// reports built in one line, and a fixture with several observers and their devices.
#pragma once

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "merge/cases.h"
#include "merge/master.h"
#include "records/record_rules.h"
#include "test_util.h"

namespace vigil::syncd::testing {

// Form "count" v1: ballots (required), votes_a, votes_b, invalid, signed_in, remarks
// (TEXT); QA: votes_a + votes_b + invalid = ballots, ballots <= signed_in.
inline v1::FormDefinition CountForm() {
  v1::FormDefinition form;
  form.set_form_id("count");
  form.set_version(1);
  form.set_kind(v1::CHECKLIST);
  (*form.mutable_title())["en"] = "Count";
  for (const char* id : {"ballots", "votes_a", "votes_b", "invalid", "signed_in"}) {
    v1::Question* q = form.add_questions();
    q->set_id(id);
    q->set_type(v1::INTEGER);
    (*q->mutable_label())["en"] = id;
    q->set_required(std::string(id) == "ballots");
  }
  v1::Question* remarks = form.add_questions();
  remarks->set_id("remarks");
  remarks->set_type(v1::TEXT);
  (*remarks->mutable_label())["en"] = "Remarks";
  v1::QaCheck* sum = form.add_qa_checks();
  sum->set_id("votes_add_up");
  (*sum->mutable_label())["en"] = "Votes add up";
  for (const char* id : {"votes_a", "votes_b", "invalid"}) sum->add_left()->set_question_id(id);
  sum->set_op(v1::EQUAL);
  sum->add_right()->set_question_id("ballots");
  v1::QaCheck* signed_check = form.add_qa_checks();
  signed_check->set_id("box_not_over_signed");
  signed_check->add_left()->set_question_id("ballots");
  signed_check->set_op(v1::LESS_OR_EQUAL);
  signed_check->add_right()->set_question_id("signed_in");
  return form;
}

// Form "incident" v1 (INCIDENT kind), one text question.
inline v1::FormDefinition IncidentForm() {
  v1::FormDefinition form;
  form.set_form_id("incident");
  form.set_version(1);
  form.set_kind(v1::INCIDENT);
  (*form.mutable_title())["en"] = "Incident";
  v1::Question* q = form.add_questions();
  q->set_id("what");
  q->set_type(v1::TEXT);
  (*q->mutable_label())["en"] = "What happened";
  return form;
}

// A "count" submission with integer answers {question, value}.
inline v1::Submission CountSubmission(const std::string& id, int64_t finalized_at_ms,
                                      const std::vector<std::pair<std::string, int64_t>>& answers,
                                      const std::string& station = kStation) {
  v1::Submission s;
  s.set_submission_id(id);
  s.set_form_id("count");
  s.set_form_version(1);
  s.set_station_code(station);
  s.set_finalized_at_ms(finalized_at_ms);
  for (const auto& [q, v] : answers) {
    v1::Answer* a = s.add_answers();
    a->set_question_id(q);
    a->mutable_value()->set_integer(v);
  }
  return s;
}

inline v1::IncidentReport Incident(const std::string& id, const std::string& category,
                                   int64_t occurred_at_ms, const std::string& severity = "low",
                                   const std::string& parent_id = "",
                                   const std::string& station = kStation) {
  v1::IncidentReport r;
  r.set_incident_id(id);
  r.set_parent_id(parent_id);
  r.set_form_id("incident");
  r.set_form_version(1);
  r.set_station_code(station);
  r.set_category(category);
  r.set_severity(severity);
  r.set_occurred_at_ms(occurred_at_ms);
  r.set_narrative("report " + id);
  return r;
}

inline v1::Record AsRecord(const v1::Submission& s) {
  v1::Record r;
  *r.mutable_submission() = s;
  return r;
}

inline v1::Record AsRecord(const v1::IncidentReport& i) {
  v1::Record r;
  *r.mutable_incident() = i;
  return r;
}

// `items` in a random order with about `duplicates` of them repeated at random places.
template <typename T>
std::vector<T> ShuffledWithDuplicates(const std::vector<T>& items, std::mt19937& rng,
                                      size_t duplicates) {
  std::vector<T> out = items;
  for (size_t i = 0; i < duplicates && !items.empty(); ++i) {
    out.push_back(items[std::uniform_int_distribution<size_t>(0, items.size() - 1)(rng)]);
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

}  // namespace vigil::syncd::testing
