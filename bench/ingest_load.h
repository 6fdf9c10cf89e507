// The device load that syncd's benchmarks put on the server (ingest_bench, dashboard_bench):
// a syncd process on 127.0.0.1 over HTTPS, a synthetic country in a fresh data dir,
// protocol-level devices enrolled for real, their pre-signed batches of sample checklists,
// and the libcurl loop that pushes those batches (closed loop or paced).
//
// The devices are protocol-level (keys in memory, batches made with vigil_protocol): they
// load the server, not their own stores. vigil-loadgen drives full clients.
//
// Nothing here is thread-safe: one thread owns a fleet and its Pusher.
#pragma once

#include <curl/curl.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/syncd_process.h"
#include "vigil/protocol/crypto.h"
#include "vigil/protocol/form_rules.h"
#include "vigil/status.h"
#include "vigil/v1/records.pb.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::bench {

using Clock = std::chrono::steady_clock;

// ----- small helpers for benchmark mains

// Prints "PROGRAM: what", stops the running syncd (if any) and exits with status 1.
[[noreturn]] void Die(const std::string& what);

template <typename T>
T Take(vigil::Result<T> r, const std::string& what) {
  if (!r.ok()) Die(what + ": " + r.status().ToString());
  return std::move(r).value();
}

// Runs a shell command and returns its stdout; dies when it fails.
std::string Run(const std::string& command);
// `s` in single quotes for the shell (paths made by the benchmarks hold no quote).
std::string Quote(const std::string& s);
// The p-quantile (0..1) of `v`, nearest rank; 0 for an empty vector.
double Percentile(std::vector<double> v, double p);
// The median (the mean of the middle two for an even count); 0 for an empty vector.
double Median(std::vector<double> v);
// A process's CPU seconds so far (user + system), from /proc.
double ProcessCpuSeconds(pid_t pid);
// A form compiled from its JSON definition (syncd/demo/forms/*.json).
protocol::Form LoadForm(const std::filesystem::path& json);

// ----- syncd

// A running `syncd serve` on 127.0.0.1 (port 0, --ready-file; tests/support's
// SyncdProcess), stopped with SIGTERM when destroyed, by Die, or (PR_SET_PDEATHSIG) when the
// benchmark itself dies. Its output goes to `data`/../syncd`node`.log. Several at once only
// on a PostgreSQL data dir (the nodes of one deployment; `node` tells them apart).
class Syncd {
 public:
  Syncd(const std::string& binary, const std::filesystem::path& data, bool merge = true,
        bool validate = true, const std::string& node = "");
  ~Syncd();
  Syncd(const Syncd&) = delete;
  Syncd& operator=(const Syncd&) = delete;

  const std::string& url() const { return process_.url(); }  // "https://127.0.0.1:PORT"
  pid_t pid() const { return process_.pid(); }

 private:
  test_support::SyncdProcess process_;
};

// ----- the country

// Station `i` of a national-size country (Cambodia 2023: 23,789 stations in 25 provinces,
// 1,652 communes), the layout coverage_bench and dashboard_bench use.
v1::Station NationalStation(int i);

// An observer and the stations assigned to it (the first is its enrollment code's).
struct ObserverPlan {
  std::string id;
  std::vector<std::string> stations;
};

// ingest_bench's country: `devices` stations and an observer for each (obs-I at station I).
void StationPerObserver(int devices, std::vector<v1::Station>* stations,
                        std::vector<ObserverPlan>* observers);

// `syncd init` of a fresh data dir `data` (its parent holds the CSV files; with
// `database_url`, `init --database`: the store is that PostgreSQL database), then imports
// `stations` and `observers` and publishes `forms` (JSON files).
void SetUpDataDir(const std::string& syncd, const std::filesystem::path& data,
                  const std::string& server_id, const std::vector<v1::Station>& stations,
                  const std::vector<ObserverPlan>& observers,
                  const std::vector<std::filesystem::path>& forms,
                  const std::string& database_url = "");

// ----- devices and their batches

// One serialized SignedBatch and how many checklists it carries.
struct Batch {
  std::string bytes;
  uint32_t records = 0;
};

// One simulated device: its key and id, its observer's stations and its signed batches.
struct Device {
  std::string id;
  std::string observer_id;
  std::vector<std::string> stations;  // Checklists cycle over these.
  std::unique_ptr<protocol::Ed25519PrivateKey> key;
  std::vector<Batch> batches;  // batches[k] has batch_seq k + 1.
  size_t next = 0;             // The next batch to push.
  std::string prev_hash;       // Hash of the last batch made; empty: none yet.
  std::string response;
  Clock::time_point sent_at;
};

