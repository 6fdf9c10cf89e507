#include "ingest_pg.h"

#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ingest_load.h"
#include "machine.h"
#include "store/pg_connection.h"
#include "store/sql.h"

namespace vigil::bench {
namespace {

namespace fs = std::filesystem;
using syncd::PgConnection;

constexpr char kServerId[] = "bench-server";
// Batches signed for each syncd phase: enough for this many checklists/s for the whole phase
// (a device whose batches run out stops; the run says so).
constexpr double kCeilingPerS = 12000;
// The paced phase offers this many checklists/s (the floor), or less when the closed
// loop carried less.
constexpr double kPacedLoad = 3000;

// The figures of one phase.
struct Phase {
  double rate = 0;  // Checklists (raw: record rows) committed per second.
  double p50_ms = 0;
  double p99_ms = 0;       // Push latency (raw: transaction latency).
  double syncd_us = 0;     // CPU per checklist: syncd nodes,
  double postgres_us = 0;  // the PostgreSQL server's processes,
  double bench_us = 0;     // this process (the devices, or the raw clients).
  uint64_t errors = 0;     // Pushes not answered 200 (raw: failed transactions).
  bool ran_out = false;    // Some device had no batch left before the end.
};

// One stored record row and one batch row with its records: what the raw phase inserts.
struct RecordRow {
  std::string record_id, kind, content_hash, bytes, station, form_id, observer_id;
  int64_t form_version = 0, received_at_ms = 0;
};
struct BatchRow {
  std::string hash, bytes, signature, receipt, response;
  int64_t received_at_ms = 0;
  std::vector<RecordRow> records;
};

std::unique_ptr<PgConnection> Connect(const std::string& url) {
  return Take(PgConnection::Connect(url), "connect to PostgreSQL");
}

void Check(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.ToString());
}

// Steps a statement without result rows.
void RunStep(syncd::sql::Cursor& c, const std::string& what) {
  Take(c.Step(), what);
  c.Reset();
}

// The URL of database `name` on the server of `url` (".../vigil" → ".../name").
std::string DatabaseUrl(const std::string& url, const std::string& name) {
  return url.substr(0, url.rfind('/') + 1) + name;
}

// A value of current_setting().
std::string Setting(PgConnection& c, const std::string& name) {
  auto cursor = Take(c.Prepare("SELECT current_setting('" + name + "')"), name);
  return Take(cursor->Step(), name) ? cursor->Text(0) : "?";
}

// pg_database_size of the database at `url`.
int64_t DatabaseSize(const std::string& url) {
  auto db = Connect(url);
  auto size = Take(db->Prepare("SELECT pg_database_size(current_database())"), "size");
  return Take(size->Step(), "size") ? size->Int(0) : 0;
}

// The PostgreSQL server's CPU seconds so far: the postmaster and its children (backends,
// WAL writer, checkpointer, …) that run now.
double ServerCpuSeconds(const fs::path& cluster_dir) {
  std::ifstream pid_file(cluster_dir / "data" / "postmaster.pid");
  pid_t postmaster = 0;
  if (!(pid_file >> postmaster) || postmaster <= 0) return 0;
  double total = ProcessCpuSeconds(postmaster);
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 1));
    std::string state;
    pid_t parent = 0;
    if (!(fields >> state >> parent)) continue;
    if (parent == postmaster) total += ProcessCpuSeconds(static_cast<pid_t>(std::stol(name)));
  }
  return total;
}

class PgIngest {
 public:
  explicit PgIngest(const PgIngestOptions& o) : o_(o), form_(LoadForm(o.forms / "closing.json")) {}

  int Run();

 private:
  // A fresh database of the cluster; returns its URL.
  std::string CreateDatabase(const std::string& name) {
    auto admin = Connect(o_.database_url);
    Check(admin->Exec("CREATE DATABASE " + name), "create database " + name);
    return DatabaseUrl(o_.database_url, name);
  }
  void DropDatabase(const std::string& name) {
    auto admin = Connect(o_.database_url);
    Check(admin->Exec("DROP DATABASE " + name + " WITH (FORCE)"), "drop database " + name);
  }

