// The sync engine's retry rules (docs/architecture.md §4 step 8) against a scripted transport.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <deque>

#include "syncd_harness.h"
#include "vigil/client/client.h"
#include "vigil/protocol/crypto.h"
#include "vigil/protocol/signing.h"

namespace vigil::testing {
namespace {

// Answers each request with the next scripted reply, and counts requests.
class ScriptedTransport final : public client::Transport {
 public:
  std::deque<Result<client::HttpResult>> replies;
  int requests = 0;
  Result<client::HttpResult> Post(std::string_view, std::string_view) override {
    ++requests;
    if (replies.empty()) return Status::Unavailable("no more scripted replies");
    auto r = replies.front();
    replies.pop_front();
    return r;
  }
};

client::HttpResult Http(long status, std::string body) { return {status, std::move(body)}; }

std::string ErrorBody(v1::ErrorCode code) {
  v1::Error e;
  e.set_code(code);
  e.set_message("scripted");
  return e.SerializeAsString();
}

// An enrolled-looking device (meta filled by a scripted enrollment) with one record pending.
struct ScriptedDevice {
  TempDir dir;
  std::unique_ptr<client::Client> client;
  std::shared_ptr<ScriptedTransport> transport = std::make_shared<ScriptedTransport>();
  std::vector<std::chrono::milliseconds> waits;

  ScriptedDevice() {
    auto pin = client::MakePinKeyProtector("246810", client::ScryptParams{10, 8, 1});
    client = std::move(client::Client::Init(dir / "home", *pin).value());
    auto receipt_key = protocol::Ed25519PrivateKey::Generate();
    v1::EnrollResponse enrolled;
    enrolled.set_device_id(client->device_id());
    enrolled.set_server_id("scripted");
    enrolled.set_receipt_public_key(receipt_key->public_key().raw());
    v1::FormDefinition* form = enrolled.add_forms();
    form->set_form_id("mini");
    form->set_version(1);
    form->set_kind(v1::CHECKLIST);
    (*form->mutable_title())["en"] = "Mini";
    v1::Question* q = form->add_questions();
    q->set_id("q1");
    q->set_type(v1::YES_NO);
    (*q->mutable_label())["en"] = "Q1";
    transport->replies.emplace_back(Http(200, enrolled.SerializeAsString()));
    v1::EnrollmentPayload payload;
    payload.set_server_url("https://127.0.0.1:9");
    payload.set_tls_pin(std::string(32, 'p'));
    payload.set_code("code");
    REQUIRE(
        client->Enroll(protocol::Base64UrlEncode(payload.SerializeAsString()), {}, "", transport)
            .ok());
    transport->requests = 0;  // count only what Sync sends
    auto draft = client->StartDraft("mini", "st-1");
    v1::Value yes;
    yes.set_boolean(true);
    REQUIRE(client->SetAnswer(*draft, "q1", yes).ok());
    REQUIRE(client->Finalize(*draft).ok());
  }

  Result<client::SyncReport> Sync(int attempts) {
    client::SyncOptions o;
    o.transport = transport;
    o.max_attempts = attempts;
    o.base_delay = std::chrono::milliseconds(100);
    o.max_delay = std::chrono::milliseconds(250);
    o.wait = [this](std::chrono::milliseconds d) { waits.push_back(d); };
    o.pull = false;
    return client->Sync(o);
  }
};

TEST_CASE("5xx and 408 and 429 and network faults are retried with capped backoff then given up") {
  ScriptedDevice d;
  d.transport->replies = {Http(503, ErrorBody(v1::UNAVAILABLE)), Http(408, ""),
                          Http(429, ErrorBody(v1::RATE_LIMITED)),
                          Status::Unavailable("connection refused")};
  auto report = d.Sync(4);
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().code() == StatusCode::kUnavailable);
  CHECK(report.status().message().find("gave up after 4 attempts") != std::string::npos);
  CHECK(d.transport->requests == 4);
  REQUIRE(d.waits.size() == 3);
  for (auto w : d.waits) CHECK(w.count() <= 250);  // jitter within the cap
  CHECK(d.client->GetStatus()->batched == 1);      // kept for the next sync
}

TEST_CASE("a cancel stops the sync during a backoff wait, not after it") {
  ScriptedDevice d;
  std::atomic<bool> cancel{false};
  // The server fails; the device is told to stop while it answers, so the backoff (up to a
  // minute) has just begun when the flag is up.
  class Cancelling final : public client::Transport {
   public:
    explicit Cancelling(std::atomic<bool>& flag) : flag_(flag) {}
    int requests = 0;
    Result<client::HttpResult> Post(std::string_view, std::string_view) override {
      ++requests;
      flag_ = true;
      return Http(503, ErrorBody(v1::UNAVAILABLE));
    }

   private:
    std::atomic<bool>& flag_;
  };
  auto transport = std::make_shared<Cancelling>(cancel);
  client::SyncOptions o;
  o.transport = transport;
  o.max_attempts = 5;
  o.base_delay = std::chrono::milliseconds(60000);
  o.max_delay = std::chrono::milliseconds(60000);
  o.pull = false;
  o.cancel = &cancel;
  const auto start = std::chrono::steady_clock::now();
  auto report = d.client->Sync(o);
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().code() == StatusCode::kAborted);
  CHECK(report.status().message().find("cancelled") != std::string::npos);
  CHECK(transport->requests == 1);
  CHECK(took < std::chrono::seconds(1));
  CHECK(d.client->GetStatus()->batched == 1);  // kept for the next sync
}

TEST_CASE("a 4xx refusal is not retried and names the server's code") {
  ScriptedDevice d;
  d.transport->replies = {Http(401, ErrorBody(v1::BAD_SIGNATURE))};
  auto report = d.Sync(5);
  REQUIRE_FALSE(report.ok());
  CHECK(d.transport->requests == 1);
  CHECK(report.status().code() == StatusCode::kUnauthenticated);
  CHECK(report.status().message().find("BAD_SIGNATURE") != std::string::npos);
}

TEST_CASE("a 200 that is not a Vigil answer is a captive portal and not success") {
  ScriptedDevice d;
  d.transport->replies = {Http(200, "<html>Welcome to Hotel WiFi</html>"),
                          Http(200, "<html>Welcome to Hotel WiFi</html>")};
  auto report = d.Sync(2);
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().message().find("captive portal") != std::string::npos);
  CHECK(d.client->GetStatus()->acknowledged == 0);
}

TEST_CASE("a receipt that does not verify does not acknowledge the batch") {
  ScriptedDevice d;
  auto other_key = protocol::Ed25519PrivateKey::Generate();
  v1::PushResponse forged;
  v1::Receipt receipt;
  receipt.set_server_id("scripted");
  receipt.set_device_id(d.client->device_id());
  receipt.set_batch_seq(1);
  forged.mutable_receipt()->set_receipt_bytes(receipt.SerializeAsString());
  forged.mutable_receipt()->set_signature(*other_key->Sign(protocol::SignatureInput(
      protocol::kReceiptLabel, "scripted", forged.receipt().receipt_bytes())));
  d.transport->replies = {Http(200, forged.SerializeAsString())};
  auto report = d.Sync(1);
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().code() == StatusCode::kUnauthenticated);
  CHECK(d.client->GetStatus()->acknowledged == 0);
}

}  // namespace
}  // namespace vigil::testing
