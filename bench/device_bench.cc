// Device benchmark: durable finalize rate and batch sealing rate, each beside raw SQLite
// doing the same writes on the same disk in the same run.
//
//   finalize      Client::Finalize of ready drafts (closing-and-count form, example answers):
//                 check, AES-GCM seal, one UPDATE, one transaction with synchronous=FULL.
//   raw_txn       INSERT of a blob of the same size, one transaction each, same pragmas.
//   seal          Client::SealOutbox over the outbox: decrypt, zstd, serialize, Ed25519 sign,
//                 encrypt, store, all in one transaction.
//   raw_bulk      INSERT of the same number of record-sized blobs in one transaction.
//
// Each figure is the median of --rounds runs. Usage: device_bench FORMS_DIR [--rounds N]
// [--finalize N] [--records N]
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "machine.h"
#include "support/files.h"
#include "support/temp_dir.h"
#include "vigil/client/answer_input.h"
#include "vigil/client/client.h"
#include "vigil/protocol/crypto.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

void Check(const vigil::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "device_bench: %s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

template <typename T>
T Take(vigil::Result<T> r, const char* what) {
  Check(r.status(), what);
  return std::move(r).value();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

using vigil::test_support::ReadFile;
// On the disk under test (the working directory), not the system's temporary directory.
using vigil::test_support::TempDir;

// A plain table with the store's pragmas, for single-row transactions of `bytes`-sized blobs.
class RawTable {
 public:
  RawTable(const fs::path& path, size_t bytes) {
    sqlite3_open(path.string().c_str(), &db_);
    sqlite3_exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr,
                 nullptr);
    sqlite3_exec(db_, "CREATE TABLE t(id TEXT PRIMARY KEY, state INTEGER, v BLOB)", nullptr,
                 nullptr, nullptr);
    sqlite3_prepare_v2(db_, "INSERT INTO t VALUES (?, 1, ?)", -1, &insert_, nullptr);
    blob_ = Take(vigil::protocol::RandomBytes(bytes), "random");
  }
  ~RawTable() {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }
  void InsertOwnTransaction(int i) {
    sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    std::string id = "row-" + std::to_string(i);
    sqlite3_bind_text(insert_, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(insert_, 2, blob_.data(), static_cast<int>(blob_.size()), SQLITE_STATIC);
    if (sqlite3_step(insert_) != SQLITE_DONE) std::exit(2);
    sqlite3_reset(insert_);
    sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  std::string blob_;
};

// Raw SQLite: `rows` inserts of `bytes`, each in its own transaction (or all in one).
double RawInsertRate(const fs::path& dir, size_t bytes, int rows, bool one_txn) {
  sqlite3* db = nullptr;
  std::string path = (dir / "raw.db").string();
  fs::remove(path);
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", nullptr, nullptr, nullptr);
  sqlite3_exec(db, "CREATE TABLE t(id TEXT PRIMARY KEY, state INTEGER, v BLOB)", nullptr, nullptr,
               nullptr);
  std::string blob = Take(vigil::protocol::RandomBytes(bytes), "random");
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?, 1, ?)", -1, &st, nullptr);
  auto start = Clock::now();
  if (one_txn) sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  for (int i = 0; i < rows; ++i) {
    if (!one_txn) sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    std::string id = "row-" + std::to_string(i);
    sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) std::exit(2);
    sqlite3_reset(st);
    if (!one_txn) sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  if (one_txn) sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  double rate = rows / Seconds(start);
  sqlite3_finalize(st);
  sqlite3_close(db);
  fs::remove(path);
  return rate;
}

struct Round {
  double finalize = 0;
  double raw_txn = 0;
  double seal = 0;
  double raw_bulk = 0;
  size_t record_bytes = 0;
};

Round RunRound(const fs::path& forms, int finalize_n, int records_n) {
  TempDir dir("bench-", fs::current_path());
  Round r;
  auto protector = vigil::client::MakePinKeyProtector("246810");
  vigil::client::InitOptions options;
  options.server_id = "bench-server";
  auto client = Take(vigil::client::Client::Init(dir / "home", *protector, options), "init");
  Check(client->ImportFormJson(ReadFile(forms / "closing.json")), "import closing");
  vigil::protocol::Form form = Take(client->GetForm("closing"), "form");

  // Drafts for finalize, plus the extra records for sealing (made with the same call).
  int total = std::max(finalize_n, records_n);
  std::vector<std::string> drafts;
  for (int i = 0; i < total; ++i) {
    std::string id = Take(client->StartDraft("closing", "st-" + std::to_string(i % 500)), "draft");
    Check(client->SetAnswers(id, vigil::client::ExampleAnswers(form, i + 1), true), "answers");
    drafts.push_back(id);
  }
  auto rec = Take(client->GetRecord(drafts[0]), "record");
  r.record_bytes = rec.record.ByteSizeLong() + 29;  // + AES-GCM framing

  // Finalize and the raw single-row transaction alternate, one each, so both see the same
  // disk and the same noise; each rate is operations over the summed time of its own calls.
  RawTable raw(dir / "raw.db", r.record_bytes);
  double finalize_s = 0;
  double raw_s = 0;
  for (int i = 0; i < finalize_n; ++i) {
    auto start = Clock::now();
    Take(client->Finalize(drafts[i]), "finalize");
    finalize_s += Seconds(start);
    start = Clock::now();
    raw.InsertOwnTransaction(i);
    raw_s += Seconds(start);
  }
  r.finalize = finalize_n / finalize_s;
  r.raw_txn = finalize_n / raw_s;
  for (int i = finalize_n; i < records_n; ++i) Take(client->Finalize(drafts[i]), "finalize");

  auto start = Clock::now();
  Take(client->SealOutbox(), "seal");
  r.seal = records_n / Seconds(start);
  r.raw_bulk = RawInsertRate(dir.path(), r.record_bytes, records_n, true);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: device_bench FORMS_DIR [--rounds N] [--finalize N] [--records N]\n");
    return 2;
  }
  fs::path forms = argv[1];
  int rounds = 5, finalize_n = 300, records_n = 3000;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int v = static_cast<int>(std::strtol(argv[i + 1], nullptr, 10));
    if (v <= 0) return 2;
    if (flag == "--rounds") rounds = v;
    if (flag == "--finalize") finalize_n = v;
    if (flag == "--records") records_n = v;
  }
  records_n = std::max(records_n, finalize_n);
  std::printf("device benchmark: %s, %u cores; %d rounds, medians\n",
              vigil::bench::CpuModel().c_str(),
              std::max(1u, static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN))), rounds);
  std::vector<double> fin, raw, seal, bulk;
  size_t record_bytes = 0;
  for (int i = 0; i < rounds; ++i) {
    Round r = RunRound(forms, finalize_n, records_n);
    fin.push_back(r.finalize);
    raw.push_back(r.raw_txn);
    seal.push_back(r.seal);
    bulk.push_back(r.raw_bulk);
    record_bytes = r.record_bytes;
    std::fprintf(stderr, "  round %d: finalize %.0f/s raw %.0f/s seal %.0f/s bulk %.0f/s\n", i + 1,
                 r.finalize, r.raw_txn, r.seal, r.raw_bulk);
  }
  double f = Median(fin), rt = Median(raw), s = Median(seal), b = Median(bulk);
  std::printf("record size (sealed)        %zu bytes\n", record_bytes);
  std::printf("finalize (durable, each own txn)  %8.0f submissions/s\n", f);
  std::printf("raw SQLite insert, own txn        %8.0f rows/s\n", rt);
  std::printf("  finalize / raw                  %8.2f   (target >= 0.50)\n", f / rt);
  std::printf("seal outbox into signed batches   %8.0f records/s   (target >= 20000)\n", s);
  std::printf("raw SQLite insert, one txn        %8.0f rows/s\n", b);
  std::printf("device finalize_per_s=%.0f finalize_raw_ratio=%.2f seal_records_per_s=%.0f\n", f,
              f / rt, s);
  return 0;
}
