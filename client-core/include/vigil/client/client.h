// The device side of Vigil: one observer's store, forms, drafts, outbox and signed batches.
//
// A Client owns one SQLite store in a folder (`home`/vigil.db). Everything secret in it —
// the device's Ed25519 private key, every answer, every stored batch — is encrypted at rest
// with AES-256-GCM under a data key that a KeyProtector (by default: the observer's PIN
// through scrypt) unwraps once per process.
//
// A Client opened without a protector is "locked": it can list forms and counts, but every
// call that reads or writes answers or signs fails with kFailedPrecondition.
//
// Thread safety: a Client is not thread-safe; use one per thread (or guard it). OpenSibling
// gives another handle on the same store with its own SQLite connection, for a second thread
// (e.g. a sync on a worker thread while the UI fills drafts and reads status). Several
// handles and processes may use the same store at once; SQLite (WAL) serialises their writes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/client/key_protector.h"
#include "vigil/client/sync.h"
#include "vigil/protocol/form_rules.h"
#include "vigil/status.h"
#include "vigil/v1/forms.pb.h"
#include "vigil/v1/records.pb.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::client {

// Options for creating a new store.
struct InitOptions {
  // The deployment's server id, when known before enrollment (offline use, training, tests).
  // Without one, batches cannot be sealed until enrollment supplies it.
  std::string server_id;
  // Upper bound on records per sealed batch.
  uint32_t max_records_per_batch = 200;
  // See OpenOptions::durable.
  bool durable = true;
};

// Options for opening a store.
struct OpenOptions {
  // Every commit is flushed to storage (SQLite synchronous=FULL) before it returns. Only load
  // tools that simulate thousands of tablets on one disk turn this off; a real device never.
  bool durable = true;
  // Largest size the store's file may grow to, in bytes (SQLite's max_page_count); 0: no
  // limit. A write beyond it fails with kResourceExhausted exactly as on a full disk, and
  // changes nothing: Finalize keeps the draft. Never below the file's current size. For
  // tests, and for apps that keep room in reserve on a small device.
  int64_t max_store_bytes = 0;
};

// One form version held on the device.
struct FormSummary {
  std::string form_id;
  uint32_t version = 0;
  v1::FormKind kind = v1::FORM_KIND_UNSPECIFIED;
  std::string title_en;
  std::string title_km;
  int question_count = 0;
};

// What an observer fills in for an incident (the incident form's questions).
struct IncidentInput {
  std::string station_code;
  std::string category;  // Option id of the form's "category" question.
  std::string severity;  // Option id of the form's "severity" question.
  std::string narrative;
  int64_t occurred_at_ms = 0;  // 0: now.
  std::optional<int64_t> people_affected;
  std::optional<bool> reported_to_authority;
  std::string parent_id;                 // For a follow-up: the incident id it follows up.
  std::optional<v1::GeoPoint> location;  // Where the device was (checked as SetLocation does).
};

// A draft on the device, for a list to resume from.
struct DraftSummary {
  std::string draft_id;
  std::string form_id;
  uint32_t form_version = 0;
  std::string station_code;
  int64_t started_at_ms = 0;
  int answered = 0;  // Questions answered so far.
};

// A cross-field check of the form (FormDefinition.qa_checks, e.g. "women <= members") that the
// draft's current answers break. A warning only: finalize does not refuse it, and syncd flags it.
struct QaWarning {
  std::string check_id;
  std::map<std::string, std::string> label;  // By language, as in the form.
  std::vector<std::string> question_ids;     // The questions the check adds up.
};

// One batch file written by ExportOutbox.
struct ExportedBatch {
  uint64_t seq = 0;
  std::string file;  // Name inside the folder: "000007.batch".
  uint32_t record_count = 0;
  uint64_t bytes = 0;
};

// What ExportOutbox wrote.
struct OutboxExport {
  int sealed_now = 0;  // Batches sealed by this call.
  std::vector<ExportedBatch> batches;
  // Besides the batches: "device.pub.pem" (the device key) and "server-id".
  std::vector<std::string> other_files;
};

// A sealed batch still waiting for the server's receipt.
struct PendingBatch {
  uint64_t seq = 0;
  std::string signed_batch;  // Serialized SignedBatch, exactly as it will be sent.
  uint32_t record_count = 0;
};

// Counts for `observer status`.
struct DeviceStatus {
  std::string device_id;
  std::string server_id;    // "" until known.
  std::string observer_id;  // "" until enrolled.
  int64_t drafts = 0;
  int64_t outbox = 0;        // Finalized, not yet sealed into a batch.
  int64_t batched = 0;       // Sealed, waiting for a receipt.
  int64_t acknowledged = 0;  // Held by the server (receipt stored).
  int64_t pending_batches = 0;
  int64_t last_batch_seq = 0;
  int64_t last_sync_ms = 0;  // 0: never.
  // Records the server holds in quarantine, as of the last sync (docs/protocol.md §8.5).
  int64_t held_by_server = 0;
  // Their (record id, reason); filled only when the store is unlocked (reasons are sealed).
  std::vector<std::pair<std::string, std::string>> held_reasons;
  // The deployment's server URLs as of the enrollment or the last pull that carried them
  // (docs/protocol.md §5.1), and the one the next sync tries first (the one that last
  // answered); empty until enrolled.
  std::vector<std::string> server_urls;
  std::string server_url;
};

