// A tablet's whole life through the Java binding: create the store, enroll from the
// coordinator's QR code, fill and finalize the opening checklist, report an incident, sync
// with progress, check the receipts, read the inbox, and wipe the tablet.
import org.vigil.client.VigilClient;
import org.vigil.client.VigilException;

public final class EmbeddingExample {
  public static void main(String[] args) throws VigilException {
    String home = args[0];    // the app's private storage
    String qrCode = args[1];  // the enrollment QR code's text
    String caFile = args.length > 2 ? args[2] : null;  // null: the pinned key alone

    // Once per tablet: a store protected by the observer's PIN. Later: VigilClient.open.
    try (VigilClient client = VigilClient.init(home, "246810", null)) {
      // Joining the deployment brings the forms and the observer's stations.
      System.out.println("enrolled: " + client.enroll(qrCode, "Tablet X", "app 1.0", caFile));

      String draft = client.startDraft("opening", "12-03-07-0452");
      String[][] answers = {
        {"q01_arrival_time", "06:45"}, {"q02_allowed_to_observe", "yes"},
        {"q03_committee_members", "5"}, {"q04_women_members", "3"},
        {"q05_materials_present", "ballots, seals"}, {"q06_box_shown_empty", "yes"},
        {"q07_box_sealed", "yes"}, {"q08_seal_numbers", "A1 A2"},
        {"q09_ballots_received", "500"}, {"q10_voters_on_list", "700"},
        {"q11_opening_time", "0700_0730"}, {"q13_other_observers", "no"},
        {"q14_unauthorised_persons", "none"}
      };
      for (String[] answer : answers) {
        client.setAnswerText(draft, answer[0], answer[1]);
      }
      String warnings = client.warningsJson(draft);  // "[]" when the answers agree
      if (!warnings.equals("[]")) System.out.println("check before finalizing: " + warnings);
      System.out.println("finalized " + client.finalizeDraft(draft));
      client.reportIncident("12-03-07-0452", "intimidation", "high",
          "Men photographing voters at the gate", null);

      // From a worker thread in an app; the callback may update a progress bar.
      try {
        String report = client.sync(caFile, (phase, batchesSent, batchesTotal, recordsSent,
            recordsTotal, bytesSent) ->
            System.out.println(phase + ": " + recordsSent + "/" + recordsTotal + " records"));
        System.out.println("synced: " + report);
      } catch (VigilException e) {
        if (!e.isRetryable()) throw e;
        System.out.println("offline, try again later: " + e.getMessage());
      }
      System.out.println("receipts: " + client.verifyReceipts());
      System.out.println("inbox: " + client.inboxJson());

      // The tablet is about to be taken: nothing readable remains, even with the PIN.
      client.wipe();
    }
  }
}
