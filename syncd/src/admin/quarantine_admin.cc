#include "admin/quarantine_admin.h"

#include <sstream>

#include "admin/admin.h"

namespace vigil::syncd {
namespace {

// "2026-12-02 16:20:05Z"
std::string UtcTime(int64_t ms) { return FormatUtc(ms, "%Y-%m-%d %H:%M:%SZ"); }

}  // namespace

std::string QuarantineText(const v1::QuarantinePage& page) {
  std::ostringstream out;
  if (page.records().empty()) {
    out << "no records in quarantine\n";
    return out.str();
  }
  out << page.total() << " record(s); page " << page.page() << "\n";
  for (const v1::QuarantinedRecord& r : page.records()) {
    out << r.record_id() << "  " << r.kind() << "  station " << r.station_code() << "  form "
        << r.form_id() << " v" << r.form_version() << "\n";
    out << "  device " << r.device_id() << " (batch " << r.batch_seq() << "), observer "
        << r.observer_id();
    if (!r.claimed_observer_id().empty() && r.claimed_observer_id() != r.observer_id()) {
      out << ", claims " << r.claimed_observer_id();
    }
    out << ", received " << UtcTime(r.received_at_ms()) << "\n";
    out << "  held: " << r.reason() << "\n";
    if (r.released_at_ms() != 0) {
      out << "  released " << UtcTime(r.released_at_ms()) << " by " << r.released_by() << ": "
          << r.release_reason() << "\n";
    }
  }
  return out.str();
}

std::string AlertsText(const v1::AlertPage& page) {
  std::ostringstream out;
  if (page.alerts().empty()) {
    out << "no alerts\n";
    return out.str();
  }
  for (const v1::Alert& a : page.alerts()) {
    out << UtcTime(a.last_at_ms()) << "  " << a.kind();
    if (a.count() > 1) out << " x" << a.count();
    if (!a.device_id().empty()) out << "  device " << a.device_id();
    out << "  " << a.detail() << "\n";
  }
  return out.str();
}

}  // namespace vigil::syncd
