// SPDX-License-Identifier: GPL-2.0-only
// One line of runs.jsonl: everything a report, plot or comparison needs about one run. Plain
// data; JSON conversion lives in results.cc. Bump kSchemaVersion on any incompatible change.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "host/sysfs.h"
#include "placement/placement_source.h"

namespace memplace {

// The verdict on one cell (experiment/verdict.h judges it): expected and measured split.
struct Verdict {
  std::map<int, double> expected;  // node -> fraction of pages
  std::map<int, double> measured;  // node -> fraction of pages
  bool honored = false;
  double max_deviation = 0;  // max |measured - expected| over nodes
  double tolerance = 0.05;
  std::string reason;  // one line a person can read
};

// 2: extra.workload became extra.locality, and compare's states say "honored" (readers take 1).
inline constexpr int kSchemaVersion = 2;

// How a run ended. "unsupported" means the host, kernel or build cannot run the cell at all; it
// is not the experiment's failure, so --check ignores it.
enum class RunStatus { kOk, kUnsupported, kFailed };

// "ok" | "unsupported" | "failed": the spelling in runs.jsonl, reports and progress lines.
const char* run_status_name(RunStatus status);
std::optional<RunStatus> parse_run_status(std::string_view name);
// The status of a run that ended in `e`: unsupported for ErrorKind::kUnsupported, else failed.
RunStatus run_status_for(const Error& e);

struct Environment {
  std::string kind = "local";  // "local" | "testbed"
  std::string kernel;          // uname -r of the kernel that placed the memory
  std::string hostname;
  std::string topology_digest;  // host_identity.h: tells hosts apart in merged results
  std::string accel;            // testbed only: "kvm" | "tcg"
  nlohmann::json topology;      // testbed only: nodes, memory, cpus
  // A kernel from scripts/kernel-build.sh (build:NAME): its build.json (source package, config
  // and patch hashes, compiler, build time). Null otherwise.
  nlohmann::json kernel_build;
};

// kernel_build comes from a file in the cache and back from results dirs: bounded both ways.
constexpr size_t kMaxKernelBuildBytes = 64u << 10;
constexpr int kMaxKernelBuildDepth = 4;

// "7.2.13 (build:7.2-no-gmem-policy)": the release, and the build when there is one, since two
// builds of one source share a release.
std::string kernel_label(const Environment& e);

struct RunRecord {
  std::string run_id;    // unique within a results dir, "r0007"
  std::string cell_key;  // see cell_key(); identical across dirs for the same cell
  int repeat = 0;
  std::string policy;
  std::vector<int> nodes;
  std::string backing;
  std::string toucher;
  uint64_t size_bytes = 0;
  int threads = 1;
  std::optional<int> cpu_node;
  std::string policy_channel = "mbind";  // "mbind" | "task" (policy.h)

  RunStatus status = RunStatus::kFailed;
  std::string message;
  Environment environment;

  // The placement the verdict judged: the pages per node of the source `placement_source` names.
  std::map<int, uint64_t> placement_pages;
  // Every placement source's reading: "move_pages" (or "numa_maps" for qemu guests), "trace",
  // "cgroup", "meminfo"; each pages per node, unsupported or incomplete (placement_source.h).
  std::map<std::string, SourceReading> placement_sources;
  std::string placement_source;  // the one placement_pages came from; "" when none worked
  uint64_t pages_absent = 0;
  MeminfoSnapshot meminfo_before;
  MeminfoSnapshot meminfo_after;
  std::map<int, double> delta_used_mib;
  // Per-node delta of the counter that holds this backing's pages (AnonPages for anon, FilePages
  // for shmem and guest_memfd). Unlike MemUsed it ignores pages parked on per-CPU free lists and
  // other processes' churn, so it tracks small cells closely.
  std::string backing_counter;
  std::map<int, double> delta_backing_mib;
  double populate_seconds = 0;
  std::string populate_method;
  std::optional<Verdict> verdict;
  // Policy as the kernel reports it through a second mapping of the same file (shared policy),
  // e.g. "interleave:0-1" or "default". Empty where it does not apply (anon).
  std::string policy_readback;
  std::string samples_file;  // relative to the results dir
  std::string started_at;    // ISO 8601 UTC
  double wall_seconds = 0;
  nlohmann::json extra = nlohmann::json::object();  // toucher-specific details
};

nlohmann::json to_json(const RunRecord& r);
// The fields that say which cell a record ran: policy, nodes, backing, toucher, size_bytes,
// threads, cpu_node (what the record and the chart data both carry).
nlohmann::json cell_fields_json(const RunRecord& r);
// Tolerant of missing optional fields; fails on missing required ones, naming them.
Result<RunRecord> record_from_json(const nlohmann::json& j);

nlohmann::json to_json(const MeminfoSnapshot& s);
Result<MeminfoSnapshot> meminfo_from_json(const nlohmann::json& j);
nlohmann::json to_json(const Verdict& v);
nlohmann::json placement_sources_json(const std::map<std::string, SourceReading>& sources);
Result<std::map<std::string, SourceReading>> placement_sources_from_json(const nlohmann::json& j);

}  // namespace memplace
