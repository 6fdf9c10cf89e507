// HTTP transport against the real `syncd serve` (docs/protocol.md §2): `Expect:
// 100-continue` from a raw client and from libcurl over TLS, Strict-Transport-Security on
// every answer, the per-address connection cap, the open files limit and the connection
// metrics.
#include <curl/curl.h>
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "raw_http.h"
#include "tls/cert.h"

namespace vigil::syncd {
namespace {

using testing::BodyOf;
using testing::ClosedWithin;
using testing::Connect;
using testing::Exchange;
using testing::PlainServer;
using testing::ReadHeader;
using testing::RunSyncd;
using testing::SendAll;
using testing::ServeProcess;
using testing::TempDir;
using testing::TestDevice;

// The status line's code of an HTTP answer ("HTTP/1.1 413 …" → 413), or 0.
int StatusOf(const std::string& answer) {
  if (answer.size() < 12 || answer.rfind("HTTP/1.", 0) != 0) return 0;
  return std::stoi(answer.substr(9, 3));
}

v1::ErrorCode ErrorCodeOf(const std::string& answer) {
  v1::Error error;
  CHECK(error.ParseFromString(BodyOf(answer)));
  return error.code();
}

// A POST header announcing `length` body bytes and waiting for 100 Continue.
std::string ExpectingHead(const std::string& target, size_t length,
                          const std::string& expect = "100-continue") {
  return "POST " + target +
         " HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: " +
         std::to_string(length) + "\r\nExpect: " + expect + "\r\n\r\n";
}

// What a server sends to a client that sent only `head` and waits: the final answer and the
// close, or (after 100 Continue) nothing more.
std::string AnswerToHead(uint16_t port, const std::string& head) {
  int fd = Connect(port);
  SendAll(fd, head);
  std::string answer;
  CHECK(ClosedWithin(fd, 10000, &answer));  // Closed: the body was never read.
  close(fd);
  return answer;
}

TEST_CASE("transport: Expect 100-continue is answered before the body, then the request runs") {
  PlainServer server({});  // ServeProcess sets --max-body 65536.
  int fd = Connect(server.port());
  SendAll(fd, ExpectingHead("/v1/push", 5));
  const std::string interim = ReadHeader(fd, 10000);
  CHECK(interim == "HTTP/1.1 100 Continue\r\n\r\n");
  SendAll(fd, "junk!");
  const std::string final_head = ReadHeader(fd, 10000);
  CHECK(StatusOf(final_head) == 400);  // The body was read and judged: not a SignedBatch.
  CHECK(final_head.find("Strict-Transport-Security: max-age=31536000\r\n") != std::string::npos);
  // The connection stays usable: read the rest of that answer, then ask again.
  const size_t length_at = final_head.find("Content-Length: ");
  REQUIRE(length_at != std::string::npos);
  std::string body(std::stoul(final_head.substr(length_at + 16)), '\0');
  REQUIRE(recv(fd, body.data(), body.size(), MSG_WAITALL) == static_cast<ssize_t>(body.size()));
  v1::Error error;
  CHECK(error.ParseFromString(body));
  CHECK(error.code() == v1::MALFORMED);
  SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string again;
  CHECK(ClosedWithin(fd, 10000, &again));
  CHECK(StatusOf(again) == 200);
  close(fd);
  // An HTTP/1.0 client's Expect is ignored: it sends its body at once, as such clients do.
  fd = Connect(server.port());
  SendAll(fd, "POST /v1/push HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\njunk!");
  std::string old_client;
  CHECK(ClosedWithin(fd, 10000, &old_client));
  close(fd);
  CHECK(old_client.rfind("HTTP/1.0 400 ", 0) == 0);
  CHECK(old_client.find("100 Continue") == std::string::npos);
}

TEST_CASE("transport: Expect 100-continue gets the final status at once when the head settles it") {
  PlainServer server({});
  // Over --max-body by Content-Length: 413, never 100 Continue.
  std::string too_large = AnswerToHead(server.port(), ExpectingHead("/v1/push", 100000));
  CHECK(StatusOf(too_large) == 413);
  CHECK(ErrorCodeOf(too_large) == v1::TOO_LARGE);
  // No such endpoint: 404; a known one with the wrong method: 405.
  std::string unknown = AnswerToHead(server.port(), ExpectingHead("/v1/nothing", 10));
  CHECK(StatusOf(unknown) == 404);
  CHECK(ErrorCodeOf(unknown) == v1::MALFORMED);
  std::string wrong_method =
      AnswerToHead(server.port(),
                   "PUT /v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
                   "Expect: 100-continue\r\n\r\n");
  CHECK(StatusOf(wrong_method) == 405);
  // An expectation other than 100-continue: 417.
  std::string other = AnswerToHead(server.port(), ExpectingHead("/v1/push", 10, "magic"));
  CHECK(StatusOf(other) == 417);
  CHECK(BodyOf(other).find("magic") != std::string::npos);
  for (const std::string* answer : {&too_large, &unknown, &wrong_method, &other}) {
    CHECK(answer->find("100 Continue") == std::string::npos);
    CHECK(answer->find("Connection: close\r\n") != std::string::npos);
  }
  CHECK(StatusOf(Exchange(server.port(), "GET", "/healthz")) == 200);
}

// ----- libcurl over TLS

struct CurlAnswer {
  CURLcode rc = CURLE_OK;
  long status = 0;
  std::vector<std::string> header_lines;  // Interim answers' lines too.

