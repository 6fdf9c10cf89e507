// Failover between the deployment's server URLs (docs/protocol.md §5.1), against fake syncd
// nodes, one per URL, that share the deployment's receipt key: the list comes with the
// enrollment payload and each pull; a failure the retry rules retry moves to the next URL;
// a refusal that retrying cannot fix, or a pin mismatch, does not; the device starts at the
// URL that answered last.
#include <doctest/doctest.h>

#include <map>

#include "client_test_support.h"
#include "vigil/protocol/crypto.h"
#include "vigil/protocol/server_urls.h"
#include "vigil/protocol/signing.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::client::test {
namespace {

constexpr char kServerId[] = "failover";
const std::vector<std::string> kUrls = {"https://node-a.vigil.example:8443",
                                        "https://node-b.vigil.example:8443",
                                        "https://node-c.vigil.example:8443"};

HttpResult Refusal(long status, v1::ErrorCode code) {
  v1::Error error;
  error.set_code(code);
  error.set_message("scripted");
  return {status, error.SerializeAsString()};
}

// The deployment's nodes: each URL answers pushes with a valid receipt and pulls with
// `pull`, unless it is down or set to refuse. Counts requests per URL.
struct FakeDeployment {
  protocol::Ed25519PrivateKey receipt_key = protocol::Ed25519PrivateKey::Generate().value();
  std::string device_id;
  std::map<std::string, int> requests;
  std::map<std::string, Result<HttpResult>> faults;  // URL -> what it answers instead.
  v1::PullResponse pull;

  Result<HttpResult> Answer(const std::string& url, std::string_view path, std::string_view body) {
    ++requests[url];
    if (auto fault = faults.find(url); fault != faults.end()) return fault->second;
    if (path == "/v1/pull") return HttpResult{200, pull.SerializeAsString()};
    if (path != "/v1/push") return HttpResult{404, ""};
    v1::SignedBatch signed_batch;
    v1::Batch batch;
    REQUIRE(signed_batch.ParseFromArray(body.data(), static_cast<int>(body.size())));
    REQUIRE(batch.ParseFromString(signed_batch.batch_bytes()));
    v1::Receipt receipt;
    receipt.set_server_id(kServerId);
    receipt.set_device_id(batch.device_id());
    receipt.set_batch_seq(batch.batch_seq());
    receipt.set_batch_hash(protocol::Sha256(signed_batch.batch_bytes()));
    receipt.set_record_count(batch.record_count());
    v1::PushResponse response;
    response.mutable_receipt()->set_receipt_bytes(receipt.SerializeAsString());
    response.mutable_receipt()->set_signature(
        receipt_key
            .Sign(protocol::SignatureInput(protocol::kReceiptLabel, kServerId,
                                           response.receipt().receipt_bytes()))
            .value());
    return HttpResult{200, response.SerializeAsString()};
  }

  // A transport to one node (what SyncOptions::make_transport makes per URL).
  class Node final : public Transport {
   public:
    Node(FakeDeployment& deployment, std::string url)
        : deployment_(deployment), url_(std::move(url)) {}
    Result<HttpResult> Post(std::string_view path, std::string_view body) override {
      return deployment_.Answer(url_, path, body);
    }

   private:
    FakeDeployment& deployment_;
    std::string url_;
  };

  TransportFactory Factory() {
    return [this](const TransportOptions& options) -> Result<std::unique_ptr<Transport>> {
      CHECK(options.tls_pin == std::string(32, 'p'));  // One pin for every URL.
      return std::unique_ptr<Transport>(std::make_unique<Node>(*this, options.base_url));
    };
  }
};

// A device enrolled (through a scripted answer) with a payload listing `urls`, one record
// waiting to be sent.
struct Device {
  TempDir dir;
  std::unique_ptr<Client> client;
  FakeDeployment deployment;
  std::vector<std::chrono::milliseconds> waits;

  explicit Device(const std::vector<std::string>& urls) {
    client = Client::Init(dir / "home", *FastPin()).value();
    deployment.device_id = client->device_id();
    REQUIRE(Enroll(urls).ok());
    AddRecord();
  }

