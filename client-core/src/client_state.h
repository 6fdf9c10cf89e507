// What a Client holds, shared by the files that implement its parts.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "vigil/client/client.h"
#include "vigil/protocol/crypto.h"
#include "vigil/sqlite/db.h"

namespace vigil::client {

// Record states (records.state). See the state machine at the top of outbox/batch_sealer.cc.
enum RecordState : int { kDraft = 0, kOutbox = 1, kBatched = 2, kAcknowledged = 3 };
// Record kinds (records.kind).
enum RecordKind : int { kSubmissionKind = 1, kIncidentKind = 2 };

struct Client::State {
  std::string home;
  OpenOptions open_options;  // How `db` was opened (OpenSibling opens another the same way).
  std::unique_ptr<sqlite::Db> db;
  std::string data_key;  // 32 bytes when unlocked, else empty. Wiped on destruction.
  std::optional<protocol::Ed25519PrivateKey> device_key;
  std::string device_id;
  std::string public_key;
  std::map<std::pair<std::string, uint32_t>, protocol::Form> form_cache;

  ~State() { protocol::SecureWipe(data_key); }

  // kFailedPrecondition unless unlocked.
  Status RequireUnlocked() const;
  // AES-GCM under the data key, bound to `aad`.
  Result<std::string> Seal(std::string_view plain, std::string_view aad) const;
  Result<std::string> Open(std::string_view sealed, std::string_view aad) const;

  // meta table.
  Result<std::optional<std::string>> GetMeta(std::string_view key);
  Status PutMeta(std::string_view key, std::string_view value);

  // Checks and stores a form version inside the caller's transaction (no-op when the same
  // content is there; AlreadyExists for other content under the same id and version).
  Status PutForm(const v1::FormDefinition& form);

  // The compiled form (version 0: newest), cached.
  Result<const protocol::Form*> LoadForm(const std::string& form_id, uint32_t version);
};

// Associated data that binds a sealed value to its place.
inline std::string RecordAad(std::string_view id) { return "record:" + std::string(id); }
inline std::string BatchAad(uint64_t seq) { return "batch:" + std::to_string(seq); }
inline constexpr std::string_view kDeviceKeyAad = "device-key";

// The store's SQLite file in `home` (SQLite adds "-wal" and "-shm" files beside it).
inline std::string StorePath(const std::string& home) {
  return (std::filesystem::path(home) / "vigil.db").string();
}

// Milliseconds since the Unix epoch (device clock).
int64_t NowMs();

}  // namespace vigil::client
