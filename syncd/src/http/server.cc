// The one translation unit that includes Beast and Asio.
#include "http/server.h"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>  // Before Asio: Boost 1.74 uses std::exchange without including it.
#include <vector>

#include "admin/data_dir.h"
#include "http/connection_limits.h"

namespace vigil::syncd {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

using ConnectionRefusal = Metrics::ConnectionRefusal;

// Sent on every final response: syncd serves HTTPS only (behind a TLS-terminating proxy with
// --no-tls), so browsers may refuse plain HTTP to it for a year (docs/security.md).
constexpr const char* kHsts = "max-age=31536000";
constexpr size_t kHeaderLimit = 16 * 1024;
// A session's read buffer grows to hold one request (up to --max-body); beyond this it is
// given back after the request, so that idle keep-alive connections stay small.
constexpr size_t kKeptBufferBytes = 64 * 1024;

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

template <class Stream>
constexpr bool kIsTls = !std::is_same_v<Stream, beast::tcp_stream>;

// One connection, on its own strand (the stream's executor).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... Args>
  Session(const std::shared_ptr<ServerState>& state, std::string remote, Args&&... args)
      : state_(*state),
        shared_state_(state),
        remote_(std::move(remote)),
        stream_(std::forward<Args>(args)...) {}
  // The connection was admitted (ServerState::Admit) before the session was made.
  ~Session() { state_.Release(ConnectionCapKey(remote_)); }

