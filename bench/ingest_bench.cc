// Ingest benchmark: syncd over HTTPS on 127.0.0.1 with many concurrent simulated devices.
//
// For each (devices, batch size) configuration, every device pushes pre-signed batches of
// sample closing-and-count checklists back to back (closed loop, one connection each,
// keep-alive) for a fixed time. Reported: checklists/s acknowledged, p50/p99 push latency,
// syncd CPU per checklist; beside them, measured in the same run, the raw SQLite insert
// rate of the same rows, the Ed25519 verify rate, and wire bytes per checklist against the
// same answers as an OpenRosa XML submission.
//
// The devices, their batches and the push loop are bench/ingest_load.h's, shared with
// dashboard_bench. With --store postgres the benchmark is bench/ingest_pg.h's.
#include <curl/curl.h>
#include <google/protobuf/util/json_util.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "coverage_bench.h"
#include "ingest_load.h"
#include "ingest_pg.h"
#include "machine.h"
#include "support/process.h"
#include "vigil/protocol/batch_codec.h"
#include "vigil/protocol/crypto.h"
#include "vigil/protocol/form_rules.h"
#include "vigil/v1/admin.pb.h"
#include "vigil/v1/sync.pb.h"

namespace {

namespace fs = std::filesystem;
namespace v1 = vigil::v1;
namespace protocol = vigil::protocol;
using vigil::bench::Clock;
using vigil::bench::Device;
using vigil::bench::Take;

struct Bench {
  std::string syncd;
  fs::path forms;
  fs::path work;
  std::string server_id = "bench-server";
};

// OpenRosa (ODK) XML of the same answers: the instance document ODK Collect submits.
std::string OpenRosaXml(const v1::Submission& s) {
  std::string xml =
      "<?xml version=\"1.0\"?><data xmlns:jr=\"http://openrosa.org/javarosa\" "
      "xmlns:orx=\"http://openrosa.org/xforms\" id=\"closing\" version=\"1\">";
  xml += "<station_code>" + s.station_code() + "</station_code>";
  for (const v1::Answer& a : s.answers()) {
    std::string value = protocol::ValueToText(a.value());
    std::replace(value.begin(), value.end(), ',', ' ');
    xml += "<" + a.question_id() + ">" + value + "</" + a.question_id() + ">";
  }
  xml += "<meta><instanceID>uuid:" + s.submission_id() + "</instanceID></meta></data>";
  return xml;
}

struct Result {
  int devices = 0;
  int batch = 0;
  double checklists_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double cpu_us_per_checklist = 0;
  uint64_t errors = 0;
  uint64_t quarantined = 0;  // Records syncd held: 0 when the sample records pass its checks.
};

// The `quarantined` count of `syncd admin stats --json`.
uint64_t QuarantinedCount(const std::string& syncd, const fs::path& data) {
  std::string command = syncd + " admin --data '" + data.string() + "' stats --json";
  vigil::Result<vigil::test_support::ShellResult> run = vigil::test_support::RunShell(command);
  if (!run.ok()) return 0;
  v1::ServerStats stats;
  if (!google::protobuf::util::JsonStringToMessage(run->output, &stats).ok()) return 0;
  return stats.quarantined();
}

// With `offered_per_s` > 0 the devices are paced (open loop): each sends a batch every
// devices * batch / offered_per_s seconds, as real devices spread over time would; latency is
// then measured at that load. With 0 they send back to back (closed loop, the ceiling).
Result RunConfig(const Bench& b, const protocol::Form& form, int devices, int batch_size,
                 double seconds, double offered_per_s = 0, bool merge = true,
                 bool validate = true) {
  fs::path dir = b.work / ("ingest-" + std::to_string(devices) + "x" + std::to_string(batch_size));
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::path data = dir / "data";
  // Stations and observers: one observer per device, one station each.
  std::vector<v1::Station> stations;
  std::vector<vigil::bench::ObserverPlan> observers;
  vigil::bench::StationPerObserver(devices, &stations, &observers);
  vigil::bench::SetUpDataDir(b.syncd, data, b.server_id, stations, observers,
                             {b.forms / "closing.json"});

  vigil::bench::Syncd server(b.syncd, data, merge, validate);
  // Enroll every device for real, then pre-sign its batches: enough for `seconds` at a
  // generous 20,000 checklists/s shared by the fleet.
  std::string pin;
  std::vector<Device> fleet =
      vigil::bench::EnrollFleet(b.syncd, data, server.url(), observers, &pin);
  const size_t per_device = static_cast<size_t>(20000.0 * seconds / batch_size / devices) + 2;
  for (Device& d : fleet) {
    vigil::bench::AppendChecklistBatches(d, form, per_device, batch_size, b.server_id);
  }

  vigil::bench::Pusher pusher(fleet, server.url(), pin);
  vigil::bench::PushOptions options;
  options.seconds = seconds;
  options.offered_per_s = offered_per_s;
  vigil::bench::PushResult pushed = pusher.Run(options, server.pid());
  Result result;
  result.devices = devices;
  result.batch = batch_size;
  result.errors = pushed.errors;
  result.checklists_per_s = pushed.checklists_per_s();
  result.p50_ms = vigil::bench::Percentile(pushed.latencies_ms, 0.50);
  result.p99_ms = vigil::bench::Percentile(pushed.latencies_ms, 0.99);
  result.cpu_us_per_checklist =
      pushed.acked > 0 ? pushed.syncd_cpu_s * 1e6 / static_cast<double>(pushed.acked) : 0;
  result.quarantined = QuarantinedCount(b.syncd, data);
  return result;
}

// Raw SQLite: the same record rows (id, station, form, bytes) in transactions of `per_txn`,
// WAL and synchronous=FULL like syncd's store.
double RawSqliteRate(const fs::path& dir, const protocol::Form& form, int rows, int per_txn) {
  fs::create_directories(dir);
  std::string path = (dir / "raw.db").string();
  fs::remove(path);
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE records(id TEXT "
               "PRIMARY KEY, station TEXT, form TEXT, content_hash BLOB, bytes BLOB)",
               nullptr, nullptr, nullptr);
  std::vector<v1::Record> records;
  records.reserve(static_cast<size_t>(rows));
  for (int i = 0; i < rows; ++i)
    records.push_back(vigil::bench::SampleRecord(form, i, "01-01-01-0001"));
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO records VALUES (?, ?, ?, ?, ?)", -1, &st, nullptr);
  auto start = Clock::now();
  for (int i = 0; i < rows; ++i) {
    if (i % per_txn == 0) sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    std::string bytes = records[i].SerializeAsString();
    std::string hash = protocol::Sha256(bytes);
    sqlite3_bind_text(st, 1, records[i].submission().submission_id().c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, "01-01-01-0001", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, "closing", -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, hash.data(), static_cast<int>(hash.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 5, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
    if (i % per_txn == per_txn - 1 || i == rows - 1)
      sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  double rate = rows / std::chrono::duration<double>(Clock::now() - start).count();
  sqlite3_finalize(st);
  sqlite3_close(db);
  fs::remove_all(dir);
  return rate;
}

double VerifyRate() {
  auto key = Take(protocol::Ed25519PrivateKey::Generate(), "key");
  std::string message(2000, 'x');
  std::string sig = Take(key.Sign(message), "sign");
  int n = 0;
  auto start = Clock::now();
  while (Clock::now() - start < std::chrono::seconds(1)) {
    for (int i = 0; i < 100; ++i) n += key.public_key().Verify(message, sig) ? 1 : 0;
  }
  return n / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

namespace {

constexpr char kUsage[] =
    "usage: ingest_bench SYNCD FORMS_DIR WORK_DIR [--quick]\n"
    "       ingest_bench SYNCD FORMS_DIR WORK_DIR --store postgres --database URL --cluster DIR\n"
    "                    [--nodes N] [--devices N] [--rounds N] [--seconds S] [--quick]\n"
    "(scripts/bench ingest [--store postgres] starts the PostgreSQL cluster and passes the "
    "rest)\n";

// A positive number from the command line, or exit 2.
double Number(const char* text, double max) {
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(value > 0) || value > max) {
    std::fprintf(stderr, "ingest_bench: %s is not a number in 1-%.0f\n%s", text, max, kUsage);
    std::exit(2);
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  bool quick = false;
  std::string store = "sqlite";
  vigil::bench::PgIngestOptions pg;
  bool nodes_given = false;
  for (int i = 4; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (arg == "--quick") {
      quick = true;
      continue;
    }
    if (value == nullptr) {
      std::fprintf(stderr, "ingest_bench: unknown option or missing value: %s\n%s", arg.c_str(),
                   kUsage);
      return 2;
    }
    ++i;
    if (arg == "--store") {
      store = value;
    } else if (arg == "--database") {
      pg.database_url = value;
    } else if (arg == "--cluster") {
      pg.cluster_dir = value;
    } else if (arg == "--nodes") {
      pg.nodes = static_cast<int>(Number(value, 16));
      nodes_given = true;
    } else if (arg == "--devices") {
      pg.devices = static_cast<int>(Number(value, 5000));
    } else if (arg == "--rounds") {
      pg.rounds = static_cast<int>(Number(value, 20));
    } else if (arg == "--seconds") {
      pg.seconds = Number(value, 600);
    } else {
      std::fprintf(stderr, "ingest_bench: unknown option %s\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (store != "sqlite" && store != "postgres") {
    std::fprintf(stderr, "ingest_bench: --store is sqlite or postgres\n");
    return 2;
  }
  if (store == "sqlite" && nodes_given) {
    std::fprintf(stderr,
                 "ingest_bench: --nodes needs --store postgres (one syncd serves a "
                 "SQLite store)\n");
    return 2;
  }
  Bench b{argv[1], argv[2], fs::absolute(argv[3])};
  fs::create_directories(b.work);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (store == "postgres") {
    if (pg.database_url.empty() || pg.cluster_dir.empty()) {
      std::fprintf(stderr, "ingest_bench: --store postgres needs --database and --cluster\n%s",
                   kUsage);
      return 2;
    }
    pg.syncd = b.syncd;
    pg.forms = b.forms;
    pg.work = b.work;
    if (quick) {
      pg.seconds = std::min(pg.seconds, 6.0);
      pg.breakdown = false;
    }
    return vigil::bench::RunPgIngest(pg);
  }
  protocol::Form form = vigil::bench::LoadForm(b.forms / "closing.json");

  std::printf("ingest benchmark: %s, %ld cores; syncd and the devices share this machine\n",
              vigil::bench::CpuModel().c_str(), sysconf(_SC_NPROCESSORS_ONLN));
  double verify = VerifyRate();
  double raw = RawSqliteRate(b.work / "raw", form, quick ? 5000 : 20000, 50);
  std::printf("Ed25519 verify, one core        %8.0f /s\n", verify);
  std::printf("raw SQLite insert (txn of 50)   %8.0f rows/s\n", raw);

  // Wire bytes for the closing checklist: one batch of 50, one of 1, and OpenRosa XML.
  {
    Device d = vigil::bench::NewDevice();
    v1::RecordList fifty, one;
    double xml = 0;
    for (int i = 0; i < 50; ++i) {
      v1::Record r = vigil::bench::SampleRecord(form, 1000 + i, "12-03-07-0452");
      xml += static_cast<double>(OpenRosaXml(r.submission()).size());
      *fifty.add_records() = r;
      if (i == 0) *one.add_records() = r;
    }
    std::string h;
    double per50 =
        static_cast<double>(
            vigil::bench::SignBatch(d, 1, protocol::GenesisHash(), fifty, b.server_id, &h).size()) /
        50.0;
    double per1 = static_cast<double>(
        vigil::bench::SignBatch(d, 1, protocol::GenesisHash(), one, b.server_id, &h).size());
    xml /= 50;
    std::printf(
        "wire bytes per closing checklist: batch of 50 %.0f, batch of 1 %.0f, OpenRosa XML %.0f"
        " (ratio %.2f)\n",
        per50, per1, xml, per50 / xml);
    std::vector<std::pair<int, int>> configs =
        quick ? std::vector<std::pair<int, int>>{{100, 50}, {1000, 50}}
              : std::vector<std::pair<int, int>>{{100, 1},  {100, 10},  {100, 50},
                                                 {1000, 1}, {1000, 10}, {1000, 50}};
    double seconds = quick ? 6 : 20;
    // Closed loop gives the ceiling; latency under a closed loop of N devices is just
    // N / throughput, so it is measured again paced at the 5,000 checklists/s floor.
    constexpr double kPacedLoad = 5000;
    std::printf("%-7s %8s %6s %14s %9s %9s %14s %7s\n", "mode", "devices", "batch", "checklists/s",
                "p50 ms", "p99 ms", "cpu us/chkl", "errors");
    double best50 = 0, p99_1000 = 0;
    auto print = [](const char* mode, const Result& r) {
      std::printf("%-7s %8d %6d %14.0f %9.1f %9.1f %14.0f %7llu\n", mode, r.devices, r.batch,
                  r.checklists_per_s, r.p50_ms, r.p99_ms, r.cpu_us_per_checklist,
                  static_cast<unsigned long long>(r.errors));
      std::fflush(stdout);
    };
    for (auto [devices, batch] : configs) {
      Result r = RunConfig(b, form, devices, batch, seconds);
      print("max", r);
      if (r.batch == 50) best50 = std::max(best50, r.checklists_per_s);
      // Paced latency where the fleet can carry the offered load: batches of 50 (smaller
      // batches at 1,000 devices saturate below 5,000 checklists/s on two shared cores).
      if (devices == 1000 && batch == 50) {
        Result paced = RunConfig(b, form, devices, batch, seconds, kPacedLoad);
        print("paced", paced);
        p99_1000 = paced.p99_ms;
      }
    }
    // Merge's cost (docs/merge.md): the batch-of-50 closed loop again, merge on then off,
    // back to back so both see the same machine.
    const int merge_devices = quick ? 100 : 1000;
    Result on = RunConfig(b, form, merge_devices, 50, seconds);
    print("merge", on);
    Result off = RunConfig(b, form, merge_devices, 50, seconds, 0, /*merge=*/false);
    print("nomerge", off);
    const double merge_ratio =
        off.checklists_per_s > 0 ? on.checklists_per_s / off.checklists_per_s : 0;
    // The cost of checking every record (docs/protocol.md §8.5): the same closed loop with the
    // checks on and off (`serve --no-validate`), alternated three times so that both see the
    // same machine; ratios of the medians, of throughput and of syncd's CPU per checklist.
    std::vector<double> checked, unchecked, checked_cpu, unchecked_cpu;
    uint64_t held = 0;
    for (int round = 0; round < 3; ++round) {
      Result with = RunConfig(b, form, merge_devices, 50, seconds);
      print("checked", with);
      held += with.quarantined;
      checked.push_back(with.checklists_per_s);
      checked_cpu.push_back(with.cpu_us_per_checklist);
      Result without = RunConfig(b, form, merge_devices, 50, seconds, 0, true, false);
      print("trusted", without);
      unchecked.push_back(without.checklists_per_s);
      unchecked_cpu.push_back(without.cpu_us_per_checklist);
    }
    using vigil::bench::Percentile;
    const double validation_ratio =
        Percentile(unchecked, 0.5) > 0 ? Percentile(checked, 0.5) / Percentile(unchecked, 0.5) : 0;
    const double validation_cpu_ratio =
        Percentile(unchecked_cpu, 0.5) > 0
            ? Percentile(checked_cpu, 0.5) / Percentile(unchecked_cpu, 0.5)
            : 0;
    std::printf(
        "validation on/off: ingest ratio %.2f, syncd cpu per checklist ratio %.2f (medians of 3; "
        "%llu records held)\n",
        validation_ratio, validation_cpu_ratio, static_cast<unsigned long long>(held));
    bench::CoverageTimes coverage = bench::NationalCoverage(b.work / "coverage", b.forms, 23789);
    std::printf(
        "merge on/off ingest ratio %.2f (%d devices x 50); national coverage query, 23,789 "
        "stations x 3 forms: %.1f ms (cpu %.1f) by province, %.1f ms (cpu %.1f) by commune\n",
        merge_ratio, merge_devices, coverage.by_province_ms, coverage.by_province_cpu_ms,
        coverage.by_commune_ms, coverage.by_commune_cpu_ms);
    std::printf(
        "ingest checklists_per_s=%.0f raw_sqlite_ratio=%.2f p99_ms=%.0f wire_vs_openrosa=%.2f "
        "merge_ratio=%.2f validation_ratio=%.2f coverage_ms=%.1f\n",
        best50, best50 / raw, p99_1000, per50 / xml, merge_ratio, validation_ratio,
        coverage.by_province_ms);
  }
  return 0;
}
