// One PostgreSQL connection that LISTENs on a channel and hands every notification to a
// callback (docs/architecture.md §10: dashboard events fan out across syncd nodes by
// LISTEN/NOTIFY).
//
// NOTES
//  1. Start connects and LISTENs on the calling thread, so a notification committed after
//     Start returned successfully is delivered. Then one thread waits in poll() on the
//     connection's socket and on a wake-up pipe; PQconsumeInput and PQnotifies read what
//     arrived.
//  2. When the connection drops, the thread reconnects with a growing pause (0.1 s doubling up
//     to 5 s). Notifications sent while it was away are lost, so after each reconnection it
//     calls `on_notify` once with an empty payload: "something may have changed".
//  3. Stop (and the destructor) wakes the thread through the pipe and joins it, also in the
//     middle of a connection attempt; `on_notify` is never called after Stop returns.
//  4. Messages never hold the password of the URL (as PgConnection's).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "vigil/status.h"

struct pg_conn;

namespace vigil::syncd {

class PgListener {
 public:
  // Called on the listener's thread with each notification's payload (note 2).
  using OnNotify = std::function<void(const std::string& payload)>;

  // Listens on `channel` (letters, digits, '_') of the database at `url`; fails when the
  // first connection or its LISTEN fails.
  static Result<std::unique_ptr<PgListener>> Start(const std::string& url,
                                                   const std::string& channel, OnNotify on_notify);
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;
  ~PgListener();

  // Stops and joins the thread (note 3). Idempotent.
  void Stop();
  // Reconnections since Start (note 2).
  uint64_t reconnections() const { return reconnections_.load(); }
  // Whether the listening connection is up right now.
  bool connected() const { return connected_.load(); }
  // The server process of the current listening connection (for tests that end it), 0 if none.
  int backend_pid() const { return backend_pid_.load(); }

 private:
  PgListener(std::string url, std::string channel, OnNotify on_notify);
  // Connects and LISTENs; the connection, or nullptr (with `error` set) when that failed or
  // Stop interrupted it.
  pg_conn* Connect(std::string* error);
  // Waits for notifications on `conn` until it drops or Stop; takes ownership of it.
  void Listen(pg_conn* conn);
  void Loop(pg_conn* first);
  // Waits up to `ms` for Stop; true when stopping.
  bool WaitStop(int ms);

  const std::string url_;
  const std::string channel_;
  const OnNotify on_notify_;
  int wake_[2] = {-1, -1};  // Stop writes to wake_[1]; poll() watches wake_[0].
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::atomic<int> backend_pid_{0};
  std::atomic<uint64_t> reconnections_{0};
  std::thread thread_;
};

}  // namespace vigil::syncd