  void Run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::Start, this->shared_from_this()));
  }

 private:
  void Start() {
    if constexpr (kIsTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(
          std::chrono::seconds(state_.options.handshake_timeout_s));
      stream_.async_handshake(
          ssl::stream_base::server,
          beast::bind_front_handler(&Session::OnHandshake, this->shared_from_this()));
    } else {
      DoRead();
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) return Fail(ec, "handshake");
    DoRead();
  }

  // Reads a request in two steps, header then body, so that a client sending
  // `Expect: 100-continue` is answered before it sends the body (docs/protocol.md §2).
  void DoRead() {
    if (state_.stopping) return DoClose();
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(state_.options.max_body_bytes);
    // One deadline for the whole request, header and body (a client that dribbles either is
    // cut off); before the first byte it is the keep-alive idle limit.
    read_deadline_ =
        std::chrono::steady_clock::now() + std::chrono::seconds(state_.options.read_timeout_s);
    beast::get_lowest_layer(stream_).expires_at(read_deadline_);
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Session::OnHeader, this->shared_from_this()));
  }

  void OnHeader(beast::error_code ec, std::size_t) {
    if (ec) return OnRead(ec, 0);  // End of stream, a limit, a timeout: handled alike.
    const auto& head = parser_->get();
    const beast::string_view expect = head[http::field::expect];
    // RFC 9110 §10.1.1: an HTTP/1.0 client's Expect is ignored.
    if (expect.empty() || head.version() < 11) return ReadBody();
    if (!beast::iequals(expect, "100-continue")) {
      Refusal refusal = MakeRefusal(v1::MALFORMED, "Expect: " + std::string(expect.substr(0, 64)) +
                                                       " is not supported, only 100-continue");
      refusal.http_status = 417;
      state_.router.metrics().CountRequest("other", 417);
      return AnswerBeforeBody(ResponseFor(refusal), head);
    }
    std::optional<HttpResponse> early = state_.router.AnswerBeforeBody(RequestHead(head));
    if (early) return AnswerBeforeBody(std::move(*early), head);
    continue_ =
        std::make_shared<http::response<http::empty_body>>(http::status::continue_, head.version());
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::seconds(state_.options.write_timeout_s));
    http::async_write(
        stream_, *continue_,
        beast::bind_front_handler(&Session::OnContinueWritten, this->shared_from_this()));
  }

  void OnContinueWritten(beast::error_code ec, std::size_t) {
    continue_.reset();
    if (ec) return Fail(ec, "write");
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return OnRead({}, 0);
    beast::get_lowest_layer(stream_).expires_at(read_deadline_);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, this->shared_from_this()));
  }

  // Answers a request before reading its body (the client may still send it), then drains
  // and closes: the connection cannot carry another request with that body unread.
  void AnswerBeforeBody(HttpResponse response, const http::request_header<>& head) {
    started_ = std::chrono::steady_clock::now();
    method_ = std::string(head.method_string().substr(0, 16));
    target_ = std::string(head.target().substr(0, 128));
    ++state_.in_flight;
    drain_before_close_ = true;
    Send(std::move(response), /*keep_alive=*/false, head.version());
  }

  static HttpResponse ResponseFor(const Refusal& refusal) {
    HttpResponse response;
    response.status = refusal.http_status;
    response.body = refusal.error.SerializeAsString();
    response.note = ErrorCodeName(refusal.error.code());
    return response;
  }

  // What the router sees of a request, without its body.
  HttpRequest RequestHead(const http::request_header<>& head) const {
    HttpRequest request;
    request.method = std::string(head.method_string());
    request.target = std::string(head.target());
    request.remote_address = remote_;
    for (const char* name :
         {"cookie", "x-csrf-token", "origin", "sec-fetch-site", "content-type", "host"}) {
      auto it = head.find(name);
      if (it != head.end()) request.headers[name] = std::string(it->value().substr(0, 4096));
    }
    return request;
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return DoClose();
    started_ = std::chrono::steady_clock::now();
    if (ec == http::error::header_limit) {
      HttpResponse response;
      response.status = 431;
      response.body = MakeRefusal(v1::TOO_LARGE, "request headers larger than 16 KiB")
                          .error.SerializeAsString();
      response.note = "TOO_LARGE";
      state_.router.metrics().CountRequest("other", 431);
      method_ = "?";
      target_ = "(over the header limit)";
      ++state_.in_flight;
      drain_before_close_ = true;
      return Send(std::move(response), /*keep_alive=*/false, 11);
    }
    if (ec == http::error::body_limit) {
      Refusal refusal =
          MakeRefusal(v1::TOO_LARGE, "body exceeds the limit of " +
                                         std::to_string(state_.options.max_body_bytes) + " bytes");
      HttpResponse response = ResponseFor(refusal);
      response.note = "TOO_LARGE";
      state_.router.metrics().CountRequest("other", 413);
      method_ = "POST";
      target_ = "(over the body limit)";
      ++state_.in_flight;
      drain_before_close_ = true;
      return Send(std::move(response), /*keep_alive=*/false, 11);
    }
    if (ec) return Fail(ec, "read");

    http::request<http::string_body> req = parser_->release();
    parser_.reset();
    if (buffer_.capacity() > kKeptBufferBytes) buffer_.shrink_to_fit();
    HttpRequest request = RequestHead(req);
    request.body = std::move(req.body());
    method_ = request.method.substr(0, 16);
    target_ = request.target.substr(0, 128);
    const bool keep_alive = req.keep_alive();
    const unsigned version = req.version();
    ++state_.in_flight;
    auto self = this->shared_from_this();
    std::shared_ptr<ServerState> keep_state = shared_state_.lock();
    state_.router.HandleAsync(
        std::move(request), [self, keep_state, keep_alive, version](HttpResponse response) mutable {
          net::post(self->stream_.get_executor(),
                    [self, keep_alive, version, response = std::move(response)]() mutable {
                      self->Send(std::move(response), keep_alive, version);
                    });
          // The session first, then (maybe the last reference to) the state and its io_context.
          self.reset();
          keep_state.reset();
        });
  }

  void Send(HttpResponse response, bool keep_alive, unsigned version) {
    if (response.event_stream) return StartEventStream(std::move(response));
    status_ = response.status;
    note_ = std::move(response.note);
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version);
    res->set(http::field::server, "vigil-syncd");
    res->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res->insert(name, value);
    res->set(http::field::strict_transport_security, kHsts);  // Exactly one, whoever set it.
    res->keep_alive(keep_alive && !state_.stopping);
    res->body() = std::move(response.body);
    res->prepare_payload();
    response_ = res;
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::seconds(state_.options.write_timeout_s));
    http::async_write(
        stream_, *response_,
        beast::bind_front_handler(&Session::OnWrite, this->shared_from_this(), res->keep_alive()));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, std::size_t bytes) {
    --state_.in_flight;
    if (state_.options.log_requests) {
      double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
              .count();
      char timing[32];
      std::snprintf(timing, sizeof timing, "%.1fms", ms);
      LogLine(remote_ + " " + method_ + " " + target_ + " " + std::to_string(status_) + " " +
              std::to_string(bytes) + "B " + timing + (note_.empty() ? "" : " " + note_));
    }
    response_.reset();
    if (ec) return Fail(ec, "write");
    if (!keep_alive && drain_before_close_) return Drain(kDrainBytes);
    if (!keep_alive) return DoClose();
    DoRead();
  }

  // A refusal answered before the request was read to its end (413, 431): the client may
  // still be sending. Closing a socket with unread data makes the kernel reset the
  // connection, and the reset can destroy the answer before the client reads it. So read and
  // drop what still comes, at most `budget` bytes within kDrainSeconds, then close (the
  // "lingering close" of other HTTP servers).
  void Drain(size_t budget) {
    if (!draining_) {
      draining_ = true;
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(kDrainSeconds));
      drain_buffer_.resize(16 * 1024);
    }
    if (budget == 0) return DoClose();
    stream_.async_read_some(net::buffer(drain_buffer_), [self = this->shared_from_this(), budget](
                                                            beast::error_code ec, std::size_t n) {
      if (ec) return self->DoClose();  // The client stopped, closed, or the time is up.
      self->Drain(budget > n ? budget - n : 0);
    });
  }

  // ----- Server-Sent Events (GET /api/events)
  // The response header is written by hand (no Content-Length: the body runs until the
  // connection closes), then every chunk the subscription delivers, in order. A client that
  // falls behind by more than kMaxPendingChunks, or a failed write, ends the stream.
  static constexpr size_t kMaxPendingChunks = 32;

  void StartEventStream(HttpResponse response) {
    --state_.in_flight;  // A stream is not a request in flight: stopping does not wait for it.
    status_ = 200;
    note_ = std::move(response.note);
    event_source_ = std::move(response.event_stream);
    // The subscription owns the session while the stream lasts (nothing else does between
    // writes); EndEventStream, a full hub or the server's stop (DropEventStreams) release it.
    subscription_ =
        event_source_->subscribe([self = this->shared_from_this()](const std::string& chunk) {
          if (self->stream_ended_.load()) return false;
          net::post(self->stream_.get_executor(), [self, chunk] { self->QueueChunk(chunk); });
          return true;
        });
    if (subscription_ == 0) {
      ++state_.in_flight;
      HttpResponse busy;
      busy.status = 503;
      busy.content_type = "application/json; charset=utf-8";
      busy.body = R"({"code":"UNAVAILABLE","message":"too many open event streams"})";
      return Send(std::move(busy), /*keep_alive=*/false, 11);
    }
    std::string header =
        "HTTP/1.1 200 OK\r\nServer: vigil-syncd\r\nContent-Type: " + response.content_type +
        "\r\nConnection: close\r\nX-Accel-Buffering: no\r\nStrict-Transport-Security: " + kHsts +
        "\r\n";
    for (const auto& [name, value] : response.headers) {
      if (beast::iequals(name, "strict-transport-security")) continue;  // Sent above.
      header.append(name).append(": ").append(value).append("\r\n");
    }
    header += "\r\n";
    if (state_.options.log_requests) {
      LogLine(remote_ + " " + method_ + " " + target_ + " 200 stream opened");
    }
    QueueChunk(header + event_source_->first_chunk);
  }

  void QueueChunk(const std::string& chunk) {
    if (stream_ended_) return;
    if (pending_chunks_.size() >= kMaxPendingChunks) return EndEventStream();
    pending_chunks_.push_back(chunk);
    if (pending_chunks_.size() == 1) WriteChunk();
  }

  void WriteChunk() {
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::seconds(state_.options.write_timeout_s));
    net::async_write(stream_, net::buffer(pending_chunks_.front()),
                     beast::bind_front_handler(&Session::OnChunkWritten, this->shared_from_this()));
  }

  void OnChunkWritten(beast::error_code ec, std::size_t) {
    if (stream_ended_) return;
    if (ec || state_.stopping) return EndEventStream();
    pending_chunks_.pop_front();
    if (!pending_chunks_.empty()) WriteChunk();
  }

  void EndEventStream() {
    if (stream_ended_.exchange(true)) return;
    event_source_->unsubscribe(subscription_);
    pending_chunks_.clear();
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
  }

  void DoClose() {
    if constexpr (kIsTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown(
          beast::bind_front_handler(&Session::OnShutdown, this->shared_from_this()));
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  void OnShutdown(beast::error_code) {}

  static constexpr size_t kDrainBytes = 1u << 20;
  static constexpr int kDrainSeconds = 2;

  ServerState& state_;
  std::weak_ptr<ServerState> shared_state_;  // Weak: the io_context owning us is inside.
  std::string remote_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> response_;
  std::shared_ptr<http::response<http::empty_body>> continue_;  // While `100 Continue` is sent.
  std::chrono::steady_clock::time_point read_deadline_;         // Of the request being read.
  std::chrono::steady_clock::time_point started_;
  std::string method_;
  std::string target_;
  int status_ = 0;
  std::string note_;
  std::shared_ptr<EventStreamSource> event_source_;
  uint64_t subscription_ = 0;
  std::deque<std::string> pending_chunks_;
  bool drain_before_close_ = false;  // Set by a refusal sent before the body was read.
  bool draining_ = false;
  std::vector<char> drain_buffer_;
  std::atomic<bool> stream_ended_{false};
};

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
      if (tls_ != nullptr) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
            shared_state_.lock(), remote, std::move(socket), *tls_)
            ->Run();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(shared_state_.lock(), remote,
                                                     std::move(socket))
            ->Run();
      }
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

Status ConfigureTls(ssl::context& ctx, const ServerOptions& options) {
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                  ssl::context::single_dh_use);
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // Session resumption: a server-side session cache and (OpenSSL's default) tickets.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  static const unsigned char kContext[] = "vigil-syncd";
  SSL_CTX_set_session_id_context(native, kContext, sizeof kContext - 1);
  SSL_CTX_sess_set_cache_size(native, 20000);
  // An idle connection gives OpenSSL's record buffers back (a small part of what an idle TLS
  // connection costs with OpenSSL 3: docs/performance.md, idle connections).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  beast::error_code ec;
  ctx.use_certificate_chain_file(options.cert_path, ec);
  if (ec)
    return Status::FailedPrecondition("TLS certificate " + options.cert_path + ": " + ec.message());
  ctx.use_private_key_file(options.key_path, ssl::context::pem, ec);
  if (ec) return Status::FailedPrecondition("TLS key " + options.key_path + ": " + ec.message());
  return Status::Ok();
}

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
  if (!options.ready_file.empty()) {
    VIGIL_RETURN_IF_ERROR(WriteFileAtomically(options.ready_file, base_url + "\n"));
  }

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
