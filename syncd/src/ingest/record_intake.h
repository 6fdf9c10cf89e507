// The records of an accepted batch, inside the write transaction (ingest_service.h notes 4
// and 6): each record is stored, held in quarantine, or refused, and merged when it is stored
// and trusted.
//
// NOTES ON A RECORD'S WAY IN (docs/protocol.md §8.3 and §8.5)
//
//  1. The batch as a whole first: its decoded size may not exceed what the forms of its
//     records allow together (RecordAllowanceBytes, plus framing). A batch over it is refused
//     with TOO_LARGE and nothing of it is stored.
//  2. Per record, records/record_rules.h decides by id: a duplicate is answered as one (or as
//     QUARANTINED again while the first copy is held); other content under a known id and an
//     unknown form version are refused and logged in record_rejections.
//  3. A new record of a known form is checked by records/record_checks.h against the form and
//     what the server knows of its sender. Either way it is stored in records, with the
//     device's enrolled observer in records.observer_id (never the record's claim):
//       passes -> merged now (a submission at once, incidents per station after the batch),
//                 counted per minute, its critical answers raised as alerts;
//       fails  -> a quarantine row with the reason and the claimed observer; not merged, not
//                 counted, one QUARANTINED alert per distinct reason; a record over its
//                 form's size is stored without its bytes (they stay in the batch).
//  4. With validation off (StoreOptions::validate, for benchmarks only) step 3 always passes.
#pragma once

#include <map>
#include <set>
#include <string>

#include "store/ledger_tx.h"
#include "store/store.h"

namespace vigil::syncd {

// What the records of one batch (or one release) changed, for the merge at its end.
struct BatchMergeState {
  DirtyMasters dirty;                       // (station, form) masters to redo.
  std::set<std::string> incident_stations;  // Stations whose cases to redo.
  int64_t submissions_stored = 0;           // Trusted, for minute_counts.
  int64_t incidents_stored = 0;
  uint32_t records_stored = 0;  // Newly stored, held or not.
  uint32_t records_quarantined = 0;
  std::map<std::string, SenderFacts> senders;  // By station: what the batch looked up.
};

// Stores the records of an accepted batch (notes 1-4), filling the response's statuses and
// the outcome's counts; outcome.payload_status is set (and nothing stored) when the batch is
// over its forms' size.
Status StoreBatchRecords(LedgerTx& tx, const VerifiedBatch& batch, const std::string& observer_id,
                         int64_t now_ms, v1::PushResponse& response, AppendOutcome& outcome);

// A stored record that passed its checks (or was released): counted, critical answers
// raised, merged (or queued for the end of the batch).
Status MergeTrustedRecord(LedgerTx& tx, const v1::Record& record, const protocol::Form* form,
                          const std::string& device_id, const std::string& observer_id,
                          int64_t now_ms, BatchMergeState& merge);

// Per-minute counts, then the masters and cases the batch touched.
Status FinishBatchMerge(LedgerTx& tx, const BatchMergeState& merge, int64_t now_ms);

}  // namespace vigil::syncd
