// SPDX-License-Identifier: GPL-2.0-only
// `memplace exec`: where any command's memory lands, page-exact per node, including memory no
// mapping shows (guest_memfd). The command runs in a memory cgroup of its own, optionally under a
// task policy as numactl would start it; memplace samples the cgroup's per-node counters while it
// runs and keeps the placement at its peak, at its end, at a marker line, and as a time series.
// `--attach` reads a process's or cgroup's counters the same way for a while, changing nothing.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "exec/cgroup_watch.h"
#include "host/sysfs.h"
#include "results/run_record.h"
#include "spec/spec.h"

namespace memplace {

struct ExecOptions {
  std::vector<std::string> argv;      // the command (exec); empty with an attach target
  std::optional<PolicyEntry> policy;  // a task policy the command starts under
  std::optional<PolicyEntry> expect;  // the split judged against (default: `policy`)
  std::optional<int> cpu_node;        // run the command on this node's CPUs
  std::string mark;                   // ECMAScript regex: an output line matching it marks
  int sample_interval_ms = 10;
  double tolerance = 0.05;
  std::optional<pid_t> attach_pid;  // attach: this process's memory cgroup
  std::string attach_cgroup;        // attach: this cgroup
  double attach_seconds = 5;        // attach: how long to read
  std::string sysfs_root;
};

struct ExecSample {
  double t = 0;  // seconds since the command started (or the attach)
  CgroupPages pages;
};

struct ExecOutcome {
  std::vector<ExecSample> samples;  // the time series, thinned past kMaxExecSamples
  std::optional<ExecSample> peak, end, mark;
  std::string mark_line;
  int exit_status = -1;      // the command's: its code, or 128 + the signal that ended it
  int forwarded_signal = 0;  // a SIGINT/SIGTERM memplace passed on to the command
  double seconds = 0;
  std::string cgroup;  // the cgroup read
  MemcgVersion version = MemcgVersion::kV2;
  std::string sysfs_root;
  // The host's per-node meminfo before the command started, and when its placement peaked.
  MeminfoSnapshot meminfo_before, meminfo_at_peak;
  double meminfo_at_peak_t = -1;  // when meminfo_at_peak was read (within 100 ms of the peak)
};

inline constexpr size_t kMaxExecSamples = 20000;

// Runs the command to its end (or reads the attach target for attach_seconds). Errors: bad input
// for a command that is not there or a target that cannot be read, unsupported without a usable
// memory cgroup.
Result<ExecOutcome> watch_exec(const ExecOptions& options);

// The results dir's one record: placement_pages are the peak's, by the cgroup source.
RunRecord exec_record(const ExecOptions& options, const ExecOutcome& outcome);

}  // namespace memplace
