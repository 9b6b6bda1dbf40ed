// SPDX-License-Identifier: GPL-2.0-only
#include "qemu/initramfs.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "base/subprocess.h"

namespace memplace {

namespace fs = std::filesystem;

std::string module_name_of_file(std::string_view filename) {
  size_t slash = filename.rfind('/');
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  size_t ko = filename.find(".ko");
  std::string name(filename.substr(0, ko));
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

std::vector<std::string> module_depends(std::string_view ko) {
  // .modinfo holds NUL-separated "key=value" strings; "depends=" is present even when empty.
  static constexpr std::string_view kKey{"\0depends=", 9};
  size_t at = ko.find(kKey);
  if (at == std::string_view::npos) return {};
  size_t begin = at + kKey.size();
  size_t end = ko.find('\0', begin);
  std::string_view list = ko.substr(begin, end == std::string_view::npos ? end : end - begin);
  std::vector<std::string> out;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    if (!item.empty()) out.push_back(module_name_of_file(item));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

Result<std::vector<std::string>> module_load_order(
    const std::vector<std::string>& roots,
    const std::map<std::string, std::vector<std::string>>& deps) {
  std::vector<std::string> order;
  std::set<std::string> done, visiting;
  std::function<Status(const std::string&, const std::string&)> visit =
      [&](const std::string& m, const std::string& chain) -> Status {
    if (done.count(m)) return {};
    auto it = deps.find(m);
    if (it == deps.end()) return make_error("module " + m + " not found (needed by " + chain + ")");
    if (!visiting.insert(m).second) return make_error("module dependency cycle at " + m);
    for (const auto& d : it->second) {
      if (auto s = visit(d, chain + " -> " + m); !s) return s;
    }
    visiting.erase(m);
    done.insert(m);
    order.push_back(m);
    return {};
  };
  for (const auto& r : roots) {
    if (auto s = visit(r, "request"); !s) return s.error();
  }
  return order;
}

Result<std::vector<std::string>> parse_ldd_output(std::string_view text) {
  std::vector<std::string> libs;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("not a dynamic executable") != std::string::npos ||
        line.find("statically linked") != std::string::npos) {
      continue;
    }
    if (line.find("=> not found") != std::string::npos) {
      return make_error("shared library not found: " + line);
    }
    std::string path;
    size_t arrow = line.find("=> ");
    if (arrow != std::string::npos) {
      path = line.substr(arrow + 3);
    } else {
      size_t start = line.find_first_not_of(" \t");
      if (start == std::string::npos) continue;
      path = line.substr(start);
    }
    path = path.substr(0, path.find(" ("));
    if (path.empty() || path[0] != '/') continue;  // linux-vdso.so.1 lives in the kernel
    libs.push_back(path);
  }
  return libs;
}

const std::vector<std::string>& init_applets() {
  static const std::vector<std::string> applets = {
      "sh", "mount", "insmod", "poweroff", "cat", "echo", "mkdir", "uname", "sync", "ls", "sleep"};
  return applets;
}

std::string render_init_script(const InitScript& init) {
  std::string s = R"(#!/bin/sh
# memplace testbed init: load KVM, run the matrix, report over virtio-serial, power off.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
)";
  // The placement sources: page-allocation events from tracefs, and memory cgroups (v2, with
  // the memory controller enabled for children of the root, where memplace runs).
  s += R"(mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null && echo +memory > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
export PATH=/bin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
)";
  // Freed pages parked on per-CPU lists are not "free" in node meminfo, and the next run takes
  // them first: in a 1 GiB node that hid up to 40 of 64 MiB from the MemUsed deltas. The
  // largest fraction shrinks those lists to a few pages.
  s += R"(echo 100000 > /proc/sys/vm/percpu_pagelist_high_fraction 2>/dev/null
