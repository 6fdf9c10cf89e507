// The whole life of a tablet against a real syncd over TLS, through the C API alone
// (vigil/client.h): enroll, fill, incident and follow-up, sync with progress, receipts,
// inbox, incident statuses; a cancelled sync; a sync on one thread while another reads status.
// The server side (syncd, its admin commands, the fault proxy) is test harness, not client.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "c_strings.h"
#include "fault_proxy.h"
#include "syncd_harness.h"
#include "vigil/client.h"

namespace vigil::testing {
namespace {

using capi_test::CStr;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Every progress report of one sync, for checks afterwards.
struct ProgressLog {
  std::mutex mu;
  struct Entry {
    std::string phase;
    uint64_t batches_sent, batches_total, records_sent, records_total, bytes_sent;
  };
  std::vector<Entry> entries;
  std::atomic<bool> pushing{false};

  static void Record(void* self, const VigilSyncProgress* p) {
    auto* log = static_cast<ProgressLog*>(self);
    std::lock_guard<std::mutex> lock(log->mu);
    log->entries.push_back({p->phase, p->batches_sent, p->batches_total, p->records_sent,
                            p->records_total, p->bytes_sent});
    if (std::string(p->phase) == "push") log->pushing = true;
  }

  // Every count never goes down from one report to the next.
  bool Monotonic() {
    std::lock_guard<std::mutex> lock(mu);
    for (size_t i = 1; i < entries.size(); ++i) {
      const Entry& a = entries[i - 1];
      const Entry& b = entries[i];
      if (b.batches_sent < a.batches_sent || b.batches_total < a.batches_total ||
          b.records_sent < a.records_sent || b.records_total < a.records_total ||
          b.bytes_sent < a.bytes_sent) {
        return false;
      }
    }
    return true;
  }
};

// A device made through the C API with the PIN, deleted with its handle.
struct Tablet {
  TempDir dir;
  VigilClient* c = nullptr;
  Tablet() {
    VigilError err;
    c = vigil_client_init((dir / "home").c_str(), "246810", nullptr, &err);
    REQUIRE_MESSAGE(c != nullptr, err.message);
  }
  ~Tablet() { vigil_client_close(c); }
  Tablet(const Tablet&) = delete;
  Tablet& operator=(const Tablet&) = delete;

  // Starts, answers and finalizes an opening checklist; returns its id.
  std::string FillOpening(const std::string& seal_numbers = "A1 A2") {
    VigilError err;
    CStr draft(vigil_client_start_draft(c, "opening", Syncd::kStation, &err));
    REQUIRE_MESSAGE(draft.p != nullptr, err.message);
    const std::pair<const char*, std::string> answers[] = {
        {"q01_arrival_time", "06:45"},
        {"q02_allowed_to_observe", "yes"},
        {"q03_committee_members", "5"},
        {"q04_women_members", "3"},
        {"q05_materials_present", "ballots, seals"},
        {"q06_box_shown_empty", "yes"},
        {"q07_box_sealed", "yes"},
        {"q08_seal_numbers", seal_numbers},
        {"q09_ballots_received", "500"},
        {"q10_voters_on_list", "700"},
        {"q11_opening_time", "0700_0730"},
        {"q13_other_observers", "no"},
        {"q14_unauthorised_persons", "none"}};
    for (const auto& answer : answers) {
      const char* question = answer.first;
      REQUIRE_MESSAGE(
          vigil_client_set_answer_text(c, draft.p, question, answer.second.c_str(), &err),
          question << ": " << err.message);
    }
    CStr id(vigil_client_finalize(c, draft.p, &err));
    REQUIRE_MESSAGE(id.p != nullptr, err.message);
    return id.str();
  }
};

// A count from `syncd admin stats --json` (read as text: this binary must not link the
// protocol's messages, which live inside the C API's shared library).
int64_t StatOf(Syncd& server, const std::string& name) {
  std::string json = server.Admin("stats --json");
  const std::string key = "\"" + name + "\":";
  size_t at = json.find(key);
  if (at == std::string::npos) return 0;  // proto3 JSON leaves out zeros
  at += key.size();
  while (at < json.size() && (json[at] == ' ' || json[at] == '"')) ++at;
  return std::stoll(json.substr(at));
}

// An enrollment payload for obs1 whose server URL is `url` (the proxy's, or syncd's).
std::string PayloadFor(Syncd& server, const std::string& url) {
  std::string out = server.Admin("enroll-code --observer obs1 --expires 1h --server-url " + url);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out.substr(out.rfind('\n') + 1);
}

TEST_CASE("C API: enroll, fill, report, sync with progress, receipts, inbox, incident statuses") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  Tablet t;
  VigilError err;
  const std::string ca = server.ca_file();

