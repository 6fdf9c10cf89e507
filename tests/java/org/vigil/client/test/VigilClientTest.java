package org.vigil.client.test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.vigil.client.KeyProtector;
import org.vigil.client.PendingBatch;
import org.vigil.client.VigilClient;
import org.vigil.client.VigilException;

/**
 * The Java binding on a real JVM (docs/embedding.md, "Java"). A plain main, no framework:
 * every check that fails prints what and exits 1.
 *
 * <pre>
 *   VigilClientTest offline HOME                    init, fill, finalize, status, errors, wipe
 *   VigilClientTest sync HOME URL PAYLOAD CA_FILE   enroll, fill, incident, sync, receipts, inbox,
 *                                                  cancel, a sync beside other calls
 * </pre>
 */
public final class VigilClientTest {
  private static final String PIN = "246810";
  private static final String STATION = "12-03-07-0452";
  private static final String FORM =
      "{\"formId\": \"opening\", \"version\": 1, \"kind\": \"CHECKLIST\","
          + " \"title\": {\"en\": \"Opening\"},"
          + " \"questions\": ["
          + "  {\"id\": \"members\", \"type\": \"INTEGER\", \"label\": {\"en\": \"Members\"},"
          + "   \"min\": 0, \"max\": 9, \"required\": true},"
          + "  {\"id\": \"women\", \"type\": \"INTEGER\", \"label\": {\"en\": \"Women\"},"
          + "   \"min\": 0, \"max\": 9, \"required\": true}],"
          + " \"qaChecks\": [{\"id\": \"women_le_members\", \"op\": \"LESS_OR_EQUAL\","
          + "   \"left\": [{\"questionId\": \"women\"}],"
          + "   \"right\": [{\"questionId\": \"members\"}]}]}";

  private VigilClientTest() {}

  public static void main(String[] args) throws Exception {
    try {
      if (args.length == 2 && args[0].equals("offline")) {
        offline(Path.of(args[1]));
      } else if (args.length == 5 && args[0].equals("sync")) {
        sync(args[1], args[2], args[3], args[4]);
      } else {
        System.err.println("usage: VigilClientTest offline HOME | sync HOME URL PAYLOAD CA_FILE");
        System.exit(2);
      }
    } catch (AssertionError | Exception e) {
      System.err.println("FAILED: " + e);
      e.printStackTrace();
      System.exit(1);
    }
    System.out.println("all checks passed");
  }

  private static void check(boolean ok, String what) {
    if (!ok) throw new AssertionError(what);
  }

  private static void checkHas(String text, String part) {
    check(text.contains(part), "expected " + part + " in " + text);
  }

  /** A call that must fail with `code`. */
  private interface Call {
    void run() throws VigilException;
  }

  private static VigilException expectError(int code, Call call, String what) {
    try {
      call.run();
    } catch (VigilException e) {
      check(e.code() == code, what + ": expected code " + code + ", got " + e);
      return e;
    }
    throw new AssertionError(what + ": expected VigilException with code " + code);
  }

  // ---- offline: everything a tablet does before it is enrolled

