// Backup and restore of a data dir (see backup.h).
#include "admin/backup.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <memory>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "admin/admin.h"
#include "store/sql_store.h"
#include "store/sqlite_connection.h"
#include "vigil/protocol/crypto.h"

namespace vigil::syncd {
namespace {

namespace fs = std::filesystem;

// A key file of the data dir: its path inside it and the mode it is written with.
struct KeyFile {
  const char* name;
  mode_t mode;
};
constexpr KeyFile kKeyFiles[] = {
    {"receipt_key", 0600}, {"tls/cert.pem", 0644}, {"tls/key.pem", 0600}};
constexpr size_t kMaxKeyFileBytes = 1u << 20;

std::string ErrnoText() { return std::error_code(errno, std::generic_category()).message(); }

// A file descriptor closed when the guard dies.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Removes a file when the guard dies, unless released.
class RemoveGuard {
 public:
  explicit RemoveGuard(std::string path) : path_(std::move(path)) {}
  RemoveGuard(const RemoveGuard&) = delete;
  RemoveGuard& operator=(const RemoveGuard&) = delete;
  ~RemoveGuard() {
    if (path_.empty()) return;
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path_ + suffix, ec);
  }
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

Status FsyncPath(const std::string& path, bool directory) {
  Fd fd(open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC));
  if (fd.get() < 0) return Status::Internal("cannot open " + path + ": " + ErrnoText());
  if (fsync(fd.get()) != 0) return Status::Internal("cannot fsync " + path + ": " + ErrnoText());
  return Status::Ok();
}

std::string ParentOf(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

// Creates an empty file of `mode` that must not exist yet.
Status CreateEmpty(const std::string& path, mode_t mode) {
  Fd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return Status::FailedPrecondition("cannot create " + path + ": " + ErrnoText());
  if (fchmod(fd.get(), mode) != 0) return Status::Internal("cannot chmod " + path);
  return Status::Ok();
}

// Writes `content` to `path` with `mode`: temporary file, fsync, rename, fsync the folder.
Status WriteWithMode(const std::string& path, const std::string& content, mode_t mode) {
  const std::string tmp = path + ".restore-tmp";
  std::error_code ec;
  fs::remove(tmp, ec);
  VIGIL_RETURN_IF_ERROR(CreateEmpty(tmp, mode));
  RemoveGuard guard(tmp);
  {
    Fd fd(open(tmp.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) return Status::Internal("cannot open " + tmp + ": " + ErrnoText());
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::Internal("cannot write " + tmp + ": " + ErrnoText());
      done += static_cast<size_t>(n);
    }
    if (fsync(fd.get()) != 0) return Status::Internal("cannot fsync " + tmp);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::Internal("cannot rename " + tmp + ": " + ErrnoText());
  }
  guard.Release();
  return FsyncPath(ParentOf(path), true);
}

// Copies a (possibly large) file byte for byte into a new file of mode 0600, fsynced.
Status CopyFileBytes(const std::string& from, const std::string& to) {
  Fd in(open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return Status::NotFound("cannot read " + from + ": " + ErrnoText());
  VIGIL_RETURN_IF_ERROR(CreateEmpty(to, 0600));
  Fd out(open(to.c_str(), O_WRONLY | O_CLOEXEC));
  if (out.get() < 0) return Status::Internal("cannot open " + to + ": " + ErrnoText());
  std::vector<char> buffer(1u << 20);
  while (true) {
    ssize_t n = read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Internal("cannot read " + from + ": " + ErrnoText());
    if (n == 0) break;
    ssize_t done = 0;
    while (done < n) {
      ssize_t w = write(out.get(), buffer.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return Status::Internal("cannot write " + to + ": " + ErrnoText());
      done += w;
    }
  }
  if (fsync(out.get()) != 0) return Status::Internal("cannot fsync " + to);
  return Status::Ok();
}

// SHA-256 and size of a file, read in pieces.
Result<std::pair<std::string, int64_t>> HashFile(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::NotFound("cannot read " + path + ": " + ErrnoText());
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return Status::Internal("SHA-256 unavailable");
  }
  std::vector<unsigned char> buffer(1u << 20);
  int64_t total = 0;
  while (true) {
    ssize_t n = read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Internal("cannot read " + path + ": " + ErrnoText());
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(n));
    total += n;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &size) != 1) return Status::Internal("SHA-256 failed");
  return std::make_pair(std::string(reinterpret_cast<char*>(digest), size), total);
}

Result<int64_t> CountRows(sqlite::Db& db, const char* sql) {
  sqlite::Statement stmt(db.get(), sql);
  VIGIL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.Int(0) : 0;
}

// A device's chain head as a backup copy holds it.
struct Coverage {
  std::string device_id;
  int64_t seq = 0;
};

// In the fresh copy: stores the key files, records the backup of itself, and reads what it
// covers; then leaves the file self-contained (no -wal).
Status FinishCopy(const std::string& copy_path, const DataDir& dir, int64_t completed_at_ms,
                  const std::string& file_name, std::vector<Coverage>& coverage,
                  BackupResult& result) {
  VIGIL_ASSIGN_OR_RETURN(sqlite::Db copy,
                         sqlite::Db::Open(copy_path, {.create = false, .busy_timeout_ms = 10000}));
  {
    sqlite::Transaction txn(copy);
    VIGIL_RETURN_IF_ERROR(txn.status());
    VIGIL_RETURN_IF_ERROR(copy.Exec(
        "CREATE TABLE backup_files(name TEXT PRIMARY KEY, content BLOB NOT NULL) WITHOUT ROWID"));
    sqlite::Statement put(copy.get(), "INSERT INTO backup_files(name, content) VALUES (?, ?)");
    for (const KeyFile& key : kKeyFiles) {
      Result<std::string> content = ReadFile(dir.root + "/" + key.name, kMaxKeyFileBytes);
      if (!content.ok()) {
        return Status::FailedPrecondition("the data dir lacks " + std::string(key.name) + ": " +
                                          content.status().message());
      }
      put.Reset();
      put.BindText(1, key.name).BindBlob(2, *content);
      Status stored = put.Run();
      protocol::SecureWipe(*content);
      VIGIL_RETURN_IF_ERROR(stored);
    }
    sqlite::Statement self(
        copy.get(),
        "INSERT INTO backups(completed_at_ms, file, sha256, bytes) VALUES (?, ?, x'', 0)");
    self.Bind(1, completed_at_ms).BindText(2, file_name);
    VIGIL_RETURN_IF_ERROR(self.Run());
    sqlite::Statement cover(
        copy.get(),
        "INSERT INTO backup_coverage(backup_id, device_id, seq) SELECT ?, device_id, "
        "last_seq FROM devices");
    cover.Bind(1, copy.LastInsertRowId());
    VIGIL_RETURN_IF_ERROR(cover.Run());
    VIGIL_RETURN_IF_ERROR(txn.Commit());
  }
  {
    sqlite::Statement heads(copy.get(),
                            "SELECT device_id, last_seq FROM devices ORDER BY device_id");
    while (true) {
      VIGIL_ASSIGN_OR_RETURN(bool row, heads.Step());
      if (!row) break;
      coverage.push_back(Coverage{heads.Text(0), heads.Int(1)});
    }
  }
  result.devices = coverage.size();
  VIGIL_ASSIGN_OR_RETURN(int64_t batches, CountRows(copy, "SELECT count(*) FROM batches"));
  VIGIL_ASSIGN_OR_RETURN(int64_t records, CountRows(copy, "SELECT count(*) FROM records"));
  result.batches = static_cast<uint64_t>(batches);
  result.records = static_cast<uint64_t>(records);
  return copy.Exec("PRAGMA journal_mode=DELETE");
}

// Records a completed backup and its coverage in the live store.
Status RecordBackup(sqlite::Db& live, const BackupResult& result, const std::string& file,
                    const std::vector<Coverage>& coverage) {
  sqlite::Transaction txn(live);
  VIGIL_RETURN_IF_ERROR(txn.status());
  sqlite::Statement put(
      live.get(), "INSERT INTO backups(completed_at_ms, file, sha256, bytes) VALUES (?, ?, ?, ?)");
  put.Bind(1, result.completed_at_ms).BindText(2, file).BindBlob(3, result.sha256);
  put.Bind(4, result.bytes);
  VIGIL_RETURN_IF_ERROR(put.Run());
  const int64_t backup_id = live.LastInsertRowId();
  sqlite::Statement cover(
      live.get(), "INSERT INTO backup_coverage(backup_id, device_id, seq) VALUES (?, ?, ?)");
  for (const Coverage& c : coverage) {
    cover.Reset();
    cover.Bind(1, backup_id).BindText(2, c.device_id).Bind(3, c.seq);
    VIGIL_RETURN_IF_ERROR(cover.Run());
  }
  return txn.Commit();
}

// Holds serve's lock on the data dir (LockDataDir in syncd/tools/cmd_serve.cc) while alive.
class DataDirLock {
 public:
  static Result<DataDirLock> Take(const DataDir& dir) {
    const std::string path = dir.root + "/serve.lock";
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Status::FailedPrecondition("cannot open " + path + ": " + ErrnoText());
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      close(fd);
      return Status::FailedPrecondition("syncd serve is running on " + dir.root +
                                        "; stop it before restoring");
    }
    return DataDirLock(fd);
  }
  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock() {
    if (fd_ >= 0) close(fd_);
  }

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_;
};