  CStr enrolled(vigil_client_enroll(t.c, PayloadFor(server, server.url()).c_str(), "test-tablet",
                                    "capi 1", ca.c_str(), &err));
  REQUIRE_MESSAGE(enrolled.p != nullptr, err.message);
  CHECK(enrolled.has("\"observerId\":\"obs1\""));
  CHECK(enrolled.has(Syncd::kStation));
  CStr forms(vigil_client_forms_json(t.c, &err));
  CHECK(forms.has("\"opening\""));

  // Cross-field warnings while filling: women above members warns, fixing it clears it.
  CStr draft(vigil_client_start_draft(t.c, "opening", Syncd::kStation, &err));
  REQUIRE(draft.p != nullptr);
  REQUIRE(vigil_client_set_answer_text(t.c, draft.p, "q03_committee_members", "4", &err));
  CStr none_yet(vigil_client_warnings_json(t.c, draft.p, &err));
  CHECK(none_yet.str() == "[]");  // Women not answered yet: the check is skipped.
  REQUIRE(vigil_client_set_answer_text(t.c, draft.p, "q04_women_members", "6", &err));
  CStr warned(vigil_client_warnings_json(t.c, draft.p, &err));
  CHECK(warned.has("\"checkId\":\"women_not_over_members\""));
  CHECK(warned.has("q03_committee_members"));
  REQUIRE(vigil_client_set_answer_text(t.c, draft.p, "q04_women_members", "2", &err));
  CStr cleared(vigil_client_warnings_json(t.c, draft.p, &err));
  CHECK(cleared.str() == "[]");
  REQUIRE(vigil_client_discard_draft(t.c, draft.p, &err));

  std::string opening = t.FillOpening();
  CStr incident(vigil_client_report_incident(t.c, Syncd::kStation, "intimidation", "high",
                                             "Men photographing voters at the gate", nullptr,
                                             &err));
  REQUIRE_MESSAGE(incident.p != nullptr, err.message);
  REQUIRE(vigil_client_set_location(t.c, incident.p, 11.5564, 104.9282, 12, &err));
  CStr follow(vigil_client_report_incident(t.c, Syncd::kStation, "intimidation", "high",
                                           "They left after the police came", incident.p, &err));
  REQUIRE_MESSAGE(follow.p != nullptr, err.message);

  ProgressLog log;
  CStr report(vigil_client_sync(t.c, ca.c_str(), &ProgressLog::Record, &log, &err));
  REQUIRE_MESSAGE(report.p != nullptr, err.message);
  CHECK(report.has("\"recordsOk\":3"));
  CHECK(report.has("\"recordsRejected\":0"));
  CHECK(log.Monotonic());
  REQUIRE_FALSE(log.entries.empty());
  const ProgressLog::Entry& last = log.entries.back();
  CHECK(last.phase == "done");
  CHECK(last.records_total == 3);
  CHECK(last.records_sent == 3);
  CHECK(last.batches_sent == last.batches_total);
  CHECK(last.bytes_sent > 0);
  CHECK(report.has("\"bytesSent\":" + std::to_string(last.bytes_sent)));
  CStr status(vigil_client_status_json(t.c, &err));
  CHECK(status.has("\"acknowledged\":3"));
  CHECK(StatOf(server, "incidents") == 2);

  CStr receipts(vigil_client_verify_receipts(t.c, &err));
  REQUIRE_MESSAGE(receipts.p != nullptr, err.message);
  CHECK(receipts.has("\"verified\":1"));
  CHECK(receipts.has("\"failures\":[]"));

  // A coordinator's broadcast and a case decision reach the device with the next sync.
  server.Admin("broadcast --text \"Polls close at 15:00 today\" --lang en --author hq");
  // A case is named after its first report (the follow-up joins it).
  const std::string case_id = incident.str();
  CHECK(server.Admin("cases --json").find(case_id) != std::string::npos);
  server.Admin("case set-status " + case_id + " verified --by hq --reason \"seen on video\"");
  CStr again(vigil_client_sync(t.c, ca.c_str(), nullptr, nullptr, &err));
  REQUIRE_MESSAGE(again.p != nullptr, err.message);
  CHECK(again.has("\"batchesSent\":0"));
  CStr inbox(vigil_client_inbox_json(t.c, &err));
  REQUIRE_MESSAGE(inbox.p != nullptr, err.message);
  CHECK(inbox.has("Polls close at 15:00 today"));
  CHECK(inbox.has("\"author\":\"hq\""));
  CStr statuses(vigil_client_incident_statuses_json(t.c, &err));
  REQUIRE_MESSAGE(statuses.p != nullptr, err.message);
  CHECK(statuses.has(incident.str()));
  CHECK(statuses.has("VERIFIED"));
}

TEST_CASE(
    "C API: a sync cancelled against a stalled server stops within a second, and the "
    "next one sends everything") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  FaultProxy proxy(server.port());
  Tablet t;
  VigilError err;
  const std::string ca = server.ca_file();
  CStr enrolled(vigil_client_enroll(t.c, PayloadFor(server, proxy.url()).c_str(), "test-tablet",
                                    "capi 1", ca.c_str(), &err));
  REQUIRE_MESSAGE(enrolled.p != nullptr, err.message);
  std::vector<std::string> ids;
  ids.reserve(3);
  for (int i = 0; i < 3; ++i) ids.push_back(t.FillOpening("S" + std::to_string(i)));

