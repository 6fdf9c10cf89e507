// The dashboard's login through the real `syncd` binary over TLS on 127.0.0.1 (a port from
// the OS, a temporary data dir): `coordinators add` refuses a name that is not printable;
// failed logins from five loopback addresses (127.0.0.2–6) do not keep the coordinator out
// from a sixth; login takes JSON only and only from syncd's own origin; every answer carries
// Strict-Transport-Security.
#include <curl/curl.h>
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <string>

#include "serve_process.h"
#include "test_util.h"

namespace vigil::syncd {
namespace {

using testing::RunSyncd;
using testing::ServeProcess;
using testing::TempDir;

constexpr const char* kPassword = "ada's long password";

// One HTTPS POST with libcurl, TLS verified against syncd's certificate, sent from
// `local_address` (any 127.0.0.0/8 address reaches the server on 127.0.0.1).
struct Answer {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // Lower-case names.
};

size_t AppendBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

size_t AppendHeader(char* data, size_t size, size_t count, void* out) {
  std::string line(data, size * count);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    value.erase(value.find_last_not_of("\r\n") + 1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * count;
}

Answer Post(const std::string& url, const std::string& ca_file, const std::string& body,
            const std::vector<std::string>& header_lines,
            const std::string& local_address = "127.0.0.1") {
  Answer answer;
  CURL* curl = curl_easy_init();
  REQUIRE(curl != nullptr);
  const std::string interface = "host!" + local_address;
  curl_slist* headers = nullptr;
  for (const std::string& line : header_lines) headers = curl_slist_append(headers, line.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_INTERFACE, interface.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &AppendHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &answer.headers);
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  REQUIRE_MESSAGE(rc == CURLE_OK, curl_easy_strerror(rc));
  return answer;
}

std::string LoginBody(const std::string& name, const std::string& password) {
  return R"({"name":")" + name + R"(","password":")" + password + "\"}";
}

TEST_CASE("dashboard over HTTPS: nobody locks a coordinator out and only our page logs in") {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto [init_rc, init_out] = RunSyncd("init --data " + data + " --server-id it-server");
  REQUIRE_MESSAGE(init_rc == 0, init_out);
  std::ofstream(dir.path() + "/password") << kPassword << "\n";
  const std::string add = "admin --data " + data + " coordinators add ";
  const std::string rest = " --role admin --password-stdin < " + dir.path() + "/password";
  for (const char* bad : {"\"$(printf 'ad\\033[31mmin')\"", "\"$(printf 'two\\nlines')\"",
                          "\"$(printf 'rtl\\342\\200\\256txt')\""}) {
    INFO(bad);
    auto [rc, out] = RunSyncd(add + bad + rest);
    CHECK(rc != 0);
    CHECK(out.find("printable characters only") != std::string::npos);
  }
  auto [add_rc, add_out] = RunSyncd(add + "ada" + rest);
  REQUIRE_MESSAGE(add_rc == 0, add_out);

  ServeProcess serve(data, dir.path(), "serve");
  const std::string url = serve.WaitReady();
  const std::string login = url + "/api/login";
  const std::string ca = data + "/tls/cert.pem";
  const std::string json = "Content-Type: application/json";

  // Five addresses guess at ada's password until each is slowed down …
  for (int a = 2; a <= 6; ++a) {
    const std::string address = "127.0.0." + std::to_string(a);
    for (int i = 0; i < 5; ++i) {
      CHECK(
          Post(login, ca, LoginBody("ada", "guess " + std::to_string(i)), {json}, address).status ==
          401);
    }
    Answer paused = Post(login, ca, LoginBody("ada", kPassword), {json}, address);
    CHECK(paused.status == 429);
    CHECK(!paused.headers["retry-after"].empty());
  }
  // … and ada, from her own address, is in at once.
  Answer in = Post(login, ca, LoginBody("ada", kPassword), {json}, "127.0.0.7");
  CHECK(in.status == 200);
  CHECK(in.headers["set-cookie"].rfind("vigil_session=", 0) == 0);
  CHECK(in.headers["strict-transport-security"] == "max-age=31536000");

  // JSON only, and only from syncd's own origin.
  Answer form = Post(login, ca, LoginBody("ada", kPassword),
                     {"Content-Type: application/x-www-form-urlencoded"}, "127.0.0.8");
  CHECK(form.status == 415);
  CHECK(form.body.find("UNSUPPORTED_MEDIA_TYPE") != std::string::npos);
  Answer other = Post(login, ca, LoginBody("ada", kPassword),
                      {json, "Origin: https://elsewhere.example"}, "127.0.0.8");
  CHECK(other.status == 403);
  CHECK(other.body.find("ORIGIN") != std::string::npos);
  CHECK(other.headers.count("set-cookie") == 0);
  Answer own = Post(login, ca, LoginBody("ada", kPassword),
                    {json, "Origin: " + url, "Sec-Fetch-Site: same-origin"}, "127.0.0.8");
  CHECK(own.status == 200);
}

}  // namespace
}  // namespace vigil::syncd