// The status as one JSON object (lowerCamelCase keys, like protobuf's JSON mapping).
std::string DeviceStatusToJson(const DeviceStatus& status);

// A draft or finalized record with its form, as the device holds it.
struct StoredRecord {
  v1::Record record;
  int state = 0;  // 0 draft, 1 outbox, 2 batched, 3 acknowledged.
};

// The device's store. Create with Init (new store) or Open (existing).
class Client {
 public:
  // Creates `home` (if needed) and a new store in it with a fresh Ed25519 key pair, wrapped
  // by `protector`. Refuses when a store already exists there.
  static Result<std::unique_ptr<Client>> Init(const std::string& home, KeyProtector& protector,
                                              const InitOptions& options = {});
  // Opens an existing store, upgrading an older schema. With a protector the store is
  // unlocked (a wrong PIN fails with kPermissionDenied "wrong PIN"); with nullptr it is
  // opened locked. When the protector is the store's duress PIN (SetDuressPin), the store is
  // wiped (Wipe) and a new, empty one made in its place under that PIN is opened: to whoever
  // holds the tablet it looks like a store that was never used.
  static Result<std::unique_ptr<Client>> Open(const std::string& home, KeyProtector* protector,
                                              const OpenOptions& options = {});

  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Another handle on the same store, with this one's keys (unlocked when this one is) and its
  // own SQLite connection, for use on another thread at the same time as this one.
  Result<std::unique_ptr<Client>> OpenSibling() const;

  // Destroys the store in `home` at once: every file of it (the SQLite database, its WAL and
  // shared-memory files) is overwritten with zeros, flushed, and removed, so the wrapped data
  // key and the sealed device key are gone and nothing can be read any more, even with the
  // PIN. No handle on the store may be in use (close them first). Nothing there: Ok.
  // On flash storage the controller may keep old copies of blocks out of reach of any
  // program; without the data key they are ciphertext (docs/embedding.md).
  static Status Wipe(const std::string& home);

  // Sets the duress PIN (`duress`, a PinKeyProtector of it): opening the store with it wipes
  // the store and opens an empty one (Open). It must not open the store's data key
  // (kInvalidArgument: it equals the PIN). Needs an unlocked store; replaces a duress PIN set
  // before. Only a random marker is wrapped under it, never the data key.
  Status SetDuressPin(KeyProtector& duress);

  // Wraps the data key under `replacement` (a new PIN or key protector) instead of the
  // current protector, after checking that `current` opens the stored key (kPermissionDenied
  // "wrong PIN" when it does not). Needs an unlocked store. One transaction: a failure leaves
  // the old protector in force.
  Status ChangeKeyProtector(KeyProtector& current, KeyProtector& replacement);

  // The folder holding the store.
  const std::string& home() const;

  // True when the data key is available.
  bool unlocked() const;
  // "d" + 32 hex digits, derived from the public key (protocol::DeviceIdFromPublicKey).
  const std::string& device_id() const;
  // The raw 32-byte Ed25519 public key.
  const std::string& public_key() const;
  // The public key as PEM (SubjectPublicKeyInfo), for `openssl pkeyutl -verify`.
  Result<std::string> PublicKeyPem() const;
  // The deployment's server id, "" until set.
  Result<std::string> ServerId();
  // Sets the server id. Refused once a batch has been sealed for another id.
  Status SetServerId(const std::string& server_id);

  // ---- forms
  // Stores a form version after checking it (protocol::Form::Compile). Re-importing the
  // same (id, version) with identical content is a no-op; with other content it is refused.
  Status ImportForm(const v1::FormDefinition& form);
  // The same from protobuf's JSON mapping of FormDefinition.
  Status ImportFormJson(std::string_view json);
  Result<std::vector<FormSummary>> ListForms();
  // The form version (0: the newest held).
  Result<protocol::Form> GetForm(const std::string& form_id, uint32_t version = 0);

