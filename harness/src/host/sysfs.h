// SPDX-License-Identifier: GPL-2.0-only
// The one owner of /sys and /proc parsing. Every reader takes a root path so that tests run on
// fixture trees copied from real machines ("" or "/" means the live system).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/files.h"  // read_text_file, for the small text files these readers parse
#include "base/result.h"
#include "base/unique_fd.h"

namespace memplace {

// field name ("MemTotal", "MemUsed", "HugePages_Total", ...) -> value. Values the kernel prints
// in kB stay in kB; unit-less counters (HugePages_*) are kept as printed.
using NodeMeminfo = std::map<std::string, uint64_t>;
// node id -> its meminfo. Node ids may be sparse (0 and 2), never assume contiguity.
using MeminfoSnapshot = std::map<int, NodeMeminfo>;

struct NumaMapsEntry {
  uint64_t start = 0;
  std::string policy;                  // "default", "bind:0-1", "interleave:0-1", ...
  std::map<int, uint64_t> node_pages;  // from the "N<node>=<pages>" tokens
  uint64_t page_size_kb = 4;           // kernelpagesize_kB
  std::string file;                    // empty for anonymous mappings
  bool anon = false;
  bool huge = false;
};

std::string sys_path(const std::string& root, std::string_view rel);

// Nodes present under <root>/sys/devices/system/node, found by scanning for node<N>.
Result<std::vector<int>> list_nodes(const std::string& root);

// Parses one node's meminfo file; `node` is the id the lines must carry.
Result<NodeMeminfo> parse_node_meminfo(std::string_view text, int node);
Result<NodeMeminfo> read_node_meminfo(const std::string& root, int node);
// The same, keeping only `fields` (for samplers that run at 100 Hz). A field the file lacks is
// an error, so a renamed kernel field cannot turn into a silent zero.
Result<NodeMeminfo> parse_node_meminfo_fields(std::string_view text, int node,
                                              const std::vector<std::string>& fields);
Result<NodeMeminfo> read_node_meminfo_fields(const std::string& root, int node,
                                             const std::vector<std::string>& fields);
// Every node's meminfo, plus kPcpFreeField where <root>/proc/zoneinfo can be read.
Result<MeminfoSnapshot> read_meminfo_snapshot(const std::string& root);

// memplace's own snapshot field: kB of free pages on per-CPU lists (/proc/zoneinfo pagesets),
// which the kernel's MemFree leaves out and its MemUsed therefore counts as used.
inline constexpr const char* kPcpFreeField = "PcpFree";
// node -> pages on per-CPU free lists, summed over the node's zones and CPUs.
Result<std::map<int, uint64_t>> parse_zoneinfo_pcp_pages(std::string_view text);

// One node's meminfo kept open for repeated reads: a 100 Hz sampler then pays for the kernel's
// formatting of the file, not for a path lookup, an open and a buffer per tick.
class MeminfoReader {
 public:
  static Result<MeminfoReader> open(const std::string& root, int node);
  // The current values of `fields` (each must be present, as in parse_node_meminfo_fields).
  Result<NodeMeminfo> read(const std::vector<std::string>& fields);
  int node() const { return node_; }

 private:
  UniqueFd fd_;
  std::string path_;
  int node_ = -1;
  std::string buf_;
};

// Folds every CPU's pending vm statistics into the node counters (/proc/sys/vm/stat_refresh,
// root only), so a snapshot taken right after a burst of allocation is exact rather than up to
// a stat threshold per CPU behind. Best effort: failure leaves the counters as they are.
void refresh_vm_stats(const std::string& root);

Result<std::vector<int>> read_node_cpulist(const std::string& root, int node);

// The selected word of a sysfs choice file, "always [madvise] never" -> "madvise".
Result<std::string> parse_bracketed_choice(std::string_view text);
// /sys/kernel/mm/transparent_hugepage/<file> ("enabled", "shmem_enabled"): the kernel's THP
// mode, which decides what run.thp = "auto" gets.
Result<std::string> read_thp_setting(const std::string& root, const std::string& file);

// Node whose cpulist holds `cpu`, or an error when no node claims it.
Result<int> node_of_cpu(const std::string& root, int cpu);

// /proc/<pid>/numa_maps.
Result<std::vector<NumaMapsEntry>> parse_numa_maps(std::string_view text);
Result<std::vector<NumaMapsEntry>> read_numa_maps(const std::string& root, int pid);

// /proc/sys/kernel/osrelease
Result<std::string> read_kernel_release(const std::string& root);

// /sys/module/<module>/parameters/<param>, trimmed.
Result<std::string> read_module_param(const std::string& root, const std::string& module,
                                      const std::string& param);

// Whether any "flags" line of /proc/cpuinfo lists `flag` (e.g. "svm", "vmx").
Result<bool> cpuinfo_has_flag(const std::string& root, const std::string& flag);

// /sys/kernel/mm/mempolicy/weighted_interleave/node<N>; empty when the kernel lacks it.
Result<std::map<int, int>> read_weighted_interleave_weights(const std::string& root);

}  // namespace memplace