  Phase SyncdPhase(int nodes, double offered_per_s = 0, bool merge = true, bool validate = true);
  // With pg_stat_statements loaded (PG_CLUSTER_OPTIONS, docs/performance.md): before a phase,
  // clears its counts; after it, prints the statements syncd ran per acknowledged batch.
  bool CountStatements(const std::string& url);
  void PrintStatements(const std::string& url, uint64_t batches);
  Phase RawPhase(int threads);
  // Copies up to 40 batch rows and their record rows from the store at `url`.
  void TakeRows(const std::string& url);
  void Print(const std::string& round, const std::string& what, const Phase& p);

  const PgIngestOptions& o_;
  protocol::Form form_;
  int serial_ = 0;
  bool counted_ = false;        // Statements were counted once.
  std::vector<BatchRow> rows_;  // What raw phases insert, from the first syncd phase.
};

Phase PgIngest::SyncdPhase(int nodes, double offered_per_s, bool merge, bool validate) {
  const std::string name = "bench_" + std::to_string(++serial_);
  const std::string url = CreateDatabase(name);
  const fs::path dir = o_.work / name;
  fs::create_directories(dir);
  const fs::path data = dir / "data";
  std::vector<v1::Station> stations;
  std::vector<ObserverPlan> observers;
  StationPerObserver(o_.devices, &stations, &observers);
  SetUpDataDir(o_.syncd, data, kServerId, stations, observers, {o_.forms / "closing.json"}, url);

  Phase phase;
  {
    std::vector<std::unique_ptr<Syncd>> servers;
    std::vector<std::string> urls;
    for (int k = 0; k < nodes; ++k) {
      servers.push_back(
          std::make_unique<Syncd>(o_.syncd, data, merge, validate, "-" + std::to_string(k + 1)));
      urls.push_back(servers.back()->url());
    }
    std::string pin;
    std::vector<Device> fleet = EnrollFleet(o_.syncd, data, urls[0], observers, &pin);
    const size_t per_device =
        static_cast<size_t>(kCeilingPerS * o_.seconds / o_.batch / o_.devices) + 2;
    for (Device& d : fleet) AppendChecklistBatches(d, form_, per_device, o_.batch, kServerId);

    Pusher pusher(fleet, urls, pin);
    PushOptions options;
    options.seconds = o_.seconds;
    options.offered_per_s = offered_per_s;
    auto syncd_cpu = [&] {
      double total = 0;
      for (const auto& s : servers) total += ProcessCpuSeconds(s->pid());
      return total;
    };
    const bool counting = !counted_ && CountStatements(url);
    const int64_t size_before = rows_.empty() ? DatabaseSize(url) : 0;
    const double syncd_before = syncd_cpu();
    const double server_before = ServerCpuSeconds(o_.cluster_dir);
    const double self_before = ProcessCpuSeconds(getpid());
    PushResult pushed = pusher.Run(options, servers[0]->pid());
    const double per = pushed.acked > 0 ? 1e6 / static_cast<double>(pushed.acked) : 0;
    phase.syncd_us = (syncd_cpu() - syncd_before) * per;
    phase.postgres_us = (ServerCpuSeconds(o_.cluster_dir) - server_before) * per;
    phase.bench_us = (ProcessCpuSeconds(getpid()) - self_before) * per;
    phase.rate = pushed.checklists_per_s();
    phase.p50_ms = Percentile(pushed.latencies_ms, 0.50);
    phase.p99_ms = Percentile(pushed.latencies_ms, 0.99);
    phase.errors = pushed.errors;
    for (const Device& d : fleet) phase.ran_out = phase.ran_out || d.next >= d.batches.size();
    if (rows_.empty()) {
      TakeRows(url);
      const double grown = static_cast<double>(DatabaseSize(url) - size_before);
      std::printf(
          "database growth: %.0f bytes per checklist stored (%llu checklists; batch, "
          "record, receipt, merge rows and their indexes)\n",
          pushed.acked > 0 ? grown / static_cast<double>(pushed.acked) : 0,
          static_cast<unsigned long long>(pushed.acked));
    }
    if (counting) {
      counted_ = true;
      PrintStatements(url, pushed.latencies_ms.size());
    }
  }  // The nodes stop here.
  DropDatabase(name);
  fs::remove_all(dir);
  return phase;
}