  // How many header lines start with `prefix` (case-sensitive, as syncd writes them).
  int Count(const std::string& prefix) const {
    int n = 0;
    for (const std::string& line : header_lines) n += line.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
  }
};

size_t KeepHeader(char* data, size_t size, size_t count, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(data, size * count);
  return size * count;
}
size_t DropBody(char*, size_t size, size_t count, void*) { return size * count; }

// One request with libcurl, TLS verified and pinned; `expect` sets the Expect header libcurl
// otherwise adds only to bodies over 1 MiB, and waits up to 20 s for 100 Continue.
CurlAnswer CurlRequest(const std::string& url, const std::string& ca, const std::string& pin,
                       const std::string* post_body, bool expect = false) {
  CurlAnswer answer;
  CURL* curl = curl_easy_init();
  REQUIRE(curl != nullptr);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(curl, CURLOPT_PINNEDPUBLICKEY, pin.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(curl, CURLOPT_EXPECT_100_TIMEOUT_MS, 20000L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &KeepHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &answer.header_lines);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &DropBody);
  curl_slist* headers = nullptr;
  if (post_body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post_body->size()));
    headers = curl_slist_append(headers, "Content-Type: application/x-protobuf");
    headers = curl_slist_append(headers, expect ? "Expect: 100-continue" : "Expect:");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  }
  answer.rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return answer;
}

TEST_CASE("transport: over HTTPS libcurl's Expect gets 100 Continue and every answer sends HSTS") {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  REQUIRE(RunSyncd("init --data " + data + " --server-id transport").first == 0);
  ServeProcess serve(data, dir.path(), "serve");
  const std::string url = serve.WaitReady();
  const std::string ca = data + "/tls/cert.pem";
  const std::string pin = PinForCurl(PinOfCertFile(ca).value());
  const std::string hsts = "Strict-Transport-Security: max-age=31536000\r\n";

  // libcurl waits for 100 Continue (up to the 20 s set above), then sends the body.
  const std::string garbage(60000, 'x');
  CurlAnswer expected = CurlRequest(url + "/v1/push", ca, pin, &garbage, /*expect=*/true);
  CHECK(expected.rc == CURLE_OK);
  CHECK(expected.status == 400);
  CHECK(expected.Count("HTTP/1.1 100 Continue") == 1);
  CHECK(expected.Count(hsts) == 1);
  // Over --max-body (65536 here): 413 at once, no 100 Continue, and libcurl sends no body.
  const std::string large(100000, 'x');
  CurlAnswer refused = CurlRequest(url + "/v1/push", ca, pin, &large, /*expect=*/true);
  CHECK(refused.rc == CURLE_OK);
  CHECK(refused.status == 413);
  CHECK(refused.Count("HTTP/1.1 100") == 0);
  CHECK(refused.Count(hsts) == 1);
  // HSTS on every kind of answer: health, metrics, not found, the dashboard's page, and a
  // body over the limit sent without Expect.
  for (const char* path : {"/healthz", "/metrics", "/nothing", "/"}) {
    CurlAnswer answer = CurlRequest(url + path, ca, pin, nullptr);
    CHECK_MESSAGE(answer.rc == CURLE_OK, path);
    CHECK_MESSAGE(answer.Count(hsts) == 1, path);
  }
  CurlAnswer unexpected = CurlRequest(url + "/v1/push", ca, pin, &large);
  CHECK(unexpected.status == 413);
  CHECK(unexpected.Count(hsts) == 1);
}

// ----- connection caps

