/*
 * The JNI side of org.vigil.client.VigilClient: each native method calls the C API of
 * vigil/client.h and nothing else (docs/embedding.md, "Java").
 *
 * Strings cross as UTF-8 byte arrays (Java encodes and decodes them, so JNI's modified UTF-8
 * never matters). Every char* the C API returns is freed with vigil_free; every input copy
 * with free. No global reference is kept: a key protector or progress callback is used only
 * during the call that was given it, through that call's JNIEnv. A failure throws
 * VigilException with the C API's code and message, unless a Java exception (from a
 * callback, or out of memory) is already pending: that one then propagates.
 */
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "org_vigil_client_VigilClient.h"
#include "org_vigil_client_VigilException.h"
#include "vigil/client.h"

/* VigilException's constants are the C API's codes. */
#define VIGIL_JNI_SAME(name) \
  _Static_assert(org_vigil_client_VigilException_##name == VIGIL_##name, #name)
VIGIL_JNI_SAME(OK);
VIGIL_JNI_SAME(INVALID_ARGUMENT);
VIGIL_JNI_SAME(NOT_FOUND);
VIGIL_JNI_SAME(ALREADY_EXISTS);
VIGIL_JNI_SAME(FAILED_PRECONDITION);
VIGIL_JNI_SAME(PERMISSION_DENIED);
VIGIL_JNI_SAME(UNAUTHENTICATED);
VIGIL_JNI_SAME(RESOURCE_EXHAUSTED);
VIGIL_JNI_SAME(ABORTED);
VIGIL_JNI_SAME(UNAVAILABLE);
VIGIL_JNI_SAME(DATA_LOSS);
VIGIL_JNI_SAME(UNIMPLEMENTED);
VIGIL_JNI_SAME(INTERNAL);

/* The handle VigilClient holds: the pointer nativeInit/nativeOpen returned. */
static VigilClient* Handle(jlong h) {
  return (VigilClient*)(intptr_t)h; /* NOLINT(performance-no-int-to-ptr): JNI keeps it a jlong */
}

/* A byte array of `len` bytes, or NULL with an exception pending. */
static jbyteArray NewBytes(JNIEnv* env, const void* data, size_t len) {
  if (len > INT32_MAX) {
    jclass oom = (*env)->FindClass(env, "java/lang/OutOfMemoryError");
    if (oom != NULL) (*env)->ThrowNew(env, oom, "result too large for a Java array");
    return NULL;
  }
  jbyteArray a = (*env)->NewByteArray(env, (jsize)len);
  if (a != NULL && len > 0) (*env)->SetByteArrayRegion(env, a, 0, (jsize)len, (const jbyte*)data);
  return a;
}

/* Throws VigilException(err) unless an exception is already pending. */
static void Throw(JNIEnv* env, const VigilError* err) {
  if ((*env)->ExceptionCheck(env)) return;
  jclass cls = (*env)->FindClass(env, "org/vigil/client/VigilException");
  if (cls == NULL) return;
  jmethodID make =
      (*env)->GetStaticMethodID(env, cls, "fromNative", "(I[B)Lorg/vigil/client/VigilException;");
  if (make == NULL) return;
  size_t len = strnlen(err->message, sizeof err->message);
  jbyteArray message = NewBytes(env, err->message, len);
  if (message == NULL) return;
  jthrowable e =
      (jthrowable)(*env)->CallStaticObjectMethod(env, cls, make, (jint)err->code, message);
  if (e != NULL && !(*env)->ExceptionCheck(env)) (*env)->Throw(env, e);
  (*env)->DeleteLocalRef(env, message);
  (*env)->DeleteLocalRef(env, e);
  (*env)->DeleteLocalRef(env, cls);
}

/* Copies a Java byte array into a NUL-terminated string (NULL stays NULL). Returns 0 with
 * OutOfMemoryError pending when malloc fails. Free *out with free. */
static int In(JNIEnv* env, jbyteArray a, char** out) {
  *out = NULL;
  if (a == NULL) return 1;
  jsize n = (*env)->GetArrayLength(env, a);
  char* s = (char*)malloc((size_t)n + 1);
  if (s == NULL) {
    jclass oom = (*env)->FindClass(env, "java/lang/OutOfMemoryError");
    if (oom != NULL) (*env)->ThrowNew(env, oom, "vigil_jni: malloc");
    return 0;
  }
  (*env)->GetByteArrayRegion(env, a, 0, n, (jbyte*)s);
  s[n] = '\0';
  *out = s;
  return 1;
}

/* The C API's string result as a byte array (freed with vigil_free), or throws for NULL. */
static jbyteArray Out(JNIEnv* env, char* result, const VigilError* err) {
  if (result == NULL) {
    Throw(env, err);
    return NULL;
  }
  jbyteArray a = NULL;
  if (!(*env)->ExceptionCheck(env)) a = NewBytes(env, result, strlen(result));
  vigil_free(result);
  return a;
}

/* ---- key protector: the Java object, called through this call's JNIEnv */

typedef struct ProtectorCall {
  JNIEnv* env;
  jobject protector;
} ProtectorCall;

static bool CallProtector(void* context, const char* method, const uint8_t* in, size_t in_len,
                          uint8_t** out, size_t* out_len) {
  ProtectorCall* call = (ProtectorCall*)context;
  JNIEnv* env = call->env;
  if ((*env)->ExceptionCheck(env)) return false;
  bool ok = false;
  jclass cls = (*env)->GetObjectClass(env, call->protector);
  jmethodID m = (*env)->GetMethodID(env, cls, method, "([B)[B");
  jbyteArray arg = m == NULL ? NULL : NewBytes(env, in, in_len);
  jbyteArray res = NULL;
  if (arg != NULL) res = (jbyteArray)(*env)->CallObjectMethod(env, call->protector, m, arg);
  if (res != NULL && !(*env)->ExceptionCheck(env)) {
    jsize n = (*env)->GetArrayLength(env, res);
    uint8_t* copy = (uint8_t*)malloc(n > 0 ? (size_t)n : 1);
    if (copy != NULL) {
      (*env)->GetByteArrayRegion(env, res, 0, n, (jbyte*)copy);
      *out = copy;
      *out_len = (size_t)n;
      ok = true;
    }
  }
  (*env)->DeleteLocalRef(env, res);
  (*env)->DeleteLocalRef(env, arg);
  (*env)->DeleteLocalRef(env, cls);
  return ok;
}

static bool Wrap(void* context, const uint8_t* key, size_t key_len, uint8_t** out,
                 size_t* out_len) {
  return CallProtector(context, "wrap", key, key_len, out, out_len);
}

static bool Unwrap(void* context, const uint8_t* blob, size_t blob_len, uint8_t** out,
                   size_t* out_len) {
  return CallProtector(context, "unwrap", blob, blob_len, out, out_len);
}

static VigilKeyProtector Protector(ProtectorCall* call) {
  VigilKeyProtector p;
  p.context = call;
  p.wrap = &Wrap;
  p.unwrap = &Unwrap;
  return p;
}

/* ---- life cycle */

JNIEXPORT jlong JNICALL Java_org_vigil_client_VigilClient_nativeInit(JNIEnv* env, jclass cls,
                                                                     jbyteArray home,
                                                                     jbyteArray pin,
                                                                     jbyteArray server_id,
                                                                     jobject protector) {
  (void)cls;
  char *h = NULL, *p = NULL, *s = NULL;
  VigilClient* client = NULL;
  VigilError err;
  err.code = VIGIL_INTERNAL;
  err.message[0] = '\0';
  if (In(env, home, &h) && In(env, pin, &p) && In(env, server_id, &s)) {
    if (protector != NULL) {
      ProtectorCall call = {env, protector};
      VigilKeyProtector kp = Protector(&call);
      client = vigil_client_init_with_protector(h, &kp, s, &err);
    } else {
      client = vigil_client_init(h, p, s, &err);
    }
    if (client == NULL) Throw(env, &err);
  }
  free(h);
  free(p);
  free(s);
  if (client != NULL && (*env)->ExceptionCheck(env)) {
    vigil_client_close(client);
    client = NULL;
  }
  return (jlong)(intptr_t)client;
}

JNIEXPORT jlong JNICALL Java_org_vigil_client_VigilClient_nativeOpen(JNIEnv* env, jclass cls,
                                                                     jbyteArray home,
                                                                     jbyteArray pin,
                                                                     jobject protector) {
  (void)cls;
  char *h = NULL, *p = NULL;
  VigilClient* client = NULL;
  VigilError err;
  err.code = VIGIL_INTERNAL;
  err.message[0] = '\0';
  if (In(env, home, &h) && In(env, pin, &p)) {
    if (protector != NULL) {
      ProtectorCall call = {env, protector};
      VigilKeyProtector kp = Protector(&call);
      client = vigil_client_open_with_protector(h, &kp, &err);
    } else {
      client = vigil_client_open(h, p, &err);
    }
    if (client == NULL) Throw(env, &err);
  }
  free(h);
  free(p);
  if (client != NULL && (*env)->ExceptionCheck(env)) {
    vigil_client_close(client);
    client = NULL;
  }
  return (jlong)(intptr_t)client;
}

JNIEXPORT void JNICALL Java_org_vigil_client_VigilClient_nativeWipeHome(JNIEnv* env, jclass cls,
                                                                        jbyteArray home) {
  (void)cls;
  char* h = NULL;
  VigilError err;
  if (In(env, home, &h) && !vigil_wipe_home(h, &err)) Throw(env, &err);
  free(h);
}

JNIEXPORT void JNICALL Java_org_vigil_client_VigilClient_nativeClose(JNIEnv* env, jclass cls,
                                                                     jlong h) {
  (void)env;
  (void)cls;
  vigil_client_close(Handle(h));
}

JNIEXPORT void JNICALL Java_org_vigil_client_VigilClient_nativeChangePin(JNIEnv* env, jclass cls,
                                                                         jlong h,
                                                                         jbyteArray old_pin,
                                                                         jbyteArray new_pin) {
  (void)cls;
  char *o = NULL, *n = NULL;
  VigilError err;
  if (In(env, old_pin, &o) && In(env, new_pin, &n) &&
      !vigil_client_change_pin(Handle(h), o, n, &err)) {
    Throw(env, &err);
  }
  free(o);
  free(n);
}

JNIEXPORT void JNICALL Java_org_vigil_client_VigilClient_nativeSetDuressPin(JNIEnv* env, jclass cls,
                                                                            jlong h,
                                                                            jbyteArray pin) {
  (void)cls;
  char* p = NULL;
  VigilError err;
  if (In(env, pin, &p) && !vigil_client_set_duress_pin(Handle(h), p, &err)) Throw(env, &err);
  free(p);
}

JNIEXPORT void JNICALL Java_org_vigil_client_VigilClient_nativeChangeKeyProtector(
    JNIEnv* env, jclass cls, jlong h, jobject current, jobject replacement) {
  (void)cls;
  ProtectorCall now = {env, current};
  ProtectorCall next = {env, replacement};
  VigilKeyProtector a = Protector(&now);
  VigilKeyProtector b = Protector(&next);
  VigilError err;
  if (!vigil_client_change_key_protector(Handle(h), &a, &b, &err)) Throw(env, &err);
}

JNIEXPORT void JNICALL Java_org_vigil_client_VigilClient_nativeWipe(JNIEnv* env, jclass cls,
                                                                    jlong h) {
  (void)cls;
  VigilError err;
  if (!vigil_client_wipe(Handle(h), &err)) Throw(env, &err);
}

/* ---- calls with string results: one input copy each, freed on every path */

/* Defines a native method that takes no argument and returns the C API's string. */
#define VIGIL_JNI_STRING0(java_name, c_function)                              \
  JNIEXPORT jbyteArray JNICALL Java_org_vigil_client_VigilClient_##java_name( \
      JNIEnv* env, jclass cls, jlong h) {                                     \
    (void)cls;                                                                \
    VigilError err;                                                           \
    return Out(env, c_function(Handle(h), &err), &err);                       \
  }

