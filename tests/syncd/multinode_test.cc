// Several `syncd serve` nodes over one PostgreSQL store (issue 12; docs/architecture.md §6):
// the real binary, real TLS on 127.0.0.1, a fresh database of the ctest run's throwaway
// cluster (fixture pg_cluster).
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "deployment.h"
#include "pg_cluster.h"
#include "serve_process.h"
#include "support/process.h"
#include "test_util.h"

namespace vigil::syncd {
namespace {

using testing::Client;
using testing::Deployment;
using testing::ErrorOf;
using testing::MakeSubmission;
using testing::RunSyncd;
using testing::ServeProcess;
using testing::SharedPgCluster;
using testing::TempDir;
using testing::TestDevice;

// A record id of the test's own: the n-th of `prefix`.
std::string RecordId(int prefix, int n) {
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8%03d-%012d", prefix, n);
  return id;
}

// The receipt of an accepted push.
v1::Receipt ReceiptOf(const Client::Response& response) {
  v1::PushResponse push;
  REQUIRE(push.ParseFromString(response.body));
  v1::Receipt receipt;
  REQUIRE(receipt.ParseFromString(push.receipt().receipt_bytes()));
  return receipt;
}

// A deployment on a fresh PostgreSQL database, with `nodes` serve processes on its data dir.
struct Cluster {
  Deployment deployment{"--database " + SharedPgCluster().FreshDatabase()};
  std::vector<std::unique_ptr<ServeProcess>> nodes;
  std::vector<std::string> urls;

  explicit Cluster(int count) {
    for (int i = 0; i < count; ++i) {
      nodes.push_back(std::make_unique<ServeProcess>(deployment.data, deployment.dir.path(),
                                                     "node" + std::to_string(i)));
    }
    for (auto& node : nodes) urls.push_back(node->WaitReady());
  }