  static std::string Payload(const std::vector<std::string>& urls) {
    v1::EnrollmentPayload payload;
    payload.set_server_url(urls.empty() ? "" : urls.front());
    for (const std::string& url : urls) payload.add_server_urls(url);
    payload.set_tls_pin(std::string(32, 'p'));
    payload.set_code("code");
    return protocol::Base64UrlEncode(payload.SerializeAsString());
  }

  Status Enroll(const std::vector<std::string>& urls) {
    v1::EnrollResponse enrolled;
    enrolled.set_device_id(client->device_id());
    enrolled.set_server_id(kServerId);
    enrolled.set_receipt_public_key(deployment.receipt_key.public_key().raw());
    v1::FormDefinition* form = enrolled.add_forms();
    form->set_form_id("mini");
    form->set_version(1);
    form->set_kind(v1::CHECKLIST);
    (*form->mutable_title())["en"] = "Mini";
    v1::Question* q = form->add_questions();
    q->set_id("q1");
    q->set_type(v1::YES_NO);
    (*q->mutable_label())["en"] = "Q1";
    struct Once final : Transport {
      std::string answer;
      Result<HttpResult> Post(std::string_view, std::string_view) override {
        return HttpResult{200, answer};
      }
    };
    auto once = std::make_shared<Once>();
    once->answer = enrolled.SerializeAsString();
    return client->Enroll(Payload(urls), {}, "", once).status();
  }

  void AddRecord() {
    auto draft = client->StartDraft("mini", "st-1");
    REQUIRE(draft.ok());
    v1::Value yes;
    yes.set_boolean(true);
    REQUIRE(client->SetAnswer(*draft, "q1", yes).ok());
    REQUIRE(client->Finalize(*draft).ok());
  }

  Result<SyncReport> Sync(int attempts = 4) {
    SyncOptions o;
    o.make_transport = deployment.Factory();
    o.max_attempts = attempts;
    o.base_delay = std::chrono::milliseconds(100);
    o.max_delay = std::chrono::milliseconds(250);
    o.wait = [this](std::chrono::milliseconds d) { waits.push_back(d); };
    return client->Sync(o);
  }

  DeviceStatus Now() { return client->GetStatus().value(); }
};

TEST_CASE("failover: the enrollment payload's list is stored, the first URL current") {
  Device d(kUrls);
  DeviceStatus status = d.Now();
  CHECK(status.server_urls == kUrls);
  CHECK(status.server_url == kUrls[0]);
  std::string json = DeviceStatusToJson(status);
  CHECK(json.find("\"serverUrl\":\"" + kUrls[0] + "\"") != std::string::npos);
  CHECK(json.find(kUrls[2]) != std::string::npos);
}

TEST_CASE(
    "failover: a node that is down is passed over with backoff, and the next sync starts "
    "at the one that answered") {
  Device d(kUrls);
  d.deployment.faults.emplace(kUrls[0], Status::Unavailable("connection refused"));
  auto report = d.Sync();
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(report->batches_sent == 1);
  CHECK(report->retries == 1);
  CHECK(report->server_url == kUrls[1]);
  CHECK(d.waits.size() == 1);  // The same backoff as any retry.
  CHECK(d.deployment.requests[kUrls[0]] == 1);
  CHECK(d.deployment.requests[kUrls[1]] == 2);  // The push, then the pull.
  CHECK(d.Now().acknowledged == 1);
  CHECK(d.Now().server_url == kUrls[1]);

  // Node a is back; the device stays with b, which answered last.
  d.deployment.faults.clear();
  d.AddRecord();
  REQUIRE(d.Sync().ok());
  CHECK(d.deployment.requests[kUrls[0]] == 1);
  CHECK(d.deployment.requests[kUrls[1]] == 4);
  CHECK(d.waits.size() == 1);
}

TEST_CASE("failover: 5xx, 429 and a captive portal move on too, round the list") {
  Device d(kUrls);
  d.deployment.faults.emplace(kUrls[0], Refusal(503, v1::UNAVAILABLE));
  d.deployment.faults.emplace(kUrls[1], Refusal(429, v1::RATE_LIMITED));
  d.deployment.faults.emplace(kUrls[2], HttpResult{200, "<html>Hotel WiFi</html>"});
  auto report = d.Sync(4);
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().message().find("gave up after 4 attempts") != std::string::npos);
  CHECK(d.deployment.requests[kUrls[0]] == 2);  // a, b, c, a
  CHECK(d.deployment.requests[kUrls[1]] == 1);
  CHECK(d.deployment.requests[kUrls[2]] == 1);
  CHECK(d.waits.size() == 3);
  CHECK(d.Now().batched == 1);            // Kept for the next sync.
  CHECK(d.Now().server_url == kUrls[0]);  // None answered: unchanged.
}

