#include "sync/apply.h"

#include "sync/holds.h"
#include "sync/route.h"
#include "vigil/protocol/server_urls.h"
#include "vigil/sqlite/db.h"

namespace vigil::client {

// The assignment (observer, stations) as enrollment stores it (enroll.cc).
Status StoreAssignmentForSync(Client::State& state, const v1::Assignment& assignment);

namespace sync {
namespace {

// The deployment's server URLs, when the answer carries them (docs/protocol.md §5.1): they
// replace the stored list. A list that breaks the rules is ignored, with the reason in the
// report: the device keeps the list it has rather than lose its way to the servers.
Status ApplyServerUrls(SyncContext& ctx, const v1::PullResponse& response) {
  if (response.server_urls().empty()) return Status::Ok();
  std::vector<std::string> urls(response.server_urls().begin(), response.server_urls().end());
  if (Status checked = protocol::CheckServerUrls(urls); !checked.ok()) {
    ctx.report.warnings.push_back("ignored the server URLs in the pull answer: " +
                                  checked.message());
    return Status::Ok();
  }
  VIGIL_ASSIGN_OR_RETURN(StoredServers stored, LoadServers(ctx.state));
  if (stored.urls == urls) return Status::Ok();
  return StoreServerUrls(ctx.state, urls);
}

}  // namespace

Status Apply(SyncContext& ctx, const v1::PullResponse& response) {
  Client::State& state = ctx.state;
  sqlite::Transaction txn(*state.db);
  VIGIL_RETURN_IF_ERROR(txn.status());
  for (const v1::FormDefinition& form : response.forms()) {
    VIGIL_RETURN_IF_ERROR(
        state.PutForm(form).WithContext("form " + form.form_id() + " from syncd"));
    ++ctx.report.forms_received;
  }
  if (response.has_assignment()) {
    VIGIL_RETURN_IF_ERROR(StoreAssignmentForSync(state, response.assignment()));
  }
  VIGIL_ASSIGN_OR_RETURN(auto inbox, state.db->Prepare("INSERT OR IGNORE INTO inbox("
                                                       "broadcast_id, received_at, sealed) "
                                                       "VALUES (?, ?, ?)"));
  for (const v1::Broadcast& b : response.broadcasts()) {
    VIGIL_ASSIGN_OR_RETURN(std::string sealed,
                           state.Seal(b.SerializeAsString(), "broadcast:" + b.broadcast_id()));
    inbox.Reset();
    inbox.BindText(1, b.broadcast_id()).Bind(2, NowMs()).BindBlob(3, sealed);
    VIGIL_RETURN_IF_ERROR(inbox.Run());
    ++ctx.report.broadcasts_received;
  }
  VIGIL_ASSIGN_OR_RETURN(auto status,
                         state.db->Prepare("INSERT OR REPLACE INTO incident_status(incident_id, "
                                           "case_id, status, changed_at) VALUES (?, ?, ?, ?)"));
  for (const v1::IncidentStatus& s : response.incident_statuses()) {
    status.Reset();
    status.BindText(1, s.incident_id())
        .BindText(2, s.case_id())
        .Bind(3, static_cast<int64_t>(s.status()))
        .Bind(4, s.changed_at_ms());
    VIGIL_RETURN_IF_ERROR(status.Run());
    ++ctx.report.incident_updates;
  }
  VIGIL_RETURN_IF_ERROR(ReplaceHeldRecords(state, response.held_records()));
  VIGIL_RETURN_IF_ERROR(ApplyServerUrls(ctx, response));
  VIGIL_RETURN_IF_ERROR(state.PutMeta("pull_cursor", std::to_string(response.next_cursor())));
  VIGIL_RETURN_IF_ERROR(
      state.PutMeta("server_last_seq", std::to_string(response.last_accepted_seq())));
  VIGIL_RETURN_IF_ERROR(state.PutMeta("backups_taken", response.backups_taken() ? "1" : "0"));
  VIGIL_RETURN_IF_ERROR(state.PutMeta("backed_up_seq", std::to_string(response.backed_up_seq())));
  VIGIL_RETURN_IF_ERROR(state.PutMeta("last_sync_ms", std::to_string(NowMs())));
  ctx.report.server_last_seq = response.last_accepted_seq();
  ctx.report.backed_up_seq = response.backups_taken() ? response.backed_up_seq() : 0;
  return txn.Commit();
}

}  // namespace sync
}  // namespace vigil::client
