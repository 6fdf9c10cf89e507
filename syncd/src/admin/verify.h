// `syncd admin verify`: checks that a store is what its own rules say it must be, without
// writing to it. Used after crashes (scripts/soak) and before trusting a restored backup.
//
// What is checked, in this order:
//
//  1. SQLite: PRAGMA integrity_check and PRAGMA foreign_key_check on the store itself.
//  2. Chains, on a consistent copy: for every device, batches 1..last_seq with no gap but
//     those recorded in chain_gaps (lost after a restore: listed, and the next batch must
//     chain on the gap's hash), each batch's SHA-256 equal to its stored hash, its Batch
//     naming the device and sequence and chaining on the previous hash (genesis for batch
//     1), its signature valid under the device's key for this server id, its receipt naming
//     device, sequence, hash and record count (and, given the receipt key, signed by it);
//     devices.last_seq / last_hash equal to the newest batch (or the last gap's).
//  3. Records: every record of every stored batch is stored there with the content hash it
//     has in the batch, or was stored by an earlier batch (sent again), or is listed as
//     rejected; every stored record is carried by the batch it names (so none is stored
//     twice or without its batch); its stored bytes hash to its content hash.
//  4. Merge: the copy's merge tables (merge_latest, masters, conflicts, qa_flags, cases,
//     case_members) are emptied and recomputed from the stored records with the store's own
//     merge code (SqlStore::RebuildMerge); the recomputation must equal what was stored,
//     row for row (masters' updated_at_ms aside).
//
// The copy is made with SQLite's online backup into a scratch folder and removed afterwards,
// so verify may run while `syncd serve` does. A PostgreSQL store is copied into a scratch
// SQLite store from one snapshot (admin/pg_copy.h), while every node serves; step 1 is then
// PostgreSQL's own business, steps 2-4 are the same.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "admin/data_dir.h"
#include "vigil/status.h"

namespace vigil::syncd {

struct VerifyOptions {
  // The raw Ed25519 public key receipts must verify with; empty: receipts' signatures are not
  // checked (their content still is).
  std::string receipt_public_key;
  // Where the scratch copy goes; empty: the system's temporary folder.
  std::string scratch_dir;
};

struct VerifyReport {
  uint64_t devices = 0;
  uint64_t batches = 0;
  uint64_t records = 0;
  uint64_t records_again = 0;     // Records of a batch already stored by an earlier one.
  uint64_t records_rejected = 0;  // Records of a batch listed in record_rejections.
  uint64_t masters = 0;
  uint64_t conflicts = 0;
  uint64_t cases = 0;
  // Recorded chain gaps (lost batches after a restore), one line each; not problems.
  std::vector<std::string> gaps;
  // What does not hold, in the order found (the first difference first); at most
  // kMaxProblems, then `more_problems` counts the rest.
  std::vector<std::string> problems;
  uint64_t more_problems = 0;
  bool ok() const { return problems.empty(); }
};

inline constexpr size_t kMaxProblems = 20;

// Verifies the store at `db_path`. Fails (rather than reporting problems) only when the
// check itself cannot run: no store, a newer schema, no space for the copy.
Result<VerifyReport> VerifyStore(const std::string& db_path, const VerifyOptions& options);

// Verifies the PostgreSQL store at `url` (steps 2-4, on a copy into a scratch SQLite store).
Result<VerifyReport> VerifyPostgresStore(const std::string& url, const VerifyOptions& options);

// The report for people: counts, then "verify: ok" or each problem on its own line.
std::string VerifyText(const VerifyReport& report);

// `syncd admin --data DIR verify [--scratch DIR]`: prints the report; 0 when everything
// holds, 1 when something does not (or the check could not run).
int RunVerifyCommand(const DataDir& dir, const std::string& scratch_dir, std::ostream& out,
                     std::ostream& err);

}  // namespace vigil::syncd
