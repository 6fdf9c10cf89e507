// Counters and a latency histogram, rendered in the Prometheus text format for GET /metrics.
// Thread-safe; cheap enough to call once per request.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace vigil::syncd {

class Metrics {
 public:
  // One answered request on `endpoint` ("/v1/push", or "other") with HTTP `status`.
  void CountRequest(const std::string& endpoint, int status);
  void CountBatchAccepted(uint64_t records_stored);
  // A refused request or a rejected record, by reason (an ErrorCode name or record reason).
  void CountRejection(const std::string& reason);
  // Time from a push's arrival to its answer.
  void ObserveIngestLatency(double seconds);

  // Connections (docs/operations.md §8): one accepted and now open, one closed, one refused at
  // accept because a connection cap was reached (`reason`: kMaxConnections or kPerAddress) or
  // because accepting failed (kAcceptError, e.g. no file descriptor left).
  enum class ConnectionRefusal { kMaxConnections, kPerAddress, kAcceptError };
  void ConnectionOpened();
  void ConnectionClosed();
  void ConnectionRefused(ConnectionRefusal reason);
  // Connections open now.
  int64_t open_connections() const { return open_connections_.load(); }

  // Requests answered so far, by status class; for the summary line on stop.
  uint64_t requests_total() const;
  uint64_t batches_accepted() const;
  uint64_t records_accepted() const;

  // What the store reports of itself at the time of a scrape.
  struct StoreGauges {
    size_t writer_queue_depth = 0;
    bool database_up = true;  // The writer's database connection is up.
    uint64_t reconnects = 0;  // Times it connected again after losing it.
  };

  // The whole exposition, with the store's gauges.
  std::string Render(const StoreGauges& store) const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1.0,  2.5,   5.0};
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // GUARDED_BY(mu_)
  std::map<std::string, uint64_t> rejections_;                // GUARDED_BY(mu_)
  uint64_t batches_ = 0;                                      // GUARDED_BY(mu_)
  uint64_t records_ = 0;                                      // GUARDED_BY(mu_)
  std::array<uint64_t, kBuckets.size()> bucket_counts_{};     // GUARDED_BY(mu_)
  uint64_t latency_count_ = 0;                                // GUARDED_BY(mu_)
  double latency_sum_ = 0;                                    // GUARDED_BY(mu_)
  // Connection counts change on every accept and close, from any I/O thread: atomics.
  std::atomic<int64_t> open_connections_{0};
  std::atomic<uint64_t> connections_accepted_{0};
  std::array<std::atomic<uint64_t>, 3> connections_refused_{};
};

}  // namespace vigil::syncd