/* Defines a native method that takes one string and returns the C API's string. */
#define VIGIL_JNI_STRING1(java_name, c_function)                                    \
  JNIEXPORT jbyteArray JNICALL Java_org_vigil_client_VigilClient_##java_name(       \
      JNIEnv* env, jclass cls, jlong h, jbyteArray a1) {                            \
    (void)cls;                                                                      \
    char* s1 = NULL;                                                                \
    jbyteArray result = NULL;                                                       \
    VigilError err;                                                                 \
    if (In(env, a1, &s1)) result = Out(env, c_function(Handle(h), s1, &err), &err); \
    free(s1);                                                                       \
    return result;                                                                  \
  }

/* Defines a native method that takes one string and returns nothing (the C API's bool). */
#define VIGIL_JNI_VOID1(java_name, c_function)                                                   \
  JNIEXPORT void JNICALL Java_org_vigil_client_VigilClient_##java_name(JNIEnv* env, jclass cls,  \
                                                                       jlong h, jbyteArray a1) { \
    (void)cls;                                                                                   \
    char* s1 = NULL;                                                                             \
    VigilError err;                                                                              \
    if (In(env, a1, &s1) && !c_function(Handle(h), s1, &err)) Throw(env, &err);                  \
    free(s1);                                                                                    \
  }

