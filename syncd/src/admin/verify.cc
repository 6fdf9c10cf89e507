#include "admin/verify.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <unordered_set>

#include "admin/pg_copy.h"
#include "records/record_rules.h"
#include "store/sql_store.h"
#include "store/sqlite_connection.h"
#include "vigil/protocol/batch_codec.h"
#include "vigil/protocol/crypto.h"
#include "vigil/protocol/signing.h"

namespace vigil::syncd {
namespace {

// A folder made for the copy, removed with its content when the guard dies.
class ScratchDir {
 public:
  static Result<ScratchDir> Make(const std::string& parent) {
    std::error_code ec;
    std::filesystem::path base =
        parent.empty() ? std::filesystem::temp_directory_path(ec) : std::filesystem::path(parent);
    if (ec) return Status::FailedPrecondition("no temporary folder: " + ec.message());
    std::string pattern = (base / "syncd-verify-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      return Status::FailedPrecondition("cannot make a scratch folder in " + base.string());
    }
    return ScratchDir(pattern);
  }
  ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Collects problems, keeping the first kMaxProblems.
class Problems {
 public:
  explicit Problems(VerifyReport& report) : report_(report) {}
  void Add(std::string problem) {
    if (report_.problems.size() < kMaxProblems) {
      report_.problems.push_back(std::move(problem));
    } else {
      ++report_.more_problems;
    }
  }

