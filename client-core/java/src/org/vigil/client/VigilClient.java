package org.vigil.client;

import java.nio.charset.StandardCharsets;

/**
 * The device library for an app: a thin JNI layer over the C API of vigil/client.h (its
 * conventions and life cycle: docs/embedding.md). Every method mirrors one {@code
 * vigil_client_*} function; structured results are the same JSON strings. Failures throw
 * {@link VigilException} with the C API's code and message.
 *
 * <p>Threads: as the C API's handle — methods may be called from several threads at once, and
 * {@link #sync} runs beside the others; {@link #close} must not race with any other call.
 */
public final class VigilClient implements AutoCloseable {
  static {
    System.loadLibrary("vigil_jni");
  }

  private volatile long handle;

  private VigilClient(long handle) {
    this.handle = handle;
  }

  /** Creates a new store in {@code home} protected by {@code pin}; serverId may be null. */
  public static VigilClient init(String home, String pin, String serverId)
      throws VigilException {
    return new VigilClient(nativeInit(utf8(home), utf8(pin), utf8(serverId), null));
  }

  /** Creates a new store in {@code home} guarded by an app-supplied key protector. */
  public static VigilClient init(String home, KeyProtector protector, String serverId)
      throws VigilException {
    return new VigilClient(nativeInit(utf8(home), null, utf8(serverId), notNull(protector)));
  }

  /** Opens an existing store; a null {@code pin} opens it locked (forms and counts only). */
  public static VigilClient open(String home, String pin) throws VigilException {
    return new VigilClient(nativeOpen(utf8(home), utf8(pin), null));
  }

  /** Opens an existing store locked, without its PIN: forms and counts only. */
  public static VigilClient openLocked(String home) throws VigilException {
    return open(home, (String) null);
  }

  /** Opens an existing store guarded by an app-supplied key protector. */
  public static VigilClient open(String home, KeyProtector protector) throws VigilException {
    return new VigilClient(nativeOpen(utf8(home), null, notNull(protector)));
  }

  /** Destroys the store in {@code home} without a handle (none may be open on it). */
  public static void wipeHome(String home) throws VigilException {
    nativeWipeHome(utf8(home));
  }

  /** Frees the native handle; later calls throw IllegalStateException. Idempotent. */
  @Override
  public synchronized void close() {
    long h = handle;
    handle = 0;
    if (h != 0) nativeClose(h);
  }

  /** Replaces the PIN ({@code oldPin} must open the store; the new one has 6+ characters). */
  public void changePin(String oldPin, String newPin) throws VigilException {
    nativeChangePin(h(), utf8(oldPin), utf8(newPin));
  }

  /**
   * Sets the duress PIN (6+ characters, not the PIN): opening the store with it wipes the store
   * and opens a new, empty one, which is all a person holding the tablet then finds.
   */
  public void setDuressPin(String duressPin) throws VigilException {
    nativeSetDuressPin(h(), utf8(duressPin));
  }

  /** Re-wraps the data key: {@code current} must open it, {@code replacement} guards it next. */
  public void changeKeyProtector(KeyProtector current, KeyProtector replacement)
      throws VigilException {
    nativeChangeKeyProtector(h(), notNull(current), notNull(replacement));
  }

  /** Destroys the store at once; afterwards only {@link #close} is of use. */
  public void wipe() throws VigilException {
    nativeWipe(h());
  }

  /** The device id ("d" + 32 hex digits). */
  public String deviceId() throws VigilException {
    return str(nativeDeviceId(h()));
  }

  /** The device public key as PEM. */
  public String publicKeyPem() throws VigilException {
    return str(nativePublicKeyPem(h()));
  }

  /** Imports a FormDefinition given in protobuf's JSON mapping. */
  public void importFormJson(String json) throws VigilException {
    nativeImportFormJson(h(), utf8(json));
  }

  /** The forms held, as JSON (vigil_client_forms_json). */
  public String formsJson() throws VigilException {
    return str(nativeFormsJson(h()));
  }

  /** Starts a draft of the newest version of {@code formId} for a station; returns its id. */
  public String startDraft(String formId, String stationCode) throws VigilException {
    return str(nativeStartDraft(h(), utf8(formId), utf8(stationCode)));
  }