  private static void offline(Path dir) throws Exception {
    String home = dir.resolve("home").toString();
    String draftId;
    try (VigilClient client = VigilClient.init(home, PIN, "training")) {
      String device = client.deviceId();
      check(device.length() == 33 && device.startsWith("d"), "device id: " + device);
      checkHas(client.publicKeyPem(), "BEGIN PUBLIC KEY");
      client.importFormJson(FORM);
      checkHas(client.formsJson(), "\"formId\":\"opening\"");

      draftId = client.startDraft("opening", STATION);
      checkHas(client.draftsJson(), draftId);
      checkHas(client.relevantQuestionsJson(draftId), "\"members\"");
      client.setAnswerText(draftId, "members", "5");
      client.setAnswerText(draftId, "women", "7");
      checkHas(client.warningsJson(draftId), "\"checkId\":\"women_le_members\"");
      client.setAnswerText(draftId, "women", "2");
      check(client.warningsJson(draftId).equals("[]"), "warnings cleared");
      checkHas(client.draftJson(draftId), "\"women\":2");
      client.setLocation(draftId, 11.5564, 104.9282, 12);

      // Error paths carry the C API's code.
      VigilException bad = expectError(VigilException.INVALID_ARGUMENT,
          () -> client.setAnswerText(draftId, "members", "many"), "text for an integer");
      check(!bad.isRetryable(), "INVALID_ARGUMENT is not retryable");
      check(bad.codeName().equals("INVALID_ARGUMENT"), "code name: " + bad.codeName());
      expectError(VigilException.NOT_FOUND, () -> client.startDraft("no-such-form", STATION),
          "unknown form");
      expectError(VigilException.INVALID_ARGUMENT,
          () -> client.setAnswerText(draftId, "members", "5\u00003"), "NUL inside a string");
      expectError(VigilException.INVALID_ARGUMENT,
          () -> client.setLocation(draftId, 91, 0, 1), "latitude out of range");

      // Non-ASCII text crosses intact (UTF-8 both ways, not JNI's modified UTF-8).
      String other = client.startDraft("opening", "ស្ថានីយ-😀");
      checkHas(client.draftJson(other), "ស្ថានីយ-😀");
      client.discardDraft(other);
      check(!client.draftsJson().contains(other), "discarded draft gone");

      String submission = client.finalizeDraft(draftId);
      check(!submission.isEmpty(), "finalize gives an id");
      checkHas(client.statusJson(), "\"outbox\":1");
      check(client.sealOutbox() == 1, "one batch sealed");
      PendingBatch[] batches = client.pendingBatches();
      check(batches.length == 1, "one pending batch, got " + batches.length);
      check(batches[0].seq == 1 && batches[0].bytes.length > 100,
          "batch 1 with its bytes: seq " + batches[0].seq + ", " + batches[0].bytes.length);
      String exported = client.exportOutbox(dir.resolve("export").toString());
      checkHas(exported, "\"sealedNow\":0");
      check(Files.exists(dir.resolve("export").resolve("device.pub.pem")), "export files");
    }

    // Wrong PIN: PERMISSION_DENIED, and retrying cannot help.
    VigilException wrong = expectError(VigilException.PERMISSION_DENIED,
        () -> VigilClient.open(home, "000000").close(), "wrong PIN");
    check(!wrong.isRetryable(), "a wrong PIN is not retryable");
    checkHas(wrong.getMessage(), "PERMISSION_DENIED");

    VigilClient closed;
    try (VigilClient client = VigilClient.open(home, PIN)) {
      closed = client;
      checkHas(client.statusJson(), "\"batched\":1");
      client.changePin(PIN, "135790");
      expectError(VigilException.PERMISSION_DENIED, () -> client.changePin(PIN, "111111"),
          "change PIN with the old PIN");
    }
    try {
      closed.statusJson();
      throw new AssertionError("a closed client must refuse calls");
    } catch (IllegalStateException expected) {
      // as documented
    }
    closed.close();  // idempotent

    try (VigilClient locked = VigilClient.openLocked(home)) {
      checkHas(locked.formsJson(), "opening");
    }

    // The duress PIN opens an empty store in place of this one.
    String before;
    try (VigilClient client = VigilClient.open(home, "135790")) {
      before = client.deviceId();
      expectError(VigilException.INVALID_ARGUMENT, () -> client.setDuressPin("135790"),
          "the PIN as duress PIN");
      client.setDuressPin("864200");
    }
    try (VigilClient client = VigilClient.open(home, "864200")) {
      check(!client.deviceId().equals(before), "the duress PIN opens another, new store");
      checkHas(client.statusJson(), "\"batched\":0");
    }
    expectError(VigilException.PERMISSION_DENIED,
        () -> VigilClient.open(home, "135790").close(), "the wiped store's PIN");

    try (VigilClient client = VigilClient.open(home, "864200")) {
      client.wipe();
      expectError(VigilException.FAILED_PRECONDITION, client::statusJson, "after wipe");
    }
    try {
      VigilClient.open(home, "864200").close();
      throw new AssertionError("a wiped store must not open");
    } catch (VigilException expected) {
      check(expected.code() != VigilException.OK, "wiped: " + expected);
    }

    keyProtector(dir.resolve("protected").toString());
  }

