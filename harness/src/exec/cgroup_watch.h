// SPDX-License-Identifier: GPL-2.0-only
// The memory cgroup `memplace exec` reads a command's placement from: one it makes for the
// command (a child of memplace's own memory cgroup, removed when the command is gone), or one
// that already holds a running process (attach: read, never changed). Its memory.numa_stat
// counts every page charged to the cgroup per node, mapped or not: guest_memfd folios too.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "base/result.h"
#include "placement/memcg.h"

namespace memplace {

// Pages per node by kind, from one reading of memory.numa_stat.
struct CgroupPages {
  std::map<int, uint64_t> total;        // every page charged (v1 "total"; v2 anon + file)
  std::map<int, uint64_t> anon;         // the process heap and anonymous guest RAM
  std::map<int, uint64_t> file;         // page cache: shmem/memfd guest RAM, guest_memfd, files
  std::map<int, uint64_t> unevictable;  // guest_memfd's folios among them
  uint64_t total_pages() const;
};

class CgroupWatch {
 public:
  // A new, empty child of this process's memory cgroup; `root` roots /proc and /sys (tests).
  static Result<CgroupWatch> create(const std::string& root = "");
  // The memory cgroup holding `pid`, or the cgroup directory `dir` (a path under the memory
  // mount, or an absolute one inside it). Bad input when neither exists or it cannot be read.
  static Result<CgroupWatch> of_process(pid_t pid, const std::string& root = "");
  static Result<CgroupWatch> of_dir(const std::string& dir, const std::string& root = "");

  CgroupWatch(CgroupWatch&& o) noexcept;
  CgroupWatch& operator=(CgroupWatch&&) = delete;
  CgroupWatch(const CgroupWatch&) = delete;
  ~CgroupWatch();  // removes a cgroup it made (its processes have exited by then)

  Status add_process(pid_t pid);  // into a cgroup it made
  Result<CgroupPages> read() const;
  const std::string& dir() const { return dir_; }
  MemcgVersion version() const { return version_; }

 private:
  CgroupWatch(std::string dir, MemcgVersion v, bool owned)
      : dir_(std::move(dir)), version_(v), owned_(owned) {}
  std::string dir_;
  MemcgVersion version_ = MemcgVersion::kV2;
  bool owned_ = false;
};

// Pure: a numa_stat reading as pages by kind.
CgroupPages cgroup_pages(const NumaStat& stat, MemcgVersion v);

}  // namespace memplace