 private:
  VerifyReport& report_;
};

std::string Hex(std::string_view bytes) { return protocol::HexEncode(bytes).substr(0, 16); }

// Runs a pragma that answers "ok" (or nothing) when all is well; each other row (of
// `columns` columns) is a problem.
Status CheckPragma(sqlite::Db& db, const char* pragma, int columns, Problems& problems) {
  sqlite::Statement check(db.get(), pragma);
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, check.Step());
    if (!row) return Status::Ok();
    std::string text;
    for (int i = 0; i < columns; ++i) {
      if (i > 0) text += " ";
      text += check.Text(i);
    }
    if (text != "ok") problems.Add(std::string(pragma) + ": " + text);
  }
}

Result<int64_t> Count(sqlite::Db& db, const std::string& sql) {
  sqlite::Statement stmt(db.get(), sql);
  VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.Int(0) : 0;
}

// A recorded chain gap (sqlite_chain_ops.h): batches from..to lost, the chain going on from
// `hash`.
struct Gap {
  uint64_t from = 0;
  uint64_t to = 0;
  std::string hash;
};

// Every recorded gap by device (none before schema 5).
Result<std::map<std::string, std::vector<Gap>>> LoadGaps(sqlite::Db& db) {
  std::map<std::string, std::vector<Gap>> gaps;
  VIGIL_ASSIGN_OR_RETURN(
      int64_t has_table,
      Count(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'chain_gaps'"));
  if (has_table == 0) return gaps;
  sqlite::Statement stmt(
      db.get(),
      "SELECT device_id, from_seq, to_seq, hash FROM chain_gaps ORDER BY device_id, "
      "from_seq");
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    gaps[stmt.Text(0)].push_back(
        Gap{static_cast<uint64_t>(stmt.Int(1)), static_cast<uint64_t>(stmt.Int(2)), stmt.Blob(3)});
  }
  return gaps;
}

// The gap of `gaps` that starts at `from`, or nullptr.
const Gap* GapFrom(const std::vector<Gap>* gaps, uint64_t from) {
  if (gaps == nullptr) return nullptr;
  for (const Gap& gap : *gaps) {
    if (gap.from == from) return &gap;
  }
  return nullptr;
}

// Step 2 and 3 (see verify.h) on the copy.
Status CheckChains(sqlite::Db& db, const VerifyOptions& options, VerifyReport& report,
                   Problems& problems) {
  std::string server_id;
  {
    sqlite::Statement setting(db.get(), "SELECT value FROM settings WHERE key = 'server_id'");
    VIGIL_ASSIGN_OR_RETURN(bool row, setting.Step());
    if (!row) return Status::FailedPrecondition("the store has no server_id");
    server_id = setting.Blob(0);
  }
  std::optional<protocol::Ed25519PublicKey> receipt_key;
  if (!options.receipt_public_key.empty()) {
    VIGIL_ASSIGN_OR_RETURN(receipt_key,
                           protocol::Ed25519PublicKey::FromRaw(options.receipt_public_key));
  }

  VIGIL_ASSIGN_OR_RETURN(auto gaps, LoadGaps(db));
  std::unordered_set<std::string> carried;  // Record ids stored by the batch that carries them.
  sqlite::Statement devices(db.get(),
                            "SELECT device_id, public_key, last_seq, last_hash FROM devices "
                            "ORDER BY device_id");
  sqlite::Statement batches(
      db.get(),
      "SELECT seq, hash, bytes, signature, receipt, record_count FROM batches "
      "WHERE device_id = ? ORDER BY seq");
  sqlite::Statement stored(
      db.get(), "SELECT device_id, batch_seq, content_hash FROM records WHERE record_id = ?");
  sqlite::Statement rejected(
      db.get(),
      "SELECT 1 FROM record_rejections WHERE device_id = ? AND batch_seq = ? AND "
      "record_id = ?");
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool device_row, devices.Step());
    if (!device_row) break;
    ++report.devices;
    const std::string device_id = devices.Text(0);
    const uint64_t last_seq = static_cast<uint64_t>(devices.Int(2));
    const std::string last_hash = devices.Blob(3);
    Result<protocol::Ed25519PublicKey> device_key =
        protocol::Ed25519PublicKey::FromRaw(devices.Blob(1));
    if (!device_key.ok()) problems.Add("device " + device_id + ": its public key is unusable");

    uint64_t expected = 1;
    std::string prev = protocol::GenesisHash();
    auto device_gaps = gaps.find(device_id);
    const std::vector<Gap>* recorded = device_gaps == gaps.end() ? nullptr : &device_gaps->second;
    // Steps over a recorded gap that starts at `expected` and ends before `next`.
    auto skip_gap = [&](uint64_t next) {
      const Gap* gap = GapFrom(recorded, expected);
      if (gap == nullptr || gap->to >= next) return false;
      report.gaps.push_back("device " + device_id + ": batches " + std::to_string(gap->from) +
                            ".." + std::to_string(gap->to) + " lost (a recorded chain gap)");
      expected = gap->to + 1;
      prev = gap->hash;
      return true;
    };
    batches.Reset();
    batches.BindText(1, device_id);
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, batches.Step());
      if (!row) break;
      ++report.batches;
      const uint64_t seq = static_cast<uint64_t>(batches.Int(0));
      const std::string hash = batches.Blob(1);
      const std::string bytes = batches.Blob(2);
      const std::string where = "device " + device_id + " batch " + std::to_string(seq);
      if (seq != expected && !(skip_gap(seq) && seq == expected)) {
        problems.Add(where + ": expected batch " + std::to_string(expected) + " (a gap)");
        expected = seq;
      }
      ++expected;
      if (protocol::Sha256(bytes) != hash) {
        problems.Add(where + ": stored hash " + Hex(hash) + " is not the SHA-256 of its bytes");
      }
      v1::Batch batch;
      if (!batch.ParseFromString(bytes)) {
        problems.Add(where + ": stored bytes do not parse as a Batch");
        prev = hash;
        continue;
      }
      if (batch.device_id() != device_id || batch.batch_seq() != seq) {
        problems.Add(where + ": the Batch names device " + batch.device_id() + " batch " +
                     std::to_string(batch.batch_seq()));
      }
      if (batch.prev_batch_hash() != prev) {
        problems.Add(where + ": prev_batch_hash " + Hex(batch.prev_batch_hash()) +
                     " is not the previous batch's hash " + Hex(prev));
      }
      prev = hash;
      if (device_key.ok() &&
          !device_key->Verify(protocol::SignatureInput(protocol::kBatchLabel, server_id, bytes),
                              batches.Blob(3))) {
        problems.Add(where + ": its signature does not verify with the device's key");
      }
      v1::SignedReceipt signed_receipt;
      v1::Receipt receipt;
      if (!signed_receipt.ParseFromString(batches.Blob(4)) ||
          !receipt.ParseFromString(signed_receipt.receipt_bytes())) {
        problems.Add(where + ": its receipt does not parse");
      } else {
        if (receipt.device_id() != device_id || receipt.batch_seq() != seq ||
            receipt.batch_hash() != hash || receipt.server_id() != server_id ||
            receipt.record_count() != static_cast<uint32_t>(batches.Int(5))) {
          problems.Add(where + ": its receipt names another device, batch, hash or count");
        }
        if (receipt_key &&
            !receipt_key->Verify(protocol::SignatureInput(protocol::kReceiptLabel, server_id,
                                                          signed_receipt.receipt_bytes()),
                                 signed_receipt.signature())) {
          problems.Add(where + ": its receipt's signature does not verify with the receipt key");
        }
      }
      Result<v1::RecordList> records = protocol::DecodePayload(batch);
      if (!records.ok()) {
        problems.Add(where + ": its payload does not decode: " + records.status().message());
        continue;
      }
      for (const v1::Record& record : records->records()) {
        Result<RecordFacts> facts = DescribeRecord(record);
        std::string id =
            facts.ok() ? facts->record_id
                       : std::string(protocol::RecordId(record)).substr(0, kMaxRecordIdLength);
        bool here = false;
        bool elsewhere_same = false;
        if (facts.ok()) {
          stored.Reset();
          stored.BindText(1, id);
          VIGIL_ASSIGN_OR_RETURN(bool found, stored.Step());
          if (found) {
            const bool same = stored.Blob(2) == facts->content_hash;
            if (stored.Text(0) == device_id && static_cast<uint64_t>(stored.Int(1)) == seq) {
              if (!same) problems.Add(where + ": record " + id + " is stored with other content");
              here = true;
            } else {
              elsewhere_same = same;
            }
          }
        }
        if (here) {
          carried.insert(id);
        } else if (elsewhere_same) {
          ++report.records_again;
        } else {
          rejected.Reset();
          rejected.BindText(1, device_id).Bind(2, static_cast<int64_t>(seq)).BindText(3, id);
          VIGIL_ASSIGN_OR_RETURN(bool listed, rejected.Step());
          if (listed) {
            ++report.records_rejected;
          } else {
            problems.Add(where + ": record " + id + " is neither stored nor listed as rejected");
          }
        }
      }
    }
    if (last_seq >= expected) skip_gap(last_seq + 1);
    if (expected - 1 != last_seq) {
      problems.Add("device " + device_id + ": last_seq is " + std::to_string(last_seq) +
                   " but batches 1.." + std::to_string(expected - 1) + " are stored");
    } else if (last_seq > 0 && last_hash != prev) {
      problems.Add("device " + device_id + ": last_hash is not the hash of batch " +
                   std::to_string(last_seq));
    }
  }

  sqlite::Statement all(
      db.get(),
      "SELECT record_id, device_id, batch_seq, content_hash, bytes, EXISTS(SELECT 1 "
      "FROM quarantine q WHERE q.record_id = records.record_id) FROM records");
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, all.Step());
    if (!row) break;
    ++report.records;
    const std::string id = all.Text(0);
    if (carried.count(id) == 0) {
      problems.Add("record " + id + " is stored for device " + all.Text(1) + " batch " +
                   std::to_string(all.Int(2)) + ", which does not carry it");
    }
    // A record held for being larger than its form allows is stored without its bytes
    // (docs/protocol.md §8.5); its batch, checked above, carries them under the same hash.
    const bool held_without_bytes = all.Blob(4).empty() && all.Int(5) != 0;
    if (!held_without_bytes && protocol::Sha256(all.Blob(4)) != all.Blob(3)) {
      problems.Add("record " + id + ": stored bytes do not match its content hash");
    }
  }
  VIGIL_ASSIGN_OR_RETURN(
      int64_t orphans,
      Count(db,
            "SELECT count(*) FROM batches WHERE device_id NOT IN (SELECT device_id FROM "
            "devices)"));
  if (orphans > 0) problems.Add(std::to_string(orphans) + " batches belong to no device");
  return Status::Ok();
}