  // Every request from now on: syncd's answers are held for a minute.
  const int stall = proxy.AddFault(Fault::Stall(Direction::kServerToClient, milliseconds(60000)));
  ProgressLog log;
  VigilError sync_err;
  char* sync_result = nullptr;
  std::atomic<bool> returned{false};
  steady_clock::time_point returned_at;
  std::thread syncing([&] {
    sync_result = vigil_client_sync(t.c, ca.c_str(), &ProgressLog::Record, &log, &sync_err);
    returned_at = steady_clock::now();
    returned = true;
  });
  // Wait (bounded) until the push request is being held by the proxy.
  const auto give_up = steady_clock::now() + std::chrono::seconds(30);
  while (!(proxy.Fired(stall) && log.pushing) && steady_clock::now() < give_up && !returned) {
    std::this_thread::yield();
  }
  CHECK_FALSE(returned.load());
  REQUIRE(proxy.Fired(stall));
  const auto cancelled_at = steady_clock::now();
  vigil_client_sync_cancel(t.c);
  syncing.join();
  const auto took = std::chrono::duration_cast<milliseconds>(returned_at - cancelled_at);
  CHECK(sync_result == nullptr);
  vigil_free(sync_result);
  CHECK(sync_err.code == VIGIL_ABORTED);
  CHECK(std::string(sync_err.message).find("cancelled") != std::string::npos);
  MESSAGE("the sync returned " << took.count() << " ms after the cancel");
  CHECK(took < milliseconds(2000));
  CStr pending(vigil_client_status_json(t.c, &err));
  CHECK(pending.has("\"acknowledged\":0"));

  // The stall lifted: the next sync sends the same batch and nothing is lost or doubled.
  proxy.ClearFaults();
  CStr report(vigil_client_sync(t.c, ca.c_str(), nullptr, nullptr, &err));
  REQUIRE_MESSAGE(report.p != nullptr, err.message);
  CStr status(vigil_client_status_json(t.c, &err));
  CHECK(status.has("\"acknowledged\":3"));
  CHECK(status.has("\"batched\":0"));
  CHECK(StatOf(server, "submissions") == 3);
  std::string csv = server.Admin("export submissions --csv");
  for (const std::string& id : ids) {
    CHECK(csv.find(id) != std::string::npos);
    CHECK(csv.find(id, csv.find(id) + 1) == std::string::npos);
  }
}

TEST_CASE(
    "C API: one handle, a sync on a worker thread while the UI thread reads status and "
    "fills a draft") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  FaultProxy proxy(server.port());
  Tablet t;
  VigilError err;
  const std::string ca = server.ca_file();
  CStr enrolled(vigil_client_enroll(t.c, PayloadFor(server, proxy.url()).c_str(), "test-tablet",
                                    "capi 1", ca.c_str(), &err));
  REQUIRE_MESSAGE(enrolled.p != nullptr, err.message);
  for (int i = 0; i < 4; ++i) t.FillOpening("S" + std::to_string(i));
  // Slow requests: the sync takes seconds.
  proxy.AddFault(Fault::Latency(milliseconds(400)));

  std::atomic<bool> done{false};
  VigilError sync_err;
  char* report = nullptr;
  std::thread worker([&] {
    report = vigil_client_sync(t.c, ca.c_str(), nullptr, nullptr, &sync_err);
    done = true;
  });
  int reads = 0;
  int failures = 0;
  milliseconds slowest{0};
  std::string draft_id;
  while (!done) {
    const auto start = steady_clock::now();
    VigilError e;
    CStr status(vigil_client_status_json(t.c, &e));
    slowest =
        std::max(slowest, std::chrono::duration_cast<milliseconds>(steady_clock::now() - start));
    if (status.p == nullptr) ++failures;
    ++reads;
    if (draft_id.empty()) {  // The observer starts the next checklist meanwhile.
      CStr d(vigil_client_start_draft(t.c, "opening", Syncd::kStation, &e));
      if (d.p == nullptr ||
          !vigil_client_set_answer_text(t.c, d.p, "q02_allowed_to_observe", "yes", &e)) {
        ++failures;
      }
      draft_id = d.str();
    }
  }
  worker.join();
  CHECK_MESSAGE(report != nullptr, sync_err.message);
  vigil_free(report);
  CHECK(failures == 0);
  CHECK(reads > 1);
  CHECK_MESSAGE(slowest < milliseconds(1000), "a status read took " << slowest.count() << " ms");
  CStr status(vigil_client_status_json(t.c, &err));
  CHECK(status.has("\"acknowledged\":4"));
  CHECK(status.has("\"drafts\":1"));
  CStr drafts(vigil_client_drafts_json(t.c, &err));
  CHECK(drafts.has(draft_id));
}

}  // namespace
}  // namespace vigil::testing
