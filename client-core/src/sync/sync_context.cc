#include "sync/sync_context.h"

#include <charconv>
#include <utility>

namespace vigil::client::sync {

Result<SyncContext> StartSync(Client::State& state, const SyncOptions& options) {
  VIGIL_ASSIGN_OR_RETURN(auto pin, state.GetMeta("tls_pin"));
  VIGIL_ASSIGN_OR_RETURN(auto receipt_raw, state.GetMeta("receipt_public_key"));
  if (!pin || !receipt_raw) {
    return Status::FailedPrecondition("this device is not enrolled: run `observer enroll` first");
  }
  VIGIL_ASSIGN_OR_RETURN(auto receipt_key, protocol::Ed25519PublicKey::FromRaw(*receipt_raw));
  VIGIL_ASSIGN_OR_RETURN(auto server_id, state.GetMeta("server_id"));  // As Client::ServerId.
  VIGIL_ASSIGN_OR_RETURN(Route route, MakeRoute(state, options, *pin));
  return SyncContext{
      state, options, std::move(route), std::move(receipt_key), server_id.value_or(""), {}, {}};
}

void ReportPhase(SyncContext& ctx, std::string_view phase) {
  ctx.progress.phase = std::string(phase);
  if (ctx.options.progress) ctx.options.progress(ctx.progress);
}

Result<uint64_t> MetaUint(Client::State& state, std::string_view key) {
  VIGIL_ASSIGN_OR_RETURN(auto text, state.GetMeta(key));
  if (!text) return uint64_t{0};
  const std::string& digits = *text;
  const char* first = digits.data();
  const char* last = first + digits.size();
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || end != last) {
    return Status::DataLoss("meta " + std::string(key) + " is not a number: " + *text);
  }
  return value;
}

}  // namespace vigil::client::sync
