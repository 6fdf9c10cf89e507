// The SQLite store: schema migrations, append-only evidence, group commit durability.
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "http/router.h"
#include "ingest/ingest_service.h"
#include "test_util.h"

namespace vigil::syncd {
namespace {

using testing::MakeSubmission;
using testing::TempDir;
using testing::TestDevice;
using testing::TestServer;

TEST_CASE("a new store is migrated to the current schema version") {
  TempDir dir;
  std::string path = dir.path() + "/s.db";
  {
    Result<std::unique_ptr<SqlStore>> store = SqlStore::Open(path, true);
    REQUIRE(store.ok());
  }
  Result<sqlite::Db> db = sqlite::Db::Open(path, {.create = false, .busy_timeout_ms = 1000});
  REQUIRE(db.ok());
  CHECK(SchemaVersion(*db).value() == kSchemaVersion);
  // Migrating again is a no-op.
  CHECK(MigrateSchema(*db).ok());
}

TEST_CASE("a store from a newer syncd is refused") {
  TempDir dir;
  std::string path = dir.path() + "/s.db";
  {
    Result<std::unique_ptr<SqlStore>> store = SqlStore::Open(path, true);
    REQUIRE(store.ok());
  }
  {
    Result<sqlite::Db> db = sqlite::Db::Open(path, {.create = false, .busy_timeout_ms = 1000});
    REQUIRE(db.ok());
    REQUIRE(db->Exec("PRAGMA user_version=" + std::to_string(kSchemaVersion + 1)).ok());
  }
  Result<std::unique_ptr<SqlStore>> store = SqlStore::Open(path, false);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == StatusCode::kUnimplemented);
}

TEST_CASE("an uninitialized file is not a store") {
  TempDir dir;
  std::string path = dir.path() + "/empty.db";
  { REQUIRE(sqlite::Db::Open(path, {.create = true, .busy_timeout_ms = 1000}).ok()); }
  Result<std::unique_ptr<SqlStore>> store = SqlStore::Open(path, false);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("stored evidence cannot be updated or deleted") {
  TestServer server;
  TestDevice device = server.Enroll();
  REQUIRE(server.Post("/v1/push", device.NextBody({MakeSubmission("r1")})).status == 200);
  REQUIRE(server.store().LogCoordinatorAction(v1::AuditEntry()).ok());
  std::unique_ptr<sql::Connection> conn = server.ConnectDirectly();
  CHECK_FALSE(conn->Exec("DELETE FROM batches").ok());
  CHECK_FALSE(conn->Exec("UPDATE batches SET seq = seq + 100").ok());
  CHECK_FALSE(conn->Exec("UPDATE records SET bytes = bytes").ok());
  CHECK_FALSE(conn->Exec("DELETE FROM records").ok());
  CHECK_FALSE(conn->Exec("UPDATE audit_log SET reason = 'x'").ok());
  CHECK_FALSE(conn->Exec("DELETE FROM audit_log").ok());
  sql::Statement batches(*conn, "SELECT count(*) FROM batches");
  REQUIRE(batches.Step().value());
  CHECK(batches.Int(0) == 1);
  sql::Statement records(*conn, "SELECT count(*) FROM records");
  REQUIRE(records.Step().value());
  CHECK(records.Int(0) == 1);
}

TEST_CASE("settings are set once") {
  TestServer server;
  CHECK(server.store().InitSetting("server_id", testing::kServerId).ok());
  CHECK(server.store().InitSetting("server_id", "other").code() == StatusCode::kAlreadyExists);
  CHECK(server.store().GetSetting("server_id").value() == testing::kServerId);
  CHECK(server.store().GetSetting("nope").status().code() == StatusCode::kNotFound);
}

TEST_CASE("forms: a changed re-publish of the same version is refused") {
  TestServer server;
  CHECK(server.store().PublishForm(testing::OpeningForm()).ok());
  // Maps serialize in no fixed order; the comparison must not depend on it.
  v1::FormDefinition many_titles = testing::OpeningForm();
  many_titles.set_version(3);
  for (int i = 0; i < 50; ++i) (*many_titles.mutable_title())["l" + std::to_string(i)] = "t";
  CHECK(server.store().PublishForm(many_titles).ok());
  v1::FormDefinition same;
  for (int i = 49; i >= 0; --i) (*same.mutable_title())["l" + std::to_string(i)] = "t";
  same.MergeFrom(many_titles);
  CHECK(server.store().PublishForm(same).ok());
  v1::FormDefinition changed = testing::OpeningForm();
  changed.mutable_questions(0)->set_required(true);
  CHECK(server.store().PublishForm(changed).code() == StatusCode::kAlreadyExists);
  changed.set_version(2);
  CHECK(server.store().PublishForm(changed).ok());
}

TEST_CASE("a checklist filed far from its station is flagged on the submission and the master") {
  TestServer server;
  v1::Station station;
  station.set_code(testing::kStation);
  station.set_name("School");
  station.set_registered_voters(700);
  station.mutable_location()->set_latitude(11.55);
  station.mutable_location()->set_longitude(104.92);
  REQUIRE(server.store().ImportStations({station}).ok());
  TestDevice device = server.Enroll();
  auto filed_at = [](const std::string& id, double latitude) {
    v1::Record record = MakeSubmission(id);
    record.mutable_submission()->mutable_location()->set_latitude(latitude);
    record.mutable_submission()->mutable_location()->set_longitude(104.92);
    return record;
  };
  const std::string far_id = "00000000-0000-4000-8000-0000000000f1";
  const std::string near_id = "00000000-0000-4000-8000-0000000000f2";
  REQUIRE(server.Post("/v1/push", device.NextBody({filed_at(far_id, 11.595)})).status == 200);
  auto flags_of = [&](const std::string& id) {
    std::vector<std::string> checks;
    v1::StationDetail detail = server.store().StationDetail(testing::kStation).value();
    for (const v1::StationSubmission& s : detail.submissions()) {
      if (s.submission().submission_id() != id) continue;
      for (const v1::QaFlag& f : s.qa_flags()) checks.push_back(f.check_id() + " " + f.label());
    }
    return checks;
  };
  CHECK(flags_of(far_id) ==
        std::vector<std::string>{
            "far_from_station filed 5004 m from the station (more than 1000 m)"});
  v1::StationDetail detail = server.store().StationDetail(testing::kStation).value();
  REQUIRE(detail.masters_size() == 1);
  bool on_master = false;
  for (const v1::QaFlag& f : detail.masters(0).qa_flags()) {
    on_master = on_master || (f.check_id() == "far_from_station" && f.submission_id() == far_id);
  }
  CHECK(on_master);

  // The deployment allows 10 km: the same distance is no longer flagged.
  REQUIRE(server.store().PutSetting("far_from_station_m", "10000").ok());
  REQUIRE(server.Post("/v1/push", device.NextBody({filed_at(near_id, 11.595)})).status == 200);
  CHECK(flags_of(near_id).empty());
}

// Holds the store's writer with a job of its own until Open() is called (the test's jobs then
// queue up behind it and run as one group).
class WriterGate {
 public:
  // Returns once the writer runs the holding job, so that what comes next queues behind it.
  explicit WriterGate(SqlStore& store) : opened_(gate_.get_future().share()) {
    auto holding = std::make_shared<std::promise<void>>();
    std::future<void> held = holding->get_future();
    store.WriteLedger(
        [opened = opened_, holding](LedgerTx&) {
          holding->set_value();
          opened.wait();
          return Status::Ok();
        },
        [](const Status&) {});
    held.wait();
  }
  WriterGate(const WriterGate&) = delete;
  WriterGate& operator=(const WriterGate&) = delete;
  ~WriterGate() { Open(); }
  void Open() {
    if (!open_) gate_.set_value();
    open_ = true;
  }

 private:
  std::promise<void> gate_;
  std::shared_future<void> opened_;
  bool open_ = false;
};

// Waits until `depth` jobs wait in the writer's queue.
void WaitForQueue(SqlStore& store, size_t depth) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (store.WriterQueueDepth() < depth) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::yield();
  }
}

