// Network faults between a real device and a real syncd: every fault of fault_proxy.h aimed at
// each step a device takes (enroll, push, pull). Whatever breaks, once the faults are lifted
// the device ends with every record acknowledged exactly once, syncd holds each record once,
// and every receipt verifies.
//
// Each test case runs one fault against three fresh devices on one syncd, one device per step:
//  - enroll: the fault hits the enrollment request (the first request of a new connection);
//  - push:   the device holds three batches; the fault hits the second push (a request on a
//            kept-alive connection);
//  - pull:   the device synced once, a coordinator broadcast since, and one more record waits;
//            the fault hits the pull that follows that record's push.
#include <doctest/doctest.h>
#include <google/protobuf/util/json_util.h>

#include "fault_proxy.h"
#include "syncd_harness.h"
#include "vigil/client/answer_input.h"
#include "vigil/client/client.h"
#include "vigil/protocol/crypto.h"
#include "vigil/v1/admin.pb.h"

namespace vigil::testing {
namespace {

using std::chrono::milliseconds;

// The device's request timeout: generous, so that a slow machine (sanitizer builds) does not
// add retries; short where a stall is meant to outlast it.
constexpr milliseconds kRequestTimeout{15000};
constexpr milliseconds kShortTimeout{1500};
// A stall the device does not wait out (it ends when the device gives up on the connection,
// or, delivering late, when the faults are lifted), and one it does not notice.
constexpr milliseconds kLongStall{60000};
constexpr milliseconds kShortStall{300};

enum class Step { kEnroll, kPush, kPull };

const char* StepName(Step step) {
  switch (step) {
    case Step::kEnroll:
      return "enroll";
    case Step::kPush:
      return "push";
    case Step::kPull:
      return "pull";
  }
  return "?";
}

// One syncd, a fault proxy in front of it, and what syncd should hold so far.
struct Rig {
  Syncd server{VIGIL_FORMS_DIR};
  std::unique_ptr<FaultProxy> proxy;
  uint64_t records = 0;
  uint64_t batches = 0;
  uint64_t devices = 0;

  Rig() {
    server.Serve();
    proxy = std::make_unique<FaultProxy>(server.port());
  }

  // An enrollment payload for obs1 whose server URL is the proxy's (the pin stays syncd's).
  std::string Payload() {
    auto bytes = protocol::Base64UrlDecode(server.EnrollCode("obs1"));
    REQUIRE(bytes.ok());
    v1::EnrollmentPayload payload;
    REQUIRE(payload.ParseFromString(*bytes));
    payload.set_server_url(proxy->url());
    return protocol::Base64UrlEncode(payload.SerializeAsString());
  }
};

// A device that reaches syncd through the proxy, with its own request timeout.
struct Device {
  TempDir dir;
  std::unique_ptr<client::Client> client;
  std::string payload;
  client::TransportOptions transport;
  std::vector<std::string> ids;  // Finalized records.
  uint64_t batches = 0;          // Sealed batches.
  client::SyncReport total;      // Sums of the reports of the syncs that succeeded.
  int syncs = 0;
  int syncs_ok = 0;

  Device(Rig& rig, milliseconds timeout) : payload(rig.Payload()) {
    auto pin = client::MakePinKeyProtector("246810", client::ScryptParams{10, 8, 1});
    client::InitOptions options;
    options.max_records_per_batch = 1;  // One batch per record: several pushes per sync.
    auto c = client::Client::Init(dir / "home", *pin, options);
    REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    client = std::move(c).value();
    v1::EnrollmentPayload p;
    REQUIRE(p.ParseFromString(*protocol::Base64UrlDecode(payload)));
    transport.base_url = p.server_url();
    transport.tls_pin = p.tls_pin();
    transport.ca_file = rig.server.ca_file();  // Chain and host checked too, through the proxy.
    transport.connect_timeout = timeout;
    transport.request_timeout = timeout;
  }

  std::shared_ptr<client::Transport> Transport() {
    auto t = client::MakeCurlTransport(transport);
    REQUIRE(t.ok());
    return std::move(t).value();
  }

  Status Enroll() {
    v1::DeviceInfo info;
    info.set_model("fault-test");
    return client->Enroll(payload, info, "", Transport()).status();
  }

  void Fill(int n) {
    for (int i = 0; i < n; ++i) {
      const char* form_id = ids.size() % 2 == 0 ? "opening" : "voting";
      auto form = client->GetForm(form_id);
      REQUIRE(form.ok());
      auto draft = client->StartDraft(form_id, Syncd::kStation);
      REQUIRE(draft.ok());
      REQUIRE(client->SetAnswers(*draft, client::ExampleAnswers(*form, ids.size() + 1), true).ok());
      auto id = client->Finalize(*draft);
      REQUIRE_MESSAGE(id.ok(), id.status().ToString());
      ids.push_back(*id);
      ++batches;
    }
  }

