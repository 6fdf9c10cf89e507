// Client: opening and creating the store, identity, forms and status.
#include "vigil/client/client.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <chrono>
#include <filesystem>

#include "client_state.h"
#include "crypto/aead.h"
#include "store/schema.h"
#include "sync/holds.h"
#include "sync/route.h"
#include "vigil/protocol/batch_codec.h"
#include "vigil/protocol/signing.h"

namespace vigil::client {
namespace {

// Opens state.db on the existing store in state.home as state.open_options say.
Status ConnectStore(Client::State& state) {
  const OpenOptions& options = state.open_options;
  VIGIL_ASSIGN_OR_RETURN(
      state.db, store::OpenStore(StorePath(state.home), /*create=*/false, options.durable));
  VIGIL_RETURN_IF_ERROR(store::Migrate(*state.db));
  if (options.max_store_bytes > 0) {
    VIGIL_ASSIGN_OR_RETURN(int64_t page_size, state.db->QueryInt("PRAGMA page_size"));
    if (page_size <= 0) return Status::Internal("PRAGMA page_size returned nothing");
    const int64_t pages = (options.max_store_bytes + page_size - 1) / page_size;
    VIGIL_RETURN_IF_ERROR(
        state.db->QueryInt("PRAGMA max_page_count = " + std::to_string(pages)).status());
  }
  return Status::Ok();
}

}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Client::State::RequireUnlocked() const {
  if (data_key.empty()) {
    return Status::FailedPrecondition("the store is locked: this needs the observer's PIN");
  }
  return Status::Ok();
}

Result<std::string> Client::State::Seal(std::string_view plain, std::string_view aad) const {
  VIGIL_RETURN_IF_ERROR(RequireUnlocked());
  return crypto::Seal(data_key, plain, aad);
}

Result<std::string> Client::State::Open(std::string_view sealed, std::string_view aad) const {
  VIGIL_RETURN_IF_ERROR(RequireUnlocked());
  auto plain = crypto::Open(data_key, sealed, aad);
  if (!plain.ok()) {
    return Status::DataLoss("stored value " + std::string(aad) +
                            " does not decrypt: " + plain.status().message());
  }
  return plain;
}

Result<std::optional<std::string>> Client::State::GetMeta(std::string_view key) {
  VIGIL_ASSIGN_OR_RETURN(auto st, db->Prepare("SELECT value FROM meta WHERE key = ?"));
  st.BindText(1, key);
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st.Blob(0));
}

Status Client::State::PutMeta(std::string_view key, std::string_view value) {
  VIGIL_ASSIGN_OR_RETURN(auto st,
                         db->Prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)"));
  st.BindText(1, key).BindBlob(2, value);
  return st.Run();
}

Result<const protocol::Form*> Client::State::LoadForm(const std::string& form_id,
                                                      uint32_t version) {
  if (version != 0) {
    auto it = form_cache.find({form_id, version});
    if (it != form_cache.end()) return &it->second;
  }
  VIGIL_ASSIGN_OR_RETURN(
      auto st, db->Prepare(version == 0 ? "SELECT version, definition FROM forms WHERE form_id = ? "
                                          "ORDER BY version DESC LIMIT 1"
                                        : "SELECT version, definition FROM forms WHERE form_id = "
                                          "? AND version = ?"));
  st.BindText(1, form_id);
  if (version != 0) st.Bind(2, static_cast<int64_t>(version));
  VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    return Status::NotFound(version == 0 ? "no form '" + form_id + "' on this device"
                                         : "form '" + form_id + "' version " +
                                               std::to_string(version) + " is not on this device");
  }
  auto found = static_cast<uint32_t>(st.Int(0));
  auto it = form_cache.find({form_id, found});
  if (it != form_cache.end()) return &it->second;
  v1::FormDefinition def;
  if (!def.ParseFromString(st.Blob(1))) {
    return Status::DataLoss("stored form '" + form_id + "' does not parse");
  }
  VIGIL_ASSIGN_OR_RETURN(protocol::Form form, protocol::Form::Compile(std::move(def)));
  auto [pos, inserted] = form_cache.emplace(std::make_pair(form_id, found), std::move(form));
  return &pos->second;
}

