// syncd as the router and dashboard fuzz targets see it: a real SQLite store in a temporary
// directory (in /dev/shm when there is one) holding one station, observer obs1, the published
// fuzz::SampleForm() and the fuzz device, enrolled with a code as a tablet would.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "http/router.h"
#include "metrics/metrics.h"
#include "store/sql_store.h"
#include "support/temp_dir.h"
#include "vigil/v1/records.pb.h"

namespace vigil::fuzz {

// The station every fuzz server knows.
inline constexpr const char* kStationCode = "12-03-07-0452";

class FuzzServer {
 public:
  // `name` names the temporary directory. Aborts when the server cannot be set up.
  explicit FuzzServer(const std::string& name);
  ~FuzzServer();
  FuzzServer(const FuzzServer&) = delete;
  FuzzServer& operator=(const FuzzServer&) = delete;

  syncd::SqlStore& store() { return *store_; }
  syncd::Router& router() { return *router_; }

 private:
  test_support::TempDir dir_;  // Removed after the store is closed.
  std::unique_ptr<syncd::SqlStore> store_;
  syncd::Metrics metrics_;
  std::unique_ptr<syncd::Router> router_;
};

// Aborts the fuzz target (a broken invariant is a finding) unless `ok`.
void Require(bool ok);

// A checklist submission of obs1 at kStationCode answering q_yes and q_int = `voters`.
v1::Record Submission(const std::string& id, int64_t voters);
// A high-severity incident report at kStationCode.
v1::Record Incident(const std::string& id);
// Batch bytes of `records` from the fuzz device at `seq` after `prev_hash`.
std::string BatchBytes(const std::vector<v1::Record>& records, uint64_t seq,
                       const std::string& prev_hash);
// A POST /v1/push body: `batch_bytes` signed by the fuzz device for `server_id`.
std::string SignedBatchBody(const std::string& batch_bytes, std::string_view server_id);

}  // namespace vigil::fuzz