// A device with a fresh key (not enrolled).
Device NewDevice();

// A sample checklist of `form` (example answers for `seed`) at `station`. Later seeds
// finalize later, so a device's newer checklist for a station supersedes its older one and
// merge recomputes the master each time (its worst case, as for first reports).
v1::Record SampleRecord(const protocol::Form& form, uint64_t seed, const std::string& station);

// Signs `records` as `d`'s batch `seq` chained to `prev_hash`; returns the serialized
// SignedBatch and sets *hash_out to the batch's hash.
std::string SignBatch(const Device& d, uint64_t seq, const std::string& prev_hash,
                      const v1::RecordList& records, const std::string& server_id,
                      std::string* hash_out);

// Appends `records` as `d`'s next batch.
void AppendBatch(Device& d, const v1::RecordList& records, const std::string& server_id);

// Appends `count` batches of `batch_size` sample checklists of `form`: batch seq is for
// station d.stations[seq % size] (one master for merge to recompute per batch, as with
// ingest_bench's one station per device), checklist k has seed seq * 131 + k.
void AppendChecklistBatches(Device& d, const protocol::Form& form, size_t count, int batch_size,
                            const std::string& server_id);

// Drops the batches already pushed (their memory), keeping the chain.
void DropPushedBatches(Device& d);

// ----- HTTPS

// CURLOPT_PINNEDPUBLICKEY's form of the SHA-256 pin of a key ("sha256//base64").
std::string CurlPin(const std::string& raw);
// A handle that trusts the pinned key only, 120 s timeout, body appended to WRITEDATA's
// std::string.
CURL* NewHandle(const std::string& pin);
size_t CollectBody(char* data, size_t size, size_t count, void* out);

// Issues an enrollment code per observer (`syncd admin enroll-code --all`) and enrolls one
// device per observer over HTTPS (16 at a time), in the order syncd lists them; each device's
// stations are its observer's (from `observers`, else the code's station). Sets *pin to the
// server's pin.
std::vector<Device> EnrollFleet(const std::string& syncd, const std::filesystem::path& data,
                                const std::string& url, const std::vector<ObserverPlan>& observers,
                                std::string* pin);

// ----- the push loop

struct PushOptions {
  double seconds = 10;  // No batch is sent after this; those in flight finish.
  // > 0: paced (open loop): each device sends a batch every devices * batch / offered_per_s
  // seconds (batch: the size of device 0's next batch), staggered over one interval, as
  // real devices spread over time would. 0: closed loop, back to back (the ceiling).
  double offered_per_s = 0;
  // Paced: whether a device whose turn comes after `seconds` still sends (as ingest_bench's
  // paced runs always have: the phase then lasts up to one interval longer) or stops.
  bool turns_after_stop = true;
  // Called on the pushing thread for every acknowledged batch, with the time the answer was
  // read and the batch's checklist count.
  std::function<void(Clock::time_point, uint32_t records)> on_ack;
};

struct PushResult {
  uint64_t acked = 0;   // Checklists in acknowledged batches.
  uint64_t errors = 0;  // Pushes not answered 200.
  double elapsed_s = 0;
  double syncd_cpu_s = 0;            // syncd's CPU while pushing.
  std::vector<double> latencies_ms;  // Per acknowledged batch.

  double checklists_per_s() const {
    return elapsed_s > 0 ? static_cast<double>(acked) / elapsed_s : 0;
  }
};

// Pushes a fleet's batches, one keep-alive TLS connection per device (kept from one Run to
// the next), all from the calling thread through libcurl's multi interface. A device stops
// when its batches run out.
class Pusher {
 public:
  // `fleet` must outlive the Pusher and not be resized while it lives.
  Pusher(std::vector<Device>& fleet, const std::string& url, const std::string& pin);
  // Device i pushes to urls[i % urls.size()] (the nodes of one deployment, sharing one key).
  Pusher(std::vector<Device>& fleet, const std::vector<std::string>& urls, const std::string& pin);
  ~Pusher();
  Pusher(const Pusher&) = delete;
  Pusher& operator=(const Pusher&) = delete;

  // Pushes for options.seconds; syncd_pid's CPU is measured.
  PushResult Run(const PushOptions& options, pid_t syncd_pid);

 private:
  std::vector<Device>& fleet_;
  std::vector<std::string> push_urls_;
  CURLM* multi_;
  std::vector<CURL*> handles_;
};

}  // namespace vigil::bench