bool PgIngest::CountStatements(const std::string& url) {
  auto db = Connect(url);
  if (Setting(*db, "shared_preload_libraries").find("pg_stat_statements") == std::string::npos) {
    return false;
  }
  Check(db->Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"), "pg_stat_statements");
  auto reset = Take(db->Prepare("SELECT pg_stat_statements_reset()"), "pg_stat_statements");
  Take(reset->Step(), "pg_stat_statements_reset");
  return true;
}

void PgIngest::PrintStatements(const std::string& url, uint64_t batches) {
  auto db = Connect(url);
  auto top = Take(db->Prepare("SELECT calls, total_exec_time, query FROM pg_stat_statements "
                              "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = "
                              "current_database()) ORDER BY calls DESC"),
                  "pg_stat_statements");
  const double per = batches > 0 ? 1.0 / static_cast<double>(batches) : 0;
  double calls = 0, ms = 0;
  std::vector<std::string> lines;
  while (Take(top->Step(), "pg_stat_statements")) {
    calls += static_cast<double>(top->Int(0));
    ms += top->Double(1);
    if (lines.size() >= 12) continue;
    std::string query = top->Text(2);
    std::replace(query.begin(), query.end(), '\n', ' ');
    char line[200];
    std::snprintf(line, sizeof line, "  %7.1f  %7.3f  %.100s",
                  static_cast<double>(top->Int(0)) * per, top->Double(1) * per, query.c_str());
    lines.emplace_back(line);
  }
  std::printf(
      "statements per acknowledged batch (pg_stat_statements, %llu batches): %.1f, "
      "%.2f ms executing in PostgreSQL; the most frequent:\n  %7s  %7s  %s\n",
      static_cast<unsigned long long>(batches), calls * per, ms * per, "calls", "ms", "statement");
  for (const std::string& l : lines) std::printf("%s\n", l.c_str());
  std::fflush(stdout);
}

void PgIngest::TakeRows(const std::string& url) {
  auto db = Connect(url);
  auto batches = Take(db->Prepare("SELECT device_id, seq, hash, bytes, signature, received_at_ms, "
                                  "receipt, response FROM batches ORDER BY log_index LIMIT 40"),
                      "read batches");
  auto records = Take(db->Prepare("SELECT record_id, kind, content_hash, bytes, station_code, "
                                  "form_id, form_version, observer_id, received_at_ms "
                                  "FROM records WHERE device_id = ?1 AND batch_seq = ?2"),
                      "read records");
  while (Take(batches->Step(), "read batches")) {
    BatchRow b;
    b.hash = batches->Blob(2);
    b.bytes = batches->Blob(3);
    b.signature = batches->Blob(4);
    b.received_at_ms = batches->Int(5);
    b.receipt = batches->Blob(6);
    b.response = batches->Blob(7);
    Check(records->BindText(1, batches->Text(0)), "bind");
    Check(records->BindInt(2, batches->Int(1)), "bind");
    while (Take(records->Step(), "read records")) {
      RecordRow r;
      r.record_id = records->Text(0);
      r.kind = records->Text(1);
      r.content_hash = records->Blob(2);
      r.bytes = records->Blob(3);
      r.station = records->Text(4);
      r.form_id = records->Text(5);
      r.form_version = records->Int(6);
      r.observer_id = records->Text(7);
      r.received_at_ms = records->Int(8);
      b.records.push_back(std::move(r));
    }
    records->Reset();
    if (!b.records.empty()) rows_.push_back(std::move(b));
  }
  if (rows_.empty()) Die("the store holds no batch to copy for the raw phase");
}

Phase PgIngest::RawPhase(int threads) {
  const std::string name = "raw_" + std::to_string(++serial_);
  const std::string url = CreateDatabase(name);
  {
    // The columns, keys and indexes of store/pg_schema.cc's batches and records, without the
    // foreign key to devices.
    auto db = Connect(url);
    Check(db->Exec(
              "CREATE TABLE batches(device_id TEXT NOT NULL, seq BIGINT NOT NULL, hash BYTEA NOT "
              "NULL, bytes BYTEA NOT NULL, signature BYTEA NOT NULL, received_at_ms BIGINT NOT "
              "NULL, log_index BIGINT NOT NULL UNIQUE, record_count BIGINT NOT NULL, receipt "
              "BYTEA NOT NULL, response BYTEA NOT NULL, PRIMARY KEY(device_id, seq));"
              "CREATE TABLE records(record_id TEXT PRIMARY KEY, kind TEXT NOT NULL, device_id "
              "TEXT NOT NULL, batch_seq BIGINT NOT NULL, content_hash BYTEA NOT NULL, bytes BYTEA "
              "NOT NULL, station_code TEXT NOT NULL, form_id TEXT NOT NULL, form_version BIGINT "
              "NOT NULL, observer_id TEXT NOT NULL, received_at_ms BIGINT NOT NULL, rowid BIGINT "
              "GENERATED ALWAYS AS IDENTITY UNIQUE);"
              "CREATE INDEX records_by_station ON records(station_code, form_id);"
              "CREATE INDEX records_incidents_by_station ON records(station_code) "
              "WHERE kind = 'incident';"),
          "raw schema");
  }
  std::vector<std::unique_ptr<PgConnection>> connections;
  connections.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) connections.push_back(Connect(url));

  std::atomic<int64_t> log_index{0};
  std::atomic<uint64_t> committed{0}, failed{0};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(threads));
  const double server_before = ServerCpuSeconds(o_.cluster_dir);
  const double self_before = ProcessCpuSeconds(getpid());
  const Clock::time_point start = Clock::now();
  const Clock::time_point stop_at = start + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(o_.seconds));
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      PgConnection& db = *connections[static_cast<size_t>(t)];
      auto batch = Take(db.Prepare("INSERT INTO batches(device_id, seq, hash, bytes, signature, "
                                   "received_at_ms, log_index, record_count, receipt, response) "
                                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                        "prepare");
      auto record = Take(db.Prepare("INSERT INTO records(record_id, kind, device_id, batch_seq, "
                                    "content_hash, bytes, station_code, form_id, form_version, "
                                    "observer_id, received_at_ms) "
                                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
                         "prepare");
      const std::string device = "raw-device-" + std::to_string(t);
      for (int64_t seq = 1; Clock::now() < stop_at; ++seq) {
        const BatchRow& b = rows_[static_cast<size_t>(seq) % rows_.size()];
        const Clock::time_point began = Clock::now();
        Check(db.Begin(), "begin");
        Check(batch->BindText(1, device), "bind");
        Check(batch->BindInt(2, seq), "bind");
        Check(batch->BindBlob(3, b.hash), "bind");
        Check(batch->BindBlob(4, b.bytes), "bind");
        Check(batch->BindBlob(5, b.signature), "bind");
        Check(batch->BindInt(6, b.received_at_ms), "bind");
        Check(batch->BindInt(7, ++log_index), "bind");
        Check(batch->BindInt(8, static_cast<int64_t>(b.records.size())), "bind");
        Check(batch->BindBlob(9, b.receipt), "bind");
        Check(batch->BindBlob(10, b.response), "bind");
        RunStep(*batch, "insert batch");
        for (const RecordRow& r : b.records) {
          // A record id of its own per copy (the primary key).
          Check(record->BindText(1, r.record_id + "/" + device + "/" + std::to_string(seq)),
                "bind");
          Check(record->BindText(2, r.kind), "bind");
          Check(record->BindText(3, device), "bind");
          Check(record->BindInt(4, seq), "bind");
          Check(record->BindBlob(5, r.content_hash), "bind");
          Check(record->BindBlob(6, r.bytes), "bind");
          Check(record->BindText(7, r.station), "bind");
          Check(record->BindText(8, r.form_id), "bind");
          Check(record->BindInt(9, r.form_version), "bind");
          Check(record->BindText(10, r.observer_id), "bind");
          Check(record->BindInt(11, r.received_at_ms), "bind");
          RunStep(*record, "insert record");
        }
        if (db.Exec("COMMIT").ok()) {
          committed += b.records.size();
          latencies[static_cast<size_t>(t)].push_back(
              std::chrono::duration<double, std::milli>(Clock::now() - began).count());
        } else {
          ++failed;
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  Phase phase;
  const double per = committed > 0 ? 1e6 / static_cast<double>(committed.load()) : 0;
  phase.postgres_us = (ServerCpuSeconds(o_.cluster_dir) - server_before) * per;
  phase.bench_us = (ProcessCpuSeconds(getpid()) - self_before) * per;
  phase.rate = static_cast<double>(committed.load()) / elapsed;
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  phase.p50_ms = Percentile(all, 0.50);
  phase.p99_ms = Percentile(all, 0.99);
  phase.errors = failed;
  connections.clear();
  DropDatabase(name);
  return phase;
}

void PgIngest::Print(const std::string& round, const std::string& what, const Phase& p) {
  std::printf("%-6s %-16s %13.0f %8.1f %8.1f %9.0f %9.0f %9.0f %7llu%s\n", round.c_str(),
              what.c_str(), p.rate, p.p50_ms, p.p99_ms, p.syncd_us, p.postgres_us, p.bench_us,
              static_cast<unsigned long long>(p.errors),
              p.ran_out ? "  (a device ran out of batches)" : "");
  std::fflush(stdout);
}

int PgIngest::Run() {
  {
    auto db = Connect(o_.database_url);
    std::printf(
        "ingest benchmark, PostgreSQL store: %s, %ld cores, load average %s; the syncd nodes, "
        "PostgreSQL and the devices share this machine\n",
        CpuModel().c_str(), sysconf(_SC_NPROCESSORS_ONLN), LoadAverage().c_str());
    std::printf(
        "PostgreSQL %s, throwaway cluster on 127.0.0.1: fsync=%s synchronous_commit=%s "
        "wal_sync_method=%s (durable: a push is answered after its COMMIT)\n",
        Setting(*db, "server_version").c_str(), Setting(*db, "fsync").c_str(),
        Setting(*db, "synchronous_commit").c_str(), Setting(*db, "wal_sync_method").c_str());
  }
  std::printf(
      "%d devices x batches of %d closing checklists, closed loop, %.0f s phases, merge on; "
      "raw: the same batches and records rows, %d records per transaction, one client thread "
      "per node\n",
      o_.devices, o_.batch, o_.seconds, o_.batch);
  std::printf("%-6s %-16s %13s %8s %8s %9s %9s %9s %7s\n", "round", "what", "checklists/s",
              "p50 ms", "p99 ms", "syncd us", "pg us", "bench us", "errors");
  std::printf("%-6s %-16s %13s %8s %8s %9s %9s %9s\n", "", "", "(raw: rows/s)", "", "", "/chkl",
              "/chkl", "/chkl");
  const std::string many = std::to_string(o_.nodes) + " nodes";
  std::vector<double> one_rate, one_p99, many_rate, many_p99, raw_one, raw_many;
  for (int round = 1; round <= o_.rounds; ++round) {
    const std::string r = std::to_string(round);
    Phase one = SyncdPhase(1);
    Print(r, "syncd 1 node", one);
    one_rate.push_back(one.rate);
    one_p99.push_back(one.p99_ms);
    Phase raw1 = RawPhase(1);
    Print(r, "raw, 1 thread", raw1);
    raw_one.push_back(raw1.rate);
    if (o_.nodes > 1) {
      Phase n = SyncdPhase(o_.nodes);
      Print(r, "syncd " + many, n);
      many_rate.push_back(n.rate);
      many_p99.push_back(n.p99_ms);
      Phase rawn = RawPhase(o_.nodes);
      Print(r, "raw, " + std::to_string(o_.nodes) + " threads", rawn);
      raw_many.push_back(rawn.rate);
    }
  }
  const bool several = o_.nodes > 1;
  const double rate = Median(several ? many_rate : one_rate);
  const double raw = Median(several ? raw_many : raw_one);
  const double ratio = raw > 0 ? rate / raw : 0;
  const double nodes_ratio =
      several && Median(one_rate) > 0 ? Median(many_rate) / Median(one_rate) : 1;
  std::printf("medians of %d rounds:\n", o_.rounds);
  std::printf("  syncd, 1 node            %8.0f checklists/s  (p99 %.0f ms)\n", Median(one_rate),
              Median(one_p99));
  std::printf("  raw PostgreSQL, 1 thread %8.0f rows/s         ratio %.2f\n", Median(raw_one),
              Median(raw_one) > 0 ? Median(one_rate) / Median(raw_one) : 0);
  if (several) {
    std::printf("  syncd, %-17s %8.0f checklists/s  (p99 %.0f ms)\n", many.c_str(),
                Median(many_rate), Median(many_p99));
    std::printf("  raw PostgreSQL, %d threads %6.0f rows/s         ratio %.2f\n", o_.nodes,
                Median(raw_many), ratio);
    std::printf("  %s / 1 node         %.2f\n", many.c_str(), nodes_ratio);
  }

  // Latency at a sustainable load: the fleet paced (open loop).
  const double offered = std::min(kPacedLoad, 0.8 * rate);
  Phase paced = SyncdPhase(o_.nodes, offered);
  std::printf("paced at %.0f checklists/s, %s:\n", offered, several ? many.c_str() : "1 node");
  Print("paced", "syncd " + (several ? many : std::string("1 node")), paced);

  if (o_.breakdown) {
    // Where the time goes: the same closed loop without merge, then without the record checks.
    Phase no_merge = SyncdPhase(o_.nodes, 0, false, true);
    Print("cost", "--no-merge", no_merge);
    Phase no_validate = SyncdPhase(o_.nodes, 0, true, false);
    Print("cost", "--no-validate", no_validate);
  }

  std::printf("targets: %.0f checklists/s (>= 3000: %s), %.2f of raw PostgreSQL (>= 0.50: %s)",
              rate, rate >= 3000 ? "met" : "MISSED", ratio, ratio >= 0.5 ? "met" : "MISSED");
  if (several) {
    std::printf(", %s / 1 node %.2f (>= 1: %s)", many.c_str(), nodes_ratio,
                nodes_ratio >= 1 ? "met" : "MISSED");
  }
  std::printf("\n");
  std::printf(
      "ingest_pg nodes=%d checklists_per_s=%.0f raw_pg_ratio=%.2f paced_p99_ms=%.0f "
      "nodes_ratio=%.2f\n",
      o_.nodes, rate, ratio, paced.p99_ms, nodes_ratio);
  return 0;
}

}  // namespace

int RunPgIngest(const PgIngestOptions& options) { return PgIngest(options).Run(); }

}  // namespace vigil::bench