  // ---- drafts (checklists)
  // Starts a draft of the form (newest version unless given) for a station; returns its id.
  Result<std::string> StartDraft(const std::string& form_id, const std::string& station_code,
                                 uint32_t version = 0);
  // Checks and stores one answer (type, option, bounds). Answering a question that is not
  // relevant right now is refused, naming the condition's question.
  Status SetAnswer(const std::string& draft_id, const std::string& question_id,
                   const v1::Value& value);
  // Sets several answers in order with one write (answers files, example mode). With
  // `skip_inapplicable`, answers to questions that do not apply given the earlier answers are
  // skipped instead of refused. Any other invalid answer refuses the whole call.
  Status SetAnswers(const std::string& draft_id,
                    const std::vector<std::pair<std::string, v1::Value>>& answers,
                    bool skip_inapplicable = false);
  // Parses `text` as ParseAnswerText (answer_input.h) does for the question, then SetAnswer.
  Status SetAnswerText(const std::string& draft_id, const std::string& question_id,
                       std::string_view text);
  // Removes an answer.
  Status ClearAnswer(const std::string& draft_id, const std::string& question_id);
  // Ids of the draft's questions that apply given its answers so far, in form order (skip
  // logic: what a form-filling screen shows next).
  Result<std::vector<std::string>> RelevantQuestions(const std::string& draft_id);
  // The form's QA checks that the draft's answers so far break (checks naming an unanswered
  // question are skipped), in form order: warnings to show while filling, before finalize.
  Result<std::vector<QaWarning>> QaWarnings(const std::string& draft_id);
  // Sets where the device was: on a draft, or on an incident report that is still in the
  // outbox (not yet sealed into a signed batch; after that it is immutable). Latitude
  // -90..90, longitude -180..180, accuracy >= 0 metres.
  Status SetLocation(const std::string& record_id, const v1::GeoPoint& location);
  // Finalizes: refuses while a relevant required question has no answer (naming it); keeps
  // only relevant answers; moves the submission to the outbox in one transaction.
  Result<std::string> Finalize(const std::string& draft_id);
  // Deletes a draft (never a finalized record).
  Status DiscardDraft(const std::string& draft_id);
  // Ids of open drafts, oldest first.
  Result<std::vector<std::string>> ListDrafts();
  // The open drafts with their form, station and progress, oldest first.
  Result<std::vector<DraftSummary>> Drafts();

  // A draft or finalized record.
  Result<StoredRecord> GetRecord(const std::string& record_id);

  // ---- incidents
  // Checks the input against the newest incident form and puts the report in the outbox.
  // A follow-up names its parent in `parent_id`, which must be an incident on this device.
  Result<std::string> ReportIncident(const IncidentInput& input);

  // ---- batches
  // Seals every outbox record into signed batches (seq last+1 …, hash-chained), each stored
  // before anything is sent. Returns the number of batches made. Fails with
  // kFailedPrecondition without a server id.
  Result<int> SealOutbox();
  // The sealed batches still waiting for a receipt, oldest first, byte for byte.
  Result<std::vector<PendingBatch>> PendingBatches();
  // Seals the outbox, then writes every pending batch ("<seq, 6 digits>.batch", the exact
  // bytes a sync would send), the device public key (device.pub.pem) and the server id
  // (server-id) into `dir` (created if needed), for carrying to syncd by hand
  // (`syncd admin import`).
  Result<OutboxExport> ExportOutbox(const std::string& dir);

  // ---- network (vigil/client/sync.h)
  // Enrolls with a coordinator's payload (base64url EnrollmentPayload from the QR code):
  // proves possession of the device key with the one-time code, pins the server's TLS key,
  // and stores the server id, receipt key, observer, assigned stations and published forms.
  // `ca_file` optionally adds chain verification to the pin; `transport` replaces libcurl.
  Result<v1::EnrollResponse> Enroll(const std::string& payload, const v1::DeviceInfo& info,
                                    const std::string& ca_file = "",
                                    std::shared_ptr<Transport> transport = nullptr);
  // Seals the outbox, pushes every pending batch in sequence (the stored bytes, identical on
  // every retry), verifies and stores each receipt, then pulls. When the pull says the
  // server lost batches (restored from a backup), resends them unchanged, declaring lost
  // those already purged (docs/protocol.md §10.4). Retries what may succeed later
  // (network, 5xx, 408, 429) with exponential backoff and jitter; stops at the first refusal
  // that cannot (the Status names it). Everything acknowledged before a failure stays
  // acknowledged.
  Result<SyncReport> Sync(const SyncOptions& options = {});
  // Erases the content of acknowledged records and batches whose receipt arrived more than
  // `older_than` ago and that the server confirmed it keeps: at most the newest completed
  // backup's backed_up_seq once the server has backups, else at most its last_accepted_seq,
  // both as of the last pull (nothing before any pull). Ids, hashes and receipts stay.
  // Returns the records purged.
  Result<int64_t> PurgeAcknowledged(std::chrono::milliseconds older_than);
  // Re-checks every stored receipt: server signature, and that it names this device, the
  // batch's sequence number and the SHA-256 of the bytes this device sent.
  Result<ReceiptCheck> VerifyReceipts();
  // Coordinators' broadcasts received, newest first.
  Result<std::vector<v1::Broadcast>> Inbox();
  // The stations assigned to this observer at the last enrollment or pull.
  Result<std::vector<v1::Station>> Stations();
  // The coordinators' status of incidents this device reported, as of the last pull.
  Result<std::vector<v1::IncidentStatus>> IncidentStatuses();

  // ---- status
  Result<DeviceStatus> GetStatus();

  struct State;  // Internal.

 private:
  explicit Client(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace vigil::client
