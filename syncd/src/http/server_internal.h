// What the HTTPS server's files share; not part of its interface (http/server.h).
// server.cc: the listener and RunServer; server_session.cc: one connection;
// server_tls.cc: the TLS context. Only these include Beast and Asio's I/O.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>  // Before Asio: Boost 1.74 uses std::exchange without including it.

#include "http/router.h"
#include "http/server.h"
#include "metrics/metrics.h"

namespace vigil::syncd::server_internal {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

using ConnectionRefusal = Metrics::ConnectionRefusal;

// What every session shares. Held by a shared_ptr: RunServer holds one reference and every
// request waiting in the router holds another, so that a store callback that completes after
// RunServer returned (a request still queued at the stop deadline) posts to a live
// io_context. The io_context is the last member, so it is destroyed first, while the
// sessions it still owns can touch the other members.
struct ServerState {
  ServerState(Router& r, const ServerOptions& o) : router(r), options(o), ioc(o.threads) {}

  // Counts a new connection from `address` against the caps; the refusal when one is full.
  // Every admitted connection is released exactly once (Session's destructor).
  std::optional<ConnectionRefusal> Admit(const std::string& address) {
    std::lock_guard lock(connections_mu);
    if (connections >= options.max_connections) return ConnectionRefusal::kMaxConnections;
    const size_t cap = options.max_connections_per_address;
    if (cap > 0) {
      size_t& from_address = per_address[address];
      if (from_address >= cap) return ConnectionRefusal::kPerAddress;
      ++from_address;
    }
    ++connections;
    router.metrics().ConnectionOpened();
    return std::nullopt;
  }
  void Release(const std::string& address) {
    std::lock_guard lock(connections_mu);
    --connections;
    router.metrics().ConnectionClosed();
    if (options.max_connections_per_address == 0) return;
    auto it = per_address.find(address);
    if (it != per_address.end() && --it->second == 0) per_address.erase(it);
  }

  Router& router;
  const ServerOptions options;
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};
  std::mutex connections_mu;
  size_t connections = 0;                               // GUARDED_BY(connections_mu)
  std::unordered_map<std::string, size_t> per_address;  // GUARDED_BY(connections_mu)
  std::optional<ssl::context> tls;
  net::io_context ioc;
};

// One line on stderr, stamped with the UTC time.
void LogLine(const std::string& line);

// Logs the failure of `what`, unless it is one to ignore (server.cc says which).
void Fail(beast::error_code ec, const char* what);

// Serves a connection that state->Admit admitted: over TLS with `tls`, else plain HTTP.
void StartSession(const std::shared_ptr<ServerState>& state, std::string remote, tcp::socket socket,
                  ssl::context* tls);

// Protocol versions, session resumption, and the certificate and key of `options`.
Status ConfigureTls(ssl::context& ctx, const ServerOptions& options);

}  // namespace vigil::syncd::server_internal