std::string UtcStamp(int64_t ms) { return FormatUtc(ms, "%Y%m%dT%H%M%SZ"); }

// Checks the restored copy and takes its key files out of it.
Result<std::vector<std::pair<KeyFile, std::string>>> CheckAndExtract(const std::string& path,
                                                                     RestoreResult& result) {
  VIGIL_ASSIGN_OR_RETURN(sqlite::Db db,
                         sqlite::Db::Open(path, {.create = false, .busy_timeout_ms = 10000}));
  sqlite::Statement integrity(db.get(), "PRAGMA integrity_check");
  VIGIL_ASSIGN_OR_RETURN(bool row, integrity.Step());
  if (!row || integrity.Text(0) != "ok") {
    return Status::DataLoss("the backup file is damaged: integrity_check says " +
                            (row ? integrity.Text(0) : std::string("nothing")));
  }
  integrity.Reset();  // Every statement is reset before the DROP below, which needs no reader.
  VIGIL_ASSIGN_OR_RETURN(int version, SchemaVersion(db));
  if (version < 5) {
    return Status::DataLoss("the file is not a `syncd admin backup` (schema version " +
                            std::to_string(version) + ")");
  }
  if (version > kSchemaVersion) {
    return Status::Unimplemented("the backup has schema version " + std::to_string(version) +
                                 "; this syncd knows up to " + std::to_string(kSchemaVersion));
  }
  sqlite::Statement server(db.get(), "SELECT value FROM settings WHERE key = 'server_id'");
  VIGIL_ASSIGN_OR_RETURN(bool has_server, server.Step());
  if (!has_server) return Status::DataLoss("the backup has no server id");
  result.server_id = server.Blob(0);
  server.Reset();
  VIGIL_ASSIGN_OR_RETURN(int64_t has_files,
                         CountRows(db,
                                   "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                   "name = 'backup_files'"));
  if (has_files == 0) return Status::DataLoss("the file holds no key files: not a backup");
  std::vector<std::pair<KeyFile, std::string>> files;
  sqlite::Statement get(db.get(), "SELECT content FROM backup_files WHERE name = ?");
  for (const KeyFile& key : kKeyFiles) {
    get.Reset();
    get.BindText(1, key.name);
    VIGIL_ASSIGN_OR_RETURN(bool found, get.Step());
    if (!found) return Status::DataLoss("the backup lacks " + std::string(key.name));
    files.emplace_back(key, get.Blob(0));
  }
  get.Reset();
  sqlite::Statement taken(db.get(), "SELECT max(completed_at_ms) FROM backups");
  VIGIL_ASSIGN_OR_RETURN(bool has_time, taken.Step());
  if (has_time) result.backup_completed_at_ms = taken.Int(0);
  taken.Reset();
  VIGIL_ASSIGN_OR_RETURN(int64_t devices, CountRows(db, "SELECT count(*) FROM devices"));
  VIGIL_ASSIGN_OR_RETURN(int64_t batches, CountRows(db, "SELECT count(*) FROM batches"));
  VIGIL_ASSIGN_OR_RETURN(int64_t records, CountRows(db, "SELECT count(*) FROM records"));
  result.devices = static_cast<uint64_t>(devices);
  result.batches = static_cast<uint64_t>(batches);
  result.records = static_cast<uint64_t>(records);
  // The keys live as files in the data dir; the store does not keep a second copy of them,
  // and secure_delete zeroes the pages they held.
  VIGIL_RETURN_IF_ERROR(db.Exec("PRAGMA secure_delete=ON; DROP TABLE backup_files;"));
  return files;
}

// Moves what a data dir holds of a store aside (--force): NAME.before-restore-STAMP.
Status KeepAside(const DataDir& dir, const std::string& stamp) {
  for (const std::string& name :
       {std::string("syncd.db"), std::string("syncd.db-wal"), std::string("syncd.db-shm"),
        std::string("receipt_key"), std::string("tls/cert.pem"), std::string("tls/key.pem")}) {
    const std::string path = dir.root + "/" + name;
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    const std::string aside = path + ".before-restore-" + stamp;
    if (rename(path.c_str(), aside.c_str()) != 0) {
      return Status::Internal("cannot move " + path + " aside: " + ErrnoText());
    }
  }
  return Status::Ok();
}

// Backups of a PostgreSQL store are PostgreSQL's: this command copies SQLite files.
Status RefusePostgres(const DataDir& dir, const char* what) {
  VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> url, DatabaseUrl(dir));
  if (!url) return Status::Ok();
  return Status::FailedPrecondition(
      std::string("the store of ") + dir.root + " is PostgreSQL: " + what +
      " with PostgreSQL's own tools (pg_basebackup and WAL archiving; docs/operations.md, "
      "\"A national deployment\")");
}

}  // namespace