// One table merge derives: its columns compared (all but timestamps) and how a row is named.
struct Derived {
  const char* table;
  const char* columns;
  const char* key;
  const char* what;
};

constexpr Derived kDerived[] = {
    {"merge_latest",
     "station_code, form_id, observer_id, submission_id, device_id, finalized_at_ms",
     "station_code || '/' || form_id || '/' || observer_id", "latest submission of"},
    {"masters", "station_code, form_id, form_version, status, master, province, district, commune",
     "station_code || '/' || form_id", "master"},
    {"conflicts", "station_code, form_id, question_id, conflict",
     "station_code || '/' || form_id || '/' || question_id", "conflict"},
    {"qa_flags", "submission_id, station_code, form_id, check_id, flag",
     "submission_id || '/' || check_id", "QA flag"},
    {"cases", "case_id, station_code, first_occurred_at_ms, body", "case_id", "case"},
    {"case_members", "incident_id, case_id, station_code, device_id", "incident_id",
     "case membership of incident"},
};

Status SnapshotDerived(sqlite::Db& db) {
  for (const Derived& d : kDerived) {
    VIGIL_RETURN_IF_ERROR(db.Exec(std::string("CREATE TABLE verify_") + d.table + " AS SELECT " +
                                  d.columns + " FROM " + d.table));
  }
  return Status::Ok();
}

