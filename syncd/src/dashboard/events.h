// Server-Sent Events fan-out: one producer (the dashboard's ticker) formats each event once;
// every open stream gets the same bytes.
//
// INVARIANTS
//  1. Publish calls every sink with the mutex held, so after Unsubscribe(id) or Close()
//     returns, that sink is never called again.
//  2. A sink must not block and must not call back into the hub; it returns false to leave
//     (its stream has gone), and is then removed.
//  3. At most max_streams subscribers; Subscribe beyond that fails (the HTTP layer answers 503).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace vigil::syncd::dashboard {

class EventHub {
 public:
  // Receives one formatted event ("event: …\ndata: …\n\n"); false: unsubscribe me.
  using Sink = std::function<bool(const std::string& chunk)>;

  explicit EventHub(size_t max_streams) : max_streams_(max_streams) {}

  // A subscription id, or 0 when full or closed.
  uint64_t Subscribe(Sink sink);
  void Unsubscribe(uint64_t id);
  // Sends `data` (one line; newlines are not allowed in it) as event `name` to every sink.
  void Publish(const std::string& name, const std::string& data);
  // Sends a comment line (keeps proxies and browsers from timing the stream out).
  void Heartbeat();
  // Removes every sink and refuses new ones.
  void Close();
  size_t size();

 private:
  void Send(const std::string& chunk);

  const size_t max_streams_;
  std::mutex mu_;
  std::map<uint64_t, Sink> sinks_;  // GUARDED_BY(mu_)
  uint64_t next_id_ = 1;            // GUARDED_BY(mu_)
  bool closed_ = false;             // GUARDED_BY(mu_)
};

// "event: NAME\ndata: DATA\n\n" (DATA with any newline replaced by a space).
std::string FormatEvent(const std::string& name, const std::string& data);

}  // namespace vigil::syncd::dashboard