TEST_CASE("failover: a refusal that retrying cannot fix is not taken to another node") {
  Device d(kUrls);
  d.deployment.faults.emplace(kUrls[0], Refusal(403, v1::DEVICE_REVOKED));
  auto report = d.Sync();
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().code() == StatusCode::kPermissionDenied);
  CHECK(report.status().message().find("DEVICE_REVOKED") != std::string::npos);
  CHECK(d.deployment.requests[kUrls[0]] == 1);
  CHECK(d.deployment.requests.count(kUrls[1]) == 0);
  CHECK(d.waits.empty());
}

TEST_CASE("failover: a TLS key that does not match the pin is not taken to another node") {
  Device d(kUrls);
  d.deployment.faults.emplace(kUrls[0], Status::Unauthenticated("pinned key mismatch"));
  auto report = d.Sync();
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().code() == StatusCode::kUnauthenticated);
  CHECK(d.deployment.requests.count(kUrls[1]) == 0);
  CHECK(d.Now().batched == 1);
}

TEST_CASE(
    "failover: a pull's list replaces the device's; a list that breaks the rules is "
    "ignored with the reason") {
  Device d({kUrls[0]});
  for (const std::string& url : {kUrls[2], kUrls[1]}) d.deployment.pull.add_server_urls(url);
  auto report = d.Sync();
  REQUIRE(report.ok());
  CHECK(report->warnings.empty());
  CHECK(d.Now().server_urls == std::vector<std::string>{kUrls[2], kUrls[1]});
  // The URL that answered is no longer listed: the next sync starts at the list's first.
  CHECK(d.Now().server_url == kUrls[0]);
  report = d.Sync();
  REQUIRE(report.ok());
  CHECK(d.deployment.requests[kUrls[2]] == 1);
  CHECK(d.Now().server_url == kUrls[2]);

  d.deployment.pull.clear_server_urls();
  d.deployment.pull.add_server_urls("http://plain.vigil.example");
  report = d.Sync();
  REQUIRE(report.ok());
  REQUIRE(report->warnings.size() == 1);
  CHECK(report->warnings[0].find("'http://plain.vigil.example'") != std::string::npos);
  CHECK(d.Now().server_urls == std::vector<std::string>{kUrls[2], kUrls[1]});

  d.deployment.pull.clear_server_urls();  // An answer without a list leaves it as it is.
  report = d.Sync();
  REQUIRE(report.ok());
  CHECK(report->warnings.empty());
  CHECK(d.Now().server_urls == std::vector<std::string>{kUrls[2], kUrls[1]});
}

TEST_CASE("failover: an enrollment payload whose list breaks the rules is refused") {
  TempDir dir;
  auto client = Client::Init(dir / "home", *FastPin()).value();
  for (const std::vector<std::string>& urls :
       {std::vector<std::string>{kUrls[0], kUrls[0]},
        std::vector<std::string>{"https://node-a.vigil.example:8443/path"}}) {
    Status s = client->Enroll(Device::Payload(urls), {}, "").status();
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(s.message().find("enrollment payload") != std::string::npos);
  }
  CHECK(client->GetStatus()->server_urls.empty());
}

}  // namespace
}  // namespace vigil::client::test
