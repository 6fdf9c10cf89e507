// The HTTPS front of syncd: Boost.Beast over Asio and OpenSSL, shaped like Beast's
// example/http/server/async-ssl (one listener, one session per connection on its own strand,
// a timeout before every read and write, bounded bodies). Requests go to a Router.
// This header includes no Beast/Asio so that only server*.cc pay for them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "http/router.h"
#include "vigil/status.h"

namespace vigil::syncd {

// How to serve.
struct ServerOptions {
  std::string host = "127.0.0.1";    // An IP literal or "localhost".
  uint16_t port = 8443;              // 0: any free port.
  bool tls = true;                   // false only on a loopback address.
  std::string cert_path;             // PEM chain.
  std::string key_path;              // PEM private key.
  int threads = 2;                   // I/O threads (signature checks run on them).
  size_t max_body_bytes = 9u << 20;  // Must admit an 8 MiB payload (docs/protocol.md §2).
  int handshake_timeout_s = 10;
  int read_timeout_s = 30;  // Also the keep-alive idle limit.
  int write_timeout_s = 30;
  int stop_timeout_s = 10;  // Waiting for in-flight requests on SIGINT/SIGTERM.
  // Open connections at most; more are closed as soon as they are accepted. Lowered at start
  // to what the open-files limit allows (docs/operations.md §5).
  size_t max_connections = 20000;
  // Open connections from one client address (IPv6: one /64) at most; 0: no such cap
  // (behind a proxy every connection comes from the proxy's address).
  size_t max_connections_per_address = 2000;
  // Called with the base URL once accepting (`serve --ready-file` writes it down); a failure
  // stops the server before it serves anything.
  std::function<Status(const std::string& base_url)> on_listening;
  bool log_requests = true;  // One line per request on stderr.
};

// Splits "HOST:PORT", "[V6]:PORT" or ":PORT" (host 127.0.0.1).
Result<std::pair<std::string, uint16_t>> ParseListenAddress(const std::string& text);

// Serves until SIGINT or SIGTERM, then stops accepting, finishes in-flight requests (bounded
// by stop_timeout_s) and returns. Fails early for a bad address, TLS files, or --no-tls on a
// non-loopback address.
Status RunServer(Router& router, const ServerOptions& options);

}  // namespace vigil::syncd
