// A fault-injecting TCP proxy for integration tests: it listens on 127.0.0.1 (a port the OS
// picks), forwards every connection to syncd's port, and breaks chosen connections or requests
// on purpose: added latency, a cut after N bytes in either direction (FIN or RST), a dropped
// response after the server committed, a stall.
//
// The proxy works on bytes: TLS passes through untouched, and a device that pins syncd's key
// talks to syncd through it unchanged. To aim a fault at one request of a keep-alive
// connection it reads the TLS record headers (plaintext in every TLS version) and counts
// turns:
//  1. A request starts with a client application-data record that follows server
//     application data (or is the first on its connection). Encrypted alerts (≤ 40 bytes) do
//     not count.
//  2. In TLS 1.3 the server sends application-data records (its encrypted handshake) before
//     the client sends any; the client's first application-data record is then its Finished,
//     not a request. In TLS 1.2 the client's first application-data record is its request.
//  3. Server application data before the first request of a connection (TLS 1.3 handshake,
//     session tickets) does not end a turn. Tickets that arrive after the first request began
//     could split a request sent as several TLS records; curl sends a request below 16 KiB
//     (all those of these tests) as one record, so this does not arise here.
// A stream that does not start like TLS is counted by turns of raw bytes.
//
// Connections and requests are numbered 1, 2, 3 … from the proxy's start, across connections,
// in the order they start. Thread safety: every public method may be called from any thread
// while the proxy runs; the forwarding itself runs on the proxy's own thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace vigil::testing {

enum class Direction { kClientToServer, kServerToClient, kBoth };

// One fault. It is matched when a connection is accepted (kConnection) or when a request
// starts (kRequest) and then applies to that connection until it closes, or to that request
// until the next request on the connection starts. Byte counts start at that moment: for a
// request, client→server from the first byte of its first TLS record, server→client from the
// next byte read (on the first request of a TLS 1.3 connection that may be a session ticket
// rather than the answer).
struct Fault {
  enum class Kind {
    kLatency,       // Holds every chunk read in `direction` for `duration` before forwarding it.
    kCut,           // Forwards `after_bytes` in `direction`, then closes both sides: FIN, or RST
                    // (SO_LINGER 0) when `reset`.
    kDropResponse,  // kRequest only: forwards the whole request, then half-closes towards the
                    // server (which answers, then closes); swallows every byte the server sends
                    // and closes the client's connection once the server has closed its own.
                    // The server has committed whatever the request did; the client never hears.
    kStall,  // After `after_bytes` in `direction`, forwards nothing more in that direction for
             // `duration` (or until ReleaseStalls / ClearFaults), then resumes. If the side
             // whose bytes are held closes meanwhile, both sides are closed at once, unless
             // `late`: then the held bytes and the close are delivered when the stall ends
             // (a copy of a request that reaches the server after the client gave up on it).
  };
  enum class Scope { kConnection, kRequest };

  Kind kind = Kind::kLatency;
  Scope scope = Scope::kRequest;
  int index = 0;        // The k-th connection or request (1-based); 0: every one.
  bool onward = false;  // Also every connection or request after the k-th.
  Direction direction = Direction::kBoth;
  uint64_t after_bytes = 0;
  std::chrono::milliseconds duration{0};
  bool reset = false;
  bool late = false;

  static Fault Latency(std::chrono::milliseconds delay, Direction direction = Direction::kBoth);
  static Fault Cut(Direction direction, uint64_t after_bytes);
  static Fault Reset(Direction direction, uint64_t after_bytes);
  static Fault DropResponse();
  static Fault Stall(Direction direction, std::chrono::milliseconds bound,
                     uint64_t after_bytes = 0);
  // The same fault aimed at the k-th request or connection (0: every one).
  Fault OnRequest(int k) const;
  Fault OnConnection(int k) const;
  // The same fault on the k-th and every later request or connection.
  Fault Onward() const;
  // The same stall, delivering late what its sender gave up on.
  Fault Late() const;
  // E.g. "cut client->server after 10 B on request 3", for test messages.
  std::string ToString() const;
};

class FaultProxy {
 public:
  // Listens on 127.0.0.1, port 0, and starts forwarding to 127.0.0.1:`target_port` on its own
  // thread. Fails the running test if it cannot listen.
  explicit FaultProxy(int target_port);
  // Stop().
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // Closes the listener and every connection, and joins the thread. Idempotent.
  void Stop();

  // The port the proxy listens on, and "https://127.0.0.1:<port>".
  int port() const;
  std::string url() const;

  // Adds a fault; returns its id for Fired(). Takes effect for connections and requests that
  // start after the call.
  int AddFault(const Fault& fault);
  // Removes every fault, lifts latency and stalls on live connections (held bytes are
  // forwarded), and stops cuts and drops that have not acted yet. What already acted stays.
  void ClearFaults();
  // Ends every stall now (held bytes are forwarded).
  void ReleaseStalls();

  // True once fault `id` acted: a latency or stall began, a cut closed, a drop half-closed
  // towards the server.
  bool Fired(int id) const;
  int connections() const;  // Accepted so far.
  int requests() const;     // Started so far.
  // Waits until every connection accepted so far has closed (late deliveries done); false if
  // that takes longer than `timeout`.
  bool WaitIdle(std::chrono::milliseconds timeout) const;
  // What the proxy did, one line per event, for failure messages.
  std::string Log() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace vigil::testing
