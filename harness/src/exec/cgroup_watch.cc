// SPDX-License-Identifier: GPL-2.0-only
#include "exec/cgroup_watch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <utility>

#include "base/bounded_read.h"
#include "base/files.h"
#include "base/unique_fd.h"

namespace memplace {
namespace {

constexpr size_t kMaxNumaStatBytes = 1u << 20;

std::map<int, uint64_t> sum(const std::map<int, uint64_t>& a, const std::map<int, uint64_t>& b) {
  std::map<int, uint64_t> out = a;
  for (const auto& [node, pages] : b) out[node] += pages;
  return out;
}

std::map<int, uint64_t> counter(const NumaStat& stat, const std::string& name) {
  auto it = stat.find(name);
  return it == stat.end() ? std::map<int, uint64_t>{} : it->second;
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

uint64_t CgroupPages::total_pages() const {
  uint64_t n = 0;
  for (const auto& [node, pages] : total) n += pages;
  return n;
}

CgroupPages cgroup_pages(const NumaStat& stat, MemcgVersion v) {
  CgroupPages p;
  p.anon = counter(stat, "anon");
  p.file = counter(stat, "file");
  p.unevictable = counter(stat, "unevictable");
  p.total = v == MemcgVersion::kV1 ? counter(stat, "total") : sum(p.anon, p.file);
  return p;
}

Result<CgroupWatch> CgroupWatch::create(const std::string& root) {
  auto mount = find_memcg(root);
  if (!mount) return mount.error().as_kind(ErrorKind::kUnsupported);
  static std::atomic<int> serial{0};
  const std::string dir = mount->own_dir + "/memplace-exec-" + std::to_string(::getpid()) + "-" +
                          std::to_string(serial++);
  if (::mkdir(dir.c_str(), 0755) != 0) return errno_error("mkdir " + dir, ErrorKind::kUnsupported);
  return CgroupWatch(dir, mount->version, true);
}

Result<CgroupWatch> CgroupWatch::of_dir(const std::string& dir, const std::string& root) {
  auto mount = find_memcg(root);
  if (!mount) return mount.error().as_kind(ErrorKind::kUnsupported);
  const std::string path =
      dir.rfind(mount->mount_point, 0) == 0 ? dir : mount->mount_point + "/" + dir;
  if (!is_dir(path))
    return bad_input_error(dir + ": no such memory cgroup under " + mount->mount_point);
  CgroupWatch w(path, mount->version, false);
  if (auto r = w.read(); !r) return r.error().as_kind(ErrorKind::kBadInput);
  return w;
}

Result<CgroupWatch> CgroupWatch::of_process(pid_t pid, const std::string& root) {
  auto mount = find_memcg(root);
  if (!mount) return mount.error().as_kind(ErrorKind::kUnsupported);
  auto text = read_file_bounded(root + "/proc/" + std::to_string(pid) + "/cgroup", 1u << 16);
  if (!text) return bad_input_error("pid " + std::to_string(pid) + ": no such process");
  auto path = parse_proc_cgroup(*text, mount->version);
  if (!path) return path.error().as_kind(ErrorKind::kBadInput);
  return of_dir(mount->mount_point + *path, root);
}

CgroupWatch::CgroupWatch(CgroupWatch&& o) noexcept
    : dir_(std::move(o.dir_)), version_(o.version_), owned_(std::exchange(o.owned_, false)) {}

CgroupWatch::~CgroupWatch() {
  if (owned_) ::rmdir(dir_.c_str());  // empty once the command and its children have exited
}

Status CgroupWatch::add_process(pid_t pid) {
  // cgroup.procs moves every thread of the process, in v1 and v2 alike.
  const std::string file = dir_ + "/cgroup.procs";
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open " + file);
  return write_all(fd.get(), std::to_string(pid), file);
}

Result<CgroupPages> CgroupWatch::read() const {
  auto text = read_file_bounded(dir_ + "/memory.numa_stat", kMaxNumaStatBytes);
  if (!text) return text.error().prefixed("reading " + dir_ + "/memory.numa_stat: ");
  auto stat = parse_numa_stat(*text, version_);
  if (!stat) return stat.error();
  return cgroup_pages(*stat, version_);
}

}  // namespace memplace
