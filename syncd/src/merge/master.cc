#include "merge/master.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

namespace vigil::syncd::merge {
namespace {

std::string EnglishLabel(const v1::QaCheck& check) {
  auto it = check.label().find("en");
  return it == check.label().end() ? std::string() : it->second;
}

std::vector<v1::QaFlag> QaFlags(const protocol::Form& form, const protocol::AnswerMap& answers,
                                const std::string& station_code, const std::string& form_id,
                                const std::string& submission_id) {
  std::vector<std::string> failed = form.FailedQaChecks(answers);
  std::sort(failed.begin(), failed.end());
  failed.erase(std::unique(failed.begin(), failed.end()), failed.end());
  std::vector<v1::QaFlag> flags;
  for (const std::string& id : failed) {
    v1::QaFlag flag;
    flag.set_station_code(station_code);
    flag.set_form_id(form_id);
    flag.set_check_id(id);
    flag.set_submission_id(submission_id);
    for (const v1::QaCheck& check : form.definition().qa_checks()) {
      if (check.id() == id) flag.set_label(EnglishLabel(check));
    }
    flags.push_back(std::move(flag));
  }
  return flags;
}

}  // namespace

bool Supersedes(const v1::Submission& a, const v1::Submission& b) {
  return std::make_tuple(a.finalized_at_ms(), a.submission_id()) >
         std::make_tuple(b.finalized_at_ms(), b.submission_id());
}

std::vector<const SubmissionInput*> LatestPerObserver(
    const std::vector<SubmissionInput>& submissions) {
  std::map<std::string, const SubmissionInput*> latest;
  for (const SubmissionInput& s : submissions) {
    const SubmissionInput*& slot = latest[s.observer_id];
    if (slot == nullptr || Supersedes(s.submission, slot->submission)) slot = &s;
  }
  std::vector<const SubmissionInput*> out;
  out.reserve(latest.size());
  for (const auto& [observer, s] : latest) out.push_back(s);
  return out;
}

v1::MasterRecord ComputeMaster(const std::string& station_code, const std::string& form_id,
                               const std::vector<SubmissionInput>& submissions,
                               const std::vector<v1::Override>& overrides,
                               const FormLookup& form_of, uint32_t default_version) {
  v1::MasterRecord master;
  master.set_station_code(station_code);
  master.set_form_id(form_id);
  std::vector<const SubmissionInput*> latest = LatestPerObserver(submissions);
  uint32_t version = 0;
  for (const SubmissionInput* s : latest) {
    version = std::max(version, s->submission.form_version());
    v1::Contributor* c = master.add_contributors();
    c->set_observer_id(s->observer_id);
    c->set_device_id(s->device_id);
    c->set_submission_id(s->submission.submission_id());
    c->set_form_version(s->submission.form_version());
    c->set_finalized_at_ms(s->submission.finalized_at_ms());
  }
  if (version == 0) version = default_version;
  master.set_form_version(version);
  const protocol::Form* form = form_of ? form_of(version) : nullptr;

  // Overrides by question id (the store keeps at most one per question).
  std::map<std::string, const v1::Override*> overridden;
  for (const v1::Override& o : overrides) {
    const v1::Override*& slot = overridden[o.question_id()];
    if (slot == nullptr ||
        std::make_tuple(o.at_ms(), o.by()) > std::make_tuple(slot->at_ms(), slot->by())) {
      slot = &o;
    }
  }
  for (const auto& [question, o] : overridden) *master.add_overrides() = *o;

  // Every question answered by someone or overridden, in form order (unknown ones after, by id).
  std::map<std::string, std::vector<std::pair<const SubmissionInput*, const v1::Value*>>> answers;
  for (const SubmissionInput* s : latest) {
    for (const v1::Answer& a : s->submission.answers()) {
      auto& list = answers[a.question_id()];
      if (list.empty() || list.back().first != s) list.emplace_back(s, &a.value());
    }
  }
  std::vector<std::string> order;
  std::set<std::string> seen;
  if (form != nullptr) {
    for (const v1::Question& q : form->definition().questions()) {
      if (answers.count(q.id()) || overridden.count(q.id())) {
        order.push_back(q.id());
        seen.insert(q.id());
      }
    }
  }
  std::set<std::string> rest;
  for (const auto& [q, list] : answers) {
    if (!seen.count(q)) rest.insert(q);
  }
  for (const auto& [q, o] : overridden) {
    if (!seen.count(q)) rest.insert(q);
  }
  order.insert(order.end(), rest.begin(), rest.end());

  bool open_conflict = false;
  for (const std::string& q : order) {
    auto over = overridden.find(q);
    auto given = answers.find(q);
    bool agree = true;
    if (given != answers.end()) {
      for (const auto& [s, value] : given->second) {
        if (!protocol::SameValue(*value, *given->second.front().second)) agree = false;
      }
    }
    if (!agree) {
      v1::FieldConflict* conflict = master.add_conflicts();
      conflict->set_station_code(station_code);
      conflict->set_form_id(form_id);
      conflict->set_question_id(q);
      conflict->set_overridden(over != overridden.end());
      for (const auto& [s, value] : given->second) {
        v1::ConflictValue* v = conflict->add_values();
        *v->mutable_value() = *value;
        v->set_text(protocol::ValueToText(*value));
        v->set_observer_id(s->observer_id);
        v->set_device_id(s->device_id);
        v->set_submission_id(s->submission.submission_id());
      }
      if (over == overridden.end()) open_conflict = true;
    }
    if (over != overridden.end()) {
      v1::Answer* a = master.add_answers();
      a->set_question_id(q);
      *a->mutable_value() = over->second->value();
    } else if (agree) {
      v1::Answer* a = master.add_answers();
      a->set_question_id(q);
      *a->mutable_value() = *given->second.front().second;
    }
  }

  if (form != nullptr) {
    protocol::AnswerMap map = protocol::MapAnswers(master.answers());
    for (v1::QaFlag& flag : QaFlags(*form, map, station_code, form_id, "")) {
      *master.add_qa_flags() = std::move(flag);
    }
    std::set<std::string> in_conflict;
    for (const v1::FieldConflict& c : master.conflicts()) in_conflict.insert(c.question_id());
    for (const v1::Question& q : form->definition().questions()) {
      if (!q.required() || map.count(q.id()) || in_conflict.count(q.id())) continue;
      if (form->IsRelevant(q, map)) master.add_missing_required(q.id());
    }
  }
  if (latest.empty() && overridden.empty()) {
    master.set_status(v1::COVERAGE_MISSING);
  } else if (open_conflict) {
    master.set_status(v1::COVERAGE_CONFLICT);
  } else if (master.missing_required_size() > 0) {
    master.set_status(v1::COVERAGE_PARTIAL);
  } else {
    master.set_status(v1::COVERAGE_COMPLETE);
  }
  return master;
}

double DistanceMeters(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kEarthRadiusM = 6371008.8;
  constexpr double kRadiansPerDegree = 3.14159265358979323846 / 180.0;
  const double phi1 = lat1 * kRadiansPerDegree;
  const double phi2 = lat2 * kRadiansPerDegree;
  const double dphi = (lat2 - lat1) * kRadiansPerDegree;
  const double dlambda = (lon2 - lon1) * kRadiansPerDegree;
  const double a = std::sin(dphi / 2) * std::sin(dphi / 2) +
                   std::cos(phi1) * std::cos(phi2) * std::sin(dlambda / 2) * std::sin(dlambda / 2);
  return 2 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(a)));
}