Client::Client(std::unique_ptr<State> state) : state_(std::move(state)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Init(const std::string& home, KeyProtector& protector,
                                             const InitOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(home, ec);
  if (ec) return Status::FailedPrecondition("cannot create " + home + ": " + ec.message());
  std::filesystem::permissions(home, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  const std::string path = StorePath(home);
  if (std::filesystem::exists(path)) {
    return Status::AlreadyExists("a store already exists at " + path);
  }
  if (options.max_records_per_batch == 0 ||
      options.max_records_per_batch > protocol::kMaxRecordsPerBatch) {
    return Status::InvalidArgument("max records per batch must be 1-1000");
  }
  auto state = std::make_unique<State>();
  state->home = home;
  state->open_options.durable = options.durable;
  VIGIL_ASSIGN_OR_RETURN(state->db, store::OpenStore(path, /*create=*/true, options.durable));
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
      std::filesystem::perm_options::replace, ec);
  VIGIL_RETURN_IF_ERROR(store::Migrate(*state->db));

  VIGIL_ASSIGN_OR_RETURN(state->data_key, protocol::RandomBytes(crypto::kKeySize));
  VIGIL_ASSIGN_OR_RETURN(std::string wrapped, protector.Wrap(state->data_key));
  VIGIL_ASSIGN_OR_RETURN(auto key, protocol::Ed25519PrivateKey::Generate());
  VIGIL_ASSIGN_OR_RETURN(std::string sealed_seed, state->Seal(key.seed(), kDeviceKeyAad));
  state->public_key = key.public_key().raw();
  state->device_id = protocol::DeviceIdFromPublicKey(state->public_key);
  state->device_key.emplace(std::move(key));

  sqlite::Transaction txn(*state->db);

  VIGIL_RETURN_IF_ERROR(txn.status());
  VIGIL_RETURN_IF_ERROR(state->PutMeta("wrapped_data_key", wrapped));
  VIGIL_RETURN_IF_ERROR(state->PutMeta("device_key", sealed_seed));
  VIGIL_RETURN_IF_ERROR(state->PutMeta("public_key", state->public_key));
  VIGIL_RETURN_IF_ERROR(state->PutMeta("created_at", std::to_string(NowMs())));
  VIGIL_RETURN_IF_ERROR(
      state->PutMeta("max_records_per_batch", std::to_string(options.max_records_per_batch)));
  if (!options.server_id.empty()) {
    VIGIL_RETURN_IF_ERROR(state->PutMeta("server_id", options.server_id));
  }
  VIGIL_RETURN_IF_ERROR(txn.Commit());
  return std::unique_ptr<Client>(new Client(std::move(state)));
}

Result<std::unique_ptr<Client>> Client::Open(const std::string& home, KeyProtector* protector,
                                             const OpenOptions& options) {
  const std::string path = StorePath(home);
  if (!std::filesystem::exists(path)) {
    return Status::NotFound("no store at " + path + " (run `observer init` first)");
  }
  auto state = std::make_unique<State>();
  state->home = home;
  state->open_options = options;
  VIGIL_RETURN_IF_ERROR(ConnectStore(*state));
  VIGIL_ASSIGN_OR_RETURN(auto pub, state->GetMeta("public_key"));
  if (!pub) return Status::DataLoss("the store at " + path + " has no device key");
  state->public_key = *pub;
  state->device_id = protocol::DeviceIdFromPublicKey(state->public_key);
  if (protector != nullptr) {
    VIGIL_ASSIGN_OR_RETURN(auto wrapped, state->GetMeta("wrapped_data_key"));
    VIGIL_ASSIGN_OR_RETURN(auto sealed_seed, state->GetMeta("device_key"));
    if (!wrapped || !sealed_seed) return Status::DataLoss("the store has no wrapped device key");
    Result<std::string> data_key = protector->Unwrap(*wrapped);
    if (data_key.status().code() == StatusCode::kPermissionDenied) {
      VIGIL_ASSIGN_OR_RETURN(auto duress, state->GetMeta("duress_marker"));
      if (duress && protector->Unwrap(*duress).ok()) {
        // The duress PIN: nothing of the store may survive, and the holder sees an empty one.
        VIGIL_ASSIGN_OR_RETURN(auto server_id, state->GetMeta("server_id"));
        state.reset();  // Closes the store before it is wiped.
        VIGIL_RETURN_IF_ERROR(Wipe(home));
        InitOptions fresh;
        fresh.durable = options.durable;
        if (server_id) fresh.server_id = *server_id;
        return Init(home, *protector, fresh);
      }
    }
    if (!data_key.ok()) return data_key.status();
    state->data_key = std::move(data_key).value();
    VIGIL_ASSIGN_OR_RETURN(std::string seed, state->Open(*sealed_seed, kDeviceKeyAad));
    auto key = protocol::Ed25519PrivateKey::FromSeed(seed);
    protocol::SecureWipe(seed);
    if (!key.ok()) return key.status();
    if (!protocol::ConstantTimeEquals(key->public_key().raw(), state->public_key)) {
      return Status::DataLoss("the stored private key does not match the public key");
    }
    state->device_key.emplace(std::move(key).value());
  }
  return std::unique_ptr<Client>(new Client(std::move(state)));
}

Result<std::unique_ptr<Client>> Client::OpenSibling() const {
  auto state = std::make_unique<State>();
  state->home = state_->home;
  state->open_options = state_->open_options;
  VIGIL_RETURN_IF_ERROR(ConnectStore(*state));
  state->public_key = state_->public_key;
  state->device_id = state_->device_id;
  state->data_key = state_->data_key;
  if (state_->device_key) {
    VIGIL_ASSIGN_OR_RETURN(auto key,
                           protocol::Ed25519PrivateKey::FromSeed(state_->device_key->seed()));
    state->device_key.emplace(std::move(key));
  }
  return std::unique_ptr<Client>(new Client(std::move(state)));
}

Status Client::SetDuressPin(KeyProtector& duress) {
  VIGIL_RETURN_IF_ERROR(state_->RequireUnlocked());
  VIGIL_ASSIGN_OR_RETURN(auto wrapped, state_->GetMeta("wrapped_data_key"));
  if (!wrapped) return Status::DataLoss("the store has no wrapped data key");
  Result<std::string> opens = duress.Unwrap(*wrapped);
  if (opens.ok()) {
    protocol::SecureWipe(opens.value());
    return Status::InvalidArgument("the duress PIN must differ from the PIN");
  }
  if (opens.status().code() != StatusCode::kPermissionDenied) return opens.status();
  VIGIL_ASSIGN_OR_RETURN(std::string marker, protocol::RandomBytes(32));
  VIGIL_ASSIGN_OR_RETURN(std::string blob, duress.Wrap(marker));
  return state_->PutMeta("duress_marker", blob);
}

Status Client::ChangeKeyProtector(KeyProtector& current, KeyProtector& replacement) {
  VIGIL_RETURN_IF_ERROR(state_->RequireUnlocked());
  sqlite::Transaction txn(*state_->db);
  VIGIL_RETURN_IF_ERROR(txn.status());
  VIGIL_ASSIGN_OR_RETURN(auto wrapped, state_->GetMeta("wrapped_data_key"));
  if (!wrapped) return Status::DataLoss("the store has no wrapped data key");
  VIGIL_ASSIGN_OR_RETURN(std::string key, current.Unwrap(*wrapped));
  const bool same = protocol::ConstantTimeEquals(key, state_->data_key);
  protocol::SecureWipe(key);
  if (!same) return Status::PermissionDenied("wrong PIN: it opens another data key");
  VIGIL_ASSIGN_OR_RETURN(std::string rewrapped, replacement.Wrap(state_->data_key));
  VIGIL_RETURN_IF_ERROR(state_->PutMeta("wrapped_data_key", rewrapped));
  return txn.Commit();
}

const std::string& Client::home() const { return state_->home; }

bool Client::unlocked() const { return !state_->data_key.empty(); }
const std::string& Client::device_id() const { return state_->device_id; }
const std::string& Client::public_key() const { return state_->public_key; }

Result<std::string> Client::PublicKeyPem() const {
  VIGIL_ASSIGN_OR_RETURN(auto key, protocol::Ed25519PublicKey::FromRaw(state_->public_key));
  return key.ToPem();
}

Result<std::string> Client::ServerId() {
  VIGIL_ASSIGN_OR_RETURN(auto id, state_->GetMeta("server_id"));
  return id.value_or("");
}

Status Client::SetServerId(const std::string& server_id) {
  if (server_id.empty() || server_id.size() > 128) {
    return Status::InvalidArgument("a server id has 1-128 characters");
  }
  sqlite::Transaction txn(*state_->db);
  VIGIL_RETURN_IF_ERROR(txn.status());
  VIGIL_ASSIGN_OR_RETURN(auto current, state_->GetMeta("server_id"));
  if (current && *current != server_id) {
    VIGIL_ASSIGN_OR_RETURN(int64_t batches, state_->db->QueryInt("SELECT count(*) FROM batches"));
    if (batches > 0) {
      return Status::FailedPrecondition("batches are already signed for server '" + *current +
                                        "'; this device cannot move to '" + server_id + "'");
    }
  }
  VIGIL_RETURN_IF_ERROR(state_->PutMeta("server_id", server_id));
  return txn.Commit();
}

Status Client::State::PutForm(const v1::FormDefinition& form) {
  VIGIL_ASSIGN_OR_RETURN(protocol::Form compiled, protocol::Form::Compile(form));
  std::string bytes;
  if (!form.SerializeToString(&bytes)) return Status::Internal("cannot serialize the form");
  VIGIL_ASSIGN_OR_RETURN(auto existing,
                         db->Prepare("SELECT definition FROM forms WHERE form_id=? AND version=?"));
  existing.BindText(1, form.form_id()).Bind(2, static_cast<int64_t>(form.version()));
  VIGIL_ASSIGN_OR_RETURN(bool row, existing.Step());
  if (row) {
    v1::FormDefinition stored;
    if (stored.ParseFromString(existing.Blob(0)) &&
        google::protobuf::util::MessageDifferencer::Equals(stored, form)) {
      return Status::Ok();
    }
    return Status::AlreadyExists("form " + form.form_id() + " version " +
                                 std::to_string(form.version()) +
                                 " is already on this device with other content; publish a new "
                                 "version instead");
  }
  VIGIL_ASSIGN_OR_RETURN(auto ins, db->Prepare("INSERT INTO forms(form_id, version, kind, "
                                               "definition, imported_at) VALUES (?, ?, ?, ?, ?)"));
  ins.BindText(1, form.form_id())
      .Bind(2, static_cast<int64_t>(form.version()))
      .Bind(3, static_cast<int64_t>(form.kind()))
      .BindBlob(4, bytes)
      .Bind(5, NowMs());
  return ins.Run();
}

Status Client::ImportForm(const v1::FormDefinition& form) {
  sqlite::Transaction txn(*state_->db);
  VIGIL_RETURN_IF_ERROR(txn.status());
  VIGIL_RETURN_IF_ERROR(state_->PutForm(form));
  return txn.Commit();
}

Status Client::ImportFormJson(std::string_view json) {
  v1::FormDefinition form;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &form, options);
  if (!parsed.ok()) {
    return Status::InvalidArgument("not a FormDefinition in JSON: " + parsed.ToString());
  }
  return ImportForm(form);
}

