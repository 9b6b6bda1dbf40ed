// Runs a list of cells into a results dir. Every cell becomes exactly one record: a failure or
// an unsupported feature is a row with a status and message, and the matrix goes on.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "memplace/cell.h"
#include "memplace/populate.h"
#include "memplace/probe.h"
#include "memplace/result.h"
#include "memplace/run_record.h"
#include "memplace/spec.h"

namespace memplace {

struct RunOptions {
  std::string out_dir;
  std::string sysfs_root;   // "" = live system
  bool progress = true;     // human progress lines on stderr
  bool resume = false;      // skip cells already in out_dir/runs.jsonl
  std::string stream_path;  // also write each record line here (testbed's virtio port)
  Environment environment;  // kind, kernel; filled from the host when left empty
  std::string invocation;   // the command line, for the manifest
};

struct MatrixSummary {
  int ok = 0;
  int unsupported = 0;
  int failed = 0;
  int not_honored = 0;     // ok runs whose verdict failed
  int skipped = 0;         // already present (resume)
  int interrupted_by = 0;  // signal number that stopped the matrix early, 0 if it ran through
};

// The git revision memplace was built from, for manifests.
std::string memplace_revision();

// Context shared by the cells of one matrix.
struct RunContext {
  std::string sysfs_root;
  std::string out_dir;
  int sample_interval_ms = 10;
  double tolerance = 0.05;
  PopulateOptions populate;       // host toucher only
  std::string workload = "none";  // timed after a successful populate (workload.h)
  // Per-cell touch time limit (Spec::toucher_timeout_s); none = by size (toucher.h).
  std::optional<int> toucher_timeout_s;
  Environment environment;
  ProbeReport probe;
  QemuSpec qemu;  // the spec's [qemu] table, for toucher = "qemu" cells
};

// Per node, after[field] - before[field] in MiB (fields in kB), for nodes that have it in both.
std::map<int, double> delta_mib(const MeminfoSnapshot& before, const MeminfoSnapshot& after,
                                const std::string& field);
// MemUsed's delta less the change in per-CPU free lists (kPcpFreeField): memory that really went
// from free to used. Only nodes whose snapshots carry both fields.
std::map<int, double> delta_used_less_pcp_mib(const MeminfoSnapshot& before,
                                              const MeminfoSnapshot& after);
// {"0": 12.5, ...}: node maps as records write them.
nlohmann::json node_mib_json(const std::map<int, double>& per_node);

// Wall-clock time as ISO 8601 UTC ("2026-11-26T07:59:49Z"), for records and manifests.
std::string utc_now();

// What the verdict oracle needs for a cell: host nodes, the touching CPUs' node, MemFree per node
// before the touch, weighted-interleave weights and the tolerance.
VerdictInputs verdict_inputs(const Cell& cell, const std::vector<int>& host_nodes,
                             const MeminfoSnapshot& before, const RunContext& ctx);

// A record holding a cell's identity (key, policy, nodes, backing, toucher, size, ...), its
// run id and environment; every producer of records (local, testbed, qemu) starts from it.
RunRecord record_for_cell(const Cell& cell, const std::string& run_id, const Environment& env);

// Runs one cell. Never throws and never exits: all failures land in the record.
RunRecord run_cell(const Cell& cell, const RunContext& ctx, const std::string& run_id);

Result<MatrixSummary> run_matrix(const Spec& spec, const std::vector<Cell>& cells,
                                 const RunOptions& options);

}  // namespace memplace