std::optional<v1::QaFlag> FarFromStationFlag(const v1::Submission& submission,
                                             const StationPlace& place) {
  if (!submission.has_location()) return std::nullopt;
  const v1::GeoPoint& at = submission.location();
  if (!std::isfinite(at.latitude()) || !std::isfinite(at.longitude())) return std::nullopt;
  const double distance =
      DistanceMeters(at.latitude(), at.longitude(), place.latitude, place.longitude);
  const double accuracy = std::isfinite(at.accuracy_m()) ? std::max(0.0, at.accuracy_m()) : 0;
  if (distance - accuracy <= place.max_distance_m) return std::nullopt;
  v1::QaFlag flag;
  flag.set_station_code(submission.station_code());
  flag.set_form_id(submission.form_id());
  flag.set_check_id(kFarFromStationCheck);
  flag.set_submission_id(submission.submission_id());
  flag.set_label("filed " + std::to_string(std::lround(distance)) +
                 " m from the station (more than " +
                 std::to_string(std::lround(place.max_distance_m)) + " m)");
  return flag;
}

std::vector<v1::QaFlag> SubmissionQaFlags(const v1::Submission& submission,
                                          const protocol::Form& form) {
  return QaFlags(form, protocol::MapAnswers(submission.answers()), submission.station_code(),
                 submission.form_id(), submission.submission_id());
}

}  // namespace vigil::syncd::merge