  Client ClientOf(size_t node) { return Client(urls[node], deployment.ca(), deployment.pin()); }
};

TEST_CASE("init --database: the store is PostgreSQL, a second init of it is refused") {
  const std::string url = SharedPgCluster().FreshDatabase();
  Deployment deployment("--database " + url);
  struct stat st {};
  REQUIRE(stat((deployment.data + "/database").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // The URL may carry a password.
  CHECK_FALSE(std::filesystem::exists(deployment.data + "/syncd.db"));

  TempDir other;
  int rc = 0;
  std::string out;
  std::tie(rc, out) = RunSyncd("init --data " + other.path() + "/data --database " + url);
  CHECK(rc != 0);
  CHECK(out.find("already holds the store of deployment it-server") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(other.path() + "/data/receipt_key"));
  std::tie(rc, out) = RunSyncd("init --data " + other.path() + "/bad --database /tmp/x.db");
  CHECK(rc == 2);
  CHECK(out.find("--database takes a postgresql:// URL") != std::string::npos);

  // What admin wrote went to PostgreSQL: observer obs1 is there to get an enrollment code.
  CHECK_FALSE(
      deployment.Admin("enroll-code --observer obs1 --expires 1h --server-url https://127.0.0.1:1")
          .empty());
  CHECK(deployment.Stats().batches() == 0);
  // Backups of a PostgreSQL store are PostgreSQL's own.
  std::tie(rc, out) =
      RunSyncd("admin --data " + deployment.data + " backup --out " + other.path() + "/b");
  CHECK(rc != 0);
  CHECK(out.find("is PostgreSQL: back it up with PostgreSQL's own tools") != std::string::npos);
}

TEST_CASE("two nodes serve one device in turn: receipts follow one log order, verify is ok") {
  Cluster cluster(2);
  Client a = cluster.ClientOf(0);
  Client b = cluster.ClientOf(1);
  std::string receipt_key;
  TestDevice device = cluster.deployment.Enroll(a, cluster.urls[0], &receipt_key);
  for (int n = 1; n <= 6; ++n) {
    Client& node = n % 2 == 1 ? a : b;
    Client::Response pushed =
        node.Post("/v1/push", device.NextBody({MakeSubmission(RecordId(1, n))}));
    REQUIRE_MESSAGE(pushed.status == 200, "push " << n << ": " << pushed.status);
    CHECK(ReceiptOf(pushed).log_index() == static_cast<uint64_t>(n));
  }
  // Either node knows what the other stored: a replay through b of batch 5 (taken by a).
  v1::ServerStats stats = cluster.deployment.Stats();
  CHECK(stats.batches() == 6);
  CHECK(stats.submissions() == 6);
  const std::string verified = cluster.deployment.Admin("verify");
  CHECK(verified.find("batches: 6") != std::string::npos);
  CHECK(verified.find("verify: ok") != std::string::npos);
}

TEST_CASE("the same fork sent to two nodes at the same moment: exactly one is accepted, 60 times") {
  Cluster cluster(2);
  Client a = cluster.ClientOf(0);
  Client b = cluster.ClientOf(1);
  std::string receipt_key;
  TestDevice device = cluster.deployment.Enroll(a, cluster.urls[0], &receipt_key);
  constexpr int kTries = 60;
  int accepted_by_a = 0;
  for (int n = 1; n <= kTries; ++n) {
    const std::string fork_a =
        device.BatchBytes({MakeSubmission(RecordId(2, n))}, n, device.last_hash);
    const std::string fork_b =
        device.BatchBytes({MakeSubmission(RecordId(3, n))}, n, device.last_hash);
    const std::string body_a = device.Sign(fork_a);
    const std::string body_b = device.Sign(fork_b);
    // Both requests leave together: each thread waits until both are ready.
    std::atomic<int> ready{0};
    Client::Response answer_a;
    Client::Response answer_b;
    auto send = [&ready](Client& client, const std::string& body, Client::Response& answer) {
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
      answer = client.Post("/v1/push", body);
    };
    std::thread to_a(send, std::ref(a), std::cref(body_a), std::ref(answer_a));
    std::thread to_b(send, std::ref(b), std::cref(body_b), std::ref(answer_b));
    to_a.join();
    to_b.join();
    const bool a_won = answer_a.status == 200;
    const bool b_won = answer_b.status == 200;
    REQUIRE_MESSAGE(a_won != b_won,
                    "try " << n << ": " << answer_a.status << " and " << answer_b.status);
    const Client::Response& lost = a_won ? answer_b : answer_a;
    REQUIRE(lost.status == 409);
    CHECK(ErrorOf(lost).code() == v1::EQUIVOCATION);
    accepted_by_a += a_won ? 1 : 0;
    device.last_hash = protocol::Sha256(a_won ? fork_a : fork_b);
    device.next_seq = n + 1;
  }
  MESSAGE("node a won " << accepted_by_a << " of " << kTries);
  v1::ServerStats stats = cluster.deployment.Stats();
  CHECK(stats.batches() == kTries);
  CHECK(stats.submissions() == kTries);
  CHECK(stats.equivocations() == kTries);
  CHECK(cluster.deployment.Admin("verify").find("verify: ok") != std::string::npos);
}

TEST_CASE("two nodes take pushes of many devices at once: log indexes 1..N, none twice") {
  Cluster cluster(2);
  constexpr int kDevices = 6;
  constexpr int kBatches = 10;
  std::vector<TestDevice> devices;
  {
    Client enroller = cluster.ClientOf(0);
    std::string receipt_key;
    for (int d = 0; d < kDevices; ++d) {
      devices.push_back(cluster.deployment.Enroll(enroller, cluster.urls[0], &receipt_key));
    }
  }
  std::vector<std::vector<uint64_t>> indexes(kDevices);
  std::vector<int> failures(kDevices, 0);
  std::vector<std::thread> threads;
  for (int d = 0; d < kDevices; ++d) {
    threads.emplace_back([&, d] {
      Client nodes[2] = {cluster.ClientOf(0), cluster.ClientOf(1)};
      for (int n = 1; n <= kBatches; ++n) {
        Client::Response pushed = nodes[(d + n) % 2].Post(
            "/v1/push", devices[d].NextBody({MakeSubmission(RecordId(10 + d, n))}));
        if (pushed.status != 200) {
          ++failures[d];
          return;
        }
        indexes[d].push_back(ReceiptOf(pushed).log_index());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<uint64_t> all;
  for (int d = 0; d < kDevices; ++d) {
    CHECK(failures[d] == 0);
    CHECK(std::is_sorted(indexes[d].begin(), indexes[d].end()));
    all.insert(indexes[d].begin(), indexes[d].end());
  }
  REQUIRE(all.size() == kDevices * kBatches);
  CHECK(*all.begin() == 1);
  CHECK(*all.rbegin() == kDevices * kBatches);
  CHECK(cluster.deployment.Admin("verify").find("verify: ok") != std::string::npos);
}

TEST_CASE(
    "three nodes, one killed with SIGKILL 20 times at random moments: every ack is stored once") {
  Cluster cluster(3);
  constexpr int kDevices = 4;
  constexpr int kKills = 20;
  std::vector<TestDevice> devices;
  {
    Client enroller = cluster.ClientOf(0);
    std::string receipt_key;
    for (int d = 0; d < kDevices; ++d) {
      devices.push_back(cluster.deployment.Enroll(enroller, cluster.urls[0], &receipt_key));
    }
  }
  std::atomic<bool> stop{false};
  std::vector<int> acknowledged(kDevices, 0);
  std::vector<std::string> failures(kDevices);
  std::vector<int> failovers(kDevices, 0);
  std::vector<std::thread> threads;
  for (int d = 0; d < kDevices; ++d) {
    threads.emplace_back([&, d] {
      std::vector<std::unique_ptr<Client>> nodes;
      for (const std::string& url : cluster.urls) {
        nodes.push_back(
            std::make_unique<Client>(url, cluster.deployment.ca(), cluster.deployment.pin()));
      }
      size_t current = static_cast<size_t>(d) % nodes.size();
      for (int n = 1; !stop.load(); ++n) {
        const std::string body = devices[d].NextBody({MakeSubmission(RecordId(20 + d, n))});
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (true) {
          Client::Response pushed = nodes[current]->Post("/v1/push", body);
          if (pushed.status == 200) break;
          // A node that is down (no answer) or busy (503): the next one, as a device does.
          if ((pushed.status != 0 && pushed.status != 503) ||
              std::chrono::steady_clock::now() > deadline) {
            failures[d] = "batch " + std::to_string(n) + ": status " +
                          std::to_string(pushed.status) + ", curl " + std::to_string(pushed.rc);
            return;
          }
          current = (current + 1) % nodes.size();
          ++failovers[d];
        }
        ++acknowledged[d];
      }
    });
  }
  std::mt19937 random(12);
  for (int kill = 0; kill < kKills; ++kill) {
    // A random moment: the devices push meanwhile (load shaping, not a timing assertion).
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + random() % 200));
    cluster.nodes[random() % cluster.nodes.size()]->Restart();
  }
  stop.store(true);
  for (std::thread& t : threads) t.join();
  int total = 0;
  int total_failovers = 0;
  for (int d = 0; d < kDevices; ++d) {
    CHECK_MESSAGE(failures[d].empty(), "device " << d << ": " << failures[d]);
    CHECK(acknowledged[d] > 0);
    total += acknowledged[d];
    total_failovers += failovers[d];
  }
  MESSAGE(total << " batches acknowledged, " << total_failovers << " failovers, " << kKills
                << " kills");
  CHECK(total_failovers > 0);
  v1::ServerStats stats = cluster.deployment.Stats();
  CHECK(stats.batches() == static_cast<uint64_t>(total));
  CHECK(stats.submissions() == static_cast<uint64_t>(total));
  CHECK(cluster.deployment.Admin("verify").find("verify: ok") != std::string::npos);
}

// A primary and its synchronous standby (scripts/pg-cluster), each in its own folder; both
// stopped when the guard dies.
struct ReplicatedCluster {
  TempDir dir;
  std::string primary_url;
  std::string standby_url;

  ReplicatedCluster() {
    primary_url = Script("start " + dir.path() + "/primary");
    standby_url = Script("standby " + dir.path() + "/primary " + dir.path() + "/standby");
  }
  ~ReplicatedCluster() {
    for (const char* which : {"/standby", "/primary"}) {
      (void)test_support::RunShell(std::string(VIGIL_PG_CLUSTER_SCRIPT) + " stop " + dir.path() +
                                   which + " >/dev/null 2>&1");
    }
  }
  ReplicatedCluster(const ReplicatedCluster&) = delete;
  ReplicatedCluster& operator=(const ReplicatedCluster&) = delete;

  // Runs scripts/pg-cluster ARGS; its last output line.
  static std::string Script(const std::string& args) {
    Result<test_support::ShellResult> run =
        test_support::RunShell(std::string(VIGIL_PG_CLUSTER_SCRIPT) + " " + args + " 2>&1");
    REQUIRE_MESSAGE(run.ok(), run.status().ToString());
    REQUIRE_MESSAGE(run->exit_code == 0, "pg-cluster " << args << ": " << run->output);
    std::string out = run->output;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  }

  // One URL naming both servers: libpq reaches whichever accepts writes (the primary).
  std::string BothUrl() const {
    const std::string host_of_standby = standby_url.substr(
        standby_url.find('@') + 1, standby_url.rfind('/') - standby_url.find('@') - 1);
    const size_t slash = primary_url.rfind('/');
    return primary_url.substr(0, slash) + "," + host_of_standby + primary_url.substr(slash);
  }
};

// Pushes `body` until a node answers 200, for at most 60 s; refusals meanwhile must be
// retryable (503 UNAVAILABLE) or no answer at all.
Client::Response PushUntilAccepted(Client& client, const std::string& body, int* refused) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (true) {
    Client::Response pushed = client.Post("/v1/push", body);
    if (pushed.status == 200 || std::chrono::steady_clock::now() > deadline) return pushed;
    if (pushed.status != 0) {
      REQUIRE_MESSAGE(pushed.status == 503, "status " << pushed.status);
      CHECK(ErrorOf(pushed).code() == v1::UNAVAILABLE);
    }
    ++*refused;
    // Waits between retries, as a device does (not a timing assertion).
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

TEST_CASE("primary killed, standby promoted: syncd reconnects and nothing acknowledged is lost") {
  ReplicatedCluster pg;
  Deployment deployment("--database " + pg.BothUrl());
  ServeProcess node(deployment.data, deployment.dir.path(), "node");
  const std::string url = node.WaitReady();
  Client client(url, deployment.ca(), deployment.pin());
  std::string receipt_key;
  TestDevice device = deployment.Enroll(client, url, &receipt_key);
  constexpr int kBefore = 10;
  constexpr int kAfter = 10;
  for (int n = 1; n <= kBefore; ++n) {
    REQUIRE(client.Post("/v1/push", device.NextBody({MakeSubmission(RecordId(4, n))})).status ==
            200);
  }
  ReplicatedCluster::Script("crash " + pg.dir.path() + "/primary");
  ReplicatedCluster::Script("promote " + pg.dir.path() + "/standby");
  int refused = 0;
  for (int n = kBefore + 1; n <= kBefore + kAfter; ++n) {
    Client::Response pushed =
        PushUntilAccepted(client, device.NextBody({MakeSubmission(RecordId(4, n))}), &refused);
    REQUIRE_MESSAGE(pushed.status == 200, "batch " << n << ": " << pushed.status);
    CHECK(ReceiptOf(pushed).log_index() == static_cast<uint64_t>(n));
  }
  MESSAGE(refused << " pushes refused while syncd reconnected");
  CHECK(refused >= 1);  // The first push after the crash met the lost connection.

  // Every acknowledged batch is on the promoted standby, once.
  v1::ServerStats stats = deployment.Stats();
  CHECK(stats.batches() == kBefore + kAfter);
  CHECK(stats.submissions() == kBefore + kAfter);
  CHECK(deployment.Admin("verify").find("verify: ok") != std::string::npos);
  const std::string metrics = client.Get("/metrics").body;
  CHECK(metrics.find("syncd_store_up 1") != std::string::npos);
  CHECK(metrics.find("syncd_store_reconnects_total 1") != std::string::npos);
  CHECK(node.Log().find("syncd: store: reconnected to the database after") != std::string::npos);
}

}  // namespace
}  // namespace vigil::syncd
