// SPDX-License-Identifier: GPL-2.0-only
// The CLI's subcommands as library functions taking plain argument structs. main() only parses
// argv into these and returns what they return, so every command is testable without a shell.
//
// Exit codes: 0 success; 1 a --check/--fail-on-regression condition or failed runs;
// 2 bad input (nothing was run and no results were written); 3 environment failure;
// 130/143 interrupted by SIGINT/SIGTERM.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace memplace {

inline constexpr int kExitOk = 0;
inline constexpr int kExitCheckFailed = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitEnvironment = 3;
// What every command's --help ends with (docs/exit-codes.md says more).
inline constexpr const char* kExitCodesHelp =
    "Exit status: 0 done; 1 a gate failed (run --check, compare --fail-on-regression, probe "
    "--require; merge with runs missing); 2 bad input, nothing run or written; 3 the host "
    "failed (a write, a missing tool); 128+N interrupted by signal N.";

// The git revision memplace was built from ("unknown" outside a git tree), as manifests record.
std::string build_revision();

struct ProbeArgs {
  bool json = false;
  std::string sysfs_root;
  // Host features to require (host_features.h names): each is printed with its reason, and the
  // exit is 1 unless all are available; the full probe is not run.
  std::vector<std::string> require;
  // QEMU binaries to describe; none given: $MEMPLACE_QEMU_BINARY, else qemu-system-x86_64 if on
  // PATH.
  std::vector<std::string> qemu;
};
int command_probe(const ProbeArgs& args);
// The spec keys' reference (docs/spec-reference.md), from the spec-key table.
int command_spec_keys();

// Internal: the test hook's noise process (MEMPLACE_TEST_NOISE), which memplace execs in a child
// of its own so that the child shares none of its memory.
struct NoiseProcessArgs {
  std::string spec;  // "256MiB@0"
  int go_fd = -1, done_fd = -1;
};
int command_noise_process(const NoiseProcessArgs& args);

struct RunArgs {
  std::string spec_path;  // optional; flags alone define a one-cell (or small) matrix
  // Flags that set spec keys (run_key_flags()), by flag: each occurrence's text as given. A
  // list key's flag replaces the whole axis ("--backing anon,shmem" means only those two).
  std::map<std::string, std::vector<std::string>> key_flags;
  bool thp = false;     // run.thp = "on"
  bool no_thp = false;  // run.thp = "off"
  std::string out_dir;
  std::string resume_dir;
  bool check = false;
  bool allow_unsupported = false;  // with --check: unsupported cells do not fail it
  std::string format = "text";     // "ktap" or "junit": the run's cells as tests on stdout
  bool dry_run = false;
  bool force = false;  // run cells that fail the free-memory check (with a warning)
  std::string margin;  // memory kept free per node, with units; default 256MiB
  bool quiet = false;
  bool no_plots = false;  // no charts in DIR/plots/ when the run ends
  std::string sysfs_root;
  // Run in the emulated host; so does any flag of a [testbed] key (--kernel, --node-count).
  bool testbed = false;
  // Set by the testbed's init inside the guest.
  std::string only_runs_path;  // run only the run keys listed in this file, one a line
  std::string stream_path;
  std::string env_kind;
  std::string env_accel;
  std::string env_topology_json;
  std::string invocation;
};
int command_run(const RunArgs& args);

// The `memplace run` flags that set spec keys, made from the spec-key table: each key's flag,
// and its spec_version 1 name's flag (read with a warning).
struct KeyFlag {
  std::string flag;   // "--backing"
  std::string help;   // the key's help, its default and how to give several values
  bool list = false;  // repeatable, comma-separated
  bool old = false;   // an old spelling, hidden from --help
};
std::vector<KeyFlag> run_key_flags();

struct ReportArgs {
  std::string dir;  // a results dir or a testbed dir (one subdir per kernel)
  bool no_plots = false;
  // "paths": print the report files' paths; "ktap" or "junit": one test per cell on stdout.
  std::string format = "paths";
};
// report.md, runs.csv, summary.csv, charts in DIR/plots/ and report.html.
int command_report(const ReportArgs& args);

struct CompareArgs {
  std::vector<std::string> dirs;  // the first is the baseline
  // "dir": one side per dir; "host": one side per hostname across all the dirs' runs (a merged
  // dir of several hosts), the first host seen as the baseline.
  std::string by = "dir";
  std::string format = "markdown";  // markdown | csv | json | ktap | junit, printed on stdout
  std::string out_dir;              // also write compare.md/.csv/.json here
  bool fail_on_regression = false;
  bool allow_unsupported = false;  // with --fail-on-regression: lost support does not fail it
};
int command_compare(const CompareArgs& args);

struct ExecArgs {
  std::vector<std::string> command;  // after --
  std::string policy;                // a task policy to start it under ("interleave:0-1")
  std::string expect;                // the split to judge ("" = the policy's)
  std::string cpu_node;              // run it on this node's CPUs
  std::string out_dir;               // "" = results/exec-DATE
  std::string mark;                  // a regex: the first output line matching it marks
  int sample_interval_ms = 10;
  double tolerance = 0.05;
  std::string attach;  // a PID or a memory cgroup (path under the memory mount)
  double attach_seconds = 5;
  bool check = false;  // exit 1 when the verdict is not honored
  bool no_plots = false;
  std::string sysfs_root;
  std::string invocation;
};
// Exit: memplace's contract (0 done, 1 --check failed, 2 bad input, 3 the host failed); the
// command's own exit status is in the record (extra.exec.exit_status).
int command_exec(const ExecArgs& args);

struct MergeArgs {
  std::string out_dir;
  std::vector<std::string> dirs;  // shards of one matrix, or whole-matrix runs on several hosts
  std::string invocation;
};
// Exit 0 merged, 1 merged but runs are missing (listed; `run --resume OUT` reruns them),
// 2 bad input (different specs, duplicated runs, OUT already holds results), 3 write failure.
int command_merge(const MergeArgs& args);

struct SlurmArgs {
  std::string spec_path;
  std::string out_dir;  // on storage every compute node can write
  std::string partition;
  std::string constraint;
  std::optional<int> shards;          // one array task per shard (default 1)
  std::vector<std::string> per_host;  // or: the whole matrix once on each of these nodes
  std::string memplace;               // memplace on the compute nodes; default this executable
  bool dry_run = false;               // print the scripts, write and submit nothing
};
// Writes the job scripts under OUT/slurm/, submits the array (or per-host jobs) and a dependent
// merge job with sbatch, prints the job ids and where the report will be. Exit 3 when sbatch is
// not installed.
int command_slurm(const SlurmArgs& args);

struct PlotArgs {
  std::vector<std::string> dirs;
  std::string out_dir;  // default: first dir + "/plots"
};
// Runs plots/memplace_plots.py with /usr/bin/python3 (Debian's python3-matplotlib); exit 3 when
// matplotlib is missing, 2 for a dir it cannot read.
int command_plot(const PlotArgs& args);

}  // namespace memplace
