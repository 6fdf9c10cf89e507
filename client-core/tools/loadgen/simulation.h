// The simulated election day that vigil-loadgen plays: which observer does what, when.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::loadgen {

// What a simulated observer does at one moment of the day.
enum class ActionKind { kEnroll, kChecklist, kIncident, kFollowUp, kSync };

struct Action {
  double at = 0;  // Fraction of the simulated day, 0 = 06:00, 1 = 18:00.
  size_t observer = 0;
  ActionKind kind = ActionKind::kSync;
  std::string form_id;     // kChecklist
  uint64_t seed = 0;       // kChecklist: example answers; kIncident: category/severity.
  bool sync_after = true;  // False while the device is out of signal.
};

// One simulated observer, from the enrollment payload file.
struct Observer {
  std::string observer_id;
  std::string payload;
  std::string station;       // Where the observer sits (first assigned station).
  bool conflicting = false;  // Answers differently from a co-observer at the same station.
  double offline_from = 2;   // Out of signal in [offline_from, offline_until): syncs late.
  double offline_until = 2;
};

// Builds the day's actions for `observers`, deterministic for `seed`: enrollment at the start,
// opening (06:30–07:30), voting (10:00–11:00) and closing (15:30–17:00) checklists, incidents
// at random (about one observer in `incident_one_in`), a share of devices offline for hours.
std::vector<Action> PlanDay(std::vector<Observer>& observers, uint64_t seed, int incident_one_in,
                            double offline_share, double conflict_share);

// "HH:MM" of a day fraction.
std::string DayClock(double at);

}  // namespace vigil::loadgen
