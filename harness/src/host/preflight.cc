// SPDX-License-Identifier: GPL-2.0-only
#include "host/preflight.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <sstream>

#include "host/sysfs.h"

namespace memplace {

Result<uint64_t> free_disk_bytes(const std::string& out_dir) {
  std::string path = out_dir.empty() ? "." : out_dir;
  struct statvfs st {};
  while (::statvfs(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return errno_error("statvfs " + path);
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) {
      path = ".";
    } else if (slash == 0) {
      path = "/";
    } else {
      path = path.substr(0, slash);
    }
  }
  // Nothing can be written there, however much is free: say so rather than "0 MiB free".
  if (st.f_flag & ST_RDONLY)
    return system_error(EROFS, path + " is on a read-only filesystem", ErrorKind::kEnvironment);
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

Status check_results_disk(const std::string& out_dir, size_t runs) {
  if (runs == 0) return {};  // a resume with nothing left writes only the reports
  auto free = free_disk_bytes(out_dir);
  if (!free) return free.error();
  uint64_t need = kDiskBaseBytes + runs * kDiskPerRunBytes;
  if (*free < need)
    return make_error("only " + std::to_string(*free >> 20) + " MiB free for results in " +
                      out_dir + "; " + std::to_string(runs) + " runs need about " +
                      std::to_string(need >> 20) + " MiB");
  return {};
}

Result<MemoryFigures> read_memory_figures(const std::string& root) {
  MemoryFigures m;
  auto snap = read_meminfo_snapshot(root);
  if (!snap) return snap.error();
  for (const auto& [node, fields] : *snap) {
    if (auto t = fields.find("MemTotal"); t != fields.end()) m.node_total_kb += t->second;
    if (auto f = fields.find("MemFree"); f != fields.end()) m.node_free_kb += f->second;
  }
  auto text = read_text_file(sys_path(root, "proc/meminfo"));
  if (!text) return text.error();
  // /proc/meminfo has the node files' layout without the "Node N " prefix.
  std::istringstream in(*text);
  std::string key;
  uint64_t kb = 0;
  while (in >> key >> kb) {
    if (key == "MemTotal:") m.proc_total_kb = kb;
    if (key == "MemFree:") m.proc_free_kb = kb;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  if (m.proc_total_kb == 0) return make_error(sys_path(root, "proc/meminfo") + ": no MemTotal");
  return m;
}

namespace {

std::string gib(uint64_t kb) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", kb / double(1ull << 20));
  return buf;
}

bool differ(uint64_t a, uint64_t b) {
  uint64_t hi = std::max(a, b), lo = std::min(a, b);
  return hi > 0 && (hi - lo) * 10 > hi;
}

}  // namespace

std::string memory_figures_text(const MemoryFigures& m) {
  return "node meminfo: " + gib(m.node_total_kb) + " total, " + gib(m.node_free_kb) +
         " free (used for the free-memory checks); /proc/meminfo: " + gib(m.proc_total_kb) +
         " total, " + gib(m.proc_free_kb) + " free";
}

std::string memory_figures_warning(const MemoryFigures& m) {
  if (!differ(m.node_total_kb, m.proc_total_kb) && !differ(m.node_free_kb, m.proc_free_kb))
    return "";
  return "the nodes' meminfo and /proc/meminfo disagree by more than 10% (" +
         memory_figures_text(m) +
         "); memory outside the nodes (hot-plugged, ballooned) is not counted as free";
}

Status check_kvm_access(const std::string& kvm_dev) {
  if (::access(kvm_dev.c_str(), R_OK | W_OK) == 0) return {};
  return make_error(kvm_dev + " is not usable (" + std::strerror(errno) + ")");
}

}  // namespace memplace
