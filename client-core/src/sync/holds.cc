#include "sync/holds.h"

#include <set>

namespace vigil::client {
namespace {

std::string HoldAad(const std::string& record_id) { return "hold:" + record_id; }

Status PutHold(Client::State& state, const v1::RecordStatus& status) {
  VIGIL_ASSIGN_OR_RETURN(std::string sealed,
                         state.Seal(status.reason(), HoldAad(status.record_id())));
  VIGIL_ASSIGN_OR_RETURN(auto put, state.db->Prepare("INSERT OR REPLACE INTO server_holds("
                                                     "record_id, held_at, sealed) VALUES (?, ?, "
                                                     "?)"));
  put.BindText(1, status.record_id()).Bind(2, NowMs()).BindBlob(3, sealed);
  return put.Run();
}

}  // namespace

Status NoteHeldRecords(Client::State& state,
                       const google::protobuf::RepeatedPtrField<v1::RecordStatus>& statuses) {
  for (const v1::RecordStatus& s : statuses) {
    if (s.outcome() == v1::RECORD_QUARANTINED) VIGIL_RETURN_IF_ERROR(PutHold(state, s));
  }
  return Status::Ok();
}

Status ReplaceHeldRecords(Client::State& state,
                          const google::protobuf::RepeatedPtrField<v1::RecordStatus>& held) {
  std::set<std::string> listed;
  for (const v1::RecordStatus& s : held) {
    listed.insert(s.record_id());
    VIGIL_RETURN_IF_ERROR(PutHold(state, s));
  }
  VIGIL_ASSIGN_OR_RETURN(auto all, state.db->Prepare("SELECT record_id FROM server_holds"));
  std::vector<std::string> released;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, all.Step());
    if (!row) break;
    if (listed.count(all.Text(0)) == 0) released.push_back(all.Text(0));
  }
  VIGIL_ASSIGN_OR_RETURN(auto drop,
                         state.db->Prepare("DELETE FROM server_holds WHERE record_id = ?"));
  for (const std::string& id : released) {
    drop.Reset();
    drop.BindText(1, id);
    VIGIL_RETURN_IF_ERROR(drop.Run());
  }
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, std::string>>> LoadHeldRecords(Client::State& state) {
  VIGIL_RETURN_IF_ERROR(state.RequireUnlocked());
  VIGIL_ASSIGN_OR_RETURN(auto st, state.db->Prepare("SELECT record_id, sealed FROM server_holds "
                                                    "ORDER BY held_at, record_id"));
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    const std::string id = st.Text(0);
    VIGIL_ASSIGN_OR_RETURN(std::string reason, state.Open(st.Blob(1), HoldAad(id)));
    out.emplace_back(id, std::move(reason));
  }
  return out;
}

}  // namespace vigil::client