Result<BackupResult> TakeBackup(const DataDir& dir, const std::string& out_path) {
  VIGIL_RETURN_IF_ERROR(RefusePostgres(dir, "back it up"));
  std::error_code ec;
  if (!fs::exists(dir.db(), ec)) {
    return Status::FailedPrecondition("no store in " + dir.root);
  }
  if (fs::exists(out_path, ec)) {
    return Status::FailedPrecondition(out_path + " exists; give a new file name");
  }
  VIGIL_ASSIGN_OR_RETURN(sqlite::Db live,
                         sqlite::Db::Open(dir.db(), {.create = false, .busy_timeout_ms = 10000}));
  VIGIL_ASSIGN_OR_RETURN(int version, SchemaVersion(live));
  if (version != kSchemaVersion) VIGIL_RETURN_IF_ERROR(MigrateSchema(live));

  BackupResult result;
  result.file = out_path;
  const std::string tmp = out_path + ".tmp-" + std::to_string(getpid());
  VIGIL_RETURN_IF_ERROR(CreateEmpty(tmp, 0600));
  RemoveGuard guard(tmp);
  VIGIL_RETURN_IF_ERROR(sqlite::CopyDatabase(live, tmp));
  result.completed_at_ms = NowMs();
  std::vector<Coverage> coverage;
  VIGIL_RETURN_IF_ERROR(FinishCopy(tmp, dir, result.completed_at_ms,
                                   fs::path(out_path).filename().string(), coverage, result));
  VIGIL_RETURN_IF_ERROR(FsyncPath(tmp, false));
  if (rename(tmp.c_str(), out_path.c_str()) != 0) {
    return Status::Internal("cannot rename " + tmp + ": " + ErrnoText());
  }
  guard.Release();
  VIGIL_RETURN_IF_ERROR(FsyncPath(ParentOf(out_path), true));
  VIGIL_ASSIGN_OR_RETURN(auto hashed, HashFile(out_path));
  result.sha256 = hashed.first;
  result.bytes = hashed.second;
  const std::string absolute = fs::absolute(out_path, ec).string();
  VIGIL_RETURN_IF_ERROR(RecordBackup(live, result, ec ? out_path : absolute, coverage)
                            .WithContext("the backup file is complete, but recording it failed"));
  return result;
}