VIGIL_JNI_STRING0(nativeDeviceId, vigil_client_device_id)
VIGIL_JNI_STRING0(nativePublicKeyPem, vigil_client_public_key_pem)
VIGIL_JNI_STRING0(nativeFormsJson, vigil_client_forms_json)
VIGIL_JNI_STRING0(nativeDraftsJson, vigil_client_drafts_json)
VIGIL_JNI_STRING0(nativeVerifyReceipts, vigil_client_verify_receipts)
VIGIL_JNI_STRING0(nativeInboxJson, vigil_client_inbox_json)
VIGIL_JNI_STRING0(nativeIncidentStatusesJson, vigil_client_incident_statuses_json)
VIGIL_JNI_STRING0(nativeStatusJson, vigil_client_status_json)
VIGIL_JNI_STRING1(nativeRelevantQuestionsJson, vigil_client_relevant_questions_json)
VIGIL_JNI_STRING1(nativeWarningsJson, vigil_client_warnings_json)
VIGIL_JNI_STRING1(nativeDraftJson, vigil_client_draft_json)
VIGIL_JNI_STRING1(nativeFinalize, vigil_client_finalize)
VIGIL_JNI_STRING1(nativeExportOutbox, vigil_client_export_outbox)
VIGIL_JNI_VOID1(nativeImportFormJson, vigil_client_import_form_json)
VIGIL_JNI_VOID1(nativeDiscardDraft, vigil_client_discard_draft)

