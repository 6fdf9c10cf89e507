// `syncd admin backup` and `syncd restore` (docs/operations.md §9).
//
// A backup FILE is one SQLite database: a consistent online copy of DIR/syncd.db (SQLite's
// backup API, from its own connection, while `syncd serve` goes on writing) plus a table
// backup_files holding the data dir's key files (receipt_key, tls/cert.pem, tls/key.pem). It
// is written to a temporary file of mode 0600, fsynced and renamed, so a FILE that exists is
// complete. Once it is, the live store records the backup and, per device, the newest batch
// the copy holds (backups, backup_coverage): devices purge nothing above that
// (docs/protocol.md §10.4). The copy carries the same record of itself, so a store restored
// from it knows it is covered by it.
//
// A restore puts a FILE back into a data dir while no `syncd serve` runs there (it takes
// serve's lock, DIR/serve.lock, for its duration): the file is copied, checked (SQLite
// integrity, schema version, server id, the key files) and only then moved into place, its
// key files written with their modes (receipt_key and tls/key.pem 0600) and removed from the
// restored database. A data dir that holds a store is refused unless `force`; then its store
// and keys are kept aside as NAME.before-restore-<UTC time>.
#pragma once

#include <cstdint>
#include <string>

#include "admin/data_dir.h"
#include "vigil/status.h"

namespace vigil::syncd {

// What a backup wrote.
struct BackupResult {
  std::string file;  // As given.
  int64_t bytes = 0;
  std::string sha256;  // 32 raw bytes, of the whole file.
  int64_t completed_at_ms = 0;
  uint64_t devices = 0;  // Devices whose chains the backup covers.
  uint64_t batches = 0;
  uint64_t records = 0;
};

// Takes a backup of `dir` into `out_path` (which must not exist). FailedPrecondition when the
// data dir has no store or lacks a key file, or `out_path` exists.
Result<BackupResult> TakeBackup(const DataDir& dir, const std::string& out_path);

// What a restore did.
struct RestoreResult {
  std::string server_id;
  int64_t backup_completed_at_ms = 0;  // When the backup was taken.
  uint64_t devices = 0;
  uint64_t batches = 0;
  uint64_t records = 0;
  std::string kept_aside;  // The suffix of what --force kept aside, or "".
};

// Restores `from` into `dir` (see above). FailedPrecondition while serve runs on `dir`, or
// when `dir` holds a store and not `force`; DataLoss for a damaged or incomplete file;
// Unimplemented for a file of a newer schema.
Result<RestoreResult> RestoreBackup(const DataDir& dir, const std::string& from, bool force);

// Both results for people, one fact a line.
std::string BackupText(const BackupResult& result);
std::string RestoreText(const DataDir& dir, const RestoreResult& result);

}  // namespace vigil::syncd