Result<RestoreResult> RestoreBackup(const DataDir& dir, const std::string& from, bool force) {
  VIGIL_RETURN_IF_ERROR(RefusePostgres(dir, "restore it"));
  std::error_code ec;
  if (!fs::is_regular_file(from, ec)) return Status::NotFound("no backup file at " + from);
  fs::create_directories(dir.root + "/tls", ec);
  if (ec) return Status::FailedPrecondition("cannot create " + dir.root + ": " + ec.message());
  chmod(dir.root.c_str(), 0700);
  VIGIL_ASSIGN_OR_RETURN(DataDirLock lock, DataDirLock::Take(dir));
  bool holds_store = false;
  // A -wal left without its database would be replayed into the restored one: it counts.
  for (const std::string& path : {dir.db(), dir.db() + "-wal", dir.receipt_key(), dir.tls_key()}) {
    holds_store = holds_store || fs::exists(path, ec);
  }
  if (holds_store && !force) {
    return Status::FailedPrecondition(
        dir.root +
        " already holds a store; give --force to keep it aside as "
        "syncd.db.before-restore-<time> (keys likewise) and restore over it");
  }

  RestoreResult result;
  const std::string tmp = dir.root + "/syncd.db.restore-tmp";
  RemoveGuard guard(tmp);
  fs::remove(tmp, ec);
  VIGIL_RETURN_IF_ERROR(CopyFileBytes(from, tmp));
  VIGIL_ASSIGN_OR_RETURN(auto files, CheckAndExtract(tmp, result));
  if (holds_store) {
    const std::string stamp = UtcStamp(NowMs());
    result.kept_aside = "before-restore-" + stamp;
    VIGIL_RETURN_IF_ERROR(KeepAside(dir, stamp));
  }
  Status written = Status::Ok();
  for (auto& [key, content] : files) {
    if (written.ok()) written = WriteWithMode(dir.root + "/" + key.name, content, key.mode);
    protocol::SecureWipe(content);
  }
  VIGIL_RETURN_IF_ERROR(written);
  VIGIL_RETURN_IF_ERROR(FsyncPath(tmp, false));
  if (rename(tmp.c_str(), dir.db().c_str()) != 0) {
    return Status::Internal("cannot move the restored store into place: " + ErrnoText());
  }
  guard.Release();
  VIGIL_RETURN_IF_ERROR(FsyncPath(dir.root, true));
  // Opening migrates a backup of an older schema; the restore goes into the audit log.
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<SqlStore> store, OpenStore(dir));
  v1::AuditEntry entry;
  entry.set_actor("syncd restore");
  entry.set_action("restore");
  entry.set_target(fs::absolute(from, ec).string());
  entry.set_after("backup taken " + UtcStamp(result.backup_completed_at_ms));
  entry.set_reason(result.kept_aside.empty() ? "restored into an empty data dir"
                                             : "previous store kept aside (--force)");
  Status logged = store->LogCoordinatorAction(entry);
  store->Close();
  VIGIL_RETURN_IF_ERROR(logged);
  return result;
}

std::string BackupText(const BackupResult& result) {
  std::ostringstream out;
  out << "backup: " << result.file << "\n"
      << "bytes: " << result.bytes << "\n"
      << "sha256: " << protocol::HexEncode(result.sha256) << "\n"
      << "covers: " << result.devices << " devices, " << result.batches << " batches, "
      << result.records << " records\n"
      << "completed_at: " << UtcStamp(result.completed_at_ms) << "\n";
  return out.str();
}

std::string RestoreText(const DataDir& dir, const RestoreResult& result) {
  std::ostringstream out;
  out << "restored " << dir.root << " (server_id " << result.server_id << ")\n"
      << "backup taken: " << UtcStamp(result.backup_completed_at_ms) << "\n"
      << "holds: " << result.devices << " devices, " << result.batches << " batches, "
      << result.records << " records\n";
  if (!result.kept_aside.empty()) {
    out << "the previous store and keys are kept aside as *." << result.kept_aside << "\n";
  }
  out << "devices ahead of this store resend their batches at their next sync\n";
  return out.str();
}

}  // namespace vigil::syncd