JNIEXPORT jbyteArray JNICALL Java_org_vigil_client_VigilClient_nativeStartDraft(
    JNIEnv* env, jclass cls, jlong h, jbyteArray form_id, jbyteArray station) {
  (void)cls;
  char *f = NULL, *s = NULL;
  jbyteArray result = NULL;
  VigilError err;
  if (In(env, form_id, &f) && In(env, station, &s)) {
    result = Out(env, vigil_client_start_draft(Handle(h), f, s, &err), &err);
  }
  free(f);
  free(s);
  return result;
}

JNIEXPORT void JNICALL Java_org_vigil_client_VigilClient_nativeSetAnswerText(
    JNIEnv* env, jclass cls, jlong h, jbyteArray draft, jbyteArray question, jbyteArray text) {
  (void)cls;
  char *d = NULL, *q = NULL, *t = NULL;
  VigilError err;
  if (In(env, draft, &d) && In(env, question, &q) && In(env, text, &t) &&
      !vigil_client_set_answer_text(Handle(h), d, q, t, &err)) {
    Throw(env, &err);
  }
  free(d);
  free(q);
  free(t);
}

JNIEXPORT void JNICALL Java_org_vigil_client_VigilClient_nativeClearAnswer(JNIEnv* env, jclass cls,
                                                                           jlong h,
                                                                           jbyteArray draft,
                                                                           jbyteArray question) {
  (void)cls;
  char *d = NULL, *q = NULL;
  VigilError err;
  if (In(env, draft, &d) && In(env, question, &q) &&
      !vigil_client_clear_answer(Handle(h), d, q, &err)) {
    Throw(env, &err);
  }
  free(d);
  free(q);
}

