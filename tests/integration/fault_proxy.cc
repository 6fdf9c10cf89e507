// How the proxy forwards (see fault_proxy.h for what it does):
//  - Every connection is two pumps, client→server and server→client. A pump reads chunks
//    into a queue and a writer drains the queue in order. Besides data, the queue holds
//    markers the writer acts on when it reaches them: stall, half-close towards the server,
//    close (FIN or RST), end of stream. Faults act by where they put markers, and by the due
//    time (latency) they give the chunks they queue.
//  - Faults act at absolute byte positions of a direction's stream, computed when the fault
//    is matched; a chunk read is split at every such position inside it.
//  - Everything runs on one thread (the io_context's), so a connection's state needs no lock;
//    the fault list, counters and log are shared with the test's thread under `mutex`.
#include "fault_proxy.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>  // Before Asio: Boost 1.74 uses std::exchange without including it.

// clang-format off
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
// clang-format on

namespace vigil::testing {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kC2S = 0;  // Pump index: client → server.
constexpr int kS2C = 1;  // Pump index: server → client.
constexpr uint8_t kApplicationData = 23;
constexpr uint16_t kMaxAlertRecord = 40;  // An encrypted TLS 1.3 alert is 19 bytes.
constexpr size_t kMaxQueued = 1 << 20;    // Reading pauses above this many queued bytes.

const char* DirectionName(Direction d) {
  switch (d) {
    case Direction::kClientToServer:
      return "client->server";
    case Direction::kServerToClient:
      return "server->client";
    case Direction::kBoth:
      return "both ways";
  }
  return "?";
}

bool Covers(Direction d, int pump) {
  return d == Direction::kBoth || (pump == kC2S) == (d == Direction::kClientToServer);
}

}  // namespace

Fault Fault::Latency(milliseconds delay, Direction direction) {
  Fault f;
  f.kind = Kind::kLatency;
  f.direction = direction;
  f.duration = delay;
  return f;
}

Fault Fault::Cut(Direction direction, uint64_t after_bytes) {
  Fault f;
  f.kind = Kind::kCut;
  f.direction = direction;
  f.after_bytes = after_bytes;
  return f;
}

Fault Fault::Reset(Direction direction, uint64_t after_bytes) {
  Fault f = Cut(direction, after_bytes);
  f.reset = true;
  return f;
}

Fault Fault::DropResponse() {
  Fault f;
  f.kind = Kind::kDropResponse;
  return f;
}

Fault Fault::Stall(Direction direction, milliseconds bound, uint64_t after_bytes) {
  Fault f;
  f.kind = Kind::kStall;
  f.direction = direction;
  f.duration = bound;
  f.after_bytes = after_bytes;
  return f;
}

Fault Fault::OnRequest(int k) const {
  Fault f = *this;
  f.scope = Scope::kRequest;
  f.index = k;
  return f;
}

Fault Fault::OnConnection(int k) const {
  Fault f = *this;
  f.scope = Scope::kConnection;
  f.index = k;
  return f;
}

Fault Fault::Late() const {
  Fault f = *this;
  f.late = true;
  return f;
}

Fault Fault::Onward() const {
  Fault f = *this;
  f.onward = true;
  return f;
}

std::string Fault::ToString() const {
  std::string s;
  switch (kind) {
    case Kind::kLatency:
      s = "latency " + std::to_string(duration.count()) + " ms " + DirectionName(direction);
      break;
    case Kind::kCut:
      s = std::string(reset ? "reset " : "cut ") + DirectionName(direction) + " after " +
          std::to_string(after_bytes) + " B";
      break;
    case Kind::kDropResponse:
      s = "drop the response";
      break;
    case Kind::kStall:
      s = std::string("stall ") + DirectionName(direction) + " for " +
          std::to_string(duration.count()) + " ms after " + std::to_string(after_bytes) + " B" +
          (late ? ", delivered late" : "");
      break;
  }
  s += scope == Scope::kRequest ? " on request " : " on connection ";
  s += index == 0 ? std::string("every one") : std::to_string(index);
  if (onward && index != 0) s += " and every later one";
  return s;
}

