// The deployment's server URLs (docs/protocol.md §5.1, docs/operations.md §7): every syncd
// node's address as devices reach it, stored in the setting `server_urls`. Enrollment payloads
// carry the list and every pull answer carries it, so devices learn a changed list at their
// next pull and fail over between the nodes.
#pragma once

#include <string>
#include <vector>

#include "store/admin_store.h"
#include "store/device_ledger.h"
#include "vigil/status.h"

namespace vigil::syncd {

// The setting that holds the list, one URL per line (protocol::JoinServerUrls).
inline constexpr char kServerUrlsSetting[] = "server_urls";

// Checks `urls` (protocol::CheckServerUrls: 1..16 https URLs, none twice) and stores them in
// this order, replacing the list; InvalidArgument names the bad URL and stores nothing.
Status SetServerUrls(AdminStore& store, const std::vector<std::string>& urls);

// The stored list; empty when no administrator has set one.
Result<std::vector<std::string>> GetServerUrls(DeviceLedger& store);

// The URLs an enrollment payload lists: `stored` as it is, or with `first` (an address given
// for this enrollment) in front of the others when it is not empty. Empty when both are.
std::vector<std::string> EnrollmentUrls(const std::vector<std::string>& stored,
                                        const std::string& first);

}  // namespace vigil::syncd
