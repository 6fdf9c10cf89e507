#include "dashboard/events.h"

#include <algorithm>

namespace vigil::syncd::dashboard {

std::string FormatEvent(const std::string& name, const std::string& data) {
  std::string line = data;
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::replace(line.begin(), line.end(), '\r', ' ');
  return "event: " + name + "\ndata: " + line + "\n\n";
}

uint64_t EventHub::Subscribe(Sink sink) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || sinks_.size() >= max_streams_) return 0;
  const uint64_t id = next_id_++;
  sinks_.emplace(id, std::move(sink));
  return id;
}

void EventHub::Unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  sinks_.erase(id);
}

void EventHub::Publish(const std::string& name, const std::string& data) {
  Send(FormatEvent(name, data));
}

void EventHub::Heartbeat() { Send(": keep-alive\n\n"); }

void EventHub::Send(const std::string& chunk) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = sinks_.begin(); it != sinks_.end();) {
    it = it->second(chunk) ? std::next(it) : sinks_.erase(it);
  }
}

void EventHub::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  sinks_.clear();
}

size_t EventHub::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return sinks_.size();
}

}  // namespace vigil::syncd::dashboard