namespace {

// What the writer of a pump does when it reaches an item of its queue.
struct Item {
  enum class Type { kData, kStall, kHalfCloseUpstream, kClose, kEndOfStream };
  Type type = Type::kData;
  std::string bytes;      // kData
  Clock::time_point due;  // kData: not before (latency); kStall: until, once started
  milliseconds stall{0};  // kStall
  bool stall_started = false;
  bool reset = false;  // kClose
  bool late = false;   // kStall
  int fault_id = 0;    // kStall, kHalfCloseUpstream, kClose: the fault to mark fired
};

// A fault's action at an absolute byte position of one direction.
struct Action {
  uint64_t at = 0;
  Item::Type type = Item::Type::kClose;
  milliseconds stall{0};
  bool reset = false;
  bool late = false;
  int fault_id = 0;
};

// Splits a byte stream into TLS records (5-byte header: type, version, length).
class RecordParser {
 public:
  struct Header {
    uint8_t type;
    uint16_t length;
    uint64_t start;  // Absolute position of the header's first byte.
  };
  // Parses `n` bytes that start at absolute position `at`; returns the headers completed.
  std::vector<Header> Feed(const char* data, size_t n, uint64_t at) {
    std::vector<Header> out;
    size_t i = 0;
    while (i < n && !plain_) {
      if (body_left_ > 0) {
        size_t take = std::min<uint64_t>(body_left_, n - i);
        i += take;
        body_left_ -= take;
        continue;
      }
      auto byte = static_cast<uint8_t>(data[i]);
      if (have_ == 0 && (byte < 20 || byte > 24)) {
        plain_ = true;  // Not TLS (or lost sync): count turns of raw bytes instead.
        break;
      }
      header_[have_++] = byte;
      ++i;
      if (have_ == 5) {
        have_ = 0;
        auto length = static_cast<uint16_t>((header_[3] << 8) | header_[4]);
        body_left_ = length;
        out.push_back(Header{header_[0], length, at + i - 5});
      }
    }
    return out;
  }
  bool plain() const { return plain_; }

 private:
  std::array<uint8_t, 5> header_{};
  int have_ = 0;
  uint64_t body_left_ = 0;
  bool plain_ = false;
};

}  // namespace

struct FaultProxy::Impl : std::enable_shared_from_this<FaultProxy::Impl> {
  class Connection;

  explicit Impl(int target) : target_port(target) {}

  // ---- shared with the test's thread, under `mutex`
  mutable std::mutex mutex;
  std::vector<std::pair<int, Fault>> faults;  // id, fault
  std::map<int, bool> fired;
  std::vector<std::string> log;
  int next_fault_id = 1;
  int connection_count = 0;
  int request_count = 0;

  std::condition_variable idle;  // Notified when a connection closes.
  int open_connections = 0;

  void ConnectionClosed() {
    std::lock_guard lock(mutex);
    --open_connections;
    idle.notify_all();
  }
  void Note(const std::string& line) {
    std::lock_guard lock(mutex);
    log.push_back(line);
  }
  void MarkFired(int id, const std::string& what) {
    std::lock_guard lock(mutex);
    if (id != 0 && !fired[id]) {
      fired[id] = true;
      log.push_back("  fault " + std::to_string(id) + " acts: " + what);
    }
  }
  // The faults aimed at the `index`-th connection or request.
  std::vector<std::pair<int, Fault>> Matching(Fault::Scope scope, int index) {
    std::lock_guard lock(mutex);
    std::vector<std::pair<int, Fault>> out;
    for (const auto& [id, f] : faults) {
      bool hit = f.index == 0 || f.index == index || (f.onward && index > f.index);
      if (f.scope == scope && hit) out.emplace_back(id, f);
    }
    return out;
  }

  // ---- the io thread's
  const int target_port;
  // A unique_ptr, not a std::optional: clang-analyzer before 20 destroys a union's members
  // and reports a use after free in ~io_context (llvm/llvm-project#119415).
  std::unique_ptr<net::io_context> ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::weak_ptr<Connection>> live;
  std::thread thread;
  int port = 0;

  void Accept();
  void ForEachLive(const std::function<void(Connection&)>& fn) {
    std::vector<std::weak_ptr<Connection>> still;
    for (auto& weak : live) {
      if (auto c = weak.lock()) {
        fn(*c);
        still.push_back(weak);
      }
    }
    live = std::move(still);
  }
};

