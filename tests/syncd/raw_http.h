// Raw sockets against a real `syncd serve` with --no-tls on loopback, for tests of the HTTP
// layer itself (timeouts, connection caps, Expect): connect from a chosen 127.0.0.x address,
// send bytes as they are, read until the server closes.
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "serve_process.h"
#include "test_util.h"

namespace vigil::syncd::testing {

// The port of a base URL "http://127.0.0.1:PORT".
inline uint16_t PortOf(const std::string& url) {
  return static_cast<uint16_t>(test_support::PortOfUrl(url));
}

// A TCP connection to 127.0.0.1:`port` from `source` (any 127.0.0.0/8 address on Linux).
inline int Connect(uint16_t port, const char* source = "127.0.0.1") {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  REQUIRE(inet_pton(AF_INET, source, &from.sin_addr) == 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

// Whether the server closed `fd` (EOF or reset) within `wait_ms`; appends what it sent.
inline bool ClosedWithin(int fd, int wait_ms, std::string* answer = nullptr) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
  char buffer[4096];
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return true;
    if (answer != nullptr) answer->append(buffer, static_cast<size_t>(n));
  }
  return false;
}

// Reads from `fd` until `answer` holds a whole header block ("\r\n\r\n") or `wait_ms` pass.
inline std::string ReadHeader(int fd, int wait_ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
  std::string answer;
  char c = 0;
  while (answer.find("\r\n\r\n") == std::string::npos && Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    if (recv(fd, &c, 1, 0) != 1) break;  // One byte at a time: nothing after the header.
    answer.push_back(c);
  }
  return answer;
}

inline void SendAll(int fd, const std::string& bytes) {
  REQUIRE(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

// One request on a fresh connection with `Connection: close`; the whole answer.
inline std::string Exchange(uint16_t port, const std::string& method, const std::string& target,
                            const std::string& body = "", const std::string& extra_headers = "",
                            const char* source = "127.0.0.1") {
  int fd = Connect(port, source);
  std::string request =
      method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra_headers;
  if (method == "POST") {
    request +=
        "Content-Type: application/x-protobuf\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n";
  }
  SendAll(fd, request + "\r\n" + body);
  std::string answer;
  CHECK(ClosedWithin(fd, 10000, &answer));
  close(fd);
  return answer;
}

// The body of an HTTP answer (what follows the header block).
inline std::string BodyOf(const std::string& answer) {
  size_t end = answer.find("\r\n\r\n");
  return end == std::string::npos ? "" : answer.substr(end + 4);
}

// `syncd init` in a temporary directory, then `syncd serve --no-tls` with `extra` flags.
class PlainServer {
 public:
  explicit PlainServer(std::vector<std::string> extra) {
    data_ = dir_.path() + "/data";
    REQUIRE(RunSyncd("init --data " + data_ + " --server-id " + kServerId).first == 0);
    extra.insert(extra.begin(), "--no-tls");
    serve_ = std::make_unique<ServeProcess>(data_, dir_.path(), "serve", extra);
    port_ = PortOf(serve_->WaitReady());
  }
  uint16_t port() const { return port_; }
  const std::string& data() const { return data_; }
  const std::string& dir() const { return dir_.path(); }
  std::string Log() const { return serve_->Log(); }

 private:
  TempDir dir_;
  std::string data_;
  std::unique_ptr<ServeProcess> serve_;
  uint16_t port_ = 0;
};

}  // namespace vigil::syncd::testing
