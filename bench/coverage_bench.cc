// The national coverage roll-up (docs/merge.md): 23,789 stations (Cambodia 2023) in 25
// provinces, 1,652 communes, x 3 checklist forms, masters for about 90 % of (station, form)
// with mixed statuses; times SqlStore::Coverage by province and by commune, in process.
#include "coverage_bench.h"

#include <google/protobuf/util/json_util.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <tuple>
#include <utility>
#include <vector>

#include "ingest_load.h"
#include "store/sql_store.h"

namespace bench {
namespace {

namespace v1 = vigil::v1;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "coverage bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const vigil::Status& status, const std::string& what) {
  if (!status.ok()) Fail(what + ": " + status.ToString());
}

v1::FormDefinition LoadForm(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  v1::FormDefinition form;
  if (!google::protobuf::util::JsonStringToMessage(text.str(), &form).ok()) Fail(path.string());
  return form;
}

// CPU time of this thread: the query runs on it (readers are not the writer thread), and a
// shared machine inflates wall time.
double ThreadCpuMs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

void Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "?";
    sqlite3_free(error);
    Fail(message);
  }
}

}  // namespace

CoverageTimes NationalCoverage(const std::filesystem::path& dir,
                               const std::filesystem::path& forms_dir, int stations) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "syncd.db").string();
  const char* form_ids[] = {"opening", "voting", "closing"};
  {
    auto store = vigil::syncd::SqlStore::Open(path, true);
    if (!store.ok()) Fail(store.status().ToString());
    std::vector<v1::Station> list;
    list.reserve(static_cast<size_t>(stations));
    for (int i = 0; i < stations; ++i) list.push_back(vigil::bench::NationalStation(i));
    Check((*store)->ImportStations(list), "import stations");
    for (const char* id : form_ids) {
      Check((*store)->PublishForm(LoadForm(forms_dir / (std::string(id) + ".json"))), id);
    }
  }
  // Masters as merge leaves them: only the status column matters to the roll-up.
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) Fail("open " + path);
  Exec(db, "BEGIN");
  sqlite3_stmt* put = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO masters(station_code, form_id, form_version, status, master, "
                     "updated_at_ms, province, district, commune) SELECT code, ?, 1, ?, "
                     "zeroblob(600), 0, province, district, commune FROM stations WHERE rowid = ?",
                     -1, &put, nullptr);
  std::mt19937 rng(1);
  for (const char* id : form_ids) {
    for (int row = 1; row <= stations; ++row) {
      int roll = static_cast<int>(rng() % 100);
      if (roll < 10) continue;  // missing
      int status = roll < 20   ? v1::COVERAGE_PARTIAL
                   : roll < 25 ? v1::COVERAGE_CONFLICT
                               : v1::COVERAGE_COMPLETE;
      sqlite3_reset(put);
      sqlite3_bind_text(put, 1, id, -1, SQLITE_STATIC);
      sqlite3_bind_int(put, 2, status);
      sqlite3_bind_int(put, 3, row);
      if (sqlite3_step(put) != SQLITE_DONE) Fail(sqlite3_errmsg(db));
    }
  }
  sqlite3_finalize(put);
  Exec(db, "COMMIT");
  sqlite3_close(db);

  auto store = vigil::syncd::SqlStore::Open(path, false);
  if (!store.ok()) Fail(store.status().ToString());
  auto time = [&](const std::string& level) {
    vigil::syncd::CoverageQuery query;
    query.level = level;
    std::vector<double> ms, cpu_ms;
    for (int i = 0; i < 12; ++i) {
      auto start = Clock::now();
      double cpu_start = ThreadCpuMs();
      auto report = (*store)->Coverage(query);
      cpu_ms.push_back(ThreadCpuMs() - cpu_start);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      if (!report.ok()) Fail(report.status().ToString());
      // About 10 % missing, 10 % partial, 5 % conflict: the statuses were counted.
      const v1::CoverageRow& nation = report->rows(0);
      if (report->rows_size() < 3 || nation.stations() != static_cast<uint64_t>(stations) ||
          nation.missing_pct() > 15 || nation.complete_pct() < 65 || nation.conflict() == 0) {
        Fail("wrong roll-up");
      }
    }
    auto median = [](std::vector<double> v) {
      v.erase(v.begin());  // the first warms the page cache
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    return std::make_pair(median(ms), median(cpu_ms));
  };
  CoverageTimes times;
  std::tie(times.by_province_ms, times.by_province_cpu_ms) = time("province");
  std::tie(times.by_commune_ms, times.by_commune_cpu_ms) = time("commune");
  return times;
}

}  // namespace bench
