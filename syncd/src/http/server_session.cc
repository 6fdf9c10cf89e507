// One connection of the HTTPS server, on its own strand: a request read within its limits
// (refused before its body when it must be), handed to the Router and answered; or a
// Server-Sent Events stream.
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>  // Before Asio: Boost 1.74 uses std::exchange without including it.
#include <vector>

#include "http/connection_limits.h"
#include "http/server_internal.h"

namespace vigil::syncd::server_internal {
namespace {

namespace http = beast::http;

// Sent on every final response: syncd serves HTTPS only (behind a TLS-terminating proxy with
// --no-tls), so browsers may refuse plain HTTP to it for a year (docs/security.md).
constexpr const char* kHsts = "max-age=31536000";
constexpr size_t kHeaderLimit = 16 * 1024;
// A session's read buffer grows to hold one request (up to --max-body); beyond this it is
// given back after the request, so that idle keep-alive connections stay small.
constexpr size_t kKeptBufferBytes = 64 * 1024;

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

}  // namespace

void StartSession(const std::shared_ptr<ServerState>& state, std::string remote, tcp::socket socket,
                  ssl::context* tls) {
  if (tls != nullptr) {
    std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(state, std::move(remote),
                                                                    std::move(socket), *tls)
        ->Run();
  } else {
    std::make_shared<Session<beast::tcp_stream>>(state, std::move(remote), std::move(socket))
        ->Run();
  }
}

}  // namespace vigil::syncd::server_internal
