#include "admin/data_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "tls/cert.h"

namespace vigil::syncd {
namespace {

// errno's text; thread-safe, unlike std::strerror.
std::string ErrnoText() { return std::error_code(errno, std::generic_category()).message(); }

Status WriteAll(int fd, const std::string& content, const std::string& path) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Internal("cannot write " + path + ": " + ErrnoText());
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) return Status::Internal("cannot fsync " + path);
  return Status::Ok();
}

Status CopyFile(const std::string& from, const std::string& to, mode_t mode) {
  VIGIL_ASSIGN_OR_RETURN(std::string content, ReadFile(from, 1u << 20));
  int fd = open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode);
  if (fd < 0) return Status::FailedPrecondition("cannot create " + to);
  Status status = WriteAll(fd, content, to);
  close(fd);
  return status;
}

}  // namespace

Result<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  std::string content;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    content.append(buffer, static_cast<size_t>(in.gcount()));
    if (content.size() > max_bytes) {
      return Status::ResourceExhausted(path + " is larger than " + std::to_string(max_bytes) +
                                       " bytes");
    }
  }
  return content;
}

Status WriteFileAtomically(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return Status::Internal("cannot create " + tmp + ": " + ErrnoText());
  Status status = WriteAll(fd, content, tmp);
  close(fd);
  if (status.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
    status = Status::Internal("cannot rename " + tmp + ": " + ErrnoText());
  }
  if (!status.ok()) unlink(tmp.c_str());
  return status;
}

bool IsPostgresUrl(std::string_view url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

Result<std::optional<std::string>> DatabaseUrl(const DataDir& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir.database(), ec)) return std::optional<std::string>();
  VIGIL_ASSIGN_OR_RETURN(std::string url, ReadFile(dir.database(), 4096));
  while (!url.empty() && (url.back() == '\n' || url.back() == '\r' || url.back() == ' ')) {
    url.pop_back();
  }
  if (!IsPostgresUrl(url)) {
    // The URL may hold a password: the message names the file, not its content.
    return Status::FailedPrecondition(dir.database() + " holds no postgresql:// URL");
  }
  return std::optional<std::string>(std::move(url));
}

namespace {

// Creates the PostgreSQL store at `url` for a new deployment; refuses a database that already
// holds one (each further node gets a copy of the first node's data directory instead).
Status CreatePostgresStore(const DataDir& dir, const std::string& url,
                           const std::string& server_id) {
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<SqlStore> store,
                         SqlStore::OpenPostgres(url, /*create=*/true));
  Result<std::string> existing = store->GetSetting("server_id");
  if (existing.ok()) {
    store->Close();
    return Status::FailedPrecondition(
        "the database already holds the store of deployment " + *existing +
        "; give each further syncd node a copy of the first node's data directory instead of "
        "running init again (docs/operations.md)");
  }
  Status set = store->InitSetting("server_id", server_id);
  store->Close();
  VIGIL_RETURN_IF_ERROR(set);
  int fd = open(dir.database().c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Status::FailedPrecondition("cannot create " + dir.database());
  Status written = WriteAll(fd, url + "\n", dir.database());
  close(fd);
  return written;
}

}  // namespace

Result<InitResult> InitDataDir(const DataDir& dir, const InitOptions& options) {
  if (!options.database_url.empty() && !IsPostgresUrl(options.database_url)) {
    return Status::InvalidArgument("--database takes a postgresql:// URL");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir.root + "/tls", ec);
  if (ec) return Status::FailedPrecondition("cannot create " + dir.root + ": " + ec.message());
  chmod(dir.root.c_str(), 0700);
  if (std::filesystem::exists(dir.db()) || std::filesystem::exists(dir.database())) {
    return Status::FailedPrecondition(dir.root + " already holds a store");
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return Status::InvalidArgument("give both --tls-cert and --tls-key, or neither");
  }

  InitResult result;
  result.server_id = options.server_id;
  if (result.server_id.empty()) {
    VIGIL_ASSIGN_OR_RETURN(result.server_id, protocol::NewUuid());
  }
  if (result.server_id.size() > 128) return Status::InvalidArgument("server id too long");
  // PostgreSQL first: it is what most often refuses (unreachable, wrong password, a database
  // that already holds a deployment), and then nothing is left in DIR.
  if (!options.database_url.empty()) {
    VIGIL_RETURN_IF_ERROR(CreatePostgresStore(dir, options.database_url, result.server_id));
  }

  VIGIL_ASSIGN_OR_RETURN(protocol::Ed25519PrivateKey key, protocol::Ed25519PrivateKey::Generate());
  {
    int fd = open(dir.receipt_key().c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return Status::FailedPrecondition("cannot create " + dir.receipt_key());
    Status written = WriteAll(fd, key.seed(), dir.receipt_key());
    close(fd);
    VIGIL_RETURN_IF_ERROR(written);
  }
  result.receipt_public_key = key.public_key().raw();

  if (options.tls_cert.empty()) {
    VIGIL_RETURN_IF_ERROR(GenerateSelfSignedCert(dir.tls_cert(), dir.tls_key()));
  } else {
    VIGIL_RETURN_IF_ERROR(CopyFile(options.tls_cert, dir.tls_cert(), 0644));
    VIGIL_RETURN_IF_ERROR(CopyFile(options.tls_key, dir.tls_key(), 0600));
  }
  VIGIL_ASSIGN_OR_RETURN(result.tls_pin, PinOfCertFile(dir.tls_cert()));

  if (!options.database_url.empty()) return result;  // The store was made first, above.
  VIGIL_ASSIGN_OR_RETURN(std::unique_ptr<SqlStore> store,
                         SqlStore::Open(dir.db(), /*create=*/true));
  VIGIL_RETURN_IF_ERROR(store->InitSetting("server_id", result.server_id));
  store->Close();
  return result;
}

Result<std::unique_ptr<SqlStore>> OpenStore(const DataDir& dir, SqlStoreOptions options) {
  VIGIL_ASSIGN_OR_RETURN(std::optional<std::string> url, DatabaseUrl(dir));
  if (url) return SqlStore::OpenPostgres(*url, /*create=*/false, options);
  if (!std::filesystem::exists(dir.db())) {
    return Status::FailedPrecondition("no store in " + dir.root + "; run `syncd init --data " +
                                      dir.root + "` first");
  }
  return SqlStore::Open(dir.db(), /*create=*/false, options);
}

Result<protocol::Ed25519PrivateKey> LoadReceiptKey(const DataDir& dir) {
  struct stat st {};
  if (stat(dir.receipt_key().c_str(), &st) != 0) {
    return Status::NotFound("no receipt key at " + dir.receipt_key());
  }
  if ((st.st_mode & 077) != 0) {
    return Status::PermissionDenied(dir.receipt_key() + " is readable by others; chmod 600 it");
  }
  VIGIL_ASSIGN_OR_RETURN(std::string seed, ReadFile(dir.receipt_key(), 64));
  Result<protocol::Ed25519PrivateKey> key = protocol::Ed25519PrivateKey::FromSeed(seed);
  protocol::SecureWipe(seed);
  return key;
}

}  // namespace vigil::syncd
