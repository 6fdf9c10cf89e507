// What the tests of the real `syncd` binary share: a libcurl client with TLS verified and the
// server key pinned, and a deployment made with `syncd init` and seeded through `syncd admin`.
#pragma once

#include <curl/curl.h>
#include <doctest/doctest.h>
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <memory>
#include <string>
#include <tuple>

#include "serve_process.h"
#include "test_util.h"
#include "tls/cert.h"

namespace vigil::syncd::testing {

// A libcurl client: TLS verified against the generated certificate, public key pinned.
class Client {
 public:
  struct Response {
    CURLcode rc = CURLE_OK;
    long status = 0;
    std::string body;
  };

  Client(std::string base_url, std::string ca_file, std::string pin)
      : base_url_(std::move(base_url)), ca_file_(std::move(ca_file)), pin_(std::move(pin)) {
    curl_ = curl_easy_init();
    REQUIRE(curl_ != nullptr);
  }
  ~Client() { curl_easy_cleanup(curl_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // GET `path` (e.g. /metrics).
  Response Get(const std::string& path) {
    Response response;
    std::string url = base_url_ + path;
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CAINFO, ca_file_.c_str());
    curl_easy_setopt(curl_, CURLOPT_PINNEDPUBLICKEY, pin_.c_str());
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Client::Write);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response.body);
    response.rc = curl_easy_perform(curl_);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
  }

  Response Post(const std::string& path, const std::string& body) {
    Response response;
    std::string url = base_url_ + path;
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CAINFO, ca_file_.c_str());
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl_, CURLOPT_PINNEDPUBLICKEY, pin_.c_str());
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/x-protobuf");
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Client::Write);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response.body);
    response.rc = curl_easy_perform(curl_);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &response.status);
    curl_slist_free_all(headers);
    return response;
  }

 private:
  static size_t Write(char* data, size_t size, size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
  }
  std::string base_url_;
  std::string ca_file_;
  std::string pin_;
  CURL* curl_;
};

inline v1::Error ErrorOf(const Client::Response& response) {
  v1::Error error;
  CHECK(error.ParseFromString(response.body));
  return error;
}

// A data dir made with `syncd init` and seeded through `syncd admin`.
struct Deployment {
  TempDir dir;
  std::string data = dir.path() + "/data";

  // `init_args`: more options for `syncd init` (e.g. "--database postgresql://…").
  explicit Deployment(const std::string& init_args = "") {
    int rc = 0;
    std::string out;
    std::tie(rc, out) = RunSyncd("init --data " + data + " --server-id it-server " + init_args);
    REQUIRE_MESSAGE(rc == 0, out);
    CHECK(out.find("tls_pin: sha256//") != std::string::npos);
    std::ofstream(dir.path() + "/stations.csv")
        << "code,name,province,district,commune,registered_voters\n"
        << testing::kStation << ",School,Phnom Penh,D,C,700\n";
    Admin("stations import " + dir.path() + "/stations.csv");
    std::ofstream(dir.path() + "/opening.json")
        << R"({"formId": "opening", "version": 1, "kind": "CHECKLIST",
               "questions": [{"id": "q01_voters", "type": "INTEGER", "label": {"en": "Voters"}},
                             {"id": "q99_remarks", "type": "TEXT", "max": 1048576,
                              "label": {"en": "Remarks"}}]})";
    Admin("forms publish " + dir.path() + "/opening.json");
    Admin("observers add obs1 --name Sok --stations " + std::string(testing::kStation));
  }

  std::string Admin(const std::string& args) {
    int rc = 0;
    std::string out;
    std::tie(rc, out) = RunSyncd("admin --data " + data + " " + args);
    REQUIRE_MESSAGE(rc == 0, "syncd admin " << args << ": " << out);
    return out;
  }

  v1::ServerStats Stats() {
    v1::ServerStats stats;
    REQUIRE(google::protobuf::util::JsonStringToMessage(Admin("stats --json"), &stats).ok());
    return stats;
  }

  std::string ca() const { return data + "/tls/cert.pem"; }
  std::string pin() const { return PinForCurl(PinOfCertFile(ca()).value()); }

  // Enrolls a device through the enrollment payload `syncd admin enroll-code` prints.
  TestDevice Enroll(Client& client, const std::string& url, std::string* receipt_key) {
    std::string payload_text =
        Admin("enroll-code --observer obs1 --expires 1h --server-url " + url);
    while (!payload_text.empty() && payload_text.back() == '\n') payload_text.pop_back();
    v1::EnrollmentPayload payload;
    REQUIRE(payload.ParseFromString(protocol::Base64UrlDecode(payload_text).value()));
    CHECK(payload.server_url() == url);
    CHECK(payload.tls_pin() == PinOfCertFile(ca()).value());
    TestDevice device;
    device.key = std::make_unique<protocol::Ed25519PrivateKey>(
        protocol::Ed25519PrivateKey::Generate().value());
    Client::Response r =
        client.Post("/v1/enroll", TestDevice::EnrollBody(*device.key, payload.code()));
    REQUIRE_MESSAGE(r.status == 200, "rc=" << r.rc);
    v1::EnrollResponse enrolled;
    REQUIRE(enrolled.ParseFromString(r.body));
    CHECK(enrolled.server_id() == "it-server");
    device.device_id = enrolled.device_id();
    device.server_id = "it-server";
    *receipt_key = enrolled.receipt_public_key();
    CHECK(device.device_id == protocol::DeviceIdFromPublicKey(device.key->public_key().raw()));
    Client::Response reused = client.Post(
        "/v1/enroll",
        TestDevice::EnrollBody(protocol::Ed25519PrivateKey::Generate().value(), payload.code()));
    CHECK(reused.status == 403);
    return device;
  }
};

}  // namespace vigil::syncd::testing
