#include "simulation.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>

namespace vigil::loadgen {

std::string DayClock(double at) {
  int minutes = 6 * 60 + static_cast<int>(std::clamp(at, 0.0, 1.0) * 12 * 60);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minutes / 60, minutes % 60);
  return buf;
}

std::vector<Action> PlanDay(std::vector<Observer>& observers, uint64_t seed, int incident_one_in,
                            double offline_share, double conflict_share) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  auto at_clock = [](double hour) { return (hour - 6) / 12; };
  auto between = [&](double from_hour, double to_hour) {
    return at_clock(from_hour) + unit(rng) * (at_clock(to_hour) - at_clock(from_hour));
  };
  // Co-observers: a station's second observer may answer differently.
  std::map<std::string, int> seen;
  std::vector<Action> plan;
  for (size_t i = 0; i < observers.size(); ++i) {
    Observer& o = observers[i];
    if (seen[o.station]++ > 0 && unit(rng) < conflict_share) o.conflicting = true;
    if (unit(rng) < offline_share) {
      o.offline_from = between(6.5, 9);
      o.offline_until = between(13, 16);
    }
    plan.push_back({between(6, 6.4), i, ActionKind::kEnroll, "", 0, true});
    const struct {
      const char* form;
      double from, to;
    } checklists[] = {{"opening", 6.5, 7.5}, {"voting", 10, 11}, {"closing", 15.5, 17}};
    for (const auto& c : checklists) {
      double at = between(c.from, c.to);
      bool online = at < o.offline_from || at >= o.offline_until;
      uint64_t answer_seed = std::hash<std::string>{}(o.station + "/" + c.form);
      plan.push_back({at, i, ActionKind::kChecklist, c.form, answer_seed, online});
    }
    // Incidents: the category follows from the station, so co-observers at one station
    // report the same kind of event and syncd clusters them into one case; a third of the
    // reports get a follow-up an hour later.
    bool second_at_station = seen[o.station] > 1;
    if (incident_one_in > 0 &&
        (rng() % static_cast<uint64_t>(incident_one_in) == 0 || (second_at_station && rng() % 2))) {
      double at = between(7, 15);
      bool online = at < o.offline_from || at >= o.offline_until;
      uint64_t incident_seed = std::hash<std::string>{}(o.station) * 7 + rng() % 7;
      plan.push_back({at, i, ActionKind::kIncident, "incident", incident_seed, online});
      if (rng() % 3 == 0) {
        double later = std::min(1.0, at + 1.0 / 12);
        bool online_later = later < o.offline_from || later >= o.offline_until;
        plan.push_back({later, i, ActionKind::kFollowUp, "incident", incident_seed, online_later});
      }
    }
    if (o.offline_until <= 1) plan.push_back({o.offline_until, i, ActionKind::kSync, "", 0, true});
  }
  std::stable_sort(plan.begin(), plan.end(),
                   [](const Action& a, const Action& b) { return a.at < b.at; });
  return plan;
}

}  // namespace vigil::loadgen
