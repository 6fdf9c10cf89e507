#include "sync/pull.h"

#include "sync/wire.h"
#include "vigil/protocol/signing.h"
#include "vigil/sqlite/db.h"

namespace vigil::client::sync {

Result<v1::PullResponse> Pull(SyncContext& ctx, const LostRun* lost) {
  VIGIL_ASSIGN_OR_RETURN(uint64_t cursor, MetaUint(ctx.state, "pull_cursor"));
  VIGIL_ASSIGN_OR_RETURN(
      int64_t pending,
      ctx.state.db->QueryInt("SELECT count(*) FROM records WHERE state IN (1, 2)"));
  VIGIL_ASSIGN_OR_RETURN(
      int64_t acknowledged,
      ctx.state.db->QueryInt("SELECT coalesce(max(batch_seq), 0) FROM receipts"));
  auto make_pull = [&]() -> Result<std::string> {
    v1::Pull pull;
    pull.set_device_id(ctx.state.device_id);
    pull.set_cursor(cursor);
    VIGIL_ASSIGN_OR_RETURN(std::string nonce, protocol::RandomBytes(16));
    pull.set_nonce(nonce);
    pull.set_device_time_ms(NowMs());
    pull.set_pending_records(static_cast<uint32_t>(pending));
    pull.set_acknowledged_seq(static_cast<uint64_t>(acknowledged));
    if (lost != nullptr) {
      pull.set_lost_through_seq(lost->through_seq);
      pull.set_lost_through_hash(lost->through_hash);
    }
    v1::SignedPull signed_pull;
    signed_pull.set_pull_bytes(pull.SerializeAsString());
    VIGIL_ASSIGN_OR_RETURN(std::string sig,
                           ctx.state.device_key->Sign(protocol::SignatureInput(
                               protocol::kPullLabel, ctx.server_id, signed_pull.pull_bytes())));
    signed_pull.set_signature(sig);
    return signed_pull.SerializeAsString();
  };
  // REPLAYED_PULL: syncd already saw this attempt's nonce, so the HTTP layer sent it twice
  // (libcurl resends a request by itself when a kept-alive connection dies before any
  // answer). Another attempt, with a new nonce, is what §12 asks for.
  auto replayed = [](const HttpResult& r) {
    v1::Error error;
    return r.status == 409 && error.ParseFromString(r.body) && error.code() == v1::REPLAYED_PULL;
  };
  v1::PullResponse response;
  VIGIL_ASSIGN_OR_RETURN(
      HttpResult result,
      wire::PostWithRetry(
          ctx.route, "/v1/pull", make_pull, ctx.options,
          [&](const std::string& body) { return response.ParseFromString(body); }, replayed,
          ctx.report.retries, "pull", &ctx.progress));
  if (result.status != 200) return wire::Refusal(result).WithContext("pull");
  return response;
}

}  // namespace vigil::client::sync