JNIEXPORT void JNICALL Java_org_vigil_client_VigilClient_nativeSetLocation(
    JNIEnv* env, jclass cls, jlong h, jbyteArray record, jdouble latitude, jdouble longitude,
    jdouble accuracy_m) {
  (void)cls;
  char* r = NULL;
  VigilError err;
  if (In(env, record, &r) &&
      !vigil_client_set_location(Handle(h), r, latitude, longitude, accuracy_m, &err)) {
    Throw(env, &err);
  }
  free(r);
}

JNIEXPORT jbyteArray JNICALL Java_org_vigil_client_VigilClient_nativeReportIncident(
    JNIEnv* env, jclass cls, jlong h, jbyteArray station, jbyteArray category, jbyteArray severity,
    jbyteArray narrative, jbyteArray parent) {
  (void)cls;
  char *s = NULL, *c = NULL, *v = NULL, *n = NULL, *p = NULL;
  jbyteArray result = NULL;
  VigilError err;
  if (In(env, station, &s) && In(env, category, &c) && In(env, severity, &v) &&
      In(env, narrative, &n) && In(env, parent, &p)) {
    result = Out(env, vigil_client_report_incident(Handle(h), s, c, v, n, p, &err), &err);
  }
  free(s);
  free(c);
  free(v);
  free(n);
  free(p);
  return result;
}

/* ---- outbox */

JNIEXPORT jint JNICALL Java_org_vigil_client_VigilClient_nativeSealOutbox(JNIEnv* env, jclass cls,
                                                                          jlong h) {
  (void)cls;
  VigilError err;
  int made = vigil_client_seal_outbox(Handle(h), &err);
  if (made < 0) Throw(env, &err);
  return made;
}

JNIEXPORT jobjectArray JNICALL Java_org_vigil_client_VigilClient_nativePendingBatches(JNIEnv* env,
                                                                                      jclass cls,
                                                                                      jlong h) {
  (void)cls;
  VigilError err;
  VigilBatchList* list = vigil_client_pending_batches(Handle(h), &err);
  if (list == NULL) {
    Throw(env, &err);
    return NULL;
  }
  jobjectArray out = NULL;
  jclass batch = (*env)->FindClass(env, "org/vigil/client/PendingBatch");
  jmethodID make = batch == NULL ? NULL : (*env)->GetMethodID(env, batch, "<init>", "(J[B)V");
  size_t count = vigil_batch_list_count(list);
  if (make != NULL && count <= INT32_MAX) {
    out = (*env)->NewObjectArray(env, (jsize)count, batch, NULL);
  }
  for (size_t i = 0; out != NULL && i < count; ++i) {
    size_t len = 0;
    const uint8_t* bytes = vigil_batch_list_bytes(list, i, &len);
    jbyteArray data = NewBytes(env, bytes, len);
    jobject item = data == NULL ? NULL
                                : (*env)->NewObject(env, batch, make,
                                                    (jlong)vigil_batch_list_seq(list, i), data);
    if (item != NULL) (*env)->SetObjectArrayElement(env, out, (jsize)i, item);
    (*env)->DeleteLocalRef(env, item);
    (*env)->DeleteLocalRef(env, data);
    if ((*env)->ExceptionCheck(env)) {
      (*env)->DeleteLocalRef(env, out);
      out = NULL;
    }
  }
  (*env)->DeleteLocalRef(env, batch);
  vigil_batch_list_free(list);
  return out;
}

