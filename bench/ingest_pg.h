// The ingest benchmark on a PostgreSQL store (`scripts/bench ingest --store postgres
// [--nodes N]`; issue 12, docs/performance.md).
//
// scripts/bench starts a throwaway cluster (scripts/pg-cluster: fsync and synchronous_commit
// on) and passes its URL. Each phase gets a fresh database: `syncd init --database`, N
// `syncd serve` nodes on the one data dir, and ingest_bench's devices (bench/ingest_load.h)
// spread over the nodes, pushing batches of closing checklists back to back, merge on.
// Beside it, in the same rounds, the raw PostgreSQL rate: the same batches and records rows
// (copied from what syncd stored) inserted through the store's own PgConnection by as many
// client threads as there are nodes (each node writes through one connection), 50 records
// and their batch row per transaction. Rounds alternate syncd and raw phases; the figures are
// medians of the rounds, and ratios of medians measured in the same run.
#pragma once

#include <filesystem>
#include <string>

namespace vigil::bench {

// What to run.
struct PgIngestOptions {
  std::string syncd;                  // The syncd executable.
  std::filesystem::path forms;        // syncd/demo/forms.
  std::filesystem::path work;         // Scratch space (data dirs).
  std::string database_url;           // Database `vigil` of the throwaway cluster.
  std::filesystem::path cluster_dir;  // scripts/pg-cluster's DIR (its server's CPU is measured).
  int nodes = 1;                      // syncd nodes; > 1 also measures 1 node in each round.
  int devices = 100;                  // Simulated devices, one TLS connection each.
  int batch = 50;                     // Checklists per pushed batch (and per raw transaction).
  int rounds = 3;                     // Rounds of syncd and raw phases; medians are reported.
  double seconds = 15;                // Length of each phase.
  bool breakdown = true;              // One phase each with --no-merge and --no-validate.
};

// Runs the benchmark and prints its figures; returns the process exit status.
int RunPgIngest(const PgIngestOptions& options);

}  // namespace vigil::bench
