/*
 * The Vigil device library as a C API, for JNI (Android) and other foreign-function
 * interfaces. A thin wrapper over the C++ API in vigil/client/client.h.
 *
 * Conventions (after leveldb's c.h and couchbase-lite-core's c4 API):
 *  - VigilClient is an opaque handle: vigil_client_init/open make one, vigil_client_close
 *    frees it. A handle is not thread-safe.
 *  - Every call that can fail takes `VigilError* out_error` last (may be NULL). On failure
 *    it returns NULL / false / -1 and fills out_error; on success out_error->code is 0.
 *  - Strings are UTF-8 and NUL-terminated. Every `char*` returned is the caller's to free
 *    with vigil_free; every VigilBatchList with vigil_batch_list_free.
 *  - No C++ exception ever crosses this API.
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

/* Error codes: the values of vigil::StatusCode. */
enum {
  VIGIL_OK = 0,
  VIGIL_INVALID_ARGUMENT = 1,
  VIGIL_NOT_FOUND = 2,
  VIGIL_ALREADY_EXISTS = 3,
  VIGIL_FAILED_PRECONDITION = 4,
  VIGIL_PERMISSION_DENIED = 5, /* includes "wrong PIN" */
  VIGIL_UNAUTHENTICATED = 6,
  VIGIL_RESOURCE_EXHAUSTED = 7, /* includes "disk full" */
  VIGIL_ABORTED = 8,
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

/* The device id ("d" + 32 hex digits). */
VIGIL_EXPORT char* vigil_client_device_id(VigilClient* client, VigilError* out_error);
/* The device public key as PEM. */
VIGIL_EXPORT char* vigil_client_public_key_pem(VigilClient* client, VigilError* out_error);

/* Imports a FormDefinition given in protobuf's JSON mapping. */
VIGIL_EXPORT bool vigil_client_import_form_json(VigilClient* client, const char* json,
                                                VigilError* out_error);
/* Lists the forms held as a JSON array of {formId, version, kind, titleEn, titleKm}. */
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
/* Finalizes a draft into the outbox; returns the submission id. */
VIGIL_EXPORT char* vigil_client_finalize(VigilClient* client, const char* draft_id,
                                         VigilError* out_error);
/* Reports an incident (parent_id NULL or "" for a first report); returns its id. */
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

/* Counts as JSON: {deviceId, serverId, drafts, outbox, batched, acknowledged, …}. */
VIGIL_EXPORT char* vigil_client_status_json(VigilClient* client, VigilError* out_error);

/* Frees a string returned by this API. */
VIGIL_EXPORT void vigil_free(void* pointer);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* VIGIL_CLIENT_C_H_ */