class FaultProxy::Impl::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<Impl> proxy, tcp::socket client, int id)
      : proxy_(std::move(proxy)),
        id_(id),
        client_(std::move(client)),
        server_(*proxy_->ioc),
        pumps_{Pump(*proxy_->ioc), Pump(*proxy_->ioc)} {}

  void Start() {
    for (const auto& [fid, fault] : proxy_->Matching(Fault::Scope::kConnection, id_)) {
      Activate(fid, fault);
    }
    tcp::endpoint upstream(net::ip::make_address_v4("127.0.0.1"),
                           static_cast<uint16_t>(proxy_->target_port));
    server_.async_connect(upstream, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) {
        self->proxy_->Note("conn " + std::to_string(self->id_) + ": upstream " + ec.message());
        return self->CloseBoth(/*reset=*/true, "no upstream");
      }
      self->Read(kC2S);
      self->Read(kS2C);
    });
  }

  void CloseBoth(bool reset, const char* why) {
    if (closed_) return;
    closed_ = true;
    proxy_->Note(Name() + (reset ? ": reset, " : ": closed, ") + why);
    proxy_->ConnectionClosed();
    boost::system::error_code ignored;
    for (tcp::socket* s : {&client_, &server_}) {
      if (reset) s->set_option(net::socket_base::linger(true, 0), ignored);
      s->close(ignored);
    }
    for (Pump& p : pumps_) p.timer.cancel();
  }

  // Ends stalls and, with `lift_all`, every fault on this connection.
  void Lift(bool lift_all) {
    for (Pump& p : pumps_) {
      for (Item& item : p.queue) {
        if (item.type == Item::Type::kStall) item.stall = milliseconds(0);
        if (lift_all && item.type == Item::Type::kData) item.due = Clock::now();
      }
      p.timer.cancel();
    }
    if (lift_all) {
      active_.clear();
      for (Pump& p : pumps_) p.actions.clear();
    }
  }

 private:
  struct Pump {
    explicit Pump(net::io_context& ioc) : timer(ioc) {}
    std::array<char, 16384> buffer{};
    std::deque<Item> queue;
    size_t queued_bytes = 0;
    uint64_t read_total = 0;  // Bytes read so far in this direction.
    std::vector<Action> actions;
    RecordParser parser;
    net::steady_timer timer;
    bool reading = false;
    bool writing = false;
    bool waiting = false;  // On the timer.
    bool ended = false;    // Nothing more is read or forwarded in this direction.
  };
  struct Active {
    int id;
    Fault fault;
  };

  tcp::socket& From(int pump) { return pump == kC2S ? client_ : server_; }
  tcp::socket& To(int pump) { return pump == kC2S ? server_ : client_; }
  std::string Name() const { return "conn " + std::to_string(id_); }

  // Makes `fault` act on this connection from now on.
  void Activate(int fid, const Fault& fault) {
    active_.push_back({fid, fault});
    proxy_->Note("  " + Name() + ": " + fault.ToString() + " (fault " + std::to_string(fid) + ")");
    for (int pump : {kC2S, kS2C}) {
      if (!Covers(fault.direction, pump)) continue;
      uint64_t at = (pump == kC2S && request_start_) ? *request_start_ : pumps_[pump].read_total;
      switch (fault.kind) {
        case Fault::Kind::kLatency:
          proxy_->MarkFired(fid, fault.ToString());
          break;
        case Fault::Kind::kCut:
          pumps_[pump].actions.push_back({at + fault.after_bytes, Item::Type::kClose,
                                          milliseconds(0), fault.reset, false, fid});
          break;
        case Fault::Kind::kStall:
          pumps_[pump].actions.push_back(
              {at + fault.after_bytes, Item::Type::kStall, fault.duration, false, fault.late, fid});
          break;
        case Fault::Kind::kDropResponse:
          break;
      }
    }
    if (fault.kind == Fault::Kind::kDropResponse) {  // Only ever matched on a request.
      pumps_[kC2S].actions.push_back(
          {request_end_, Item::Type::kHalfCloseUpstream, milliseconds(0), false, false, fid});
      swallow_ = true;
    }
  }

  // A request starts at absolute client→server position `start`; its record ends at `end`.
  void StartRequest(uint64_t start, uint64_t end) {
    // The previous request's faults end here.
    std::erase_if(active_, [](const Active& a) { return a.fault.scope == Fault::Scope::kRequest; });
    for (Pump& p : pumps_) {
      std::erase_if(p.actions, [this](const Action& a) {
        return std::none_of(active_.begin(), active_.end(),
                            [&](const Active& x) { return x.id == a.fault_id; });
      });
    }
    int number = 0;
    {
      std::lock_guard lock(proxy_->mutex);
      number = ++proxy_->request_count;
    }
    ++requests_here_;
    proxy_->Note(Name() + ": request " + std::to_string(number) + " at byte " +
                 std::to_string(start));
    request_start_ = start;
    request_end_ = end;
    for (const auto& [fid, fault] : proxy_->Matching(Fault::Scope::kRequest, number)) {
      Activate(fid, fault);
    }
    request_start_.reset();
  }

  // Turn-taking over TLS records (fault_proxy.h, rules 1–3).
  void OnRecord(int pump, const RecordParser::Header& h) {
    if (h.type != kApplicationData) return;
    if (pump == kS2C) {
      ++server_app_records_;
      if (h.length > kMaxAlertRecord && requests_here_ > 0) server_answered_ = true;
      return;
    }
    if (!client_app_seen_) {
      client_app_seen_ = true;
      if (server_app_records_ > 0) return;  // TLS 1.3: the client's Finished.
    }
    if (h.length <= kMaxAlertRecord) return;
    if (requests_here_ == 0 || server_answered_) StartRequest(h.start, h.start + 5 + h.length);
    server_answered_ = false;
  }

  void Read(int pump) {
    Pump& p = pumps_[pump];
    if (closed_ || p.ended || p.reading || p.queued_bytes > kMaxQueued) return;
    p.reading = true;
    From(pump).async_read_some(net::buffer(p.buffer), [self = shared_from_this(), pump](
                                                          boost::system::error_code ec, size_t n) {
      self->OnRead(pump, ec, n);
    });
  }

  void OnRead(int pump, boost::system::error_code ec, size_t n) {
    Pump& p = pumps_[pump];
    p.reading = false;
    if (closed_) return;
    if (ec) {
      // The sender closed (or reset). Bytes held for it by a stall are dropped with the
      // connection, unless the stall delivers late.
      bool held = false;
      bool late = false;
      for (const Item& i : p.queue) {
        if (i.type != Item::Type::kStall) continue;
        held = true;
        late = late || i.late;
      }
      if (held && !late)
        return CloseBoth(false, pump == kC2S ? "client left a stall" : "server left a stall");
      if (ec == net::error::eof || late) {
        Item end;
        end.type = Item::Type::kEndOfStream;
        p.queue.push_back(std::move(end));
        p.ended = true;
        return Write(pump);
      }
      // Pass a reset on as a reset.
      return CloseBoth(/*reset=*/true, pump == kC2S ? "client reset" : "server reset");
    }
    const char* data = p.buffer.data();
    uint64_t at = p.read_total;
    p.read_total += n;
    if (!p.parser.plain()) {
      for (const auto& h : p.parser.Feed(data, n, at)) OnRecord(pump, h);
    }
    if (p.parser.plain()) {  // Raw turns.
      if (pump == kC2S && (requests_here_ == 0 || server_answered_)) StartRequest(at, at + n);
      if (pump == kC2S) server_answered_ = false;
      if (pump == kS2C && requests_here_ > 0) server_answered_ = true;
    }
    Queue(pump, data, n, at);
    Write(pump);
    Read(pump);
  }

  // Queues bytes [at, at + n) of a direction, split at the actions that fall inside.
  void Queue(int pump, const char* data, size_t n, uint64_t at) {
    Pump& p = pumps_[pump];
    if (pump == kS2C && swallow_) return;  // A dropped response.
    milliseconds delay(0);
    for (const Active& a : active_) {
      if (a.fault.kind == Fault::Kind::kLatency && Covers(a.fault.direction, pump)) {
        delay += a.fault.duration;
      }
    }
    std::sort(p.actions.begin(), p.actions.end(),
              [](const Action& x, const Action& y) { return x.at < y.at; });
    size_t done = 0;
    while (!p.ended) {
      auto next = std::find_if(p.actions.begin(), p.actions.end(),
                               [&](const Action& a) { return a.at <= at + n; });
      size_t upto = n;
      if (next != p.actions.end()) upto = next->at > at ? next->at - at : 0;
      upto = std::max(upto, done);
      if (upto > done) {
        Item item;
        item.bytes.assign(data + done, upto - done);
        item.due = Clock::now() + delay;
        p.queued_bytes += item.bytes.size();
        p.queue.push_back(std::move(item));
        done = upto;
      }
      if (next == p.actions.end()) break;
      Item marker;
      marker.type = next->type;
      marker.stall = next->stall;
      marker.reset = next->reset;
      marker.late = next->late;
      marker.fault_id = next->fault_id;
      p.queue.push_back(std::move(marker));
      if (next->type == Item::Type::kClose || next->type == Item::Type::kHalfCloseUpstream) {
        p.ended = true;  // Whatever else this side sends goes nowhere.
      }
      p.actions.erase(next);
    }
  }

  void Write(int pump) {
    Pump& p = pumps_[pump];
    while (!closed_ && !p.writing && !p.waiting && !p.queue.empty()) {
      Item& item = p.queue.front();
      Clock::time_point now = Clock::now();
      switch (item.type) {
        case Item::Type::kData:
          if (item.due > now) return Wait(pump, item.due);
          p.writing = true;
          net::async_write(To(pump), net::buffer(item.bytes),
                           [self = shared_from_this(), pump](boost::system::error_code ec, size_t) {
                             Pump& q = self->pumps_[pump];
                             q.writing = false;
                             if (self->closed_) return;
                             if (ec) return self->CloseBoth(/*reset=*/true, "write failed");
                             q.queued_bytes -= q.queue.front().bytes.size();
                             q.queue.pop_front();
                             self->Write(pump);
                             self->Read(pump);
                           });
          return;
        case Item::Type::kStall:
          if (!item.stall_started) {
            item.stall_started = true;
            item.due = now + item.stall;
            proxy_->MarkFired(
                item.fault_id,
                Name() + " stalls " + (pump == kC2S ? "client->server" : "server->client"));
          }
          if (item.stall > milliseconds(0) && item.due > now) return Wait(pump, item.due);
          proxy_->Note("  " + Name() + ": stall ends");
          p.queue.pop_front();
          break;
        case Item::Type::kHalfCloseUpstream: {
          boost::system::error_code ignored;
          server_.shutdown(tcp::socket::shutdown_send, ignored);
          proxy_->MarkFired(item.fault_id, Name() + " half-closed towards the server");
          p.queue.pop_front();
          break;
        }
        case Item::Type::kClose:
          proxy_->MarkFired(item.fault_id, Name() + (item.reset ? " reset" : " closed"));
          return CloseBoth(item.reset, "by the fault");
        case Item::Type::kEndOfStream:
          if (pump == kS2C) return CloseBoth(false, "server closed");
          {
            // The client closed: pass the FIN on and let the server finish (it may still be
            // answering a request delivered late).
            boost::system::error_code ignored;
            server_.shutdown(tcp::socket::shutdown_send, ignored);
            proxy_->Note(Name() + ": client closed");
            p.queue.pop_front();
          }
          break;
      }
    }
  }

  void Wait(int pump, Clock::time_point until) {
    Pump& p = pumps_[pump];
    p.waiting = true;
    p.timer.expires_at(until);
    p.timer.async_wait([self = shared_from_this(), pump](boost::system::error_code) {
      self->pumps_[pump].waiting = false;
      self->Write(pump);
    });
  }

  std::shared_ptr<Impl> proxy_;
  const int id_;
  tcp::socket client_;
  tcp::socket server_;
  std::array<Pump, 2> pumps_;
  std::vector<Active> active_;
  bool closed_ = false;
  bool swallow_ = false;  // Server → client bytes are dropped.
  // Turn-taking.
  int requests_here_ = 0;
  int server_app_records_ = 0;
  bool client_app_seen_ = false;
  bool server_answered_ = false;
  std::optional<uint64_t> request_start_;  // While a request's faults are matched.
  uint64_t request_end_ = 0;
};