// Seeds the served data dir with a station, observer obs1 and the opening form; enrolls a
// device over plain HTTP from 127.0.0.1.
TestDevice EnrollPlain(const PlainServer& server) {
  const std::string admin = "admin --data " + server.data() + " ";
  std::ofstream(server.dir() + "/stations.csv")
      << "code,name,province,district,commune,registered_voters\n"
      << testing::kStation << ",School,Phnom Penh,D,C,700\n";
  std::ofstream(server.dir() + "/opening.json")
      << R"({"formId": "opening", "version": 1, "kind": "CHECKLIST",
             "questions": [{"id": "q01_voters", "type": "INTEGER", "label": {"en": "Voters"}}]})";
  for (const std::string& args :
       {"stations import " + server.dir() + "/stations.csv",
        "forms publish " + server.dir() + "/opening.json",
        std::string("observers add obs1 --name Sok --stations ") + testing::kStation}) {
    const std::pair<int, std::string> run = RunSyncd(admin + args);
    REQUIRE_MESSAGE(run.first == 0, args << ": " << run.second);
  }
  const std::pair<int, std::string> issued =
      RunSyncd(admin + "enroll-code --observer obs1 --expires 1h");
  REQUIRE_MESSAGE(issued.first == 0, issued.second);
  std::string payload_text = issued.second;
  while (!payload_text.empty() && payload_text.back() == '\n') payload_text.pop_back();
  v1::EnrollmentPayload payload;
  REQUIRE(payload.ParseFromString(protocol::Base64UrlDecode(payload_text).value()));
  TestDevice device;
  device.key = std::make_unique<protocol::Ed25519PrivateKey>(
      protocol::Ed25519PrivateKey::Generate().value());
  device.server_id = testing::kServerId;
  std::string answer = Exchange(server.port(), "POST", "/v1/enroll",
                                TestDevice::EnrollBody(*device.key, payload.code()));
  REQUIRE(StatusOf(answer) == 200);
  v1::EnrollResponse enrolled;
  REQUIRE(enrolled.ParseFromString(BodyOf(answer)));
  device.device_id = enrolled.device_id();
  return device;
}

// The value of an unlabelled or labelled series in a Prometheus exposition; -1 when absent.
long long Series(const std::string& metrics, const std::string& name) {
  size_t at = metrics.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(metrics.substr(at + name.size() + 2));
}

TEST_CASE("transport: idle connections beyond one address's cap are closed and others served") {
  PlainServer server({"--max-connections-per-address", "50"});
  TestDevice device = EnrollPlain(server);
  // 120 idle connections from 127.0.0.2 and 80 from 127.0.0.3: 50 of each are held, the
  // others closed at once.
  std::vector<int> idle;
  int closed_now = 0;
  for (const auto& [source, count] : {std::pair{"127.0.0.2", 120}, std::pair{"127.0.0.3", 80}}) {
    for (int i = 0; i < count; ++i) idle.push_back(Connect(server.port(), source));
  }
  for (int fd : idle) closed_now += ClosedWithin(fd, 20) ? 1 : 0;
  CHECK(closed_now == 100);
  // A device on another address pushes as usual meanwhile.
  std::string pushed =
      Exchange(server.port(), "POST", "/v1/push",
               device.NextBody({testing::MakeSubmission("00000000-0000-4000-8000-000000000001")}));
  CHECK(StatusOf(pushed) == 200);
  v1::PushResponse push;
  CHECK(push.ParseFromString(BodyOf(pushed)));
  CHECK(push.receipt().signature().size() == 64);
  // 100 idle connections and the one asking; the push's may take a moment to go.
  std::string metrics;
  for (int attempt = 0; attempt < 100; ++attempt) {
    metrics = BodyOf(Exchange(server.port(), "GET", "/metrics"));
    if (Series(metrics, "syncd_open_connections") == 101) break;
  }
  CHECK(Series(metrics, "syncd_open_connections") == 101);
  CHECK(Series(metrics, "syncd_connections_refused_total{reason=\"per_address\"}") == 100);
  // Once they go, the address is served again (the server notices each close on its own).
  for (int fd : idle) close(fd);
  std::string served;
  for (int attempt = 0; attempt < 100 && StatusOf(served) != 200; ++attempt) {
    int fd = Connect(server.port(), "127.0.0.2");
    SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    served.clear();
    ClosedWithin(fd, 1000, &served);
    close(fd);
  }
  CHECK(StatusOf(served) == 200);
}