// Rows of `a` not in `b` (as sets), named by key; at most 5.
Result<std::vector<std::string>> Missing(sqlite::Db& db, const Derived& d, const std::string& a,
                                         const std::string& b) {
  sqlite::Statement stmt(db.get(), std::string("SELECT ") + d.key + " FROM (SELECT " + d.columns +
                                       " FROM " + a + " EXCEPT SELECT " + d.columns + " FROM " + b +
                                       ") LIMIT 5");
  std::vector<std::string> keys;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    keys.push_back(stmt.Text(0));
  }
  return keys;
}

Status CompareDerived(sqlite::Db& db, VerifyReport& report, Problems& problems) {
  for (const Derived& d : kDerived) {
    const std::string stored = std::string("verify_") + d.table;
    const std::string recomputed = d.table;
    VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> only_stored,
                           Missing(db, d, stored, recomputed));
    VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> only_recomputed,
                           Missing(db, d, recomputed, stored));
    std::unordered_set<std::string> differing(only_stored.begin(), only_stored.end());
    for (const std::string& key : only_stored) {
      bool both =
          std::find(only_recomputed.begin(), only_recomputed.end(), key) != only_recomputed.end();
      problems.Add(std::string(d.what) + " " + key +
                   (both ? ": stored differs from its recomputation"
                         : ": stored, but the recomputation has none"));
    }
    for (const std::string& key : only_recomputed) {
      if (differing.count(key) > 0) continue;
      problems.Add(std::string(d.what) + " " + key + ": recomputed, but none is stored");
    }
    VIGIL_ASSIGN_OR_RETURN(int64_t stored_rows, Count(db, "SELECT count(*) FROM " + stored));
    VIGIL_ASSIGN_OR_RETURN(int64_t recomputed_rows,
                           Count(db, "SELECT count(*) FROM " + recomputed));
    if (only_stored.empty() && only_recomputed.empty() && stored_rows != recomputed_rows) {
      problems.Add(std::string(d.table) + ": " + std::to_string(stored_rows) + " rows stored, " +
                   std::to_string(recomputed_rows) + " recomputed");
    }
  }
  VIGIL_ASSIGN_OR_RETURN(int64_t masters, Count(db, "SELECT count(*) FROM masters"));
  VIGIL_ASSIGN_OR_RETURN(int64_t conflicts, Count(db, "SELECT count(*) FROM conflicts"));
  VIGIL_ASSIGN_OR_RETURN(int64_t cases, Count(db, "SELECT count(*) FROM cases"));
  report.masters = static_cast<uint64_t>(masters);
  report.conflicts = static_cast<uint64_t>(conflicts);
  report.cases = static_cast<uint64_t>(cases);
  return Status::Ok();
}

}  // namespace

namespace {

// Steps 2-4 on the scratch copy at `copy_path`.
Status VerifyCopy(const std::string& copy_path, const VerifyOptions& options, VerifyReport& report,
                  Problems& problems) {
  {
    VIGIL_ASSIGN_OR_RETURN(
        sqlite::Db copy, sqlite::Db::Open(copy_path, {.create = false, .busy_timeout_ms = 10000}));
    VIGIL_ASSIGN_OR_RETURN(int version, SchemaVersion(copy));
    // An older store is migrated when the copy opens as a store below; its merge tables
    // only exist from schema 2 on.
    if (version >= 2) VIGIL_RETURN_IF_ERROR(SnapshotDerived(copy));
    VIGIL_RETURN_IF_ERROR(CheckChains(copy, options, report, problems));
    if (version < 2) return Status::Ok();
  }
  {
    VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<SqlStore> store, SqlStore::Open(copy_path, false));
    Status rebuilt = store->RebuildMerge();
    store->Close();
    VIGIL_RETURN_IF_ERROR(rebuilt.WithContext("recomputing merge on the copy"));
  }
  VIGIL_ASSIGN_OR_RETURN(sqlite::Db copy,
                         sqlite::Db::Open(copy_path, {.create = false, .busy_timeout_ms = 10000}));
  return CompareDerived(copy, report, problems);
}

}  // namespace

