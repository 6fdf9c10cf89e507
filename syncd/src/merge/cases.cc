#include "merge/cases.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace vigil::syncd::merge {
namespace {

bool EarlierThan(const IncidentInput* a, const IncidentInput* b) {
  return std::make_tuple(a->report.occurred_at_ms(), a->report.incident_id()) <
         std::make_tuple(b->report.occurred_at_ms(), b->report.incident_id());
}

}  // namespace

int SeverityRank(const std::string& severity) {
  if (severity == "critical") return 4;
  if (severity == "high") return 3;
  if (severity == "medium") return 2;
  if (severity == "low") return 1;
  return 0;
}

bool CaseTransitionAllowed(v1::CaseStatus from, v1::CaseStatus to) {
  switch (from) {
    case v1::CASE_NEW:
      return to == v1::CASE_VERIFIED || to == v1::CASE_REJECTED;
    case v1::CASE_VERIFIED:
      return to == v1::CASE_ESCALATED || to == v1::CASE_REJECTED;
    case v1::CASE_ESCALATED:
      return to == v1::CASE_RESOLVED || to == v1::CASE_REJECTED;
    default:
      return false;
  }
}

std::vector<v1::Case> ClusterIncidents(const std::vector<IncidentInput>& reports,
                                       int64_t window_ms) {
  // C1: one report per id; of two different contents under one id (which the store never
  // keeps) the smaller serialization wins, so the choice does not depend on order.
  std::map<std::string, const IncidentInput*> by_id;
  for (const IncidentInput& r : reports) {
    const IncidentInput*& slot = by_id[r.report.incident_id()];
    if (slot == nullptr || r.report.SerializeAsString() < slot->report.SerializeAsString()) {
      slot = &r;
    }
  }

  // C2: the root of each report.
  std::map<std::string, const IncidentInput*> root_of;
  for (const auto& [id, r] : by_id) {
    const IncidentInput* at = r;
    std::set<std::string> visited{id};
    while (!at->report.parent_id().empty()) {
      auto parent = by_id.find(at->report.parent_id());
      if (parent == by_id.end() ||
          parent->second->report.station_code() != at->report.station_code()) {
        break;
      }
      if (!visited.insert(parent->first).second) {
        at = r;  // A cycle: the report stands alone.
        break;
      }
      at = parent->second;
    }
    root_of[id] = at;
  }

  // C3: first reports grouped by (station, category), sorted, split at gaps > window.
  std::map<std::pair<std::string, std::string>, std::vector<const IncidentInput*>> groups;
  for (const auto& [id, root] : root_of) {
    if (root == by_id[id]) {
      groups[{root->report.station_code(), root->report.category()}].push_back(root);
    }
  }
  std::map<std::string, std::string> case_of_root;  // root incident id -> case id
  for (auto& [key, roots] : groups) {
    std::sort(roots.begin(), roots.end(), EarlierThan);
    std::string case_id;
    for (size_t i = 0; i < roots.size(); ++i) {
      if (i == 0 ||
          roots[i]->report.occurred_at_ms() - roots[i - 1]->report.occurred_at_ms() > window_ms) {
        case_id = roots[i]->report.incident_id();
      }
      case_of_root[roots[i]->report.incident_id()] = case_id;
    }
  }

  // C4-C6: assemble.
  std::map<std::string, std::vector<const IncidentInput*>> members;
  for (const auto& [id, root] : root_of) {
    members[case_of_root[root->report.incident_id()]].push_back(by_id[id]);
  }
  std::vector<v1::Case> cases;
  for (auto& [case_id, list] : members) {
    std::sort(list.begin(), list.end(), EarlierThan);
    const IncidentInput* first = by_id[case_id];
    v1::Case c;
    c.set_case_id(case_id);
    c.set_station_code(first->report.station_code());
    c.set_category(first->report.category());
    c.set_first_occurred_at_ms(list.front()->report.occurred_at_ms());
    c.set_last_occurred_at_ms(list.back()->report.occurred_at_ms());
    c.set_report_count(static_cast<uint32_t>(list.size()));
    std::string severity;
    for (const IncidentInput* r : list) {
      if (severity.empty() || SeverityRank(r->report.severity()) > SeverityRank(severity)) {
        severity = r->report.severity();
      }
      v1::CaseEvent* e = c.add_timeline();
      e->set_incident_id(r->report.incident_id());
      e->set_parent_id(r->report.parent_id());
      e->set_category(r->report.category());
      e->set_severity(r->report.severity());
      e->set_occurred_at_ms(r->report.occurred_at_ms());
      e->set_observer_id(r->observer_id);
      e->set_device_id(r->device_id);
      e->set_narrative(r->report.narrative());
    }
    c.set_severity(severity);
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace vigil::syncd::merge
