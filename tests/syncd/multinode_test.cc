// Several `syncd serve` nodes over one PostgreSQL store (issue 12; docs/architecture.md §6):
// the real binary, real TLS on 127.0.0.1, a fresh database of the ctest run's throwaway
// cluster (fixture pg_cluster).
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "deployment.h"
#include "pg_cluster.h"
#include "serve_process.h"
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

}  // namespace
}  // namespace vigil::syncd
