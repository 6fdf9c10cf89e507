#include "pg_cluster.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <utility>

#include "store/pg_connection.h"

namespace vigil::syncd::testing {
namespace {

// Runs `command` through the shell; its stdout, and whether it exited with 0.
bool Run(const std::string& command, std::string* out) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return false;
  char buffer[512];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
    if (out != nullptr) out->append(buffer, n);
  }
  return pclose(pipe) == 0;
}

std::string Script() { return VIGIL_PG_CLUSTER_SCRIPT; }

}  // namespace

PgCluster::PgCluster() {
  std::string pattern = (std::filesystem::temp_directory_path() / "vigil_pg_XXXXXX").string();
  char* made = mkdtemp(pattern.data());
  REQUIRE(made != nullptr);
  dir_ = made;
  std::string out;
  // Every test process copies one initdb's data directory (scripts/pg-cluster).
  const std::string template_dir =
      (std::filesystem::temp_directory_path() / "vigil_pg_template_15").string();
  bool started = Run(
      "PG_CLUSTER_TEMPLATE='" + template_dir + "' " + Script() + " start '" + dir_ + "/cluster'",
      &out);
  INFO("pg-cluster start printed: " << out);
  REQUIRE(started);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  url_ = out.substr(out.rfind('\n') + 1);
  REQUIRE(url_.rfind("postgresql://", 0) == 0);
  base_ = url_.substr(0, url_.rfind('/') + 1);
  running_ = true;
}

PgCluster::PgCluster(std::string url) : url_(std::move(url)), owned_(false) {
  base_ = url_.substr(0, url_.rfind('/') + 1);
  running_ = true;
}

PgCluster::~PgCluster() {
  if (!owned_) return;
  if (running_) (void)Run(Script() + " stop '" + dir_ + "/cluster' >/dev/null 2>&1", nullptr);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PgCluster::CreateDatabase(const std::string& name) {
  Result<std::unique_ptr<PgConnection>> conn = PgConnection::Connect(url_);
  REQUIRE_MESSAGE(conn.ok(), conn.status().ToString());
  Status created = (*conn)->Exec("CREATE DATABASE \"" + name + "\"");
  REQUIRE_MESSAGE(created.ok(), created.ToString());
  return base_ + name;
}

std::string PgCluster::FreshDatabase() {
  // Several test processes share the fixture's cluster: the name carries the process id.
  return CreateDatabase("test_" + std::to_string(getpid()) + "_" + std::to_string(++databases_));
}

void PgCluster::Kill() {
  REQUIRE_MESSAGE(owned_, "Kill() needs a cluster of the test's own, not the shared one");
  std::ifstream pid_file(dir_ + "/cluster/data/postmaster.pid");
  pid_t pid = 0;
  pid_file >> pid;
  REQUIRE(pid > 0);
  REQUIRE(kill(pid, SIGKILL) == 0);
  running_ = false;
}

PgCluster& SharedPgCluster() {
  static std::unique_ptr<PgCluster> cluster = [] {
    std::ifstream file(VIGIL_PG_TEST_CLUSTER_URL_FILE);
    std::string url;
    if (file >> url && url.rfind("postgresql://", 0) == 0 && PgConnection::Connect(url).ok()) {
      return std::make_unique<PgCluster>(url);
    }
    return std::make_unique<PgCluster>();
  }();
  return *cluster;
}

}  // namespace vigil::syncd::testing
