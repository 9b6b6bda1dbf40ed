// SPDX-License-Identifier: GPL-2.0-only
#include "host/sysfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "base/nodelist.h"
#include "base/text.h"
#include "base/unique_fd.h"

namespace memplace {
namespace {

// Splits on runs of whitespace.
std::vector<std::string_view> tokens(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// The same into a caller's array, for parsers run at sampling rates: stores at most N tokens and
// returns how many the line has, so a line with too many still reads as malformed.
template <size_t N>
size_t split_tokens(std::string_view line, std::array<std::string_view, N>& out) {
  size_t count = 0, i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t j = i;
    while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    if (j > i) {
      if (count < N) out[count] = line.substr(i, j - i);
      ++count;
    }
    i = j;
  }
  return count;
}

template <class T>
bool parse_number(std::string_view s, T& out, int base = 10) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// "node12" -> 12; anything else (has_cpu, power, online, uevent, nodeX) is not a node.
bool node_dir_id(std::string_view name, int& id) {
  if (name.size() <= 4 || name.substr(0, 4) != "node") return false;
  return parse_number(name.substr(4), id);
}

std::string node_dir(const std::string& root, int node) {
  return sys_path(root, "sys/devices/system/node/node" + std::to_string(node));
}

}  // namespace

std::string sys_path(const std::string& root, std::string_view rel) {
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  std::string base = root.empty() ? "/" : root;
  if (base.back() != '/') base += '/';
  return base + std::string(rel);
}

Result<std::vector<int>> list_nodes(const std::string& root) {
  const std::string dir = sys_path(root, "sys/devices/system/node");
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno_error("opendir " + dir);
  std::vector<int> nodes;
  while (dirent* e = ::readdir(d)) {
    int id = 0;
    if (node_dir_id(e->d_name, id)) nodes.push_back(id);
  }
  ::closedir(d);
  if (nodes.empty()) return make_error("no node<N> entries under " + dir);
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

namespace {

// "Node 0 MemUsed:          504228 kB"
// "Node 0 HugePages_Total:     0"        (unit-less counter, kept as printed)
// `fields` null keeps every line.
Result<NodeMeminfo> parse_meminfo_lines(std::string_view text, int node,
                                        const std::vector<std::string>* fields) {
  NodeMeminfo info;
  Status s = for_each_nonblank_line(text, [&](std::string_view line, int lineno) -> Status {
    std::array<std::string_view, 5> t;
    const size_t n = split_tokens(line, t);
    int id = -1;
    uint64_t value = 0;
    bool shape = (n == 4 || (n == 5 && t[4] == "kB")) && t[0] == "Node" && parse_number(t[1], id) &&
                 t[2].size() > 1 && t[2].back() == ':' && parse_number(t[3], value);
    if (!shape)
      return make_error("node meminfo line " + std::to_string(lineno) + " is malformed: \"" +
                        std::string(line) + "\"");
    if (id != node)
      return make_error("node meminfo line " + std::to_string(lineno) + " is for node " +
                        std::to_string(id) + ", expected node " + std::to_string(node));
    t[2].remove_suffix(1);
    if (fields && std::find(fields->begin(), fields->end(), t[2]) == fields->end()) return {};
    info[std::string(t[2])] = value;
    return {};
  });
  if (!s) return s.error();
  if (info.empty()) return make_error("node " + std::to_string(node) + " meminfo is empty");
  if (fields)
    for (const auto& f : *fields)
      if (!info.count(f))
        return make_error("node " + std::to_string(node) + " meminfo has no " + f + " line");
  return info;
}

Result<NodeMeminfo> read_meminfo_file(const std::string& root, int node,
                                      const std::vector<std::string>* fields) {
  const std::string path = node_dir(root, node) + "/meminfo";
  auto text = read_text_file(path);
  if (!text) return text.error();
  auto info = parse_meminfo_lines(*text, node, fields);
  if (!info) return info.error().prefixed(path + ": ");
  return info;
}

}  // namespace

Result<NodeMeminfo> parse_node_meminfo(std::string_view text, int node) {
  return parse_meminfo_lines(text, node, nullptr);
}

Result<NodeMeminfo> parse_node_meminfo_fields(std::string_view text, int node,
                                              const std::vector<std::string>& fields) {
  return parse_meminfo_lines(text, node, &fields);
}

Result<NodeMeminfo> read_node_meminfo_fields(const std::string& root, int node,
                                             const std::vector<std::string>& fields) {
  return read_meminfo_file(root, node, &fields);
}

Result<NodeMeminfo> read_node_meminfo(const std::string& root, int node) {
  return read_meminfo_file(root, node, nullptr);
}

Result<MeminfoReader> MeminfoReader::open(const std::string& root, int node) {
  MeminfoReader r;
  r.node_ = node;
  r.path_ = node_dir(root, node) + "/meminfo";
  r.fd_.reset(::open(r.path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!r.fd_.valid()) return errno_error("open " + r.path_);
  return r;
}

Result<NodeMeminfo> MeminfoReader::read(const std::vector<std::string>& fields) {
  // sysfs regenerates the text on a read from offset 0; pread keeps one descriptor for the run.
  buf_.resize(8192);
  size_t len = 0;
  while (true) {
    if (len == buf_.size()) buf_.resize(buf_.size() * 2);
    ssize_t n = ::pread(fd_.get(), buf_.data() + len, buf_.size() - len, static_cast<off_t>(len));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("read " + path_);
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  auto info = parse_meminfo_lines(std::string_view(buf_.data(), len), node_, &fields);
  if (!info) return info.error().prefixed(path_ + ": ");
  return info;
}

// "Node 0, zone   Normal" opens a zone; its per-CPU pagesets then read
// "    cpu: 0" / "              count:    62" / "              high:     1843" ...
// (count: free pages parked on that CPU's list for the zone).
Result<std::map<int, uint64_t>> parse_zoneinfo_pcp_pages(std::string_view text) {
  std::map<int, uint64_t> pages;
  int node = -1, lineno = 0;
  Error bad;
  bool failed = false;
  for_each_line(text, [&](std::string_view line) {
    ++lineno;
    if (failed) return;
    std::array<std::string_view, 4> t;
    const size_t n = split_tokens(line, t);
    if (n >= 4 && t[0] == "Node" && t[2] == "zone") {
      std::string_view id = t[1];
      if (!id.empty() && id.back() == ',') id.remove_suffix(1);
      if (!parse_number(id, node)) {
        bad = make_error("zoneinfo line " + std::to_string(lineno) + ": bad node \"" +
                         std::string(line) + "\"");
        failed = true;
        return;
      }
      pages.try_emplace(node, 0);
    } else if (n == 2 && t[0] == "count:" && node >= 0) {
      uint64_t count = 0;
      if (!parse_number(t[1], count)) {
        bad = make_error("zoneinfo line " + std::to_string(lineno) + ": bad count \"" +
                         std::string(line) + "\"");
        failed = true;
        return;
      }
      pages[node] += count;
    }
  });
  if (failed) return bad;
  if (pages.empty()) return make_error("zoneinfo has no \"Node N, zone\" lines");
  return pages;
}

Result<MeminfoSnapshot> read_meminfo_snapshot(const std::string& root) {
  auto nodes = list_nodes(root);
  if (!nodes) return nodes.error();
  MeminfoSnapshot snap;
  for (int n : *nodes) {
    auto info = read_node_meminfo(root, n);
    if (!info) return info.error();
    snap[n] = std::move(*info);
  }
  // Pages on per-CPU free lists are missing from MemFree, so MemUsed counts them as used: after a
  // large free, hundreds of MiB can sit there, and the next allocation takes them without moving
  // MemFree. Recorded beside the kernel's fields so a delta can leave them out.
  if (auto text = read_text_file(sys_path(root, "proc/zoneinfo"))) {
    if (auto pcp = parse_zoneinfo_pcp_pages(*text)) {
      for (auto& [n, info] : snap) {
        auto it = pcp->find(n);
        if (it != pcp->end())
          info[kPcpFreeField] = it->second * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) / 1024;
      }
    }
  }
  return snap;
}

// "0-1\n" (node<N>/cpulist); a memory-only node has an empty line.
Result<std::vector<int>> read_node_cpulist(const std::string& root, int node) {
  const std::string path = node_dir(root, node) + "/cpulist";
  auto text = read_text_file(path);
  if (!text) return text.error();
  if (trim(*text).empty()) return std::vector<int>{};
  auto ids = parse_id_list(*text);
  if (!ids) return ids.error().prefixed(path + ": ");
  return ids;
}

Result<int> node_of_cpu(const std::string& root, int cpu) {
  auto nodes = list_nodes(root);
  if (!nodes) return nodes.error();
  for (int n : *nodes) {
    auto cpus = read_node_cpulist(root, n);
    if (!cpus) return cpus.error();
    if (std::binary_search(cpus->begin(), cpus->end(), cpu)) return n;
  }
  return make_error("no node lists cpu " + std::to_string(cpu));
}

// "7f1c2a600000 interleave:0-1 anon=16384 dirty=16384 N0=8192 N1=8192 kernelpagesize_kB=4"
// "55d0c0a00000 default file=/usr/bin/bash mapped=200 N0=200 kernelpagesize_kB=4"
// "7f0000000000 bind:0 file=/anon_hugepage\040(deleted) huge anon=2 N0=2 kernelpagesize_kB=2048"
// "7f1c2ea00000 weighted interleave:0,2 anon=4096 N0=3072 N2=1024 kernelpagesize_kB=4"
//   (the kernel spells this one mode with a space, so it spans two tokens)
Result<std::vector<NumaMapsEntry>> parse_numa_maps(std::string_view text) {
  std::vector<NumaMapsEntry> out;
  Status s = for_each_nonblank_line(text, [&](std::string_view line, int lineno) -> Status {
    auto t = tokens(line);
    NumaMapsEntry e;
    if (t.size() < 2 || !parse_number(t[0], e.start, 16))
      return make_error("numa_maps line " + std::to_string(lineno) + " is malformed: \"" +
                        std::string(line) + "\"");
    e.policy = std::string(t[1]);
    size_t first_attr = 2;
    if (t[1] == "weighted" && t.size() > 2 && t[2].substr(0, 10) == "interleave") {
      e.policy = "weighted " + std::string(t[2]);
      first_attr = 3;
    }
    for (size_t i = first_attr; i < t.size(); ++i) {
      std::string_view tok = t[i];
      size_t eq = tok.find('=');
      std::string_view key = tok.substr(0, eq);
      std::string_view val = eq == std::string_view::npos ? "" : tok.substr(eq + 1);
      int node = 0;
      uint64_t n = 0;
      if (key == "huge") {
        e.huge = true;
      } else if (key == "anon") {
        e.anon = true;
      } else if (key == "file") {
        e.file = std::string(val);
      } else if (key == "kernelpagesize_kB") {
        if (!parse_number(val, e.page_size_kb))
          return make_error("numa_maps line " + std::to_string(lineno) + ": bad page size \"" +
                            std::string(tok) + "\"");
      } else if (key.size() > 1 && key[0] == 'N' && parse_number(key.substr(1), node)) {
        if (!parse_number(val, n))
          return make_error("numa_maps line " + std::to_string(lineno) + ": bad node count \"" +
                            std::string(tok) + "\"");
        e.node_pages[node] = n;
      }
      // Other tokens (dirty=, mapped=, heap, stack, active=, ...) are not needed here.
    }
    out.push_back(std::move(e));
    return {};
  });
  if (!s) return s.error();
  return out;
}

Result<std::vector<NumaMapsEntry>> read_numa_maps(const std::string& root, int pid) {
  auto text = read_text_file(sys_path(root, "proc/" + std::to_string(pid) + "/numa_maps"));
  if (!text) return text.error();
  return parse_numa_maps(*text);
}

// "6.18.0-memplace\n"
Result<std::string> read_kernel_release(const std::string& root) {
  auto text = read_text_file(sys_path(root, "proc/sys/kernel/osrelease"));
  if (!text) return text.error();
  std::string rel(trim(*text));
  if (rel.empty()) return make_error("kernel release is empty");
  return rel;
}

// "always [madvise] never\n" (transparent_hugepage/enabled)
// "always within_size advise [never] deny force\n" (transparent_hugepage/shmem_enabled)
Result<std::string> parse_bracketed_choice(std::string_view text) {
  const size_t open = text.find('[');
  const size_t close = text.find(']', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos || close == open + 1)
    return make_error("no [selected] word in \"" + std::string(trim(text)) + "\"");
  return std::string(text.substr(open + 1, close - open - 1));
}

Result<std::string> read_thp_setting(const std::string& root, const std::string& file) {
  const std::string path = sys_path(root, "sys/kernel/mm/transparent_hugepage/" + file);
  auto text = read_text_file(path);
  if (!text) return text.error();
  auto choice = parse_bracketed_choice(*text);
  if (!choice) return choice.error().prefixed(path + ": ");
  return choice;
}

// "Y\n" (/sys/module/kvm_amd/parameters/sev_snp)
Result<std::string> read_module_param(const std::string& root, const std::string& module,
                                      const std::string& param) {
  auto text = read_text_file(sys_path(root, "sys/module/" + module + "/parameters/" + param));
  if (!text) return text.error();
  return std::string(trim(*text));
}

// "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov ... svm ..."
Result<bool> cpuinfo_has_flag(const std::string& root, const std::string& flag) {
  auto text = read_text_file(sys_path(root, "proc/cpuinfo"));
  if (!text) return text.error();
  bool found = false;
  for_each_line(*text, [&](std::string_view line) {
    if (found) return;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || trim(line.substr(0, colon)) != "flags") return;
    for (auto tok : tokens(line.substr(colon + 1)))
      if (tok == flag) found = true;
  });
  return found;
}

// <root>/sys/kernel/mm/mempolicy/weighted_interleave/node0 holds "1\n".
Result<std::map<int, int>> read_weighted_interleave_weights(const std::string& root) {
  const std::string dir = sys_path(root, "sys/kernel/mm/mempolicy/weighted_interleave");
  std::map<int, int> weights;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return weights;
    return errno_error("opendir " + dir);
  }
  std::vector<int> nodes;
  while (dirent* e = ::readdir(d)) {
    int id = 0;
    if (node_dir_id(e->d_name, id)) nodes.push_back(id);
  }
  ::closedir(d);
  for (int n : nodes) {
    const std::string path = dir + "/node" + std::to_string(n);
    auto text = read_text_file(path);
    if (!text) return text.error();
    int w = 0;
    if (!parse_number(trim(*text), w)) return make_error(path + ": bad weight \"" + *text + "\"");
    weights[n] = w;
  }
  return weights;
}

void refresh_vm_stats(const std::string& root) {
  // Any write works; the kernel returns EINVAL if a counter was negative, after folding anyway.
  UniqueFd fd(::open(sys_path(root, "proc/sys/vm/stat_refresh").c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return;
  ssize_t ignored = ::write(fd.get(), "1\n", 2);
  (void)ignored;
}

}  // namespace memplace
