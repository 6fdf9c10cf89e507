// Records the server holds in quarantine (docs/protocol.md §8.5): the device learns of them
// from a push's RECORD_QUARANTINED statuses and from each pull's held_records, and shows them
// in `observer status` as "held by the server: <reason>". The reason is sealed at rest.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "client_state.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::client {

// Notes every RECORD_QUARANTINED status of a push response (others are ignored).
Status NoteHeldRecords(Client::State& state,
                       const google::protobuf::RepeatedPtrField<v1::RecordStatus>& statuses);

// Makes the held list exactly the pull's: new holds added, released ones removed.
Status ReplaceHeldRecords(Client::State& state,
                          const google::protobuf::RepeatedPtrField<v1::RecordStatus>& held);

// (record id, reason) of every held record, oldest first; needs the unlocked store.
Result<std::vector<std::pair<std::string, std::string>>> LoadHeldRecords(Client::State& state);

}  // namespace vigil::client