void FaultProxy::Impl::Accept() {
  acceptor->async_accept(
      [self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
        if (ec || !self->acceptor->is_open()) return;
        int id = 0;
        {
          std::lock_guard lock(self->mutex);
          id = ++self->connection_count;
          ++self->open_connections;
          self->log.push_back("conn " + std::to_string(id) + ": accepted");
        }
        auto c = std::make_shared<Connection>(self, std::move(socket), id);
        self->live.push_back(c);
        c->Start();
        self->Accept();
      });
}

FaultProxy::FaultProxy(int target_port) : impl_(std::make_shared<Impl>(target_port)) {
  Impl& m = *impl_;
  m.ioc = std::make_unique<net::io_context>(1);
  m.work.emplace(m.ioc->get_executor());
  m.acceptor.emplace(*m.ioc);
  boost::system::error_code ec;
  tcp::endpoint endpoint(net::ip::make_address_v4("127.0.0.1"), 0);
  m.acceptor->open(endpoint.protocol(), ec);
  if (!ec) m.acceptor->bind(endpoint, ec);
  if (!ec) m.acceptor->listen(net::socket_base::max_listen_connections, ec);
  REQUIRE_MESSAGE(!ec, "fault proxy cannot listen: " << ec.message());
  m.port = m.acceptor->local_endpoint().port();
  m.Accept();
  m.thread = std::thread([&m] { m.ioc->run(); });
}