// `size` bytes of `body` as HTTP/1.1 chunks of at most 1000 bytes, then the last chunk.
std::string Chunked(const std::string& body) {
  std::string out;
  for (size_t at = 0; at < body.size(); at += 1000) {
    const std::string piece = body.substr(at, 1000);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    out += size + piece + "\r\n";
  }
  return out + "0\r\n\r\n";
}

TEST_CASE("transport: chunked bodies and any Content-Type are read as the body, within limits") {
  PlainServer server({"--read-timeout", "2"});  // ServeProcess sets --max-body 65536.
  TestDevice device = EnrollPlain(server);
  // A push in chunks, without Content-Type: the same as with Content-Length.
  const std::string batch =
      device.NextBody({testing::MakeSubmission("00000000-0000-4000-8000-000000000002")});
  int fd = Connect(server.port());
  SendAll(fd,
          "POST /v1/push HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
          "Transfer-Encoding: chunked\r\n\r\n" +
              Chunked(batch));
  std::string answer;
  CHECK(ClosedWithin(fd, 10000, &answer));
  close(fd);
  CHECK(StatusOf(answer) == 200);
  v1::PushResponse push;
  CHECK(push.ParseFromString(BodyOf(answer)));
  CHECK(push.receipt().signature().size() == 64);
  // A text Content-Type changes nothing either: the next batch is accepted.
  const std::string next =
      device.NextBody({testing::MakeSubmission("00000000-0000-4000-8000-000000000003")});
  CHECK(StatusOf(Exchange(server.port(), "POST", "/v1/push", next,
                          "Content-Type: text/plain\r\n")) == 200);
  // Chunks adding up to more than --max-body: 413 as soon as the limit is crossed.
  fd = Connect(server.port());
  SendAll(fd, "POST /v1/push HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  Chunked(std::string(70000, 'x')));
  answer.clear();
  CHECK(ClosedWithin(fd, 10000, &answer));
  close(fd);
  CHECK(StatusOf(answer) == 413);
  // A body dribbled a byte at a time is cut off at --read-timeout, like dribbled headers:
  // the deadline covers the whole request.
  fd = Connect(server.port());
  SendAll(fd, "POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
  const auto started = std::chrono::steady_clock::now();
  bool closed = false;
  for (int i = 0; i < 50 && !closed; ++i) {  // 50 bytes, one per 200 ms: at most 10 s.
    closed = send(fd, "x", 1, MSG_NOSIGNAL) != 1 || ClosedWithin(fd, 200);
  }
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(8));
  close(fd);
}

TEST_CASE("transport: a keep-alive connection idle past --read-timeout is closed") {
  PlainServer server({"--read-timeout", "1"});
  int fd = Connect(server.port());
  SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(StatusOf(ReadHeader(fd, 10000)) == 200);
  const auto answered = std::chrono::steady_clock::now();
  CHECK(ClosedWithin(fd, 10000));  // Reads the rest of the answer, then waits.
  CHECK(std::chrono::steady_clock::now() - answered < std::chrono::seconds(5));
  close(fd);
}

TEST_CASE("transport: a TLS client that never completes its handshake is cut off after 10 s") {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  REQUIRE(RunSyncd("init --data " + data + " --server-id transport").first == 0);
  ServeProcess serve(data, dir.path(), "serve");  // TLS; --read-timeout stays 30 s.
  int fd = Connect(testing::PortOf(serve.WaitReady()));
  const auto connected = std::chrono::steady_clock::now();
  CHECK(ClosedWithin(fd, 20000));  // Sends nothing: no ClientHello.
  const auto waited = std::chrono::steady_clock::now() - connected;
  CHECK(waited >= std::chrono::seconds(9));
  CHECK(waited < std::chrono::seconds(15));
  close(fd);
}

TEST_CASE("transport: serve raises its open files limit to the hard limit and says so") {
  rlimit before{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &before) == 0);
  if (before.rlim_max < 1024) return;  // Nothing to raise to on this machine.
  rlimit low = before;
  low.rlim_cur = 512;
  REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
  std::string log;
  {
    // The child inherits the low soft limit; the test restores its own right after the fork.
    auto server = std::make_unique<PlainServer>(std::vector<std::string>{});
    REQUIRE(setrlimit(RLIMIT_NOFILE, &before) == 0);
    log = server->Log();
  }
  CHECK(log.find("open files limit " + std::to_string(before.rlim_max) + " (raised from 512)") !=
        std::string::npos);
}

}  // namespace
}  // namespace vigil::syncd
