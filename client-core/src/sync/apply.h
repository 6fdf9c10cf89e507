// The apply step of Client::Sync: write what a pull brought into the device store.
#pragma once

#include "sync/sync_context.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::client::sync {

// Stores what a pull brought (forms, assignment, broadcasts, incident statuses, held
// records, the server's view of the chain and its backups, NOTES 5 in sync/sync_context.h)
// in one transaction, and counts it in ctx.report.
Status Apply(SyncContext& ctx, const v1::PullResponse& response);

}  // namespace vigil::client::sync
