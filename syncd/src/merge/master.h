// Merge of checklists (docs/architecture.md §5): the master record of one (station, form) computed
// from a SET of stored submissions plus coordinators' overrides. Pure: no store, no clock.
//
// NOTES ON THE MERGE RULES (each is an invariant; docs/merge.md states them for people)
//
//  M1. Order independence. ComputeMaster depends only on the set of submissions given (and
//      the overrides); the order of the vector and repeated elements do not change the
//      result. Every output list is sorted by a key taken from the records themselves.
//  M2. Latest per observer. Of one observer's submissions for a (station, form), the one
//      with the greatest (finalized_at_ms, submission_id) is that observer's latest; it is
//      kept whole, the others are history. Device clocks are not trusted for ordering
//      *between* devices, but an observer finalizes on their own device, so the pair is a
//      total order on the records that needs no arrival order (the id breaks clock ties).
//  M3. Agreement. A question answered in the latest submissions of several observers goes
//      to the master when all those answers are the same (protocol::SameValue); an observer
//      who did not answer it neither agrees nor disagrees.
//  M4. Conflict. When they differ, the question is left out of the master and listed as a
//      FieldConflict with every (value, observer, device, submission), by observer id. A
//      conflict disappears as soon as the latest answers agree again.
//  M5. Override. A coordinator's override of a question always gives the master's answer,
//      whatever the submissions say; a conflict on that question stays listed with
//      overridden = true and no longer counts for the status.
//  M6. QA. The form's QA checks run on every submission (SubmissionQaFlags) and on the
//      master's answers; failures are flags with the check's id, never rejections.
//  M7. Status. CONFLICT when a conflict is not overridden; else PARTIAL when a relevant
//      required question of the form has no master answer; else COMPLETE. MISSING is the
//      status of a (station, form) with no submission and no override (nothing to compute).
//  M8. Form version. The master is read against the highest form version among the
//      observers' latest submissions (or `default_version` with none).
//  M9. Place. A submission whose location lies farther from its station than the deployment
//      allows (setting far_from_station_m, 1,000 m unless set), by more than the location's
//      own accuracy, gets the flag far_from_station, on the submission and on the master (a
//      flag, as in M6). Stations without coordinates and submissions without a location
//      are never flagged.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vigil/protocol/form_rules.h"
#include "vigil/v1/merge.pb.h"
#include "vigil/v1/records.pb.h"

namespace vigil::syncd::merge {

// One stored submission with who sent it (the device's enrolled observer, not the
// self-declared Submission.observer_id).
struct SubmissionInput {
  v1::Submission submission;
  std::string observer_id;
  std::string device_id;
};

// True when `a` comes after `b` in the total order of M2.
bool Supersedes(const v1::Submission& a, const v1::Submission& b);

// The latest submission of each observer (M2), by observer id. Points into `submissions`.
std::vector<const SubmissionInput*> LatestPerObserver(
    const std::vector<SubmissionInput>& submissions);

// The compiled form of a version, or nullptr when unknown.
using FormLookup = std::function<const protocol::Form*(uint32_t version)>;

// The master of (`station_code`, `form_id`) from every stored submission of it and the
// overrides in force (rules M1-M8). Without a known form, answers go in question-id order,
// no QA check runs and nothing counts as missing.
v1::MasterRecord ComputeMaster(const std::string& station_code, const std::string& form_id,
                               const std::vector<SubmissionInput>& submissions,
                               const std::vector<v1::Override>& overrides,
                               const FormLookup& form_of, uint32_t default_version);

// The distance in metres between two points given in degrees (haversine on a sphere of the
// Earth's mean radius, 6,371,008.8 m; within 0.5 % of the ellipsoid).
double DistanceMeters(double lat1, double lon1, double lat2, double lon2);

// Where a station is and how far from it a checklist may be filed (M9).
struct StationPlace {
  double latitude = 0;
  double longitude = 0;
  double max_distance_m = 0;
};

// The setting that holds M9's distance in metres, and the distance when it is not set.
inline constexpr char kFarFromStationSetting[] = "far_from_station_m";
inline constexpr double kDefaultFarFromStationM = 1000;

// The check id of M9's flag.
inline constexpr char kFarFromStationCheck[] = "far_from_station";

// M9: the flag of a submission filed farther than place.max_distance_m from its station, by
// more than its location's own accuracy; nullopt for a submission without a location or
// one near enough. The flag names the submission and the distance in its label.
std::optional<v1::QaFlag> FarFromStationFlag(const v1::Submission& submission,
                                             const StationPlace& place);

// QA flags of one submission (M6), by check id.
std::vector<v1::QaFlag> SubmissionQaFlags(const v1::Submission& submission,
                                          const protocol::Form& form);

}  // namespace vigil::syncd::merge
