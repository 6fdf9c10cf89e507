// The layout of a syncd data directory and what `syncd init` puts in it:
//
//   DIR/syncd.db          the SQLite store (plus -wal / -shm), or
//   DIR/database          the PostgreSQL URL of the store (mode 0600; `init --database`). Every
//                         syncd node of that deployment has a copy of the whole directory.
//   DIR/receipt_key       the 32-byte Ed25519 seed that signs receipts (mode 0600)
//   DIR/tls/cert.pem      the TLS certificate (self-signed unless given to init)
//   DIR/tls/key.pem       its private key (mode 0600)
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "store/sql_store.h"
#include "vigil/protocol/crypto.h"
#include "vigil/status.h"

namespace vigil::syncd {

// Paths inside a data directory.
struct DataDir {
  explicit DataDir(std::string dir) : root(std::move(dir)) {}
  std::string root;
  std::string db() const { return root + "/syncd.db"; }
  std::string database() const { return root + "/database"; }
  std::string receipt_key() const { return root + "/receipt_key"; }
  std::string tls_cert() const { return root + "/tls/cert.pem"; }
  std::string tls_key() const { return root + "/tls/key.pem"; }
};

// What `syncd init` was asked for.
struct InitOptions {
  std::string server_id;  // Empty: a new UUID.
  std::string tls_cert;   // Both empty: a self-signed certificate is generated.
  std::string tls_key;
  // Empty: the store is SQLite (DIR/syncd.db). Else a PostgreSQL URL (postgresql://…); the
  // database must exist and hold no store yet.
  std::string database_url;
};

// What init made, for printing.
struct InitResult {
  std::string server_id;
  std::string receipt_public_key;  // 32 raw bytes.
  std::string tls_pin;             // 32 raw bytes.
};

// Creates the store, server id, receipt key and TLS files. Refuses a directory that already
// holds a store (FailedPrecondition).
Result<InitResult> InitDataDir(const DataDir& dir, const InitOptions& options);

// Opens an initialized data directory's store: PostgreSQL when DIR/database exists, else the
// SQLite file.
Result<std::unique_ptr<SqlStore>> OpenStore(const DataDir& dir, SqlStoreOptions options = {});

// The PostgreSQL URL of the data directory's store; nullopt when the store is SQLite.
Result<std::optional<std::string>> DatabaseUrl(const DataDir& dir);

// Whether `url` is a PostgreSQL connection URL (postgresql:// or postgres://).
bool IsPostgresUrl(std::string_view url);

// Reads the receipt key (refuses a key file readable by others).
Result<protocol::Ed25519PrivateKey> LoadReceiptKey(const DataDir& dir);

// Reads a whole (small) file; at most `max_bytes`.
Result<std::string> ReadFile(const std::string& path, size_t max_bytes = 64u << 20);

// Writes `content` to `path` atomically (temporary file, fsync, rename).
Status WriteFileAtomically(const std::string& path, const std::string& content);

}  // namespace vigil::syncd