FaultProxy::~FaultProxy() { Stop(); }

void FaultProxy::Stop() {
  Impl& m = *impl_;
  if (!m.thread.joinable()) return;
  net::post(*m.ioc, [&m] {
    boost::system::error_code ignored;
    m.acceptor->close(ignored);
    m.ForEachLive([](Impl::Connection& c) { c.CloseBoth(false, "proxy stops"); });
    m.work.reset();
    m.ioc->stop();
  });
  m.thread.join();
  // Connections live in the handlers the io_context still holds; it destroys them. They
  // hold the Impl, so break that cycle by destroying the io_context now.
  m.acceptor.reset();
  m.ioc.reset();
  m.live.clear();
}

int FaultProxy::port() const { return impl_->port; }

std::string FaultProxy::url() const { return "https://127.0.0.1:" + std::to_string(port()); }

int FaultProxy::AddFault(const Fault& fault) {
  REQUIRE_MESSAGE(
      (fault.kind != Fault::Kind::kDropResponse || fault.scope == Fault::Scope::kRequest),
      "a dropped response is aimed at a request, not a connection");
  std::lock_guard lock(impl_->mutex);
  int id = impl_->next_fault_id++;
  impl_->faults.emplace_back(id, fault);
  impl_->fired[id] = false;
  impl_->log.push_back("fault " + std::to_string(id) + " added: " + fault.ToString());
  return id;
}

