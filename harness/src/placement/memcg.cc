// SPDX-License-Identifier: GPL-2.0-only
#include "placement/memcg.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <filesystem>
#include <mutex>
#include <vector>

#include "base/text.h"
#include "host/sysfs.h"

namespace memplace {

namespace fs = std::filesystem;

namespace {

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    s = trim(s);
    if (s.empty()) return out;
    size_t sp = s.find_first_of(" \t");
    out.push_back(s.substr(0, sp));
    if (sp == std::string_view::npos) return out;
    s = s.substr(sp);
  }
}

bool has_word(std::string_view list, std::string_view word, char sep) {
  while (!list.empty()) {
    size_t at = list.find(sep);
    if (trim(list.substr(0, at)) == word) return true;
    if (at == std::string_view::npos) break;
    list = list.substr(at + 1);
  }
  return false;
}

std::optional<uint64_t> to_u64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::vector<CgroupMountLine> parse_cgroup_mounts(std::string_view mountinfo) {
  std::vector<CgroupMountLine> out;
  for_each_line(mountinfo, [&](std::string_view line) {
    auto dash = line.find(" - ");
    if (dash == std::string_view::npos) return;
    auto before = split_ws(line.substr(0, dash));
    auto after = split_ws(line.substr(dash + 3));
    if (before.size() < 5 || after.size() < 3) return;
    if (after[0] != "cgroup" && after[0] != "cgroup2") return;
    out.push_back({std::string(after[0]), std::string(before[4]), std::string(before[3]),
                   std::string(after[2])});
  });
  return out;
}

Result<std::string> parse_proc_cgroup(std::string_view text, MemcgVersion v) {
  std::optional<std::string> found;
  for_each_line(text, [&](std::string_view line) {
    auto c1 = line.find(':');
    auto c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos || found) return;
    std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string_view path = line.substr(c2 + 1);
    bool match = v == MemcgVersion::kV2 ? (line.substr(0, c1) == "0" && controllers.empty())
                                        : has_word(controllers, "memory", ',');
    if (match) found = std::string(path);
  });
  if (found) return *found;
  const std::string which = v == MemcgVersion::kV2 ? "cgroup v2" : "v1 memory";
  return make_error("no " + which + " line in /proc/<pid>/cgroup");
}

Result<MemcgMount> find_memcg(const std::string& root) {
  auto mountinfo = read_text_file(sys_path(root, "proc/self/mountinfo"));
  if (!mountinfo) return mountinfo.error();
  auto own = read_text_file(sys_path(root, "proc/self/cgroup"));
  if (!own) return own.error();
  std::string why = "no cgroup mount";
  auto try_mount = [&](const CgroupMountLine& m, MemcgVersion v) -> std::optional<MemcgMount> {
    auto path = parse_proc_cgroup(*own, v);
    if (!path) {
      why = path.error().message;
      return std::nullopt;
    }
    std::string rel = *path;
    if (m.mount_root != "/") {
      if (rel.rfind(m.mount_root, 0) != 0) {
        why = "this process's cgroup " + rel + " is outside the mount's root " + m.mount_root;
        return std::nullopt;
      }
      rel = rel.substr(m.mount_root.size());
    }
    std::string mp = sys_path(root, m.mount_point);
    return MemcgMount{v, mp, rel == "/" || rel.empty() ? mp : sys_path(mp, rel)};
  };
  auto mounts = parse_cgroup_mounts(*mountinfo);
  for (const auto& m : mounts) {
    if (m.fstype != "cgroup2") continue;
    auto ctl = read_text_file(sys_path(sys_path(root, m.mount_point), "cgroup.controllers"));
    if (!ctl || !has_word(trim(*ctl), "memory", ' ')) {
      why = "cgroup2 at " + m.mount_point + " has no memory controller";
      continue;
    }
    if (auto found = try_mount(m, MemcgVersion::kV2)) return *found;
  }
  for (const auto& m : mounts) {
    if (m.fstype != "cgroup" || !has_word(m.super_options, "memory", ',')) continue;
    if (auto found = try_mount(m, MemcgVersion::kV1)) return *found;
  }
  return make_error(why);
}

Result<NumaStat> parse_numa_stat(std::string_view text, MemcgVersion v) {
  NumaStat out;
  std::optional<Error> bad;
  for_each_line(text, [&](std::string_view line) {
    auto words = split_ws(line);
    if (words.empty() || bad) return;
    std::string_view name = words[0];
    size_t first_node = 1;
    if (v == MemcgVersion::kV1) {
      auto eq = name.find('=');
      if (eq == std::string_view::npos) {
        bad = make_error("numa_stat: no '=' in '" + std::string(line) + "'");
        return;
      }
      name = name.substr(0, eq);
    }
    auto& per_node = out[std::string(name)];
    for (size_t i = first_node; i < words.size(); ++i) {
      std::string_view w = words[i];
      const size_t eq = w.find('=');
      uint64_t node = 0, value = 0;
      bool good = w.size() > 1 && w[0] == 'N' && eq != std::string_view::npos;
      if (good) {
        auto n = to_u64(w.substr(1, eq - 1));
        auto x = to_u64(w.substr(eq + 1));
        good = n && x && *n <= 4095;
        if (good) node = *n, value = *x;
      }
      if (!good) {
        bad = make_error("numa_stat: bad entry '" + std::string(w) + "' in " + std::string(name));
        return;
      }
      per_node[static_cast<int>(node)] = v == MemcgVersion::kV2 ? value / 4096 : value;
    }
  });
  if (bad) return *bad;
  if (out.empty()) return make_error("numa_stat: empty");
  return out;
}

std::string memcg_counter_for(BackingKind backing, MemcgVersion v) {
  switch (backing) {
    case BackingKind::kAnon:
      return "anon";
    case BackingKind::kShmem:
      return v == MemcgVersion::kV2 ? "shmem" : "anon";
    default:  // guest_memfd, shared or private
      return v == MemcgVersion::kV2 ? "file" : "unevictable";
  }
}

}  // namespace memplace