/* ---- network */

JNIEXPORT jbyteArray JNICALL Java_org_vigil_client_VigilClient_nativeEnroll(
    JNIEnv* env, jclass cls, jlong h, jbyteArray payload, jbyteArray model, jbyteArray app_version,
    jbyteArray ca_file) {
  (void)cls;
  char *p = NULL, *m = NULL, *v = NULL, *c = NULL;
  jbyteArray result = NULL;
  VigilError err;
  if (In(env, payload, &p) && In(env, model, &m) && In(env, app_version, &v) &&
      In(env, ca_file, &c)) {
    result = Out(env, vigil_client_enroll(Handle(h), p, m, v, c, &err), &err);
  }
  free(p);
  free(m);
  free(v);
  free(c);
  return result;
}

/* One sync's callback: valid only while that vigil_client_sync runs on this thread. */
typedef struct ProgressCall {
  JNIEnv* env;
  jobject callback;
  jclass client_class;
  jmethodID deliver;
  VigilClient* client;
} ProgressCall;

static void OnProgress(void* context, const VigilSyncProgress* p) {
  ProgressCall* call = (ProgressCall*)context;
  JNIEnv* env = call->env;
  if ((*env)->ExceptionCheck(env)) return; /* cancelled already */
  jbyteArray phase = NewBytes(env, p->phase, strlen(p->phase));
  if (phase != NULL) {
    (*env)->CallStaticVoidMethod(env, call->client_class, call->deliver, call->callback, phase,
                                 (jlong)p->batches_sent, (jlong)p->batches_total,
                                 (jlong)p->records_sent, (jlong)p->records_total,
                                 (jlong)p->bytes_sent);
  }
  (*env)->DeleteLocalRef(env, phase);
  /* The callback threw: stop the sync; the exception is rethrown when it returns. */
  if ((*env)->ExceptionCheck(env)) vigil_client_sync_cancel(call->client);
}

JNIEXPORT jbyteArray JNICALL Java_org_vigil_client_VigilClient_nativeSync(JNIEnv* env, jclass cls,
                                                                          jlong h,
                                                                          jbyteArray ca_file,
                                                                          jobject progress) {
  char* c = NULL;
  VigilError err;
  if (!In(env, ca_file, &c)) return NULL;
  ProgressCall call = {env, progress, cls, NULL, Handle(h)};
  if (progress != NULL) {
    call.deliver = (*env)->GetStaticMethodID(env, cls, "deliverProgress",
                                             "(Lorg/vigil/client/SyncProgress;[BJJJJJ)V");
    if (call.deliver == NULL) {
      free(c);
      return NULL;
    }
  }
  char* report = vigil_client_sync(Handle(h), c, progress != NULL ? &OnProgress : NULL,
                                   progress != NULL ? &call : NULL, &err);
  free(c);
  return Out(env, report, &err);
}

JNIEXPORT void JNICALL Java_org_vigil_client_VigilClient_nativeSyncCancel(JNIEnv* env, jclass cls,
                                                                          jlong h) {
  (void)env;
  (void)cls;
  vigil_client_sync_cancel(Handle(h));
}