TEST_CASE("log indexes are handed out as a group ends: in job order, none to a failed job") {
  TestServer server;
  TestDevice a = server.Enroll();
  TestDevice b = server.Enroll();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<HttpResponse> answers(3);
  int answered = 0;
  auto push = [&](size_t slot, std::string body) {
    server.router().HandleAsync({"POST", "/v1/push", std::move(body)},
                                [&, slot](const HttpResponse& response) {
                                  std::lock_guard lock(mu);
                                  answers[slot] = response;
                                  ++answered;
                                  cv.notify_all();
                                });
  };
  const std::string a1 = a.NextBody({MakeSubmission("00000000-0000-4000-8000-00000000000a")});
  const std::string b1 = b.NextBody({MakeSubmission("00000000-0000-4000-8000-00000000000b")});
  Status failed_job;
  {
    WriterGate gate(server.store());
    push(0, a1);
    WaitForQueue(server.store(), 1);
    push(1, a1);  // The same batch again, in the same group as its first copy.
    WaitForQueue(server.store(), 2);
    // A job that appends a batch to the log and then fails: its batch must take no index.
    server.store().WriteLedger(
        [](LedgerTx& tx) {
          BatchRow row;
          row.device_id = "dnobody";
          row.seq = 1;
          Status appended = tx.AppendToLog(row, [](uint64_t, BatchRow&) { return Status::Ok(); });
          return appended.ok() ? Status::Internal("this job fails after appending") : appended;
        },
        [&](const Status& status) {
          std::lock_guard lock(mu);
          failed_job = status;
          ++answered;
          cv.notify_all();
        });
    WaitForQueue(server.store(), 3);
    push(2, b1);
    WaitForQueue(server.store(), 4);
  }
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return answered == 4; }));
  }
  CHECK(failed_job.code() == StatusCode::kInternal);
  auto log_index_of = [](const HttpResponse& response) {
    REQUIRE(response.status == 200);
    v1::PushResponse push_response;
    REQUIRE(push_response.ParseFromString(response.body));
    v1::Receipt receipt;
    REQUIRE(receipt.ParseFromString(push_response.receipt().receipt_bytes()));
    return receipt.log_index();
  };
  CHECK(log_index_of(answers[0]) == 1);
  CHECK(log_index_of(answers[2]) == 2);  // No gap where the failed job's batch was.
  // The copy that waited in the group was told to send it again; sent again, it is a replay
  // with the first copy's receipt.
  CHECK(answers[1].status == 503);
  CHECK(testing::ErrorOf(answers[1]).code() == v1::UNAVAILABLE);
  CHECK(log_index_of(server.Post("/v1/push", a1)) == 1);
}

