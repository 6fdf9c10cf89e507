/*
 * The Vigil device library as a C API, for JNI (Android) and other foreign-function
 * interfaces. A thin wrapper over the C++ API in vigil/client/client.h.
 *
 * Conventions (after leveldb's c.h and couchbase-lite-core's c4 API):
 *  - VigilClient is an opaque handle: vigil_client_init/open make one, vigil_client_close
 *    frees it. Life cycle and examples: docs/embedding.md, "The C API".
 *  - Every call that can fail takes `VigilError* out_error` last (may be NULL). On failure
 *    it returns NULL / false / -1 and fills out_error; on success out_error->code is 0.
 *  - Strings are UTF-8 and NUL-terminated. Every `char*` returned is the caller's to free
 *    with vigil_free; every VigilBatchList with vigil_batch_list_free. Structured results
 *    are JSON strings (their shapes at each function below).
 *  - No C++ exception ever crosses this API. The library calls back into the app only
 *    through a VigilKeyProtector and a sync's progress callback.
 *
 * Thread safety: one handle may be used from several threads at once. Calls on a handle
 * take turns, except vigil_client_sync, which runs on a second connection to the store of
 * its own: while one thread syncs, others can read status, fill drafts and so on, waiting
 * at most for one short SQLite transaction of the sync. One sync per handle at a time (a
 * second waits for the first). vigil_client_sync_cancel may be called from any thread at
 * any time. vigil_client_close must not race with any other call on the handle.
 */
#ifndef VIGIL_CLIENT_C_H_
#define VIGIL_CLIENT_C_H_

// A C header (JNI code includes it from C): the C headers, not <cstdint>.
// NOLINTBEGIN(modernize-deprecated-headers)
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
// NOLINTEND(modernize-deprecated-headers)

#if defined(_WIN32)
#define VIGIL_EXPORT __declspec(dllexport)
#else
#define VIGIL_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: the values of vigil::StatusCode (static_assert-ed in c_api.cc). */
enum {
  VIGIL_OK = 0,
  VIGIL_INVALID_ARGUMENT = 1,
  VIGIL_NOT_FOUND = 2,
  VIGIL_ALREADY_EXISTS = 3,
  VIGIL_FAILED_PRECONDITION = 4,
  VIGIL_PERMISSION_DENIED = 5, /* includes "wrong PIN" */
  VIGIL_UNAUTHENTICATED = 6,
  VIGIL_RESOURCE_EXHAUSTED = 7, /* includes "disk full" */
  VIGIL_ABORTED = 8,            /* includes "the sync was cancelled" */
  VIGIL_UNAVAILABLE = 9,
  VIGIL_DATA_LOSS = 10,
  VIGIL_UNIMPLEMENTED = 11,
  VIGIL_INTERNAL = 12
};

/* A failure: a code above and a message for people. */
typedef struct VigilError {
  int code;
  char message[512];
} VigilError;

typedef struct VigilClient VigilClient;
typedef struct VigilBatchList VigilBatchList;

/*
 * A key protector supplied by the app (e.g. over the Android keystore). `wrap` and `unwrap`
 * return true on success and set *out / *out_len to a buffer allocated with malloc (the
 * library frees it). `unwrap` returns false when the secret is wrong.
 */
typedef struct VigilKeyProtector {
  void* context;
  bool (*wrap)(void* context, const uint8_t* key, size_t key_len, uint8_t** out, size_t* out_len);
  bool (*unwrap)(void* context, const uint8_t* blob, size_t blob_len, uint8_t** out,
                 size_t* out_len);
} VigilKeyProtector;

/* Creates a new store in `home` protected by `pin`. `server_id` may be NULL or "". */
VIGIL_EXPORT VigilClient* vigil_client_init(const char* home, const char* pin,
                                            const char* server_id, VigilError* out_error);
/* The same with an app-supplied key protector instead of a PIN. */
VIGIL_EXPORT VigilClient* vigil_client_init_with_protector(const char* home,
                                                           const VigilKeyProtector* protector,
                                                           const char* server_id,
                                                           VigilError* out_error);
/* Opens an existing store; `pin` NULL opens it locked (forms and counts only). */
VIGIL_EXPORT VigilClient* vigil_client_open(const char* home, const char* pin,
                                            VigilError* out_error);
VIGIL_EXPORT VigilClient* vigil_client_open_with_protector(const char* home,
                                                           const VigilKeyProtector* protector,
                                                           VigilError* out_error);
/* Frees the handle (NULL is fine). */
VIGIL_EXPORT void vigil_client_close(VigilClient* client);

/* Replaces the PIN: `old_pin` must open the store (VIGIL_PERMISSION_DENIED "wrong PIN"
 * otherwise); `new_pin` has at least 6 characters. The handle must be unlocked. */
VIGIL_EXPORT bool vigil_client_change_pin(VigilClient* client, const char* old_pin,
                                          const char* new_pin, VigilError* out_error);