  /** A toy protector: XOR with a secret byte; unwrap refuses another secret's blob. */
  private static KeyProtector xor(byte secret) {
    return new KeyProtector() {
      @Override
      public byte[] wrap(byte[] key) {
        byte[] out = new byte[key.length + 1];
        out[0] = secret;
        for (int i = 0; i < key.length; i++) out[i + 1] = (byte) (key[i] ^ secret);
        return out;
      }

      @Override
      public byte[] unwrap(byte[] blob) {
        if (blob.length < 1 || blob[0] != secret) return null;
        byte[] out = new byte[blob.length - 1];
        for (int i = 0; i < out.length; i++) out[i] = (byte) (blob[i + 1] ^ secret);
        return out;
      }
    };
  }

  private static void keyProtector(String home) throws Exception {
    String device;
    try (VigilClient client = VigilClient.init(home, xor((byte) 7), null)) {
      device = client.deviceId();
    }
    try {
      VigilClient.open(home, xor((byte) 9)).close();
      throw new AssertionError("another protector must not open the store");
    } catch (VigilException expected) {
      check(!expected.isRetryable(), "wrong protector not retryable: " + expected);
    }
    try (VigilClient client = VigilClient.open(home, xor((byte) 7))) {
      check(client.deviceId().equals(device), "same device after open");
      client.changeKeyProtector(xor((byte) 7), xor((byte) 11));
    }
    try (VigilClient client = VigilClient.open(home, xor((byte) 11))) {
      check(client.deviceId().equals(device), "same device after change");
    }
    // An exception thrown by the protector reaches the caller as itself.
    KeyProtector throwing = new KeyProtector() {
      @Override
      public byte[] wrap(byte[] key) {
        throw new IllegalStateException("keystore unavailable");
      }

      @Override
      public byte[] unwrap(byte[] blob) {
        throw new IllegalStateException("keystore unavailable");
      }
    };
    try {
      VigilClient.open(home, throwing).close();
      throw new AssertionError("a throwing protector must fail the open");
    } catch (IllegalStateException expected) {
      checkHas(expected.getMessage(), "keystore unavailable");
    }
    VigilClient.wipeHome(home);
  }

  // ---- against a real syncd over TLS

  /** One progress report. */
  private record Report(String phase, long batchesSent, long batchesTotal, long recordsSent,
      long recordsTotal, long bytesSent) {}