  /** Sets one answer from text (vigil_client_set_answer_text). */
  public void setAnswerText(String draftId, String questionId, String text)
      throws VigilException {
    nativeSetAnswerText(h(), utf8(draftId), utf8(questionId), utf8(text));
  }

  /** Removes one answer. */
  public void clearAnswer(String draftId, String questionId) throws VigilException {
    nativeClearAnswer(h(), utf8(draftId), utf8(questionId));
  }

  /** Ids of the questions that apply now, as a JSON array of strings. */
  public String relevantQuestionsJson(String draftId) throws VigilException {
    return str(nativeRelevantQuestionsJson(h(), utf8(draftId)));
  }

  /** The cross-field checks the answers so far break, as JSON; "[]" when none. */
  public String warningsJson(String draftId) throws VigilException {
    return str(nativeWarningsJson(h(), utf8(draftId)));
  }

  /** Sets where the device is on a draft or an incident not yet sealed. */
  public void setLocation(String recordId, double latitude, double longitude, double accuracyM)
      throws VigilException {
    nativeSetLocation(h(), utf8(recordId), latitude, longitude, accuracyM);
  }

  /** The open drafts, oldest first, as JSON. */
  public String draftsJson() throws VigilException {
    return str(nativeDraftsJson(h()));
  }

  /** One draft to resume, with its answers, as JSON. */
  public String draftJson(String draftId) throws VigilException {
    return str(nativeDraftJson(h(), utf8(draftId)));
  }

  /** Deletes a draft (never a finalized record). */
  public void discardDraft(String draftId) throws VigilException {
    nativeDiscardDraft(h(), utf8(draftId));
  }

  /**
   * Finalizes a draft into the outbox; returns the submission id (vigil_client_finalize; not
   * named finalize, which is Object's).
   */
  public String finalizeDraft(String draftId) throws VigilException {
    return str(nativeFinalize(h(), utf8(draftId)));
  }

  /** Reports an incident, or a follow-up of {@code parentId} (null for a first report). */
  public String reportIncident(String stationCode, String category, String severity,
      String narrative, String parentId) throws VigilException {
    return str(nativeReportIncident(h(), utf8(stationCode), utf8(category), utf8(severity),
        utf8(narrative), utf8(parentId)));
  }

  /** Seals the outbox into signed batches; returns how many were made. */
  public int sealOutbox() throws VigilException {
    return nativeSealOutbox(h());
  }

  /** The sealed batches waiting for a receipt. */
  public PendingBatch[] pendingBatches() throws VigilException {
    return nativePendingBatches(h());
  }

  /** Seals and writes every pending batch into {@code directory}; returns the JSON summary. */
  public String exportOutbox(String directory) throws VigilException {
    return str(nativeExportOutbox(h(), utf8(directory)));
  }

  /**
   * Joins a deployment with the text of an enrollment QR code; {@code caFile} may be null.
   * Returns JSON {deviceId, serverId, observerId, stations, forms}.
   */
  public String enroll(String payload, String deviceModel, String appVersion, String caFile)
      throws VigilException {
    return str(nativeEnroll(h(), utf8(payload), utf8(deviceModel), utf8(appVersion),
        utf8(caFile)));
  }

  /**
   * Sends every finalized record, then fetches forms, assignments, broadcasts and incident
   * statuses; {@code progress} may be null. Returns the report as JSON. Throws ABORTED after
   * {@link #syncCancel}.
   */
  public String sync(String caFile, SyncProgress progress) throws VigilException {
    return str(nativeSync(h(), utf8(caFile), progress));
  }

  /** Stops the sync running on this client (from any thread); does nothing when none runs. */
  public void syncCancel() {
    long h = handle;
    if (h != 0) nativeSyncCancel(h);
  }

  /** Re-checks every stored receipt: JSON {verified, failures}. */
  public String verifyReceipts() throws VigilException {
    return str(nativeVerifyReceipts(h()));
  }

  /** Coordinators' broadcasts, newest first, as JSON. */
  public String inboxJson() throws VigilException {
    return str(nativeInboxJson(h()));
  }

  /** Coordinators' status of this device's incidents as of the last sync, as JSON. */
  public String incidentStatusesJson() throws VigilException {
    return str(nativeIncidentStatusesJson(h()));
  }

