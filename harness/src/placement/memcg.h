// SPDX-License-Identifier: GPL-2.0-only
// The memory-cgroup placement source: the cell's touching tasks run in a memory cgroup memplace
// creates for the window, and the per-node deltas of its memory.numa_stat are the placement.
// It sees every page charged to those tasks, mapped or not (guest_memfd folios are charged to the
// task that faults them). cgroup v2 where its memory controller is usable, else v1's.
//
// memplace never changes a cgroup it did not create: it makes one child of its own cgroup per
// window (memplace-<pid>-<n>), moves the named tasks' processes in (anonymous and shmem faults
// are charged to the memcg of the mm's owner, so a thread alone would not do; memplace's own
// main and sampler threads are then in it too, a few pages of heap), moves them back to where they
// were when the window closes, and removes the child. A v2 child needs "memory" already in the own
// cgroup's cgroup.subtree_control (the testbed guest's init enables it at the root); without it
// the source is unsupported, with that reason.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "host/backing.h"
#include "placement/placement_source.h"

namespace memplace {

enum class MemcgVersion { kV1, kV2 };

struct MemcgMount {
  MemcgVersion version = MemcgVersion::kV2;
  std::string mount_point;  // "/sys/fs/cgroup" or "/sys/fs/cgroup/memory"
  std::string own_dir;      // this process's memory cgroup, a directory under mount_point
};

// From <root>/proc/self/mountinfo and <root>/proc/self/cgroup: a cgroup2 mount whose
// cgroup.controllers lists memory, else a v1 mount with the memory option. The error says why
// neither is usable.
Result<MemcgMount> find_memcg(const std::string& root);
// The pieces find_memcg reads, for tests: mount point, mount root and super options of every
// cgroup/cgroup2 line of mountinfo.
struct CgroupMountLine {
  std::string fstype;  // "cgroup" | "cgroup2"
  std::string mount_point;
  std::string mount_root;
  std::string super_options;
};
std::vector<CgroupMountLine> parse_cgroup_mounts(std::string_view mountinfo);
// /proc/<pid>/cgroup: the path in the v2 hierarchy ("0::/x") or in v1's memory hierarchy.
Result<std::string> parse_proc_cgroup(std::string_view text, MemcgVersion v);

// counter -> node -> 4 KiB pages. v1 prints "anon=12 N0=10 N1=2" in pages, v2
// "anon N0=40960 N1=8192" in bytes; both become pages.
using NumaStat = std::map<std::string, std::map<int, uint64_t>>;
Result<NumaStat> parse_numa_stat(std::string_view text, MemcgVersion v);

// The numa_stat counter that holds a backing's pages. v2: anon -> "anon", shmem -> "shmem",
// guest_memfd -> "file" (its folios are page cache: measured on 6.18, 7.2 and 7.3; they are also
// "unevictable"). v1's counters follow the LRU lists: shmem is swap-backed, so "anon"; guest_memfd
// is unevictable, so "unevictable".
std::string memcg_counter_for(BackingKind backing, MemcgVersion v);

// A source over `backing`'s counter; `root` roots /proc and the cgroup mounts (tests).
std::unique_ptr<PlacementSource> make_memcg_source(BackingKind backing,
                                                   const std::string& root = "");

}  // namespace memplace
