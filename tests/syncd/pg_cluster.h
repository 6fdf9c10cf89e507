// A throwaway PostgreSQL cluster for tests (scripts/pg-cluster): started in a temporary
// directory on a free port of 127.0.0.1, stopped and removed when destroyed.
//
// Under ctest, one cluster serves the whole run: the fixture test "pg cluster: start"
// (tests/syncd/CMakeLists.txt) starts it and writes its URL to VIGIL_PG_TEST_CLUSTER_URL_FILE;
// SharedPgCluster() attaches to it when it answers, and each test takes fresh databases
// named after its process. Run alone, a test binary starts a cluster of its own.
#pragma once

#include <string>

namespace vigil::syncd::testing {

class PgCluster {
 public:
  // Creates and starts the cluster; FAILs the test when that is impossible.
  PgCluster();
  // Attaches to the running cluster whose database `vigil` is at `url`; neither stops nor
  // removes it.
  explicit PgCluster(std::string url);
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;
  // Stops the cluster (unless killed) and removes its directory.
  ~PgCluster();

  // The URL of its database `vigil`.
  const std::string& url() const { return url_; }
  // Creates database `name` (letters, digits and '_') and returns its URL.
  std::string CreateDatabase(const std::string& name);
  // A new database with a name unique in this process, and its URL.
  std::string FreshDatabase();
  // SIGKILLs the postmaster, as a crash of the database server would (owned clusters only).
  void Kill();

 private:
  std::string dir_;
  std::string url_;
  std::string base_;  // The URL without the database name.
  bool running_ = false;
  bool owned_ = true;
  int databases_ = 0;
};

// The test process's cluster, started on first use.
PgCluster& SharedPgCluster();

}  // namespace vigil::syncd::testing
