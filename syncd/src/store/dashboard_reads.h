// The dashboard's pages (docs/dashboard.md): read-only queries over committed state.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"
#include "vigil/v1/dashboard.pb.h"
#include "vigil/v1/merge.pb.h"

namespace vigil::syncd {

// One page of a list: `page` is 1-based.
struct PageRequest {
  uint32_t page = 1;
  uint32_t page_size = 50;
};

// The dashboard's coverage drill-down (docs/dashboard.md).
struct CoverageDrillQuery {
  std::string form_id;                      // Required.
  std::string level = "province";           // "province" | "district" | "commune" | "station"
  std::string province, district, commune;  // The parent area; "" above it.
  v1::CoverageStatus status = v1::COVERAGE_STATUS_UNSPECIFIED;  // Stations only.
  std::string prefix;  // Stations only: code or name starts with it.
  PageRequest page;
};

// The dashboard's case list filters.
struct CaseQuery {
  std::vector<v1::CaseStatus> statuses;  // Empty: all.
  std::string category, province, severity;
  PageRequest page;
};

// The dashboard's device list filters.
struct DeviceQuery {
  std::string status;  // "" | "active" | "revoked"
  std::string text;    // Device id, observer id or name, or station code containing it.
  PageRequest page;
};

// The dashboard's read queries. Synchronous; thread-safe.
class DashboardReads {
 public:
  virtual ~DashboardReads() = default;

  // Everything on the overview page but the coverage rows' live silent-observer list.
  virtual Result<v1::Overview> Overview(int64_t silent_after_ms) = 0;
  virtual Result<v1::CoveragePage> CoverageDrill(const CoverageDrillQuery& query) = 0;
  // NotFound for an unknown station.
  virtual Result<v1::StationDetail> StationDetail(const std::string& station_code) = 0;
  // The newest version of every published form.
  virtual Result<v1::FormCatalog> FormCatalog() = 0;
  virtual Result<v1::CasePage> CasePage(const CaseQuery& query) = 0;
  // NotFound for an unknown case.
  virtual Result<v1::CaseDetail> CaseDetail(const std::string& case_id) = 0;
  virtual Result<v1::DevicePage> DevicePage(const DeviceQuery& query) = 0;
  // NotFound for an unknown device.
  virtual Result<v1::DeviceRow> DeviceRow(const std::string& device_id) = 0;
  // Newest first; only `kind` unless empty.
  virtual Result<v1::AlertPage> AlertPage(const std::string& kind, PageRequest page) = 0;
  // Quarantined records, newest first: those still held, or with `released` those a
  // coordinator released.
  virtual Result<v1::QuarantinePage> QuarantinePage(bool released, PageRequest page) = 0;
  // Grows with every committed write of this process and, on PostgreSQL, with every write
  // another node announces (LISTEN/NOTIFY, store/pg_listener.h): the dashboard recomputes its
  // overview when it changed.
  virtual uint64_t ChangeCounter() const = 0;
};

}  // namespace vigil::syncd