PORT=/dev/console
for p in /sys/class/virtio-ports/*; do
)";
  s += "  [ \"$(cat $p/name 2>/dev/null)\" = " + shell_quote(init.port_name) +
       " ] && PORT=/dev/${p##*/}\n";
  s += R"(done
say() { echo "$1" > $PORT; }
say "{\"type\":\"hello\",\"kernel\":\"$(uname -r)\"}"
)";
  for (const auto& m : init.modules) {
    s += "insmod " + shell_quote(m.path) + " 2>/dev/null";
    if (!m.optional) {
      s += " || say '{\"type\":\"log\",\"message\":\"insmod " + m.path + " failed\"}'";
    }
    s += "\n";
  }
  s += "[ -e /dev/kvm ] || say '{\"type\":\"log\",\"message\":\"no /dev/kvm in the guest\"}'\n";
  s += init.run_line + "\n";
  s += R"(say "{\"type\":\"end\",\"exit_code\":$?}"
sync
poweroff -f
)";
  return s;
}

std::string switch_root_run_line() {
  std::string s = R"(ROOT=; FSTYPE=; FLAGS=rw; NEWINIT=/sbin/init
for w in $(cat /proc/cmdline); do
  case "$w" in
    root=*) ROOT="${w#root=}" ;;
    rootfstype=*) FSTYPE="${w#rootfstype=}" ;;
    init=*) NEWINIT="${w#init=}" ;;
    ro) FLAGS=ro ;;
  esac
done
fail() { echo "memplace-init: $1" > /dev/console; sync; poweroff -f; }
[ -n "$ROOT" ] || fail "no root= on the kernel command line"
)";
  // The block driver probes asynchronously on some kernels: give the device 5 s to appear.
  s += R"(n=0
while [ ! -b "$ROOT" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
[ -b "$ROOT" ] || fail "root device $ROOT did not appear"
mkdir -p /newroot
mount -o $FLAGS ${FSTYPE:+-t $FSTYPE} "$ROOT" /newroot || fail "cannot mount $ROOT"
)";
  // -e and -L: an absolute symlink resolves only inside the new root.
  s += R"([ -e "/newroot$NEWINIT" ] || [ -L "/newroot$NEWINIT" ] || fail "$NEWINIT is not in $ROOT"
)";
  // The new init mounts its own; these would otherwise stay mounted where nothing can see them.
  s += R"(for m in /tmp /sys /proc /dev; do busybox umount $m 2>/dev/null; done
exec busybox switch_root /newroot "$NEWINIT")";
  return s;
}

