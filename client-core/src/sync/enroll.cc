// Client::Enroll: joining a deployment with a coordinator's one-time code.
#include <optional>
#include <string>
#include <vector>

#include "client_state.h"
#include "sync/route.h"
#include "sync/wire.h"
#include "vigil/protocol/server_urls.h"
#include "vigil/protocol/signing.h"
#include "vigil/sqlite/db.h"

namespace vigil::client {
namespace {

// Replaces the assigned stations with `assignment`'s (sealed at rest: where an observer
// works is sensitive).
Status StoreAssignment(Client::State& state, const v1::Assignment& assignment) {
  VIGIL_RETURN_IF_ERROR(state.db->Exec("DELETE FROM stations"));
  VIGIL_ASSIGN_OR_RETURN(
      auto insert,
      state.db->Prepare("INSERT OR REPLACE INTO stations(code, sealed) VALUES (?, ?)"));
  for (const v1::Station& station : assignment.stations()) {
    VIGIL_ASSIGN_OR_RETURN(std::string sealed,
                           state.Seal(station.SerializeAsString(), "station:" + station.code()));
    insert.Reset();
    insert.BindText(1, station.code()).BindBlob(2, sealed);
    VIGIL_RETURN_IF_ERROR(insert.Run());
  }
  if (!assignment.observer_id().empty()) {
    VIGIL_RETURN_IF_ERROR(state.PutMeta("observer_id", assignment.observer_id()));
  }
  return Status::Ok();
}

}  // namespace

Status StoreAssignmentForSync(Client::State& state, const v1::Assignment& assignment) {
  return StoreAssignment(state, assignment);
}

Result<v1::EnrollResponse> Client::Enroll(const std::string& payload_text,
                                          const v1::DeviceInfo& info, const std::string& ca_file,
                                          std::shared_ptr<Transport> transport) {
  VIGIL_RETURN_IF_ERROR(state_->RequireUnlocked());
  VIGIL_ASSIGN_OR_RETURN(std::string payload_bytes, protocol::Base64UrlDecode(payload_text));
  v1::EnrollmentPayload payload;
  if (!payload.ParseFromString(payload_bytes) ||
      (payload.server_url().empty() && payload.server_urls().empty()) || payload.code().empty()) {
    return Status::InvalidArgument("not an enrollment payload (ask the coordinator for a new one)");
  }
  // The deployment's URLs (docs/protocol.md §5.1); a payload from before lists has one.
  std::vector<std::string> urls(payload.server_urls().begin(), payload.server_urls().end());
  if (urls.empty()) urls.push_back(payload.server_url());
  if (!payload.server_urls().empty()) {
    VIGIL_RETURN_IF_ERROR(protocol::CheckServerUrls(urls).WithContext(
        "enrollment payload (ask the coordinator for a new one)"));
  }
  std::optional<sync::Route> route;
  if (transport) {
    route.emplace(std::move(transport), urls.front());
  } else {
    TransportOptions options;
    options.tls_pin = payload.tls_pin();
    options.ca_file = ca_file;
    route.emplace(urls, 0, std::move(options), nullptr);
  }
  v1::EnrollRequest request;
  request.set_code(payload.code());
  request.set_public_key(state_->public_key);
  *request.mutable_device_info() = info;
  VIGIL_ASSIGN_OR_RETURN(std::string proof,
                         state_->device_key->Sign(protocol::SignatureInput(
                             protocol::kEnrollLabel, payload.code(), state_->public_key)));
  request.set_proof(proof);

  SyncOptions retry;  // Enrollment is done with the coordinator at hand: few retries.
  retry.max_attempts = 3;
  uint64_t retries = 0;
  v1::EnrollResponse response;
  VIGIL_ASSIGN_OR_RETURN(
      HttpResult result,
      wire::PostWithRetry(
          *route, "/v1/enroll", request.SerializeAsString(), retry,
          [&](const std::string& body) { return response.ParseFromString(body); }, retries,
          "enroll"));
  if (result.status != 200) return wire::Refusal(result);
  if (response.device_id() != state_->device_id) {
    return Status::Internal("syncd assigned device id " + response.device_id() +
                            " but this device's key gives " + state_->device_id);
  }
  auto receipt_key = protocol::Ed25519PublicKey::FromRaw(response.receipt_public_key());
  if (!receipt_key.ok()) return receipt_key.status().WithContext("server receipt key");

  VIGIL_RETURN_IF_ERROR(SetServerId(response.server_id()));
  sqlite::Transaction txn(*state_->db);
  VIGIL_RETURN_IF_ERROR(txn.status());
  for (const v1::FormDefinition& form : response.forms()) {
    VIGIL_RETURN_IF_ERROR(state_->PutForm(form).WithContext("published form " + form.form_id()));
  }
  VIGIL_RETURN_IF_ERROR(sync::StoreServerUrls(*state_, urls));
  VIGIL_RETURN_IF_ERROR(state_->PutMeta("server_url", route->answered()));
  VIGIL_RETURN_IF_ERROR(state_->PutMeta("tls_pin", payload.tls_pin()));
  VIGIL_RETURN_IF_ERROR(state_->PutMeta("receipt_public_key", response.receipt_public_key()));
  VIGIL_RETURN_IF_ERROR(state_->PutMeta("enrolled_at", std::to_string(NowMs())));
  VIGIL_RETURN_IF_ERROR(StoreAssignment(*state_, response.assignment()));
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  return response;
}

}  // namespace vigil::client