  Status Sync() {
    ++syncs;
    client::SyncOptions o;
    o.transport = Transport();  // A new connection per sync, as `observer sync` makes.
    o.max_attempts = 4;
    o.base_delay = milliseconds(10);
    o.max_delay = milliseconds(50);
    auto report = client->Sync(o);
    if (!report.ok()) return report.status();
    ++syncs_ok;
    total.records_ok += report->records_ok;
    total.records_duplicate += report->records_duplicate;
    total.records_rejected += report->records_rejected;
    total.retries += report->retries;
    total.broadcasts_received += report->broadcasts_received;
    return Status::Ok();
  }
};

// How a fault is expected to end for the call it hits.
enum class Outcome {
  kUnnoticed,  // Every request succeeds on its first attempt.
  kRetried,    // The request is sent again and the call succeeds.
  kGivesUp,    // The call runs out of attempts (kUnavailable); the rest waits for the next.
};

struct Scenario {
  Fault fault;  // Kind and scope; the index is set per step.
  Outcome outcome;
  std::vector<Step> steps{Step::kEnroll, Step::kPush, Step::kPull};
  milliseconds timeout = kRequestTimeout;
};

// Runs `step` with `s.fault` on a fresh device, lifts the fault, finishes the device's work,
// and checks what the device and syncd hold.
void RunStep(Rig& rig, const Scenario& s, Step step) {
  Device device(rig, s.timeout);
  FaultProxy& proxy = *rig.proxy;
  Fault fault = s.fault;
  std::string step_name = StepName(step);
  INFO("step: " << step_name << "; fault: " << fault.ToString());
  auto aim = [&](int requests_ahead) {
    fault.index = fault.scope == Fault::Scope::kRequest ? proxy.requests() + requests_ahead
                                                        : proxy.connections() + 1;
    return proxy.AddFault(fault);
  };

  int fault_id = 0;
  Status faulted;
  bool broadcast = false;
  uint64_t retries_before = 0;
  int requests_before = 0;
  int requests_unfaulted = 0;  // What the faulted call sends when nothing goes wrong.
  switch (step) {
    case Step::kEnroll:
      requests_before = proxy.requests();
      requests_unfaulted = 1;
      fault_id = aim(1);
      faulted = device.Enroll();
      break;
    case Step::kPush:
      REQUIRE(device.Enroll().ok());
      device.Fill(3);
      requests_before = proxy.requests();
      requests_unfaulted = 4;  // Three pushes and a pull.
      fault_id = aim(2);       // The second push.
      faulted = device.Sync();
      break;
    case Step::kPull:
      REQUIRE(device.Enroll().ok());
      device.Fill(2);
      REQUIRE(device.Sync().ok());
      rig.server.Admin("broadcast --text 'Count starts at 17:00' --lang en --author HQ");
      broadcast = true;
      device.Fill(1);
      retries_before = device.total.retries;
      requests_before = proxy.requests();
      requests_unfaulted = 2;  // One push and the pull.
      fault_id = aim(2);       // The pull.
      faulted = device.Sync();
      break;
  }
  int requests = proxy.requests() - requests_before;
  uint64_t retries = device.total.retries - retries_before;
  INFO("proxy log:\n" << proxy.Log());
  CHECK_MESSAGE(proxy.Fired(fault_id), "the fault never acted: aimed at the wrong request?");
  if (s.outcome == Outcome::kGivesUp) {
    CHECK(faulted.code() == StatusCode::kUnavailable);
    CHECK_MESSAGE(faulted.message().find("gave up after") != std::string::npos, faulted.ToString());
  } else {
    CHECK_MESSAGE(faulted.ok(), faulted.ToString());
  }
  if (s.outcome == Outcome::kUnnoticed) {
    CHECK(requests == requests_unfaulted);
    CHECK(retries == 0);
  } else if (fault.scope == Fault::Scope::kRequest) {
    // Sent again, by the device or by libcurl on its own (a kept-alive connection that dies
    // before any answer is retried once, transparently).
    CHECK(requests > requests_unfaulted);
  }

  // The faults lifted, the device finishes: enrolls if it has not, sends what is left.
  proxy.ClearFaults();
  if (step == Step::kEnroll) {
    if (!faulted.ok()) {
      Status again = device.Enroll();
      REQUIRE_MESSAGE(again.ok(), again.ToString());
    }
    device.Fill(3);
  }
  Status finish = device.Sync();
  REQUIRE_MESSAGE(finish.ok(), finish.ToString());
  // Whatever the proxy still holds (a late copy of a request) reaches syncd before the checks.
  REQUIRE(proxy.WaitIdle(std::chrono::seconds(30)));

  // The device: every record acknowledged once, every receipt valid.
  auto status = device.client->GetStatus();
  REQUIRE(status.ok());
  CHECK(status->acknowledged == static_cast<int64_t>(device.ids.size()));
  CHECK(status->outbox + status->batched == 0);
  if (device.syncs_ok == device.syncs) CHECK(device.total.records_ok == device.ids.size());
  CHECK(device.total.records_duplicate == 0);
  CHECK(device.total.records_rejected == 0);
  auto receipts = device.client->VerifyReceipts();
  REQUIRE(receipts.ok());
  CHECK(receipts->verified == device.batches);
  CHECK(receipts->failures.empty());
  if (broadcast) {
    auto inbox = device.client->Inbox();
    REQUIRE(inbox.ok());
    CHECK(inbox->size() == 1);
  }

  // syncd: each record once, nothing more than the devices sent, no equivocation.
  rig.records += device.ids.size();
  rig.batches += device.batches;
  rig.devices += 1;
  v1::ServerStats stats = Stats(rig.server);
  CHECK(stats.records() == rig.records);
  CHECK(stats.batches() == rig.batches);
  CHECK(stats.devices() == rig.devices);
  CHECK(stats.equivocations() == 0);
  std::string csv = rig.server.Admin("export submissions --csv");
  for (const std::string& id : device.ids) {
    size_t n = 0;
    for (size_t at = csv.find(id); at != std::string::npos; at = csv.find(id, at + 1)) ++n;
    CHECK_MESSAGE(n == 1, "record " << id);
  }
}

void Run(const Scenario& s) {
  Rig rig;
  for (Step step : s.steps) RunStep(rig, s, step);
}

TEST_CASE("added latency on a request goes unnoticed") {
  Run({Fault::Latency(milliseconds(150)).OnRequest(0), Outcome::kUnnoticed});
}

TEST_CASE("a request cut halfway to syncd is retried") {
  Run({Fault::Cut(Direction::kClientToServer, 40).OnRequest(0), Outcome::kRetried});
}

TEST_CASE("an answer cut halfway to the device is retried") {
  Run({Fault::Cut(Direction::kServerToClient, 40).OnRequest(0), Outcome::kRetried});
}

TEST_CASE("an answer dropped after syncd committed is retried and not doubled") {
  Run({Fault::DropResponse().OnRequest(0), Outcome::kRetried});
}

TEST_CASE("a request stalled past the device's timeout is retried") {
  Run({Fault::Stall(Direction::kClientToServer, kLongStall).OnRequest(0),
       Outcome::kRetried,
       {Step::kEnroll, Step::kPush, Step::kPull},
       kShortTimeout});
}

TEST_CASE("an answer stalled past the device's timeout is retried and not doubled") {
  Run({Fault::Stall(Direction::kServerToClient, kLongStall).OnRequest(0),
       Outcome::kRetried,
       {Step::kEnroll, Step::kPush, Step::kPull},
       kShortTimeout});
}

TEST_CASE("a request that reaches syncd after the device retried it changes nothing") {
  Run({Fault::Stall(Direction::kClientToServer, kLongStall).Late().OnRequest(0),
       Outcome::kRetried,
       {Step::kEnroll, Step::kPush, Step::kPull},
       kShortTimeout});
}

TEST_CASE("a short stall both ways goes unnoticed") {
  Run({Fault::Stall(Direction::kBoth, kShortStall).OnRequest(0), Outcome::kUnnoticed});
}

TEST_CASE("a reset before the request reaches syncd is retried") {
  Run({Fault::Reset(Direction::kClientToServer, 0).OnRequest(0), Outcome::kRetried});
}

// On a kept-alive connection (push, pull) the reset meets the answer, after syncd committed;
// at enrollment it may meet TLS 1.3 session tickets first: either way the device recovers.
TEST_CASE("a reset as the answer arrives is retried and not doubled") {
  Run({Fault::Reset(Direction::kServerToClient, 0).OnRequest(0), Outcome::kRetried});
}

TEST_CASE("answers dropped until the faults are lifted: the device gives up then finishes once") {
  Run({Fault::DropResponse().OnRequest(0).Onward(), Outcome::kGivesUp});
}

TEST_CASE("a connection cut during the TLS handshake is retried") {
  Run({Fault::Cut(Direction::kClientToServer, 100).OnConnection(0),
       Outcome::kRetried,
       {Step::kEnroll, Step::kPush}});
  Run({Fault::Reset(Direction::kServerToClient, 200).OnConnection(0),
       Outcome::kRetried,
       {Step::kEnroll, Step::kPush}});
}

}  // namespace
}  // namespace vigil::testing
