// A throwaway PostgreSQL cluster for tests (scripts/pg-cluster): started in a temporary
// directory on a free port of 127.0.0.1, stopped and removed when destroyed.
#pragma once

#include <string>

namespace vigil::syncd::testing {

class PgCluster {
 public:
  // Creates and starts the cluster; FAILs the test when that is impossible.
  PgCluster();
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
  // SIGKILLs the postmaster, as a crash of the database server would.
  void Kill();

 private:
  std::string dir_;
  std::string url_;
  std::string base_;  // The URL without the database name.
  bool running_ = false;
  int databases_ = 0;
};

// The test process's cluster, started on first use.
PgCluster& SharedPgCluster();

}  // namespace vigil::syncd::testing