  private static void sync(String home, String url, String payload, String ca) throws Exception {
    try (VigilClient client = VigilClient.init(home, PIN, null)) {
      String enrolled = client.enroll(payload, "java-test", "java 1", ca);
      checkHas(enrolled, "\"observerId\":\"obs1\"");
      checkHas(enrolled, STATION);
      checkHas(client.formsJson(), "\"opening\"");

      String draft = client.startDraft("opening", STATION);
      String[][] answers = {
        {"q01_arrival_time", "06:45"}, {"q02_allowed_to_observe", "yes"},
        {"q03_committee_members", "5"}, {"q04_women_members", "3"},
        {"q05_materials_present", "ballots, seals"}, {"q06_box_shown_empty", "yes"},
        {"q07_box_sealed", "yes"}, {"q08_seal_numbers", "A1 A2"},
        {"q09_ballots_received", "500"}, {"q10_voters_on_list", "700"},
        {"q11_opening_time", "0700_0730"}, {"q13_other_observers", "no"},
        {"q14_unauthorised_persons", "none"}
      };
      for (String[] a : answers) client.setAnswerText(draft, a[0], a[1]);
      check(client.warningsJson(draft).equals("[]"), "no warnings");
      client.finalizeDraft(draft);

      String incident = client.reportIncident(STATION, "intimidation", "high",
          "Men photographing voters at the gate", null);
      client.setLocation(incident, 11.5564, 104.9282, 12);
      client.reportIncident(STATION, "intimidation", "high", "They left after the police came",
          incident);

      List<Report> reports = new ArrayList<>();
      String report = client.sync(ca, (phase, bs, bt, rs, rt, bytes) ->
          reports.add(new Report(phase, bs, bt, rs, rt, bytes)));
      checkHas(report, "\"recordsOk\":3");
      checkHas(report, "\"recordsRejected\":0");
      check(!reports.isEmpty(), "the progress callback was called");
      for (int i = 1; i < reports.size(); i++) {
        Report a = reports.get(i - 1);
        Report b = reports.get(i);
        check(b.batchesSent >= a.batchesSent && b.recordsSent >= a.recordsSent
            && b.recordsTotal >= a.recordsTotal && b.bytesSent >= a.bytesSent,
            "progress never goes down: " + a + " then " + b);
      }
      Report last = reports.get(reports.size() - 1);
      check(last.phase.equals("done"), "last phase: " + last);
      check(last.recordsTotal == 3 && last.recordsSent == 3, "everything sent: " + last);
      check(last.batchesSent == last.batchesTotal && last.bytesSent > 0, "batches: " + last);
      checkHas(report, "\"bytesSent\":" + last.bytesSent);
      checkHas(client.statusJson(), "\"acknowledged\":3");

      String receipts = client.verifyReceipts();
      checkHas(receipts, "\"verified\":1");
      checkHas(receipts, "\"failures\":[]");
      // The harness broadcast this before the test started; the sync fetched it.
      String inbox = client.inboxJson();
      checkHas(inbox, "Polls close at 15:00 today");
      checkHas(inbox, "\"author\":\"hq\"");
      check(client.incidentStatusesJson().startsWith("["), "incident statuses are a JSON array");

      // A callback that throws stops the sync; the exception reaches the caller as itself.
      try {
        client.sync(ca, (phase, bs, bt, rs, rt, bytes) -> {
          throw new IllegalStateException("progress view gone");
        });
        throw new AssertionError("a throwing progress callback must fail the sync");
      } catch (IllegalStateException expected) {
        checkHas(expected.getMessage(), "progress view gone");
      }
      // Cancelled from the callback: ABORTED, which a retry can fix.
      VigilException cancelled = expectError(VigilException.ABORTED,
          () -> client.sync(ca, (phase, bs, bt, rs, rt, bytes) -> client.syncCancel()),
          "cancelled sync");
      check(cancelled.isRetryable(), "ABORTED is retryable");
      // And the next sync works.
      checkHas(client.sync(ca, null), "\"batchesSent\":0");

      // A sync on a worker thread while this thread uses the same client: the worker's
      // callback waits, mid-sync, until this thread has read the status and reported again.
      client.reportIncident(STATION, "violence", "low", "A scuffle in the queue", null);
      java.util.concurrent.CountDownLatch mainDone = new java.util.concurrent.CountDownLatch(1);
      java.util.concurrent.CountDownLatch pushing = new java.util.concurrent.CountDownLatch(1);
      String[] workerReport = new String[1];
      Throwable[] workerError = new Throwable[1];
      Thread worker = new Thread(() -> {
        try {
          workerReport[0] = client.sync(ca, (phase, bs, bt, rs, rt, bytes) -> {
            if (!phase.equals("push") || pushing.getCount() == 0) return;
            pushing.countDown();
            try {
              if (!mainDone.await(60, java.util.concurrent.TimeUnit.SECONDS)) {
                throw new IllegalStateException("the other thread never got through");
              }
            } catch (InterruptedException e) {
              throw new IllegalStateException(e);
            }
          });
        } catch (Throwable e) {
          workerError[0] = e;
        }
      });
      worker.start();
      check(pushing.await(60, java.util.concurrent.TimeUnit.SECONDS), "the worker began pushing");
      checkHas(client.statusJson(), "\"deviceId\"");
      String during = client.reportIncident(STATION, "violence", "low", "Calm again", null);
      check(!during.isEmpty(), "a report while the other thread syncs");
      mainDone.countDown();
      worker.join();
      check(workerError[0] == null, "worker sync: " + workerError[0]);
      checkHas(workerReport[0], "\"recordsOk\":1");
      checkHas(client.sync(ca, null), "\"recordsOk\":1");  // the one reported meanwhile

      expectError(VigilException.INVALID_ARGUMENT,
          () -> client.enroll("not a payload", null, null, ca), "bad payload");
    }
    VigilException wrong = expectError(VigilException.PERMISSION_DENIED,
        () -> VigilClient.open(home, "999999").close(), "wrong PIN");
    check(!wrong.isRetryable(), "a wrong PIN is not retryable");
  }
}
