// Crash safety of finalization (client-core/src/drafts.cc, proto/src/sqlite/db.cc): a child
// process (crash_child.cc) finalizes in a loop and is killed with SIGKILL at random moments;
// after every kill the store is intact and every submission the child reported finalized is
// there exactly once. The moments are chosen by counting reported ids, never by sleeping.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "client_test_support.h"
#include "vigil/protocol/batch_codec.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::client::test {
namespace {

// A running crash_child; killed and reaped on destruction whatever happens in the test.
class Child {
 public:
  Child(const std::string& home, const std::string& pin) {
    int fds[2];
    REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<std::string> command = TargetCommand(VIGIL_CRASH_CHILD_BIN);
    command.push_back(home);
    command.push_back(pin);
    std::vector<char*> argv;
    argv.reserve(command.size() + 1);
    for (std::string& word : command) argv.push_back(word.data());
    argv.push_back(nullptr);
    const std::string& bin = command.front();
    int rc = posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fds[0];
    REQUIRE_MESSAGE(rc == 0, "cannot start " << bin);
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Reap();
    }
    if (out_ >= 0) close(out_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Reads complete lines until `want` have arrived in total, the pipe closes or the deadline
  // passes. Returns false on the last two.
  bool ReadLines(size_t want, std::chrono::steady_clock::time_point deadline) {
    while (lines_.size() < want) {
      if (!ReadSome(deadline)) return false;
    }
    return true;
  }

  // Kills the child at once and reaps it; returns its wait status.
  int KillNow() {
    REQUIRE(kill(pid_, SIGKILL) == 0);
    return Reap();
  }

  // After the child is gone: whatever complete lines it wrote before dying.
  void Drain(std::chrono::steady_clock::time_point deadline) {
    while (ReadSome(deadline)) {
    }
  }

  const std::vector<std::string>& lines() const { return lines_; }

 private:
  bool ReadSome(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{out_, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) return true;
    if (ready <= 0) return false;
    char buf[4096];
    ssize_t n = read(out_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) return false;
    partial_.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
      lines_.push_back(partial_.substr(0, nl));
      partial_.erase(0, nl + 1);
    }
    return true;
  }

  int Reap() {
    const int status = test_support::WaitChild(pid_);
    pid_ = -1;
    return status;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  std::string partial_;
  std::vector<std::string> lines_;
};

// Looks at the store with sqlite3 alone.
struct StoreCheck {
  std::string integrity;
  int64_t finalized = 0;
  std::set<std::string> missing;  // Reported ids that are not finalized records.
};

StoreCheck Inspect(const std::string& db_path, const std::vector<std::string>& reported) {
  StoreCheck out;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    if (!out.integrity.empty()) out.integrity += "; ";
    out.integrity += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM records WHERE state >= 1", -1, &st,
                             nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  out.finalized = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM records WHERE record_id = ? AND state >= 1",
                             -1, &st, nullptr) == SQLITE_OK);
  for (const std::string& id : reported) {
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    if (sqlite3_column_int64(st, 0) != 1) out.missing.insert(id);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

TEST_CASE("crash: SIGKILL while finalizing never loses or duplicates a reported submission") {
  TempDir dir;
  const std::string home = dir / "home";
  const std::string db_path = home + "/vigil.db";
  {
    auto c = InitClient(home);
    REQUIRE(c->ImportForm(SmallChecklist()).ok());
  }
  std::mt19937 rng(20261126);
  std::uniform_int_distribution<size_t> how_many(1, 30);
  constexpr int kRuns = 22;
  std::vector<std::string> reported;
  std::set<std::string> unique;
  for (int run = 0; run < kRuns; ++run) {
    const size_t want = how_many(rng);
    INFO("run " << run << ", killing after " << want << " ids");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::vector<std::string> lines;
    {
      Child child(home, kPin);
      bool got = child.ReadLines(want, deadline);
      int status = child.KillNow();
      REQUIRE_MESSAGE(got, "the child stopped reporting after "
                               << child.lines().size() << " ids (wait status " << status << ")");
      CHECK(WIFSIGNALED(status));
      child.Drain(deadline);
      lines = child.lines();
    }
    REQUIRE(lines.size() >= want);
    for (const std::string& id : lines) {
      CHECK_MESSAGE(unique.insert(id).second, "id reported twice: " << id);
      reported.push_back(id);
    }
    StoreCheck check = Inspect(db_path, reported);
    REQUIRE(check.integrity == "ok");
    CHECK_MESSAGE(check.missing.empty(), check.missing.size() << " reported ids are missing");
    // At most one finalize per run can commit between its COMMIT and the report.
    CHECK(check.finalized >= static_cast<int64_t>(reported.size()));
    CHECK(check.finalized <= static_cast<int64_t>(reported.size()) + run + 1);

    auto c = OpenClient(home);
    auto last = c->GetRecord(reported.back());
    REQUIRE_MESSAGE(last.ok(), last.status().ToString());
    CHECK(last->state == 1);
    CHECK(last->record.submission().submission_id() == reported.back());
    CHECK(last->record.submission().answers_size() >= 2);
  }
  // Every reported record decrypts and the outbox still seals in order.
  auto c = OpenClient(home);
  for (const std::string& id : reported) {
    auto r = c->GetRecord(id);
    REQUIRE_MESSAGE(r.ok(), id << ": " << r.status().ToString());
    CHECK(r->state == 1);
  }
  REQUIRE(c->SetServerId("crash-test").ok());
  auto sealed = c->SealOutbox();
  REQUIRE_MESSAGE(sealed.ok(), sealed.status().ToString());
  // Batched in the order the child finalized them.
  auto pending = c->PendingBatches();
  REQUIRE(pending.ok());
  std::vector<std::string> batched;
  for (const PendingBatch& p : *pending) {
    v1::SignedBatch sb;
    REQUIRE(sb.ParseFromString(p.signed_batch));
    v1::Batch batch;
    REQUIRE(batch.ParseFromString(sb.batch_bytes()));
    auto records = protocol::DecodePayload(batch);
    REQUIRE(records.ok());
    for (const auto& r : records->records()) {
      std::string id(protocol::RecordId(r));
      if (unique.count(id) != 0) batched.push_back(id);
    }
  }
  CHECK(batched == reported);
  auto status = c->GetStatus();
  REQUIRE(status.ok());
  CHECK(status->outbox == 0);
  CHECK(status->batched >= static_cast<int64_t>(reported.size()));
}

}  // namespace
}  // namespace vigil::client::test
