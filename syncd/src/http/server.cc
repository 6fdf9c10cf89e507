// The HTTPS server: the listener that accepts connections, and RunServer (http/server.h).
// A connection is served in server_session.cc; the TLS context is set up in server_tls.cc.
#include "http/server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <utility>  // Before Asio: Boost 1.74 uses std::exchange without including it.
#include <vector>

#include "http/connection_limits.h"
#include "http/server_internal.h"

namespace vigil::syncd {
namespace server_internal {

void LogLine(const std::string& line) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::tm utc{};
  gmtime_r(&now, &utc);  // Every I/O thread logs: std::gmtime's static result would race.
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  std::fprintf(stderr, "%s %s\n", stamp, line.c_str());
}

// Why a failure is ignored: a peer that closes without TLS close_notify gives
// stream_truncated, which is harmless here because every message is length-delimited.
void Fail(beast::error_code ec, const char* what) {
  if (ec == net::ssl::error::stream_truncated || ec == net::error::operation_aborted ||
      ec == beast::error::timeout || ec == net::error::eof || ec == net::error::connection_reset) {
    return;
  }
  LogLine(std::string("syncd: ") + what + ": " + ec.message());
}

}  // namespace server_internal
namespace {

namespace beast = server_internal::beast;
namespace net = server_internal::net;
namespace ssl = server_internal::ssl;
using server_internal::ConfigureTls;
using server_internal::ConnectionRefusal;
using server_internal::Fail;
using server_internal::LogLine;
using server_internal::ServerState;
using server_internal::StartSession;
using server_internal::tcp;

// Accepts connections and starts a session for each.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  explicit Listener(const std::shared_ptr<ServerState>& state)
      : ioc_(state->ioc),
        tls_(state->tls ? &*state->tls : nullptr),
        state_(*state),
        shared_state_(state),
        acceptor_(net::make_strand(state->ioc)),
        pause_(acceptor_.get_executor()) {}

  Status Open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::FailedPrecondition("cannot listen on " + endpoint.address().to_string() + ":" +
                                        std::to_string(endpoint.port()) + ": " + ec.message());
    }
    return Status::Ok();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void Start() { DoAccept(); }

  void Stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      Fail(ec, "accept");
      state_.router.metrics().ConnectionRefused(ConnectionRefusal::kAcceptError);
      // Out of descriptors or memory, the waiting connection stays queued and the next accept
      // fails at once: pause instead of spinning. Connections that close make room.
      pause_.expires_after(std::chrono::milliseconds(kAcceptPauseMs));
      pause_.async_wait([self = shared_from_this()](beast::error_code) { self->DoAccept(); });
      return;
    }
    beast::error_code ignored;
    std::string remote = socket.remote_endpoint(ignored).address().to_string();
    if (std::optional<ConnectionRefusal> refused = state_.Admit(ConnectionCapKey(remote))) {
      state_.router.metrics().ConnectionRefused(*refused);
      socket.close(ignored);
    } else {
      StartSession(shared_state_.lock(), remote, std::move(socket), tls_);
    }
    DoAccept();
  }

  static constexpr int kAcceptPauseMs = 100;

  net::io_context& ioc_;
  ssl::context* tls_;
  ServerState& state_;
  std::weak_ptr<ServerState> shared_state_;
  tcp::acceptor acceptor_;
  net::steady_timer pause_;  // On the acceptor's strand.
};

}  // namespace

Result<std::pair<std::string, uint16_t>> ParseListenAddress(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) {
    return Status::InvalidArgument("--listen wants HOST:PORT, e.g. 127.0.0.1:8443");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "127.0.0.1";  // ":8443" means loopback, never every interface.
  unsigned long port = 0;
  try {
    size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    return Status::InvalidArgument("--listen: bad port in " + text);
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

Status RunServer(Router& router, const ServerOptions& options) {
  beast::error_code ec;
  std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
  net::ip::address address = net::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("listen address must be an IP address: " + options.host);
  if (!options.tls && !address.is_loopback()) {
    return Status::FailedPrecondition(
        "--no-tls is allowed only on a loopback address (127.0.0.1, ::1), behind a "
        "TLS-terminating proxy; " +
        host + " is not one");
  }

  std::string note;
  const uint64_t open_files = RaiseOpenFilesLimit(&note);
  LogLine(note);
  ServerOptions effective = options;
  effective.max_connections = ConnectionCap(options.max_connections, open_files, &note);
  if (!note.empty()) LogLine(note);
  auto state = std::make_shared<ServerState>(router, effective);
  net::io_context& ioc = state->ioc;
  if (options.tls) {
    state->tls.emplace(ssl::context::tls_server);
    VIGIL_RETURN_IF_ERROR(ConfigureTls(*state->tls, options));
  }
  auto listener = std::make_shared<Listener>(state);
  VIGIL_RETURN_IF_ERROR(listener->Open(tcp::endpoint(address, options.port)));
  listener->Start();

  std::string url_host = address.is_v6() ? "[" + host + "]" : host;
  if (address.is_unspecified()) url_host = "127.0.0.1";
  std::string base_url = std::string(options.tls ? "https://" : "http://") + url_host + ":" +
                         std::to_string(listener->port());
  LogLine("syncd: at most " + std::to_string(effective.max_connections) + " connections" +
          (effective.max_connections_per_address > 0
               ? ", " + std::to_string(effective.max_connections_per_address) + " per address"
               : ""));
  LogLine("syncd: listening on " + base_url);
  if (options.on_listening) VIGIL_RETURN_IF_ERROR(options.on_listening(base_url));

  net::signal_set signals(ioc, SIGINT, SIGTERM);
  net::steady_timer drain(ioc);
  auto deadline = std::make_shared<std::chrono::steady_clock::time_point>();
  std::function<void(beast::error_code)> wait_drained = [&](beast::error_code) {
    if (state->in_flight.load() == 0 || std::chrono::steady_clock::now() >= *deadline) {
      ioc.stop();
      return;
    }
    drain.expires_after(std::chrono::milliseconds(10));
    drain.async_wait(wait_drained);
  };
  signals.async_wait([&](beast::error_code error, int signal) {
    if (error) return;
    LogLine(std::string("syncd: ") + (signal == SIGINT ? "SIGINT" : "SIGTERM") +
            ": stopping, finishing in-flight requests");
    state->stopping = true;
    state->router.SetDraining(true);
    listener->Stop();
    *deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.stop_timeout_s);
    wait_drained({});
  });

  std::vector<std::thread> threads;
  for (int i = 1; i < options.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (std::thread& t : threads) t.join();
  // No event stream may post to this io_context once it is gone.
  router.DropEventStreams();
  if (state->in_flight.load() > 0) {
    LogLine("syncd: " + std::to_string(state->in_flight.load()) +
            " request(s) still in flight at the stop deadline");
  }
  return Status::Ok();
}

}  // namespace vigil::syncd