  /** Counts as JSON: {deviceId, serverId, drafts, outbox, batched, acknowledged, …}. */
  public String statusJson() throws VigilException {
    return str(nativeStatusJson(h()));
  }

  private long h() {
    long h = handle;
    if (h == 0) throw new IllegalStateException("VigilClient is closed");
    return h;
  }

  // Strings cross JNI as UTF-8 bytes (not JNI's modified UTF-8); null stays null.
  private static byte[] utf8(String s) throws VigilException {
    if (s == null) return null;
    if (s.indexOf('\0') >= 0) {
      throw new VigilException(VigilException.INVALID_ARGUMENT, "a string holds a NUL character");
    }
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String str(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  // Called by the JNI code for each progress report of a sync (phase as UTF-8 bytes).
  private static void deliverProgress(SyncProgress p, byte[] phase, long batchesSent,
      long batchesTotal, long recordsSent, long recordsTotal, long bytesSent) {
    p.onProgress(str(phase), batchesSent, batchesTotal, recordsSent, recordsTotal, bytesSent);
  }

  private static KeyProtector notNull(KeyProtector p) throws VigilException {
    if (p == null) throw new VigilException(VigilException.INVALID_ARGUMENT, "no key protector");
    return p;
  }

  private static native long nativeInit(byte[] home, byte[] pin, byte[] serverId,
      KeyProtector protector) throws VigilException;
  private static native long nativeOpen(byte[] home, byte[] pin, KeyProtector protector)
      throws VigilException;
  private static native void nativeWipeHome(byte[] home) throws VigilException;
  private static native void nativeClose(long h);
  private static native void nativeChangePin(long h, byte[] oldPin, byte[] newPin)
      throws VigilException;
  private static native void nativeSetDuressPin(long h, byte[] pin) throws VigilException;
  private static native void nativeChangeKeyProtector(long h, KeyProtector current,
      KeyProtector replacement) throws VigilException;
  private static native void nativeWipe(long h) throws VigilException;
  private static native byte[] nativeDeviceId(long h) throws VigilException;
  private static native byte[] nativePublicKeyPem(long h) throws VigilException;
  private static native void nativeImportFormJson(long h, byte[] json) throws VigilException;
  private static native byte[] nativeFormsJson(long h) throws VigilException;
  private static native byte[] nativeStartDraft(long h, byte[] formId, byte[] station)
      throws VigilException;
  private static native void nativeSetAnswerText(long h, byte[] draft, byte[] question,
      byte[] text) throws VigilException;
  private static native void nativeClearAnswer(long h, byte[] draft, byte[] question)
      throws VigilException;
  private static native byte[] nativeRelevantQuestionsJson(long h, byte[] draft)
      throws VigilException;
  private static native byte[] nativeWarningsJson(long h, byte[] draft) throws VigilException;
  private static native void nativeSetLocation(long h, byte[] record, double latitude,
      double longitude, double accuracyM) throws VigilException;
  private static native byte[] nativeDraftsJson(long h) throws VigilException;
  private static native byte[] nativeDraftJson(long h, byte[] draft) throws VigilException;
  private static native void nativeDiscardDraft(long h, byte[] draft) throws VigilException;
  private static native byte[] nativeFinalize(long h, byte[] draft) throws VigilException;
  private static native byte[] nativeReportIncident(long h, byte[] station, byte[] category,
      byte[] severity, byte[] narrative, byte[] parent) throws VigilException;
  private static native int nativeSealOutbox(long h) throws VigilException;
  private static native PendingBatch[] nativePendingBatches(long h) throws VigilException;
  private static native byte[] nativeExportOutbox(long h, byte[] directory)
      throws VigilException;
  private static native byte[] nativeEnroll(long h, byte[] payload, byte[] model,
      byte[] appVersion, byte[] caFile) throws VigilException;
  private static native byte[] nativeSync(long h, byte[] caFile, SyncProgress progress)
      throws VigilException;
  private static native void nativeSyncCancel(long h);
  private static native byte[] nativeVerifyReceipts(long h) throws VigilException;
  private static native byte[] nativeInboxJson(long h) throws VigilException;
  private static native byte[] nativeIncidentStatusesJson(long h) throws VigilException;
  private static native byte[] nativeStatusJson(long h) throws VigilException;
}
