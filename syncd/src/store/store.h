// The Store (docs/architecture.md §6): everything syncd keeps, as the union of the parts its
// consumers see. Each consumer takes only its part:
//   DeviceLedger      (device_ledger.h)      the router and the ingest service
//   AdminStore        (admin_store.h)        syncd admin, the dashboard's admin actions
//   MergeStore        (merge_store.h)        overrides, cases, coverage, exports of masters
//   DashboardReads    (dashboard_reads.h)    the dashboard's pages
//   CoordinatorStore  (coordinator_store.h)  coordinator accounts and logins
// Backends: SQLite, the embedded default, and PostgreSQL; both run the same SQL
// (store/sql.h) and the same test suite.
#pragma once

#include "store/admin_store.h"
#include "store/coordinator_store.h"
#include "store/dashboard_reads.h"
#include "store/device_ledger.h"
#include "store/merge_store.h"

namespace vigil::syncd {

// Everything syncd keeps. Every method is thread-safe.
class Store : public DeviceLedger,
              public AdminStore,
              public MergeStore,
              public DashboardReads,
              public CoordinatorStore {
 public:
  ~Store() override = default;

  // Finishes queued writes and stops the writer. Later writes fail with kUnavailable.
  virtual void Close() = 0;
};

}  // namespace vigil::syncd