TEST_CASE("a group-end task that fails refuses no batch of its group") {
  TestServer server;
  TestDevice device = server.Enroll();
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  Status job_status = Status::Internal("not run");
  HttpResponse pushed;
  {
    WriterGate gate(server.store());
    // A job whose end-of-group work fails the way a damaged record would.
    server.store().WriteLedger(
        [](LedgerTx& tx) {
          return tx.AtGroupEnd(
              [](LedgerTx&) { return Status::DataLoss("a record of station X is unreadable"); });
        },
        [&](const Status& status) {
          std::lock_guard lock(mu);
          job_status = status;
          ++answered;
          cv.notify_all();
        });
    WaitForQueue(server.store(), 1);
    server.router().HandleAsync(
        {"POST", "/v1/push",
         device.NextBody({MakeSubmission("00000000-0000-4000-8000-0000000000c1")})},
        [&](const HttpResponse& response) {
          std::lock_guard lock(mu);
          pushed = response;
          ++answered;
          cv.notify_all();
        });
    WaitForQueue(server.store(), 2);
  }
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return answered == 2; }));
  }
  CHECK(job_status.ok());
  CHECK(pushed.status == 200);
  CHECK(server.store().Stats()->batches() == 1);
}

TEST_CASE("group commit: many batches share transactions and every acknowledged one survives") {
  constexpr int kDevices = 40;
  TestServer server;
  std::vector<TestDevice> devices;
  devices.reserve(kDevices);
  for (int i = 0; i < kDevices; ++i) devices.push_back(server.Enroll());
  const uint64_t before = server.store().transactions_committed();

  // The writer is held by a job of our own until every push waits in its queue: how many
  // jobs share a transaction then does not depend on how fast this machine verifies.
  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  int accepted = 0;
  WriterGate gate(server.store());  // After what the answers touch: opened before they go.
  for (int i = 0; i < kDevices; ++i) {
    server.router().HandleAsync(
        {"POST", "/v1/push", devices[i].NextBody({MakeSubmission("rec-" + std::to_string(i))})},
        [&](const HttpResponse& response) {
          std::lock_guard lock(mu);
          ++answered;
          if (response.status == 200) ++accepted;
          cv.notify_all();
        });
  }
  WaitForQueue(server.store(), kDevices);
  gate.Open();
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return answered == kDevices; }));
  }
  CHECK(accepted == kDevices);
  // The held job's transaction, then the 40 pushes in one.
  const uint64_t used = server.store().transactions_committed() - before;
  MESSAGE(kDevices << " batches committed in " << used << " transactions");
  CHECK(used <= 2);

  server.store().Close();
  std::unique_ptr<SqlStore> reopened = server.Open();
  Result<v1::ServerStats> stats = reopened->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->batches() == kDevices);
  CHECK(stats->records() == kDevices);
}

TEST_CASE("the writer answers a replay with the stored response") {
  TestServer server;
  TestDevice device = server.Enroll();
  std::string body = device.NextBody({MakeSubmission("r1")});
  HttpResponse first = server.Post("/v1/push", body);
  REQUIRE(first.status == 200);
  v1::SignedBatch signed_batch;
  REQUIRE(signed_batch.ParseFromString(body));
  VerifiedBatch batch;
  batch.device_id = device.device_id;
  batch.seq = 1;
  batch.prev_hash = protocol::GenesisHash();
  batch.batch_bytes = signed_batch.batch_bytes();
  batch.batch_hash = protocol::Sha256(batch.batch_bytes);
  Result<protocol::Ed25519PrivateKey> other_key = protocol::Ed25519PrivateKey::Generate();
  REQUIRE(other_key.ok());
  IngestService ingest(server.store(),
                       ReceiptIssuer(std::make_shared<const protocol::Ed25519PrivateKey>(
                                         std::move(other_key).value()),
                                     "another-server"));
  std::promise<Result<AppendOutcome>> promise;
  ingest.AppendBatch(batch,
                     [&](Result<AppendOutcome> outcome) { promise.set_value(std::move(outcome)); });
  Result<AppendOutcome> outcome = promise.get_future().get();
  REQUIRE(outcome.ok());
  CHECK(outcome->verdict == protocol::SequenceVerdict::kReplay);
  CHECK(outcome->response_bytes == first.body);
}

TEST_CASE("a closed store refuses writes with Unavailable") {
  TestServer server;
  server.store().Close();
  CHECK(server.store().AddObserver("x", "X", "", {}).code() == StatusCode::kUnavailable);
}

}  // namespace
}  // namespace vigil::syncd
