// Changes across syncd nodes on one PostgreSQL database (store/sql_store.h note 5,
// store/pg_listener.h): a write through one store moves another's ChangeCounter, the listener
// reconnects when its connection is killed, and a dashboard's event stream on one node gets
// the new overview after a push through another, before the overview's 10 s cache would.
#include "store/pg_listener.h"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "dashboard/api.h"
#include "dashboard_util.h"
#include "pg_cluster.h"
#include "store/pg_connection.h"
#include "store/sql_store.h"

namespace vigil::syncd {
namespace {

using testing::SharedPgCluster;

// Well under the dashboard's 10 s fallback: only a notification can be this fast.
constexpr auto kDeadline = std::chrono::seconds(5);

// Waits until `done()` holds, checking after every short pause; false at the deadline.
template <class Pred>
bool WaitFor(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::unique_ptr<SqlStore> OpenStore(const std::string& url, bool create) {
  Result<std::unique_ptr<SqlStore>> store = SqlStore::OpenPostgres(url, create);
  REQUIRE_MESSAGE(store.ok(), store.status().ToString());
  return std::move(store).value();
}

// Notifications a listener received, to wait on.
struct Heard {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> payloads;

  void Add(const std::string& payload) {
    std::lock_guard lock(mu);
    payloads.push_back(payload);
    cv.notify_all();
  }
  // Whether `payload` arrives before the deadline.
  bool WaitFor(const std::string& payload) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kDeadline, [&] {
      return std::find(payloads.begin(), payloads.end(), payload) != payloads.end();
    });
  }
};

TEST_CASE("pg listener: a write through one store moves the other store's change counter") {
  const std::string url = SharedPgCluster().FreshDatabase();
  std::unique_ptr<SqlStore> a = OpenStore(url, true);
  std::unique_ptr<SqlStore> b = OpenStore(url, false);
  const uint64_t a_before = a->ChangeCounter();
  const uint64_t b_before = b->ChangeCounter();
  REQUIRE(a->InitSetting("server_id", "two-nodes").ok());
  CHECK(a->ChangeCounter() == a_before + 1);  // Its own transaction.
  CHECK(WaitFor([&] { return b->ChangeCounter() > b_before; }));
  CHECK(b->transactions_committed() == 0);  // B wrote nothing: the move came from A.

  // And the other way round, on a write job of another kind.
  const uint64_t a_now = a->ChangeCounter();
  v1::Station station;
  station.set_code("01-01-01-0001");
  REQUIRE(b->ImportStations({station}).ok());
  CHECK(WaitFor([&] { return a->ChangeCounter() > a_now; }));
  a->Close();
  b->Close();
}

TEST_CASE("pg listener: hears NOTIFY, reconnects after its connection is killed, stops on Stop") {
  const std::string url = SharedPgCluster().FreshDatabase();
  Heard heard;
  Result<std::unique_ptr<PgListener>> started =
      PgListener::Start(url, "vigil_changes", [&](const std::string& p) { heard.Add(p); });
  REQUIRE_MESSAGE(started.ok(), started.status().ToString());
  PgListener& listener = **started;
  CHECK(listener.connected());
  Result<std::unique_ptr<PgConnection>> other = PgConnection::Connect(url);
  REQUIRE(other.ok());
  REQUIRE((*other)->Exec("NOTIFY vigil_changes, 'first'").ok());
  CHECK(heard.WaitFor("first"));
  // A notification inside a transaction that rolls back is never delivered.
  REQUIRE((*other)->Exec("BEGIN; NOTIFY vigil_changes, 'rolled back'; ROLLBACK").ok());

  // The server ends the listening connection: the listener connects again and says that
  // something may have changed meanwhile (an empty payload).
  const int pid = listener.backend_pid();
  REQUIRE(pid != 0);
  REQUIRE((*other)->Exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")").ok());
  CHECK(heard.WaitFor(""));
  CHECK(listener.reconnections() == 1);
  CHECK(WaitFor([&] { return listener.connected() && listener.backend_pid() != pid; }));
  REQUIRE((*other)->Exec("NOTIFY vigil_changes, 'second'").ok());
  CHECK(heard.WaitFor("second"));
  listener.Stop();
  CHECK_FALSE(listener.connected());
  {
    std::lock_guard lock(heard.mu);
    CHECK(std::count(heard.payloads.begin(), heard.payloads.end(), "rolled back") == 0);
  }
  CHECK(PgListener::Start(url, "Bad-Name", [](const std::string&) {}).status().code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("pg listener: an event stream on one node shows a push made through another") {
  // TestServer puts its store on a fresh database of the cluster (tests/syncd/test_util.h).
  // Set before this test starts any thread of its own.
  setenv("VIGIL_TEST_STORE", "postgres", 1);  // NOLINT(concurrency-mt-unsafe)
  testing::DashboardServer node_a;
  auto [cookie, csrf] = node_a.Login("vic");
  std::unique_ptr<SqlStore> store_b = node_a.server.Open();
  dashboard::DashboardOptions options = testing::TestDashboardOptions();
  options.overview_refresh_ms = 50;
  dashboard::Dashboard node_b(*store_b, options);

  HttpRequest request{"GET", "/api/events", ""};
  request.headers["cookie"] = cookie;  // The session node A made.
  request.remote_address = "10.0.0.1";
  HttpResponse events = node_b.Handle(request);
  REQUIRE(events.status == 200);
  REQUIRE(events.event_stream != nullptr);
  CHECK(events.event_stream->first_chunk.find("event: overview") != std::string::npos);
  v1::Overview first = testing::FromJson<v1::Overview>(
      events.event_stream->first_chunk.substr(events.event_stream->first_chunk.find("data: ") + 6));
  CHECK(first.submissions() == 0);

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> chunks;
  const uint64_t id = events.event_stream->subscribe([&](const std::string& chunk) {
    std::lock_guard lock(mu);
    chunks.push_back(chunk);
    cv.notify_all();
    return true;
  });
  REQUIRE(id != 0);

  testing::TestDevice device = node_a.Enroll("obs1", 'a');
  node_a.Push(device, {testing::AsRecord(testing::CountSubmission(
                          "s1", 10, {{"ballots", 300}, {"votes_a", 120}}))});
  {
    std::unique_lock lock(mu);
    CHECK(cv.wait_for(lock, kDeadline, [&] {
      for (const std::string& chunk : chunks) {
        size_t data = chunk.find("data: ");
        if (data == std::string::npos) continue;
        v1::Overview overview;
        if (google::protobuf::util::JsonStringToMessage(chunk.substr(data + 6), &overview).ok() &&
            overview.submissions() == 1) {
          return true;
        }
      }
      return false;
    }));
  }
  events.event_stream->unsubscribe(id);
}

}  // namespace
}  // namespace vigil::syncd