Result<std::vector<FormSummary>> Client::ListForms() {
  VIGIL_ASSIGN_OR_RETURN(
      auto st, state_->db->Prepare("SELECT definition FROM forms ORDER BY form_id, version"));
  std::vector<FormSummary> out;
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    v1::FormDefinition def;
    if (!def.ParseFromString(st.Blob(0))) return Status::DataLoss("a stored form is corrupt");
    FormSummary s;
    s.form_id = def.form_id();
    s.version = def.version();
    s.kind = def.kind();
    s.title_en = protocol::Form::LabelIn(def.title(), "en", "en", def.form_id());
    s.title_km = protocol::Form::LabelIn(def.title(), "km", "km", def.form_id());
    s.question_count = def.questions_size();
    out.push_back(std::move(s));
  }
  return out;
}

Result<protocol::Form> Client::GetForm(const std::string& form_id, uint32_t version) {
  VIGIL_ASSIGN_OR_RETURN(const protocol::Form* form, state_->LoadForm(form_id, version));
  return *form;
}

std::string DeviceStatusToJson(const DeviceStatus& s) {
  google::protobuf::Struct out;
  auto& f = *out.mutable_fields();
  f["deviceId"].set_string_value(s.device_id);
  f["serverId"].set_string_value(s.server_id);
  f["observerId"].set_string_value(s.observer_id);
  f["drafts"].set_number_value(static_cast<double>(s.drafts));
  f["outbox"].set_number_value(static_cast<double>(s.outbox));
  f["batched"].set_number_value(static_cast<double>(s.batched));
  f["acknowledged"].set_number_value(static_cast<double>(s.acknowledged));
  f["pendingBatches"].set_number_value(static_cast<double>(s.pending_batches));
  f["lastBatchSeq"].set_number_value(static_cast<double>(s.last_batch_seq));
  f["lastSyncMs"].set_number_value(static_cast<double>(s.last_sync_ms));
  f["heldByServer"].set_number_value(static_cast<double>(s.held_by_server));
  f["serverUrl"].set_string_value(s.server_url);
  auto& urls = *f["serverUrls"].mutable_list_value();
  for (const std::string& url : s.server_urls) urls.add_values()->set_string_value(url);
  auto& held = *f["held"].mutable_list_value();
  for (const auto& [id, reason] : s.held_reasons) {
    google::protobuf::Struct entry;
    (*entry.mutable_fields())["recordId"].set_string_value(id);
    (*entry.mutable_fields())["reason"].set_string_value(reason);
    *held.add_values()->mutable_struct_value() = std::move(entry);
  }
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(out, &text);
  return text;
}