/* Sets the duress PIN (at least 6 characters, not the PIN: VIGIL_INVALID_ARGUMENT): opening
 * the store with it (vigil_client_open) wipes the store and opens a new, empty one under that
 * PIN, which is all a person holding the tablet then finds. The handle must be unlocked. */
VIGIL_EXPORT bool vigil_client_set_duress_pin(VigilClient* client, const char* duress_pin,
                                              VigilError* out_error);
/* The same for a store protected by an app-supplied key protector: `current` must open the
 * stored key; the data key is then wrapped by `replacement` (e.g. a new keystore entry). */
VIGIL_EXPORT bool vigil_client_change_key_protector(VigilClient* client,
                                                    const VigilKeyProtector* current,
                                                    const VigilKeyProtector* replacement,
                                                    VigilError* out_error);
/* Destroys the store at once (an observer about to lose the tablet): its files are
 * overwritten and removed, so nothing can be read any more, even with the PIN. The handle
 * stays valid only for vigil_client_close; every other call fails with
 * VIGIL_FAILED_PRECONDITION. A sync running on another thread is cancelled first. */
VIGIL_EXPORT bool vigil_client_wipe(VigilClient* client, VigilError* out_error);
/* The same without a handle (none may be open on `home`). No store there is not an error. */
VIGIL_EXPORT bool vigil_wipe_home(const char* home, VigilError* out_error);

/* The device id ("d" + 32 hex digits). */
VIGIL_EXPORT char* vigil_client_device_id(VigilClient* client, VigilError* out_error);
/* The device public key as PEM. */
VIGIL_EXPORT char* vigil_client_public_key_pem(VigilClient* client, VigilError* out_error);

/* Imports a FormDefinition given in protobuf's JSON mapping. */
VIGIL_EXPORT bool vigil_client_import_form_json(VigilClient* client, const char* json,
                                                VigilError* out_error);
/* Lists the forms held as a JSON array of {formId, version, kind, titleEn, titleKm,
 * questions}. */
VIGIL_EXPORT char* vigil_client_forms_json(VigilClient* client, VigilError* out_error);

/* Starts a draft of the newest version of `form_id` for a station; returns its id. */
VIGIL_EXPORT char* vigil_client_start_draft(VigilClient* client, const char* form_id,
                                            const char* station_code, VigilError* out_error);
/* Sets one answer from text, parsed as vigil::client::ParseAnswerText documents. */
VIGIL_EXPORT bool vigil_client_set_answer_text(VigilClient* client, const char* draft_id,
                                               const char* question_id, const char* text,
                                               VigilError* out_error);
/* Removes one answer. */
VIGIL_EXPORT bool vigil_client_clear_answer(VigilClient* client, const char* draft_id,
                                            const char* question_id, VigilError* out_error);
/* Ids of the questions that apply now, in order, as a JSON array of strings. */
VIGIL_EXPORT char* vigil_client_relevant_questions_json(VigilClient* client, const char* draft_id,
                                                        VigilError* out_error);
/* The form's cross-field checks (QA rules, e.g. "women <= members") that the answers so far
 * break: a JSON array of {checkId, label: {lang: text}, questions: [ids]}; [] when none.
 * Warnings only: finalize does not refuse them. */
VIGIL_EXPORT char* vigil_client_warnings_json(VigilClient* client, const char* draft_id,
                                              VigilError* out_error);
/* Sets where the device is, on a draft or on an incident report not yet sealed into a
 * batch (right after vigil_client_report_incident). Latitude -90..90, longitude -180..180,
 * accuracy in metres >= 0. */
VIGIL_EXPORT bool vigil_client_set_location(VigilClient* client, const char* record_id,
                                            double latitude, double longitude, double accuracy_m,
                                            VigilError* out_error);
/* The open drafts, oldest first: a JSON array of {draftId, formId, formVersion,
 * stationCode, startedAtMs, answered}. */
VIGIL_EXPORT char* vigil_client_drafts_json(VigilClient* client, VigilError* out_error);
/* One draft to resume: {draftId, formId, formVersion, stationCode, startedAtMs, location?,
 * answers: {questionId: value}} (booleans, numbers, strings, arrays of option ids,
 * {latitude, longitude, accuracy_m}). */
VIGIL_EXPORT char* vigil_client_draft_json(VigilClient* client, const char* draft_id,
                                           VigilError* out_error);
/* Deletes a draft (never a finalized record). */
VIGIL_EXPORT bool vigil_client_discard_draft(VigilClient* client, const char* draft_id,
                                             VigilError* out_error);
/* Finalizes a draft into the outbox; returns the submission id. */
VIGIL_EXPORT char* vigil_client_finalize(VigilClient* client, const char* draft_id,
                                         VigilError* out_error);
/* Reports an incident, or with parent_id (an incident reported on this device) a follow-up
 * of it (parent_id NULL or "" for a first report); returns its id. */
