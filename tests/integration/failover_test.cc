// Failover between a deployment's server URLs with a real syncd over TLS (docs/protocol.md
// §5.1): the URL list comes from `syncd admin server-urls set` through the enrollment payload
// and each pull; a dead URL (a port the OS gave and that was closed again, or a node that
// stopped) is passed over; a refusal retrying cannot fix, or another TLS key, is not.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fault_proxy.h"
#include "syncd_harness.h"
#include "vigil/client/answer_input.h"
#include "vigil/client/client.h"
#include "vigil/protocol/crypto.h"

namespace vigil::testing {
namespace {

using client::Client;

// "https://127.0.0.1:PORT" where nothing listens: a port of 127.0.0.1 bound, then released.
std::string DeadUrl() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t length = sizeof(addr);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
  close(fd);
  return "https://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

// A payload from `syncd admin enroll-code` without --server-url: the deployment's list.
std::string ListedPayload(Syncd& server, const std::string& observer) {
  std::string out = server.Admin("enroll-code --observer " + observer + " --expires 1h");
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out.substr(out.rfind('\n') + 1);
}

std::vector<std::string> UrlsOf(const std::string& payload) {
  v1::EnrollmentPayload p;
  REQUIRE(p.ParseFromString(protocol::Base64UrlDecode(payload).value()));
  return {p.server_urls().begin(), p.server_urls().end()};
}

struct Device {
  TempDir dir;
  std::unique_ptr<Client> client;
  Device() {
    auto pin = client::MakePinKeyProtector("246810", client::ScryptParams{10, 8, 1});
    client = Client::Init(dir / "home", *pin).value();
  }
  Status Enroll(const std::string& payload, const std::string& ca_file) {
    v1::DeviceInfo info;
    info.set_model("failover-test");
    return client->Enroll(payload, info, ca_file).status();
  }
  std::string Fill(uint64_t seed) {
    auto form = client->GetForm("opening");
    REQUIRE(form.ok());
    auto draft = client->StartDraft("opening", Syncd::kStation);
    REQUIRE(draft.ok());
    REQUIRE(client->SetAnswers(*draft, client::ExampleAnswers(*form, seed), true).ok());
    auto id = client->Finalize(*draft);
    REQUIRE_MESSAGE(id.ok(), id.status().ToString());
    return *id;
  }
  client::DeviceStatus Now() { return client->GetStatus().value(); }
};

client::SyncOptions Options(const Syncd& server) {
  client::SyncOptions o;
  o.ca_file = server.ca_file();
  o.max_attempts = 3;
  o.base_delay = std::chrono::milliseconds(10);
  o.max_delay = std::chrono::milliseconds(50);
  return o;
}

TEST_CASE("failover: a dead first URL: enrollment, pushes and pulls go through the second") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  const std::string dead = DeadUrl();
  server.Admin("server-urls set " + dead + " " + server.url());
  CHECK(server.Admin("server-urls show") == dead + "\n" + server.url() + "\n");
  const std::string payload = ListedPayload(server, "obs1");
  REQUIRE(UrlsOf(payload) == std::vector<std::string>{dead, server.url()});

  Device device;
  Status enrolled = device.Enroll(payload, server.ca_file());
  REQUIRE_MESSAGE(enrolled.ok(), enrolled.ToString());
  CHECK(device.Now().server_urls == std::vector<std::string>{dead, server.url()});
  CHECK(device.Now().server_url == server.url());  // It answered; the dead one did not.

  const std::string id = device.Fill(1);
  auto report = device.client->Sync(Options(server));
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(report->records_ok == 1);
  CHECK(report->retries == 0);  // It starts at the URL that answered last.
  CHECK(report->server_url == server.url());
  CHECK(Stats(server).submissions() == 1);
  CHECK(server.Admin("export submissions --csv").find(id) != std::string::npos);
}

TEST_CASE(
    "failover: a node that stops is passed over, and the device then stays with the one "
    "that answers") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  // Two nodes of one deployment: a proxy to syncd (same TLS key) and syncd itself.
  auto node_a = std::make_unique<FaultProxy>(server.port());
  const std::string url_a = node_a->url();
  server.Admin("server-urls set " + url_a + " " + server.url());
  Device device;
  REQUIRE(device.Enroll(ListedPayload(server, "obs1"), server.ca_file()).ok());
  CHECK(device.Now().server_url == url_a);
  device.Fill(1);
  REQUIRE(device.client->Sync(Options(server)).ok());
  CHECK(node_a->requests() >= 2);  // Enrollment, push and pull went through node a.

  node_a->Stop();  // Node a dies: its port refuses connections now.
  const std::string id = device.Fill(2);
  auto report = device.client->Sync(Options(server));
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(report->records_ok == 1);
  CHECK(report->retries == 1);  // One failed attempt at node a, with the usual backoff.
  CHECK(report->server_url == server.url());
  CHECK(device.Now().server_url == server.url());
  CHECK(Stats(server).submissions() == 2);
  CHECK(server.Admin("export submissions --csv").find(id) != std::string::npos);

  device.Fill(3);  // The next sync starts at the node that answered: no retry.
  report = device.client->Sync(Options(server));
  REQUIRE(report.ok());
  CHECK(report->retries == 0);
  CHECK(Stats(server).submissions() == 3);
}

TEST_CASE("failover: a list changed on the server reaches the device at its next pull") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  Device device;
  REQUIRE(device.Enroll(server.EnrollCode("obs1"), server.ca_file()).ok());  // No list yet.
  CHECK(device.Now().server_urls == std::vector<std::string>{server.url()});

  const std::string other = "https://node-b.vigil.example:8443";
  server.Admin("server-urls set " + server.url() + " " + other);
  auto report = device.client->Sync(Options(server));
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  CHECK(device.Now().server_urls == std::vector<std::string>{server.url(), other});
  CHECK(device.Now().server_url == server.url());

  server.Admin("server-urls set " + other + " " + server.url());
  REQUIRE(device.client->Sync(Options(server)).ok());
  CHECK(device.Now().server_urls == std::vector<std::string>{other, server.url()});
  CHECK(device.Now().server_url == server.url());  // Still first: it answered last.
}

TEST_CASE("failover: a refusal retrying cannot fix is not taken to another node") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  FaultProxy node_b(server.port());
  server.Admin("server-urls set " + server.url() + " " + node_b.url());
  Device device;
  REQUIRE(device.Enroll(ListedPayload(server, "obs1"), server.ca_file()).ok());
  CHECK(device.Now().server_url == server.url());
  server.Admin("devices revoke " + device.client->device_id() + " --reason seized");
  device.Fill(1);
  auto report = device.client->Sync(Options(server));
  REQUIRE_FALSE(report.ok());
  CHECK(report.status().code() == StatusCode::kPermissionDenied);
  CHECK(report.status().message().find("DEVICE_REVOKED") != std::string::npos);
  CHECK(node_b.connections() == 0);
}

TEST_CASE("failover: a node with another TLS key is not passed over: the pin is one for all") {
  Syncd server(VIGIL_FORMS_DIR);
  server.Serve();
  Syncd stranger(VIGIL_FORMS_DIR);  // Another deployment: another key.
  stranger.Serve();
  server.Admin("server-urls set " + stranger.url() + " " + server.url());
  Device device;
  Status enrolled = device.Enroll(ListedPayload(server, "obs1"), "");  // The pin alone.
  CHECK(enrolled.code() == StatusCode::kUnauthenticated);
  CHECK(enrolled.message().find("pinned") != std::string::npos);
  CHECK(Stats(server).devices() == 0);
}

}  // namespace
}  // namespace vigil::testing