Result<DeviceStatus> Client::GetStatus() {
  DeviceStatus s;
  s.device_id = state_->device_id;
  VIGIL_ASSIGN_OR_RETURN(s.server_id, ServerId());
  VIGIL_ASSIGN_OR_RETURN(auto observer, state_->GetMeta("observer_id"));
  s.observer_id = observer.value_or("");
  VIGIL_ASSIGN_OR_RETURN(auto st,
                         state_->db->Prepare("SELECT state, count(*) FROM records GROUP BY state"));
  while (true) {
    VIGIL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    int64_t n = st.Int(1);
    switch (st.Int(0)) {
      case kDraft:
        s.drafts = n;
        break;
      case kOutbox:
        s.outbox = n;
        break;
      case kBatched:
        s.batched = n;
        break;
      case kAcknowledged:
        s.acknowledged = n;
        break;
      default:
        break;
    }
  }
  VIGIL_ASSIGN_OR_RETURN(s.pending_batches,
                         state_->db->QueryInt("SELECT count(*) FROM batches WHERE state = 0"));
  VIGIL_ASSIGN_OR_RETURN(s.last_batch_seq, state_->db->QueryInt("SELECT max(seq) FROM batches"));
  VIGIL_ASSIGN_OR_RETURN(auto last_sync, state_->GetMeta("last_sync_ms"));
  s.last_sync_ms = last_sync ? std::stoll(*last_sync) : 0;
  VIGIL_ASSIGN_OR_RETURN(s.held_by_server,
                         state_->db->QueryInt("SELECT count(*) FROM server_holds"));
  VIGIL_ASSIGN_OR_RETURN(sync::StoredServers servers, sync::LoadServers(*state_));
  s.server_urls = std::move(servers.urls);
  s.server_url = std::move(servers.current);
  if (state_->RequireUnlocked().ok()) {
    VIGIL_ASSIGN_OR_RETURN(s.held_reasons, LoadHeldRecords(*state_));
  }
  return s;
}

}  // namespace vigil::client