Result<VerifyReport> VerifyStore(const std::string& db_path, const VerifyOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(db_path, ec)) {
    return Status::NotFound("no store at " + db_path);
  }
  VerifyReport report;
  Problems problems(report);
  VIGIL_ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::Make(options.scratch_dir));
  const std::string copy_path = scratch.path() + "/syncd.db";
  {
    VIGIL_ASSIGN_OR_RETURN(sqlite::Db original,
                           sqlite::Db::Open(db_path, {.create = false, .busy_timeout_ms = 10000}));
    VIGIL_ASSIGN_OR_RETURN(int version, SchemaVersion(original));
    if (version == 0) {
      return Status::FailedPrecondition(db_path + " is not an initialized store");
    }
    if (version > kSchemaVersion) {
      return Status::Unimplemented("the store has schema version " + std::to_string(version) +
                                   "; this syncd knows up to " + std::to_string(kSchemaVersion));
    }
    VIGIL_RETURN_IF_ERROR(CheckPragma(original, "PRAGMA integrity_check", 1, problems));
    VIGIL_RETURN_IF_ERROR(CheckPragma(original, "PRAGMA foreign_key_check", 4, problems));
    VIGIL_RETURN_IF_ERROR(sqlite::CopyDatabase(original, copy_path));
  }
  VIGIL_RETURN_IF_ERROR(VerifyCopy(copy_path, options, report, problems));
  return report;
}

Result<VerifyReport> VerifyPostgresStore(const std::string& url, const VerifyOptions& options) {
  VerifyReport report;
  Problems problems(report);
  VIGIL_ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::Make(options.scratch_dir));
  const std::string copy_path = scratch.path() + "/syncd.db";
  VIGIL_RETURN_IF_ERROR(
      CopyPostgresToSqlite(url, copy_path).WithContext("copying the PostgreSQL store"));
  VIGIL_RETURN_IF_ERROR(VerifyCopy(copy_path, options, report, problems));
  return report;
}

std::string VerifyText(const VerifyReport& report) {
  std::ostringstream out;
  out << "devices: " << report.devices << "\n"
      << "batches: " << report.batches << "\n"
      << "records: " << report.records << " (sent again: " << report.records_again
      << ", rejected: " << report.records_rejected << ")\n"
      << "recomputed: " << report.masters << " masters, " << report.conflicts << " conflicts, "
      << report.cases << " cases\n";
  for (const std::string& gap : report.gaps) out << "gap: " << gap << "\n";
  if (report.ok()) {
    out << "verify: ok\n";
    return out.str();
  }
  for (const std::string& p : report.problems) out << "problem: " << p << "\n";
  if (report.more_problems > 0) out << "... and " << report.more_problems << " more problems\n";
  out << "verify: FAILED: " << report.problems.front() << "\n";
  return out.str();
}

int RunVerifyCommand(const DataDir& dir, const std::string& scratch_dir, std::ostream& out,
                     std::ostream& err) {
  VerifyOptions options;
  options.scratch_dir = scratch_dir;
  Result<protocol::Ed25519PrivateKey> key = LoadReceiptKey(dir);
  if (key.ok()) {
    options.receipt_public_key = key->public_key().raw();
  } else {
    err << "syncd: verify: receipts' signatures not checked: " << key.status().message() << "\n";
  }
  Result<std::optional<std::string>> url = DatabaseUrl(dir);
  if (!url.ok()) {
    err << "syncd: verify: " << url.status().message() << "\n";
    return 1;
  }
  Result<VerifyReport> report =
      url->has_value() ? VerifyPostgresStore(**url, options) : VerifyStore(dir.db(), options);
  if (!report.ok()) {
    err << "syncd: verify: " << report.status().message() << "\n";
    return 1;
  }
  out << VerifyText(*report);
  if (!report->ok()) {
    err << "syncd: verify: " << report->problems.front() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace vigil::syncd
