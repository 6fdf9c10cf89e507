#include "metrics/metrics.h"

#include <sstream>

namespace vigil::syncd {
namespace {

// Prometheus label values escape backslash, quote and newline.
std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

void Metrics::CountRequest(const std::string& endpoint, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
}

void Metrics::CountBatchAccepted(uint64_t records_stored) {
  std::lock_guard lock(mu_);
  ++batches_;
  records_ += records_stored;
}

void Metrics::CountRejection(const std::string& reason) {
  std::lock_guard lock(mu_);
  if (rejections_.size() < 1000 || rejections_.count(reason) > 0) ++rejections_[reason];
}

void Metrics::ObserveIngestLatency(double seconds) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++bucket_counts_[i];
  }
  ++latency_count_;
  latency_sum_ += seconds;
}

void Metrics::ConnectionOpened() {
  ++open_connections_;
  ++connections_accepted_;
}

void Metrics::ConnectionClosed() { --open_connections_; }

void Metrics::ConnectionRefused(ConnectionRefusal reason) {
  ++connections_refused_[static_cast<size_t>(reason)];
}

uint64_t Metrics::requests_total() const {
  std::lock_guard lock(mu_);
  uint64_t total = 0;
  for (const auto& [key, n] : requests_) total += n;
  return total;
}

uint64_t Metrics::batches_accepted() const {
  std::lock_guard lock(mu_);
  return batches_;
}

uint64_t Metrics::records_accepted() const {
  std::lock_guard lock(mu_);
  return records_;
}

std::string Metrics::Render(const StoreGauges& store) const {
  std::lock_guard lock(mu_);
  std::ostringstream out;
  out << "# HELP syncd_requests_total Requests answered, by endpoint and HTTP status.\n"
      << "# TYPE syncd_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out << "syncd_requests_total{endpoint=\"" << Escape(key.first) << "\",status=\"" << key.second
        << "\"} " << n << "\n";
  }
  out << "# HELP syncd_batches_accepted_total Batches stored.\n"
      << "# TYPE syncd_batches_accepted_total counter\n"
      << "syncd_batches_accepted_total " << batches_ << "\n"
      << "# HELP syncd_records_accepted_total Records stored.\n"
      << "# TYPE syncd_records_accepted_total counter\n"
      << "syncd_records_accepted_total " << records_ << "\n"
      << "# HELP syncd_rejections_total Refused requests and rejected records, by reason.\n"
      << "# TYPE syncd_rejections_total counter\n";
  for (const auto& [reason, n] : rejections_) {
    out << "syncd_rejections_total{reason=\"" << Escape(reason) << "\"} " << n << "\n";
  }
  out << "# HELP syncd_ingest_latency_seconds Push latency from request to answer.\n"
      << "# TYPE syncd_ingest_latency_seconds histogram\n";
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    out << "syncd_ingest_latency_seconds_bucket{le=\"" << kBuckets[i] << "\"} " << bucket_counts_[i]
        << "\n";
  }
  out << "syncd_ingest_latency_seconds_bucket{le=\"+Inf\"} " << latency_count_ << "\n"
      << "syncd_ingest_latency_seconds_sum " << latency_sum_ << "\n"
      << "syncd_ingest_latency_seconds_count " << latency_count_ << "\n"
      << "# HELP syncd_writer_queue_depth Requests waiting for the store's writer.\n"
      << "# TYPE syncd_writer_queue_depth gauge\n"
      << "syncd_writer_queue_depth " << store.writer_queue_depth << "\n"
      << "# HELP syncd_store_up Whether the store's writer is connected to its database.\n"
      << "# TYPE syncd_store_up gauge\n"
      << "syncd_store_up " << (store.database_up ? 1 : 0) << "\n"
      << "# HELP syncd_store_reconnects_total Times the writer connected to the database again "
         "after losing it.\n"
      << "# TYPE syncd_store_reconnects_total counter\n"
      << "syncd_store_reconnects_total " << store.reconnects << "\n"
      << "# HELP syncd_open_connections Client connections open now.\n"
      << "# TYPE syncd_open_connections gauge\n"
      << "syncd_open_connections " << open_connections_.load() << "\n"
      << "# HELP syncd_connections_accepted_total Client connections accepted.\n"
      << "# TYPE syncd_connections_accepted_total counter\n"
      << "syncd_connections_accepted_total " << connections_accepted_.load() << "\n"
      << "# HELP syncd_connections_refused_total Connections closed at accept, by reason.\n"
      << "# TYPE syncd_connections_refused_total counter\n";
  static constexpr const char* kReasons[] = {"max_connections", "per_address", "accept_error"};
  for (size_t i = 0; i < connections_refused_.size(); ++i) {
    out << "syncd_connections_refused_total{reason=\"" << kReasons[i] << "\"} "
        << connections_refused_[i].load() << "\n";
  }
  return out.str();
}

}  // namespace vigil::syncd