void FaultProxy::ClearFaults() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->faults.clear();
    impl_->log.emplace_back("faults cleared");
  }
  if (!impl_->thread.joinable()) return;
  std::promise<void> done;
  net::post(*impl_->ioc, [this, &done] {
    impl_->ForEachLive([](Impl::Connection& c) { c.Lift(/*lift_all=*/true); });
    done.set_value();
  });
  done.get_future().wait();
}

void FaultProxy::ReleaseStalls() {
  if (!impl_->thread.joinable()) return;
  std::promise<void> done;
  net::post(*impl_->ioc, [this, &done] {
    impl_->ForEachLive([](Impl::Connection& c) { c.Lift(/*lift_all=*/false); });
    done.set_value();
  });
  done.get_future().wait();
}

bool FaultProxy::Fired(int id) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->fired.find(id);
  return it != impl_->fired.end() && it->second;
}

int FaultProxy::connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->connection_count;
}

int FaultProxy::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->request_count;
}

bool FaultProxy::WaitIdle(milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->idle.wait_for(lock, timeout, [this] { return impl_->open_connections == 0; });
}

std::string FaultProxy::Log() const {
  std::lock_guard lock(impl_->mutex);
  std::string out;
  for (const std::string& line : impl_->log) out += line + "\n";
  return out;
}

}  // namespace vigil::testing
