#include "store/pg_listener.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "store/pg_connection.h"

namespace vigil::syncd {
namespace {

constexpr int kFirstPauseMs = 100;
constexpr int kLastPauseMs = 5000;

bool IsChannelName(const std::string& channel) {
  return !channel.empty() && channel.size() <= 63 &&
         std::all_of(channel.begin(), channel.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
         });
}

}  // namespace

PgListener::PgListener(std::string url, std::string channel, OnNotify on_notify)
    : url_(std::move(url)), channel_(std::move(channel)), on_notify_(std::move(on_notify)) {}

Result<std::unique_ptr<PgListener>> PgListener::Start(const std::string& url,
                                                      const std::string& channel,
                                                      OnNotify on_notify) {
  if (!IsChannelName(channel)) {
    return Status::InvalidArgument("a channel name has lower-case letters, digits and '_'");
  }
  std::unique_ptr<PgListener> listener(new PgListener(url, channel, std::move(on_notify)));
  if (pipe2(listener->wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return Status::Internal("postgres: no pipe for the change listener");
  }
  std::string error;
  PGconn* conn = listener->Connect(&error);
  if (conn == nullptr) return Status::Unavailable("postgres: change listener: " + error);
  listener->thread_ = std::thread([raw = listener.get(), conn] { raw->Loop(conn); });
  return listener;
}

PgListener::~PgListener() {
  Stop();
  for (int fd : wake_) {
    if (fd >= 0) close(fd);
  }
}

void PgListener::Stop() {
  if (!stopping_.exchange(true) && wake_[1] >= 0) {
    const char byte = 1;
    (void)!write(wake_[1], &byte, 1);
  }
  if (thread_.joinable()) thread_.join();
}

bool PgListener::WaitStop(int ms) {
  pollfd wake{wake_[0], POLLIN, 0};
  (void)poll(&wake, 1, ms);
  return stopping_.load();
}

PGconn* PgListener::Connect(std::string* error) {
  PGconn* conn = PQconnectStart(url_.c_str());
  if (conn == nullptr) {
    *error = "out of memory connecting";
    return nullptr;
  }
  // Waits until the socket is ready for `events`, or Stop; false on Stop or a broken socket.
  auto wait = [&](short events) {
    pollfd fds[2] = {{PQsocket(conn), events, 0}, {wake_[0], POLLIN, 0}};
    while (!stopping_.load()) {
      int ready = poll(fds, 2, 1000);
      if (ready < 0 && errno != EINTR) return false;
      if (ready > 0) return !stopping_.load();
    }
    return false;
  };
  PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
  while (PQstatus(conn) != CONNECTION_BAD && polling != PGRES_POLLING_OK &&
         polling != PGRES_POLLING_FAILED) {
    if (!wait(polling == PGRES_POLLING_READING ? POLLIN : POLLOUT)) break;
    polling = PQconnectPoll(conn);
  }
  bool ok = polling == PGRES_POLLING_OK && PQstatus(conn) == CONNECTION_OK;
  if (ok) {
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    ok = PQsendQuery(conn, ("LISTEN " + channel_).c_str()) == 1;
    while (ok && PQisBusy(conn) == 1) {
      ok = wait(POLLIN) && PQconsumeInput(conn) == 1;
    }
    while (ok) {
      PGresult* result = PQgetResult(conn);
      if (result == nullptr) break;
      ok = PQresultStatus(result) == PGRES_COMMAND_OK;
      PQclear(result);
    }
  }
  if (!ok) {
    *error = stopping_.load() ? "stopped" : "cannot connect and listen on " + PgServerOf(conn);
    PQfinish(conn);
    return nullptr;
  }
  (void)PQsetnonblocking(conn, 1);
  backend_pid_.store(PQbackendPID(conn));
  connected_.store(true);
  return conn;
}

void PgListener::Listen(PGconn* conn) {
  pollfd fds[2] = {{PQsocket(conn), POLLIN, 0}, {wake_[0], POLLIN, 0}};
  while (!stopping_.load()) {
    int ready = poll(fds, 2, 1000);
    if (ready < 0 && errno != EINTR) break;
    if (stopping_.load()) break;
    if (ready <= 0 || (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) == 0) continue;
    if (PQconsumeInput(conn) != 1 || PQstatus(conn) != CONNECTION_OK) break;
    while (PGnotify* notify = PQnotifies(conn)) {
      std::string payload = notify->extra != nullptr ? notify->extra : "";
      PQfreemem(notify);
      on_notify_(payload);
    }
  }
  connected_.store(false);
  backend_pid_.store(0);
  PQfinish(conn);
}

void PgListener::Loop(PGconn* first) {
  Listen(first);
  int pause_ms = kFirstPauseMs;
  while (!stopping_.load()) {
    if (WaitStop(pause_ms)) return;
    std::string error;
    PGconn* conn = Connect(&error);
    if (conn == nullptr) {
      pause_ms = std::min(pause_ms * 2, kLastPauseMs);
      continue;
    }
    pause_ms = kFirstPauseMs;
    reconnections_.fetch_add(1);
    on_notify_("");  // Changes made while away were not announced to this listener (note 2).
    Listen(conn);
  }
}

}  // namespace vigil::syncd