namespace {

Result<std::string> read_file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return errno_error("open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return errno_error("read " + path);
  return ss.str();
}

Result<std::string> read_module(const std::string& path) {
  auto ends_with = [&](std::string_view suf) {
    return path.size() >= suf.size() &&
           path.compare(path.size() - suf.size(), suf.size(), suf) == 0;
  };
  if (ends_with(".xz")) return run_command_ok({"xz", "-dc", path});
  if (ends_with(".zst")) return run_command_ok({"zstd", "-dcq", path});
  if (ends_with(".gz")) return run_command_ok({"gzip", "-dc", path});
  return read_file_bytes(path);
}

Result<std::string> read_program(const std::string& path, bool strip_debug) {
  if (strip_debug) {
    std::string tmp = (fs::temp_directory_path() / "memplace-strip-XXXXXX").string();
    int fd = mkstemp(tmp.data());
    if (fd >= 0) {
      close(fd);
      auto stripped = run_command({"objcopy", "--strip-debug", path, tmp});
      Result<std::string> data = make_error("objcopy failed");
      if (stripped && stripped->exit_code == 0) data = read_file_bytes(tmp);
      unlink(tmp.c_str());
      if (data) return data;
    }
    // No objcopy, or it failed: the unstripped binary works just as well.
  }
  return read_file_bytes(path);
}

// The kernel modules reachable from in.module_roots, decompressed, in load order: into the
// archive, the init script's load list and the result's list.
Status add_modules(const InitramfsInputs& in, std::vector<CpioEntry>& entries, InitScript& init,
                   Initramfs& result) {
  std::map<std::string, std::string> files;  // module name -> path
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(in.modules_dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::string f = it->path().filename().string();
    if (f.find(".ko") != std::string::npos) files[module_name_of_file(f)] = it->path().string();
  }
  if (ec) return make_error("reading " + in.modules_dir + ": " + ec.message());
  // Decompress the modules reachable from the roots and learn their dependencies.
  std::map<std::string, std::vector<std::string>> deps;
  std::map<std::string, std::string> bytes;
  std::vector<std::string> todo(in.module_roots.begin(), in.module_roots.end());
  std::vector<std::string> roots;
  while (!todo.empty()) {
    std::string m = todo.back();
    todo.pop_back();
    if (deps.count(m)) continue;
    auto f = files.find(m);
    if (f == files.end()) continue;  // reported by module_load_order unless optional
    auto data = read_module(f->second);
    if (!data) return data.error();
    deps[m] = module_depends(*data);
    bytes[m] = std::move(*data);
    for (const auto& d : deps[m]) todo.push_back(d);
  }
  std::set<std::string> optional(in.optional_modules.begin(), in.optional_modules.end());
  for (const auto& r : in.module_roots) {
    if (deps.count(r) || !optional.count(r)) roots.push_back(r);
  }
  auto order = module_load_order(roots, deps);
  if (!order) {
    return order.error().prefixed(in.modules_dir +
                                  " (is KVM built into this kernel? then pass no modules "
                                  "directory): ");
  }
  for (const auto& m : *order) {
    std::string guest_path = "lib/modules/memplace/" + m + ".ko";
    entries.push_back(cpio_file(guest_path, std::move(bytes[m])));
    init.modules.push_back({"/" + guest_path, optional.count(m) > 0});
    result.modules_loaded.push_back(m);
  }
  return {};
}

}  // namespace

Result<Initramfs> build_initramfs(const InitramfsInputs& in) {
  Initramfs result;
  std::vector<CpioEntry> entries;
  for (const char* d : {"proc", "sys", "dev", "tmp", "bin"}) entries.push_back(cpio_dir(d));
  entries.push_back(cpio_chardev("dev/console", 5, 1));
  entries.push_back(cpio_chardev("dev/null", 1, 3));

  auto busybox = read_file_bytes(in.busybox);
  if (!busybox) return busybox.error();
  entries.push_back(cpio_file("bin/busybox", std::move(*busybox), 0755));
  for (const auto& applet : init_applets()) {
    entries.push_back(cpio_symlink("bin/" + applet, "busybox"));
  }

  InitScript init;
  init.run_line = in.run_line;
  if (!in.modules_dir.empty())
    if (auto s = add_modules(in, entries, init, result); !s) return s.error();

  std::set<std::string> libs;
  for (const auto& [host_path, guest_path] : in.programs) {
    auto data = read_program(host_path, in.strip_debug);
    if (!data) return data.error();
    entries.push_back(cpio_file(guest_path, std::move(*data), 0755));
    auto ldd = run_command({"ldd", host_path});
    if (!ldd) return ldd.error();
    auto closure = parse_ldd_output(ldd->out);
    if (!closure) return closure.error().prefixed(host_path + ": ");
    libs.insert(closure->begin(), closure->end());
  }
  for (const auto& lib : libs) {
    auto data = read_file_bytes(lib);  // follows symlinks: the guest gets the real file
    if (!data) return data.error();
    entries.push_back(cpio_file(lib.substr(1), std::move(*data), 0755));
  }
  for (const auto& e : in.extra_files) entries.push_back(e);
  entries.push_back(cpio_file("init", render_init_script(init), 0755));

  result.bytes = cpio_newc(complete_tree(std::move(entries)));
  return result;
}

}  // namespace memplace
