#include "ingest/ingest_service.h"

#include <memory>
#include <utility>

#include "ingest/record_intake.h"
#include "records/record_checks.h"

namespace vigil::syncd {

void IngestService::AppendBatch(VerifiedBatch batch,
                                std::function<void(Result<AppendOutcome>)> done) {
  auto in = std::make_shared<VerifiedBatch>(std::move(batch));
  auto outcome = std::make_shared<AppendOutcome>();
  auto shared_done = std::make_shared<std::function<void(Result<AppendOutcome>)>>(std::move(done));
  ledger_.WriteLedger([this, in, outcome](LedgerTx& tx) { return Append(tx, *in, *outcome); },
                      [outcome, shared_done](const Status& status) {
                        if (status.ok()) {
                          (*shared_done)(std::move(*outcome));
                        } else {
                          (*shared_done)(status);
                        }
                      });
}

Status IngestService::Append(LedgerTx& tx, const VerifiedBatch& batch,
                             AppendOutcome& outcome) const {
  VIGIL_ASSIGN_OR_RETURN(std::optional<DeviceHead> device, tx.LockDevice(batch.device_id));
  if (!device) return Status::NotFound("unknown device " + batch.device_id);
  if (!device->active) {
    return Status::PermissionDenied("device " + batch.device_id + " is revoked");
  }
  std::string stored_hash;
  bool unsealed = false;  // The stored copy waits in this very group for its log index.
  if (batch.seq <= device->last_seq) {
    VIGIL_ASSIGN_OR_RETURN(std::optional<StoredBatch> stored,
                           tx.FindBatch(batch.device_id, batch.seq));
    if (!stored) {
      VIGIL_ASSIGN_OR_RETURN(bool lost, tx.InChainGap(batch.device_id, batch.seq));
      if (!lost) return Status::DataLoss("batch " + std::to_string(batch.seq) + " is missing");
      // The device declared this batch lost and the chain went past it (note 7).
      outcome.verdict = protocol::SequenceVerdict::kChainMismatch;
      outcome.expected_seq = device->last_seq + 1;
      return Status::Ok();
    }
    stored_hash = std::move(stored->hash);
    outcome.response_bytes = std::move(stored->response);
    unsealed = !stored->sealed;
  }
  outcome.verdict = protocol::CheckSequence(device->last_seq, device->last_hash, batch.seq,
                                            batch.prev_hash, batch.batch_hash, stored_hash);
  outcome.expected_seq = device->last_seq + 1;
  const int64_t now = NowMs();
  BatchRow row;
  row.device_id = batch.device_id;
  row.seq = batch.seq;
  row.hash = batch.batch_hash;
  row.bytes = batch.batch_bytes;
  row.signature = batch.signature;
  row.received_at_ms = now;
  switch (outcome.verdict) {
    case protocol::SequenceVerdict::kReplay:
      if (unsealed) {
        return Status::Unavailable("batch " + std::to_string(batch.seq) +
                                   " is being committed; send it again for its receipt");
      }
      return Status::Ok();
    case protocol::SequenceVerdict::kEquivocation: {
      outcome.response_bytes.clear();
      VIGIL_ASSIGN_OR_RETURN(bool new_fork, tx.KeepEquivocation(row));
      if (!new_fork) return Status::Ok();
      return tx.RaiseAlert(
          "EQUIVOCATION", batch.device_id,
          "batch " + std::to_string(batch.seq) + " sent twice with different bytes", now);
    }
    case protocol::SequenceVerdict::kGap:
    case protocol::SequenceVerdict::kChainMismatch:
      outcome.response_bytes.clear();
      return Status::Ok();
    case protocol::SequenceVerdict::kAccept:
      break;
  }
  outcome.response_bytes.clear();
  if (!batch.payload_status.ok()) {
    outcome.payload_status = batch.payload_status;
    return Status::Ok();
  }

  v1::PushResponse response;
  VIGIL_RETURN_IF_ERROR(StoreBatchRecords(tx, batch, device->observer_id, now, response, outcome));
  if (!outcome.payload_status.ok()) return Status::Ok();  // Over its forms' size: not stored.

  row.record_count = static_cast<uint32_t>(batch.records.records_size());
  VIGIL_RETURN_IF_ERROR(tx.AdvanceHead(batch.device_id, batch.seq, batch.batch_hash, now));
  // The receipt names the log index, which the store hands out when the writer's group ends.
  return tx.AppendToLog(std::move(row),
                        [this, &outcome, response = std::move(response)](
                            uint64_t log_index, BatchRow& sealed) mutable -> Status {
                          v1::Receipt receipt;
                          receipt.set_device_id(sealed.device_id);
                          receipt.set_batch_seq(sealed.seq);
                          receipt.set_batch_hash(sealed.hash);
                          receipt.set_log_index(log_index);
                          receipt.set_received_at_ms(sealed.received_at_ms);
                          receipt.set_record_count(sealed.record_count);
                          VIGIL_ASSIGN_OR_RETURN(v1::SignedReceipt signed_receipt,
                                                 receipts_.Sign(receipt));
                          *response.mutable_receipt() = signed_receipt;
                          outcome.response_bytes = response.SerializeAsString();
                          sealed.log_index = log_index;
                          sealed.receipt = signed_receipt.SerializeAsString();
                          sealed.response = outcome.response_bytes;
                          return Status::Ok();
                        });
}

Result<v1::QuarantinedRecord> ReleaseQuarantine(DeviceLedger& ledger, const std::string& record_id,
                                                const std::string& by, const std::string& reason) {
  if (by.empty()) return Status::InvalidArgument("say who you are (--by NAME)");
  if (reason.empty()) return Status::InvalidArgument("give a reason (--reason TEXT)");
  v1::QuarantinedRecord result;
  Status done = ledger.RunLedger([&](LedgerTx& tx) -> Status {
    VIGIL_ASSIGN_OR_RETURN(HeldRecord held, tx.LoadHeld(record_id));
    result = held.row;
    if (result.released_at_ms() != 0) {
      return Status::FailedPrecondition("record " + record_id + " was released by " +
                                        result.released_by() + " already");
    }
    if (held.bytes.empty()) {
      return Status::FailedPrecondition("record " + record_id +
                                        " is larger than its form allows and is kept only in "
                                        "its batch; it cannot be released");
    }
    v1::Record record;
    if (!record.ParseFromString(held.bytes)) return Status::DataLoss("stored record unreadable");
    VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form,
                           tx.CompiledForm(result.form_id(), result.form_version()));
    if (form == nullptr) {
      return Status::FailedPrecondition("form " + result.form_id() + " v" +
                                        std::to_string(result.form_version()) +
                                        " cannot be checked by this server");
    }
    // Q4: the checks again, with the stations and assignments of now.
    VIGIL_ASSIGN_OR_RETURN(SenderFacts sender,
                           tx.LoadSenderFacts(result.observer_id(), result.station_code()));
    if (std::optional<std::string> still =
            QuarantineReason(record, held.bytes.size(), tx.AllowanceOf(*form), *form, sender)) {
      return Status::FailedPrecondition("record " + record_id + " still fails: " + *still);
    }
    const int64_t now = NowMs();
    VIGIL_RETURN_IF_ERROR(tx.MarkReleased(record_id, by, reason, now));
    VIGIL_RETURN_IF_ERROR(tx.Audit(by, "quarantine.release", record_id, "held: " + result.reason(),
                                   "released", reason, now));
    BatchMergeState merge;
    VIGIL_RETURN_IF_ERROR(
        MergeTrustedRecord(tx, record, form, result.device_id(), result.observer_id(), now, merge));
    VIGIL_RETURN_IF_ERROR(FinishBatchMerge(tx, merge, now));
    result.set_released_by(by);
    result.set_release_reason(reason);
    result.set_released_at_ms(now);
    return Status::Ok();
  });
  if (!done.ok()) return done;
  return result;
}

}  // namespace vigil::syncd