VIGIL_EXPORT char* vigil_client_report_incident(VigilClient* client, const char* station_code,
                                                const char* category, const char* severity,
                                                const char* narrative, const char* parent_id,
                                                VigilError* out_error);

/* Seals the outbox into signed batches; returns how many were made, or -1. */
VIGIL_EXPORT int vigil_client_seal_outbox(VigilClient* client, VigilError* out_error);
/* The sealed batches waiting for a receipt (serialized SignedBatch each). */
VIGIL_EXPORT VigilBatchList* vigil_client_pending_batches(VigilClient* client,
                                                          VigilError* out_error);
VIGIL_EXPORT size_t vigil_batch_list_count(const VigilBatchList* list);
VIGIL_EXPORT uint64_t vigil_batch_list_seq(const VigilBatchList* list, size_t index);
VIGIL_EXPORT const uint8_t* vigil_batch_list_bytes(const VigilBatchList* list, size_t index,
                                                   size_t* out_len);
VIGIL_EXPORT void vigil_batch_list_free(VigilBatchList* list);
/* Seals the outbox and writes every pending batch, device.pub.pem and server-id into
 * `directory` (created if needed), for carrying to syncd by hand. Returns JSON
 * {sealedNow, batches: [{seq, file, records, bytes}], files: [names]}. */
VIGIL_EXPORT char* vigil_client_export_outbox(VigilClient* client, const char* directory,
                                              VigilError* out_error);

/* ---- network */

/* Joins a deployment with the text of a coordinator's enrollment QR code. `device_model`
 * and `app_version` describe the device to coordinators (NULL: ""); `ca_file` (NULL or "")
 * adds certificate-chain checks to the pinned key. Returns JSON {deviceId, serverId,
 * observerId, stations: [codes], forms: [ids]}. */
VIGIL_EXPORT char* vigil_client_enroll(VigilClient* client, const char* payload,
                                       const char* device_model, const char* app_version,
                                       const char* ca_file, VigilError* out_error);

/* Where a sync stands. The counts never go down during one sync; a sync that succeeds ends
 * with records_sent == records_total. `phase` ("seal", "push", "pull", "apply", "purge",
 * "done", or a retry such as "push batch 3: retry 1 in 210 ms (…)") is valid only during
 * the callback. */
typedef struct VigilSyncProgress {
  const char* phase;
  uint64_t batches_sent;
  uint64_t batches_total;
  uint64_t records_sent;
  uint64_t records_total;
  uint64_t bytes_sent;
} VigilSyncProgress;

/* Called on the syncing thread; must not call back into the same handle except
 * vigil_client_sync_cancel. */
typedef void (*VigilSyncProgressFn)(void* context, const VigilSyncProgress* progress);

/* Sends every finalized record (sealing the outbox first), then fetches forms, assignments,
 * broadcasts and incident statuses. `progress` may be NULL; `ca_file` as for enroll.
 * Returns the report as JSON {batchesSent, recordsOk, recordsDuplicate, recordsRejected,
 * rejections, recordsHeld, held, retries, bytesSent, formsReceived, broadcastsReceived,
 * incidentUpdates, serverLastSeq, backedUpSeq, batchesResent, lostBatches, serverUrl,
 * warnings}. Fails with VIGIL_ABORTED after vigil_client_sync_cancel; what was
 * acknowledged stays so, the rest goes with the next sync. */
VIGIL_EXPORT char* vigil_client_sync(VigilClient* client, const char* ca_file,
                                     VigilSyncProgressFn progress, void* progress_context,
                                     VigilError* out_error);
/* Stops the sync running on the handle now (from any thread) within about a second; that
 * sync fails with VIGIL_ABORTED. Does nothing when none runs; a later sync is not affected. */
VIGIL_EXPORT void vigil_client_sync_cancel(VigilClient* client);
/* Re-checks every stored receipt against the server's key and the bytes sent: JSON
 * {verified, failures: ["batch 7: …"]}. */
VIGIL_EXPORT char* vigil_client_verify_receipts(VigilClient* client, VigilError* out_error);
/* Coordinators' broadcasts, newest first: a JSON array of vigil.v1.Broadcast in protobuf's
 * JSON mapping ({broadcastId, sentAtMs, author, text: {lang: text}}). */
VIGIL_EXPORT char* vigil_client_inbox_json(VigilClient* client, VigilError* out_error);
/* Coordinators' status of this device's incidents as of the last sync: a JSON array of
 * vigil.v1.IncidentStatus ({incidentId, caseId, status, changedAtMs}). */
VIGIL_EXPORT char* vigil_client_incident_statuses_json(VigilClient* client, VigilError* out_error);

/* Counts as JSON: {deviceId, serverId, drafts, outbox, batched, acknowledged, …}. Answers
 * quickly while a sync runs on another thread. */
VIGIL_EXPORT char* vigil_client_status_json(VigilClient* client, VigilError* out_error);

/* Frees a string returned by this API. */
VIGIL_EXPORT void vigil_free(void* pointer);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* VIGIL_CLIENT_C_H_ */
