// One qemu-toucher cell, start to finish: preflight, guest image, QEMU, hello, "before", go,
// samples, done, "after" and QEMU's numa_maps, poweroff, verdict. Every failure becomes the
// record's status and message; QEMU never outlives the call.
#include "qemu/qemu_cell_runner.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "agent/agent_protocol.h"
#include "base/clock.h"
#include "qemu/initramfs.h"
#include "qemu/kernel_build.h"
#include "qemu/kernel_ref.h"
#include "base/nodelist.h"
#include "qemu/qemu_command.h"
#include "qemu/qemu_process.h"
#include "experiment/placement_choice.h"
#include "experiment/placement_window.h"
#include "experiment/results.h"
#include "kernel/sampler.h"
#include "base/subprocess.h"
#include "touchers/toucher.h"
#include "experiment/verdict.h"

namespace memplace {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

uint64_t round_up_mib(uint64_t b) {
  return (b + (1ull << 20) - 1) & ~((1ull << 20) - 1);
}

std::string backend_for(const Cell& cell) {
  return cell.backing == BackingKind::kAnon ? "ram" : "memfd";
}

// Probes and kernel lookups are slow (seconds each); one per process is enough.
std::mutex g_cache_mu;
std::map<std::string, QemuCapabilities> g_caps;
std::map<std::string, KernelFiles> g_kernels;

Result<QemuCapabilities> cached_probe(const std::string& binary) {
  std::lock_guard<std::mutex> lock(g_cache_mu);
  auto it = g_caps.find(binary);
  if (it != g_caps.end()) return it->second;
  auto caps = probe_qemu(binary);
  if (caps) g_caps[binary] = *caps;
  return caps;
}

// One fetch per kernel reference for the whole matrix (fetch_kernel parses it).
Result<KernelFiles> cached_kernel(const QemuToucherOptions& o) {
  std::lock_guard<std::mutex> lock(g_cache_mu);
  auto it = g_kernels.find(o.kernel);
  if (it != g_kernels.end()) return it->second;
  auto files = fetch_kernel(o.kernel, "", o.fetch);
  if (files) g_kernels[o.kernel] = *files;
  return files;
}

// The image a dry run shows: a path as given, a build's bzImage, a Debian kernel's placeholder.
std::string dry_run_kernel(const QemuToucherOptions& o) {
  auto ref = parse_kernel_ref(o.kernel);
  if (!ref) return "<" + ref.error().message + ">";
  if (ref->kind == KernelRef::Kind::kPath) return ref->value;
  if (ref->kind == KernelRef::Kind::kDebian)
    return "<vmlinuz of debian:" + (ref->value.empty() ? "newest" : ref->value) + ">";
  std::string cache = o.fetch.cache_dir.empty() ? memplace_cache_dir() : o.fetch.cache_dir;
  auto b = load_kernel_build(cache, ref->value);
  return b ? b->vmlinuz : "<" + b.error().message + ">";
}

// The agent binary: MEMPLACE_AGENT, else the build tree's guest-agent/ next to or above this
// executable (build/memplace, build/tests/*).
std::string find_agent(const QemuToucherOptions& o) {
  if (!o.agent_binary.empty()) return o.agent_binary;
  std::error_code ec;
  fs::path self = self_executable();
  if (self.empty()) return "";
  for (fs::path dir = self.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    for (const char* rel : {"guest-agent/memplace-agent", "memplace-agent"}) {
      fs::path p = dir / rel;
      if (fs::is_regular_file(p, ec)) return p.string();
    }
    if (dir == dir.root_path()) break;
  }
  return "";
}

// The guest's /init runs this after mounting /proc, /sys and /dev.
std::string agent_run_line(const QemuToucherOptions& o) {
  if (!o.guest_run_line.empty()) return o.guest_run_line;
  return "exec /bin/memplace-agent";
}

std::string truncate(std::string s, size_t n) {
  if (s.size() > n) s = s.substr(0, n) + "...";
  return s;
}

}  // namespace

QemuToucherOptions qemu_toucher_options(const QemuSpec& q) {
  QemuToucherOptions o;
  o.qemu_binary = q.binary.value_or(o.qemu_binary);
  o.kernel = q.kernel.value_or(o.kernel);
  o.disk_image = q.disk_image.value_or(o.disk_image);
  o.disk_agent = q.disk_agent.value_or(o.disk_agent);
  o.agent_binary = q.agent.value_or(o.agent_binary);
  o.busybox = q.busybox.value_or(o.busybox);
  o.accel = q.accel.value_or(o.accel);
  o.snp = q.snp.value_or(o.snp);
  o.snp_config.ovmf = q.ovmf.value_or(o.snp_config.ovmf);
  o.snp_config.cbitpos = q.cbitpos.value_or(o.snp_config.cbitpos);
  o.snp_config.reduced_phys_bits = q.reduced_phys_bits.value_or(o.snp_config.reduced_phys_bits);
  o.snp_config.kernel_hashes = q.kernel_hashes.value_or(o.snp_config.kernel_hashes);
  o.boot_timeout_seconds = q.boot_timeout_s.value_or(o.boot_timeout_seconds);
  o.agent_timeout_seconds = q.agent_timeout_s.value_or(o.agent_timeout_seconds);
  o.poweroff_timeout_seconds = q.poweroff_timeout_s.value_or(o.poweroff_timeout_seconds);
  o.guest_overhead_bytes = q.guest_overhead_bytes.value_or(o.guest_overhead_bytes);
  o.extra_append = q.extra_append.value_or(o.extra_append);
  return o;
}

Result<QemuSpec> qemu_spec_env_fallbacks(QemuSpec spec,
                                         const std::function<const char*(const char*)>& getenv) {
  auto get = [&](const char* name) -> std::optional<std::string> {
    const char* v = getenv(name);
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
  auto text = [&](const char* name, std::optional<std::string>& field) {
    if (!field) field = get(name);
  };
  auto flag = [&](const char* name, std::optional<bool>& field) -> Status {
    auto v = get(name);
    if (field || !v) return {};
    if (*v != "0" && *v != "1")
      return make_error(std::string(name) + ": expected 0 or 1, got '" + *v + "'");
    field = *v == "1";
    return {};
  };
  auto integer = [&](const char* name, std::optional<int>& field) -> Status {
    auto v = get(name);
    if (field || !v) return {};
    char* end = nullptr;
    errno = 0;
    long n = std::strtol(v->c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || n < INT32_MIN || n > INT32_MAX)
      return make_error(std::string(name) + ": expected an integer, got '" + *v + "'");
    field = static_cast<int>(n);
    return {};
  };
  QemuSpec before = spec;
  text("MEMPLACE_QEMU", spec.binary);
  text("MEMPLACE_QEMU_KERNEL", spec.kernel);
  text("MEMPLACE_QEMU_DISK", spec.disk_image);
  text("MEMPLACE_QEMU_DISK_AGENT", spec.disk_agent);
  text("MEMPLACE_AGENT", spec.agent);
  text("MEMPLACE_QEMU_ACCEL", spec.accel);
  text("MEMPLACE_QEMU_OVMF", spec.ovmf);
  for (auto s : {flag("MEMPLACE_QEMU_SNP", spec.snp),
                 flag("MEMPLACE_QEMU_KERNEL_HASHES", spec.kernel_hashes),
                 integer("MEMPLACE_QEMU_CBITPOS", spec.cbitpos),
                 integer("MEMPLACE_QEMU_REDUCED_PHYS_BITS", spec.reduced_phys_bits),
                 integer("MEMPLACE_QEMU_BOOT_TIMEOUT", spec.boot_timeout_s),
                 integer("MEMPLACE_QEMU_AGENT_TIMEOUT", spec.agent_timeout_s)}) {
    if (!s) return s.error();
  }
  // The same ranges as the table; the spec's own values were checked when it was parsed.
  if (spec != before) {
    if (auto s = check_qemu_spec(spec); !s)
      return make_error("from the MEMPLACE_QEMU* environment: " + s.error().message);
  }
  return spec;
}

Result<QemuGuestConfig> qemu_guest_config_for(const Cell& cell, const QemuToucherOptions& o,
                                              const QemuCapabilities& caps,
                                              const std::string& accel,
                                              const QemuGuestPaths& paths) {
  auto policy = qemu_policy_name(cell.policy);
  if (!policy) return policy.error();
  QemuGuestConfig c;
  c.qemu_binary = o.qemu_binary;
  c.version = caps.version;
  c.accel = o.snp ? "kvm" : accel;
  c.backend = backend_for(cell);
  if (cell.backing == BackingKind::kGuestMemfd) {
    if (o.snp) {
      c.snp = o.snp_config;
    } else {
      c.guest_memfd = true;
      std::string prop = guest_memfd_property(caps);
      if (!prop.empty()) c.guest_memfd_property = prop;
    }
  }
  QemuGuestNode node;
  node.id = 0;
  uint64_t overhead = o.guest_overhead_bytes + cell.size_bytes / 32;  // struct pages, tables
  node.mem_bytes = round_up_mib(cell.size_bytes + overhead);
  for (int i = 0; i < std::max(1, cell.threads); ++i) node.cpus.push_back(i);
  node.host_policy = *policy;
  node.host_nodes = cell.nodes;
  c.nodes = {node};
  c.kernel = paths.kernel;
  c.initrd = paths.initrd;
  c.disk_image = o.disk_image;
  if (!o.disk_image.empty()) c.disk_init = o.disk_agent;
  c.append = o.extra_append;
  // Encrypted guests cannot hand pages back this way; everything else does.
  c.free_page_reporting = !c.snp;
  c.serial_log = paths.serial_log;
  c.socket_path = paths.socket_path;
  return c;
}

Status qemu_preflight(const Cell& cell, const QemuToucherOptions& o, const QemuCapabilities& caps,
                      const std::string& accel, const std::string& sysfs_root) {
  if (auto p = qemu_policy_name(cell.policy); !p) return unsupported_error(p.error().message);
  if (cell.backing == BackingKind::kGuestMemfdPrivate)
    return unsupported_error("the qemu toucher's private guest memory is an SEV-SNP guest "
                             "(backing guest_memfd with [qemu] snp = true); guest_memfd_private "
                             "is the vcpu toucher's");
  if (cell.channel != PolicyChannel::kMbind)
    return unsupported_error("QEMU applies the policy through its memory backend (mbind); the "
                             "task channel is the host and vcpu touchers'");
  if (cell.backing != BackingKind::kGuestMemfd) return {};
  std::vector<std::string> missing;
  if (o.snp) {
    auto snp = read_module_param(sysfs_root, "kvm_amd", "sev_snp");
    if (!snp || (*snp != "Y" && *snp != "1")) {
      missing.push_back(snp ? "kvm_amd sev_snp=" + *snp + " (needs Y)"
                            : "kvm_amd is not loaded or has no sev_snp parameter");
    }
    if (::access(sys_path(sysfs_root, "dev/sev").c_str(), F_OK) != 0)
      missing.push_back("no /dev/sev");
    if (::access(o.snp_config.ovmf.c_str(), R_OK) != 0) {
      missing.push_back("OVMF firmware " + o.snp_config.ovmf + " not found (qemu.ovmf)");
    }
    if (!caps.has_sev_snp_guest) {
      missing.push_back(o.qemu_binary + " (" + caps.version.text() +
                        ") has no sev-snp-guest object");
    }
    if (missing.empty()) return {};
    std::string m = "SEV-SNP guest cannot run here:";
    for (const auto& s : missing) m += " " + s + ";";
    m.pop_back();
    return unsupported_error(m);
  }
  if (guest_memfd_property(caps).empty()) {
    missing.push_back(o.qemu_binary + " " + caps.version.text() +
                      " has no memory-backend-memfd guest-memfd property (QEMU 11+ or a patched "
                      "QEMU; qemu.binary)");
  }
  if (accel != "kvm") missing.push_back("guest_memfd needs KVM, accel here is " + accel);
  if (missing.empty()) return {};
  std::string m = "plain guest_memfd VM cannot run here:";
  for (const auto& s : missing) m += " " + s + ";";
  m.pop_back();
  return unsupported_error(m);
}

std::string qemu_dry_run(const Cell& cell, const QemuToucherOptions& o,
                         const std::string& sysfs_root) {
  QemuCapabilities caps;
  if (auto probed = cached_probe(o.qemu_binary)) caps = *probed;
  std::string accel = o.snp ? "kvm" : detect_accel(o.accel);
  QemuGuestPaths paths;
  paths.kernel = dry_run_kernel(o);
  paths.initrd = o.disk_image.empty() ? "<initramfs: busybox + memplace-agent>"
                                      : "<initramfs: busybox + virtio modules, switch_root>";
  paths.serial_log = "<run dir>/serial.log";
  paths.socket_path = "<run dir>/agent.sock";
  auto config = qemu_guest_config_for(cell, o, caps, accel, paths);
  if (!config) return "# qemu toucher cannot run this cell: " + config.error().message + "\n";
  std::string out = format_command_multiline(qemu_guest_command(*config));
  if (auto s = qemu_preflight(cell, o, caps, accel, sysfs_root); !s)
    out += "# " + s.error().describe() + "\n";
  return out;
}

GuestRamPlacement guest_ram_placement(const std::vector<NumaMapsEntry>& maps,
                                      const std::string& backend) {
  GuestRamPlacement g;
  auto add = [&](const NumaMapsEntry& e) {
    for (const auto& [node, n] : e.node_pages) g.pages[node] += n * e.page_size_kb / 4;
    char start[32];
    std::snprintf(start, sizeof start, "%llx", static_cast<unsigned long long>(e.start));
    g.mappings.push_back(std::string(start) + " " + e.policy +
                         (e.file.empty() ? " anon" : " file=" + e.file));
  };
  if (backend != "ram") {
    // QEMU names its memfd after the backend type: "/memfd:memory-backend-memfd (deleted)".
    // A guest_memfd that QEMU mmaps shows up as the KVM anon inode.
    for (const auto& e : maps) {
      if (e.file.find("memory-backend-memfd") != std::string::npos ||
          e.file.find("kvm-gmem") != std::string::npos) {
        add(e);
      }
    }
    g.how = "mappings of the file memfd:memory-backend-memfd";
    return g;
  }
  // memory-backend-ram is anonymous: the anonymous mapping holding the most pages.
  const NumaMapsEntry* best = nullptr;
  uint64_t best_pages = 0;
  for (const auto& e : maps) {
    if (!e.file.empty() || !e.anon) continue;
    uint64_t n = 0;
    for (const auto& [node, p] : e.node_pages) n += p * e.page_size_kb / 4;
    if (n > best_pages) {
      best = &e;
      best_pages = n;
    }
  }
  if (best) add(*best);
  g.how = "the anonymous mapping with the most resident pages";
  return g;
}

namespace {

struct RunDir {
  std::string path;
  ~RunDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

void keep_logs(RunRecord& r, const RunContext& ctx, const std::string& work) {
  std::error_code ec;
  fs::create_directories(ctx.out_dir + "/qemu", ec);
  for (const char* f : {"serial.log", "qemu.log"}) {
    std::string src = work + "/" + f;
    if (!fs::exists(src, ec)) continue;
    std::string rel = "qemu/" + r.run_id + "." + f;
    fs::copy_file(src, ctx.out_dir + "/" + rel, fs::copy_options::overwrite_existing, ec);
    if (!ec) r.extra[std::string(f) == "serial.log" ? "serial_log" : "qemu_log"] = rel;
  }
}

std::string tail_of(const std::string& path, size_t n) {
  auto text = read_text_file(path);
  if (!text) return "";
  return text->size() > n ? text->substr(text->size() - n) : *text;
}

// The agent's workload report, written like the host path's (runner.cc) as
// <out>/workloads/<run_id>-<kind>.json and linked as extra.workload.file, its benchmarks copied
// in. A workload that failed leaves the placement result alone and says why in "error".
nlohmann::json workload_into_results(const Result<GuestMessage>& message, const std::string& run_id,
                                     const std::string& kind, const std::string& out_dir) {
  nlohmann::json w = {{"kind", kind}, {"timed_by", "memplace-agent"}};
  const auto* report = message ? std::get_if<AgentWorkload>(&*message) : nullptr;
  if (!message) {
    w["error"] = message.error().message;
  } else if (!report || report->kind != kind) {
    w["error"] = "workload: the guest agent sent something other than its " + kind + " report";
  } else {
    std::string file = "workloads/" + run_id + "-" + kind + ".json";
    Status s = make_dirs(out_dir + "/workloads");
    if (s) s = write_file_atomic(out_dir + "/" + file, report->report.dump(2) + "\n");
    if (s) {
      w["file"] = file;
    } else {
      w["error"] = "writing " + file + ": " + s.error().describe();
    }
    w["benchmarks"] = report->report["benchmarks"];
  }
  return w;
}

std::map<int, double> guest_ram_delta_mib(const GuestRamPlacement& at_go,
                                          const GuestRamPlacement& at_done) {
  std::map<int, double> delta;
  for (const auto& [node, pages] : at_done.pages) {
    uint64_t was = at_go.pages.count(node) ? at_go.pages.at(node) : 0;
    delta[node] = (static_cast<double>(pages) - static_cast<double>(was)) / 256.0;
  }
  return delta;
}

// QEMU's guest RAM pages that became resident between go and done: the touch as the mapped view
// sees it. Private guest_memfd memory is not mapped into QEMU, so there numa_maps sees nothing.
SourceReading numa_maps_reading(const Cell& cell, const GuestRamPlacement& at_done,
                                const GuestRamPlacement& at_go, bool have_go) {
  uint64_t mapped = 0;
  for (const auto& [node, pages] : at_done.pages) mapped += pages;
  if (cell.backing == BackingKind::kGuestMemfd && mapped * 4096 < cell.size_bytes / 2)
    return source_unsupported("guest_memfd pages are not in QEMU's numa_maps (" +
                              std::to_string(mapped) + " pages were): private memory is never "
                              "mapped");
  if (!have_go) return source_unsupported("QEMU's numa_maps could not be read at go");
  std::map<int, uint64_t> pages;
  for (const auto& [node, n] : at_done.pages) {
    uint64_t was = at_go.pages.count(node) ? at_go.pages.at(node) : 0;
    pages[node] = n > was ? n - was : 0;
  }
  SourceReading r = source_ok(pages);
  r.detail["absent"] = 0;
  r.detail["resident_at_done"] = mapped;
  return r;
}

void run_into(RunRecord& r, const Cell& cell, const RunContext& ctx, const QemuToucherOptions& o,
              const std::string& work) {
  auto host_nodes = list_nodes(ctx.sysfs_root);
  if (!host_nodes) {
    r.message = "listing NUMA nodes: " + host_nodes.error().describe();
    return;
  }
  auto caps = cached_probe(o.qemu_binary);
  if (!caps) {
    set_error(r, unsupported_error("cannot probe QEMU '" + o.qemu_binary +
                                   "': " + caps.error().describe()));
    return;
  }
  std::string accel = o.snp ? "kvm" : detect_accel(o.accel);
  r.extra["qemu_binary"] = o.qemu_binary;
  r.extra["qemu_version"] = caps->version.text();
  r.extra["qemu_version_line"] = caps->version_line;
  r.extra["accel"] = accel;
  if (auto s = qemu_preflight(cell, o, *caps, accel, ctx.sysfs_root); !s) {
    set_error(r, s.error());
    return;
  }

  // The guest image.
  auto kernel = cached_kernel(o);
  if (!kernel) {
    r.message = "guest kernel " + o.kernel + ": " + kernel.error().describe();
    return;
  }
  r.extra["guest_kernel"] = kernel->origin;
  // The guest kernel placed this memory; a build says exactly what it was made from.
  if (!kernel->build_info.is_null()) r.environment.kernel_build = kernel->build_info;
  QemuGuestPaths paths;
  paths.kernel = kernel->vmlinuz;
  paths.serial_log = work + "/serial.log";
  paths.socket_path = work + "/agent.sock";
  InitramfsInputs in;
  in.busybox = o.busybox;
  // The agent's channel is a virtio-serial port; load its driver where it is a module.
  in.modules_dir = kernel->modules_dir;
  in.module_roots = {"virtio_pci", "virtio_console", "virtio_balloon"};
  if (o.disk_image.empty()) {
    std::string agent = find_agent(o);
    if (agent.empty()) {
      r.message =
          "memplace-agent not found next to this program (build guest-agent/ or set "
          "qemu.agent in the spec)";
      return;
    }
    in.programs = {{agent, "bin/memplace-agent"}};
    in.run_line = agent_run_line(o);
    r.extra["guest_root"] = "initramfs";
  } else {
    // The disk holds the agent; the initramfs only makes /dev/vda appear (Debian's cloud
    // kernels build virtio_blk as a module) and hands over to the disk's init.
    std::error_code ec;
    if (!fs::is_regular_file(o.disk_image, ec)) {
      r.message = "qemu.disk_image " + o.disk_image + " is not a readable file";
      return;
    }
    in.module_roots.push_back("virtio_blk");
    in.run_line = o.guest_run_line.empty() ? switch_root_run_line() : o.guest_run_line;
    r.extra["guest_root"] = "disk";
    r.extra["disk_image"] = o.disk_image;
    r.extra["disk_agent"] = o.disk_agent;
  }
  in.optional_modules = in.module_roots;
  auto image = build_initramfs(in);
  if (!image) {
    r.message = "building the guest initramfs: " + image.error().describe();
    return;
  }
  paths.initrd = work + "/initrd.cpio";
  {
    std::ofstream f(paths.initrd, std::ios::binary);
    f << image->bytes;
    f.close();
    if (!f) {
      r.message = "writing " + paths.initrd;
      return;
    }
  }
  r.extra["initramfs_bytes"] = image->bytes.size();
  auto config = qemu_guest_config_for(cell, o, *caps, accel, paths);
  if (!config) {
    set_error(r, unsupported_error(config.error().message));
    return;
  }
  auto argv = qemu_guest_command(*config);
  r.extra["qemu_command"] = join_command(argv);
  r.extra["guest_mem_bytes"] = config->nodes.front().mem_bytes;
  if (cell.backing == BackingKind::kGuestMemfd) {
    r.extra["numa_maps_note"] =
        "guest_memfd pages appear in QEMU's numa_maps only where QEMU mmaps the guest_memfd "
        "(fully shared x-guest-memfd); SNP private memory never does, so placement_pages then "
        "covers the shared part only and meminfo deltas are the measure";
  }

  std::vector<int> pin;
  if (cell.cpu_node) {
    auto cpus = read_node_cpulist(ctx.sysfs_root, *cell.cpu_node);
    if (cpus) pin = *cpus;
  }

  if (int sig = ChainedStopSignals::received()) {
    r.message = "interrupted by signal " + std::to_string(sig) + " before QEMU started";
    return;
  }
  QemuProcess qemu;
  auto t0 = Clock::now();
  if (auto s = qemu.start(argv, paths.socket_path, work + "/qemu.log", pin); !s) {
    r.message = "starting QEMU: " + s.error().describe();
    return;
  }
  nlohmann::json agent_log = nlohmann::json::array();
  auto describe_end = [&](QemuProcess::Wait w, const std::string& phase, int timeout) {
    switch (w) {
      case QemuProcess::Wait::kTimeout:
        return phase + ": no answer from the guest agent within " + std::to_string(timeout) + " s";
      case QemuProcess::Wait::kSignal:
        return phase + ": interrupted by signal " + std::to_string(ChainedStopSignals::received());
      case QemuProcess::Wait::kExited:
      case QemuProcess::Wait::kClosed: {
        qemu.stop(std::chrono::milliseconds(2000));
        std::string m = phase + ": QEMU ended (status " + std::to_string(qemu.exit_status()) + ")";
        std::string err = tail_of(work + "/qemu.log", 400);
        if (!err.empty()) m += ": " + err;
        // The disk boot's initramfs says on the console why it gave up.
        std::string console = tail_of(work + "/serial.log", 4000);
        size_t at = console.rfind("memplace-init: ");
        if (at != std::string::npos) m += "; " + console.substr(at, console.find('\n', at) - at);
        return m;
      }
      default:
        return phase;
    }
  };
  // Reads guest messages until one that the phase wants; logs are kept, anything else fails.
  auto next_message = [&](Clock::time_point deadline, const std::string& phase,
                          int timeout) -> Result<GuestMessage> {
    while (true) {
      std::string line;
      auto w = qemu.next_line(deadline, &line);
      if (w != QemuProcess::Wait::kLine) return make_error(describe_end(w, phase, timeout));
      auto m = decode_guest_message(line);
      if (!m) {
        return make_error(phase + ": garbage from the guest (" + m.error().message + "): \"" +
                          truncate(line, 200) + "\"");
      }
      if (auto* log = std::get_if<AgentLog>(&*m)) {
        agent_log.push_back(log->message);
        continue;
      }
      if (auto* e = std::get_if<AgentError>(&*m)) {
        return make_error(phase + ": the guest agent failed: " + e->message);
      }
      return m;
    }
  };
  auto fail = [&](const std::string& message) {
    r.status = RunStatus::kFailed;
    r.message = message;
    if (!agent_log.empty()) r.extra["agent_log"] = agent_log;
    qemu.stop(std::chrono::milliseconds(0));
    keep_logs(r, ctx, work);
  };

  // Boot: QEMU start to the agent's hello.
  auto hello_msg = next_message(t0 + std::chrono::seconds(o.boot_timeout_seconds), "boot",
                                o.boot_timeout_seconds);
  if (!hello_msg) return fail(hello_msg.error().message);
  auto* hello = std::get_if<AgentHello>(&*hello_msg);
  if (!hello) return fail("boot: the guest agent spoke before its hello");
  r.extra["boot_seconds"] = seconds_since(t0);
  r.extra["guest"] = {{"kernel", hello->kernel},
                      {"nodes", hello->nodes},
                      {"cpus", hello->cpus},
                      {"mem_bytes", hello->mem_bytes}};
  r.environment.accel = accel;

  // With free page reporting the guest hands its boot leftovers back over a few seconds; the
  // "before" snapshot waits until the guest RAM's resident size stops falling.
  if (config->free_page_reporting) {
    auto resident = [&]() -> uint64_t {
      auto maps = read_numa_maps(ctx.sysfs_root, qemu.pid());
      if (!maps) return 0;
      uint64_t n = 0;
      for (const auto& [node, pages] : guest_ram_placement(*maps, config->backend).pages)
        n += pages;
      return n;
    };
    auto t_settle = Clock::now();
    uint64_t at_hello = resident(), last = at_hello;
    auto last_drop = t_settle;
    while (seconds_since(t_settle) < o.settle_max_seconds) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      uint64_t now = resident();
      if (now + 256 < last) {  // fell by more than 1 MiB
        last = now;
        last_drop = Clock::now();
      }
      if (seconds_since(t_settle) >= o.settle_min_seconds &&
          std::chrono::duration<double>(Clock::now() - last_drop).count() >= 1.0) {
        break;
      }
    }
    r.extra["settle"] = {{"seconds", seconds_since(t_settle)},
                         {"guest_ram_at_hello_mib", at_hello / 256.0},
                         {"guest_ram_at_go_mib", last / 256.0}};
  }

  // The placement window's buffers and cgroup exist before the "before" snapshot; QEMU joins it
  // right before go, so its boot is outside the window.
  PlacementWindow window(cell, ctx);
  // "before": the guest is booted and idle, its own boot memory already counted.
  auto before = read_meminfo_snapshot(ctx.sysfs_root);
  if (!before) return fail("reading node meminfo: " + before.error().describe());
  r.meminfo_before = *before;
  // QEMU's own view of the same moment: node MemUsed is host-wide and moves with everything else
  // on the machine, the guest RAM mapping's resident pages move only with the guest.
  auto maps_before = read_numa_maps(ctx.sysfs_root, qemu.pid());
  AgentGo go;
  go.size_bytes = cell.size_bytes;
  go.threads = std::max(1, cell.threads);
  go.node = hello->nodes.empty() ? std::nullopt : std::optional<int>(hello->nodes.front());
  // The spec's populate settings reach the guest's toucher as they reach the host's.
  if (ctx.populate.method) go.method = populate_method_name(*ctx.populate.method);
  go.thp = thp_mode_name(ctx.populate.thp);
  if (auto s = check_go(go); !s) {
    fail(s.error().message + " (the guest agent's memory is anonymous)");
    r.status = RunStatus::kUnsupported;
    return;
  }
  bool agent_runs_it = std::find(hello->workloads.begin(), hello->workloads.end(), ctx.workload) !=
                       hello->workloads.end();
  if (ctx.workload != "none" && !agent_runs_it) {
    r.extra["workload"] = {{"kind", ctx.workload},
                           {"error", "the guest agent runs no " + ctx.workload +
                                         " workload (an agent older than this memplace?)"}};
  } else if (ctx.workload != "none") {
    go.workload = ctx.workload;
    go.workload_repetitions = o.workload_repetitions;
    go.workload_min_time_seconds = o.workload_min_time_seconds;
    if (auto s = check_go(go); !s) return fail(s.error().message);
  }
  Sampler sampler(ctx.sysfs_root, std::chrono::milliseconds(ctx.sample_interval_ms));
  sampler.start();
  window.add_process(qemu.pid());
  auto t_go = Clock::now();
  if (auto s = qemu.send(encode_host_message(go)); !s) {
    sampler.stop();
    return fail("sending go: " + s.error().describe());
  }
  int progress_lines = 0;
  Result<GuestMessage> done_msg = make_error("no done");
  while (true) {
    done_msg = next_message(t_go + std::chrono::seconds(o.agent_timeout_seconds), "touch",
                            o.agent_timeout_seconds);
    if (done_msg && std::holds_alternative<AgentProgress>(*done_msg)) {
      ++progress_lines;
      continue;
    }
    break;
  }
  auto samples = sampler.stop();
  r.samples_file = "samples/" + r.run_id + ".csv";
  if (auto s = write_samples_csv(ctx.out_dir + "/" + r.samples_file, samples); !s) {
    r.samples_file.clear();
  }
  if (!done_msg) return fail(done_msg.error().message);
  auto* done = std::get_if<AgentDone>(&*done_msg);
  if (!done) return fail("touch: unexpected message from the guest agent instead of done");

  // "after" and placement while the agent still holds the memory; the window closes before
  // the guest can free anything.
  auto after = read_meminfo_snapshot(ctx.sysfs_root);
  auto maps = read_numa_maps(ctx.sysfs_root, qemu.pid());
  r.placement_sources = window.close();
  r.extra["host_touch_seconds"] = seconds_since(t_go);
  if (go.workload) {
    auto report = next_message(Clock::now() + std::chrono::seconds(o.agent_timeout_seconds),
                               "workload", o.agent_timeout_seconds);
    r.extra["workload"] = workload_into_results(report, r.run_id, *go.workload, ctx.out_dir);
  }
  // A guest that cannot take the poweroff is killed by stop() all the same.
  (void)qemu.send(encode_host_message(AgentPoweroff{}));
  qemu.stop(std::chrono::seconds(o.poweroff_timeout_seconds));
  r.extra["qemu_exit_status"] = qemu.exit_status();

  r.populate_seconds = done->seconds;
  r.populate_method = done->method;
  r.extra["agent"] = {{"seconds", done->seconds},
                      {"method", done->method},
                      {"bytes", done->bytes},
                      {"per_thread_seconds", done->per_thread_seconds},
                      {"progress_messages", progress_lines}};
  r.extra["per_thread_seconds"] = done->per_thread_seconds;
  if (!agent_log.empty()) r.extra["agent_log"] = agent_log;
  // The agent, as PID 1, says what its "/" is: the disk image's device or the initramfs.
  for (const auto& line : agent_log) {
    if (line.is_string() && line.get<std::string>().rfind("root: ", 0) == 0)
      r.extra["guest"]["root"] = line.get<std::string>().substr(6);
  }
  if (!after) return fail("reading node meminfo after the touch: " + after.error().describe());
  r.meminfo_after = *after;
  r.delta_used_mib = delta_mib(r.meminfo_before, r.meminfo_after, "MemUsed");
  const auto used_less_pcp = delta_used_less_pcp_mib(r.meminfo_before, r.meminfo_after);
  r.extra["delta_used_less_pcp_mib"] = node_mib_json(used_less_pcp);
  if (!maps) return fail("reading QEMU's numa_maps: " + maps.error().describe());
  auto placement = guest_ram_placement(*maps, config->backend);
  r.extra["numa_maps"] = {{"how", placement.how}, {"mappings", placement.mappings}};
  auto at_go = maps_before ? guest_ram_placement(*maps_before, config->backend) : GuestRamPlacement{};
  r.extra["guest_ram_delta_mib"] = node_mib_json(guest_ram_delta_mib(at_go, placement));
  r.placement_sources["numa_maps"] = numa_maps_reading(cell, placement, at_go, maps_before.ok());
  r.placement_sources["move_pages"] =
      source_unsupported("QEMU owns the guest RAM; its numa_maps is read instead");
  r.placement_sources["meminfo"] = meminfo_reading(r.meminfo_before, r.meminfo_after);
  if (r.placement_sources["numa_maps"].ok() && placement.mappings.empty())
    return fail("no guest RAM mapping found in QEMU's numa_maps (" + placement.how + ")");
  if (!choose_placement(r, 0)) return fail("no placement source could measure this cell");
  // The mapped view's verdict judges the whole guest RAM, as before; the reading in
  // placement_sources is its change over the window, comparable with the other sources.
  if (r.placement_source == "numa_maps") r.placement_pages = placement.pages;
  r.verdict =
      judge(cell, r.placement_pages, verdict_inputs(cell, *host_nodes, r.meminfo_before, ctx));
  r.status = RunStatus::kOk;
}

}  // namespace

QemuToucherOptions qemu_cell_options(const RunContext& ctx) {
  QemuToucherOptions o = qemu_toucher_options(ctx.qemu);
  // The table's agent_timeout_s (or MEMPLACE_QEMU_AGENT_TIMEOUT, its fallback) is specific to
  // this toucher, so it wins over the limit every toucher shares.
  if (ctx.toucher_timeout_s && !ctx.qemu.agent_timeout_s)
    o.agent_timeout_seconds = *ctx.toucher_timeout_s;
  return o;
}

RunRecord run_qemu_cell(const Cell& cell, const RunContext& ctx, const std::string& run_id) {
  return run_qemu_cell(cell, ctx, run_id, qemu_cell_options(ctx));
}

RunRecord run_qemu_cell(const Cell& cell, const RunContext& ctx, const std::string& run_id,
                        const QemuToucherOptions& options) {
  RunRecord r = record_for_cell(cell, run_id, ctx.environment);
  r.started_at = utc_now();
  auto t0 = Clock::now();
  // Short: the agent socket's path must fit sun_path.
  char tmpl[] = "/tmp/memplace-qemu-XXXXXX";
  // Covers the image build too (a Ctrl-C during a kernel download must not start a guest), and
  // outlives the run dir, so a re-raised default signal leaves nothing behind.
  ChainedStopSignals signals;
  RunDir work;
  if (mkdtemp(tmpl) == nullptr) {
    r.message = errno_error("mkdtemp /tmp/memplace-qemu-*").describe();
  } else {
    work.path = tmpl;
    run_into(r, cell, ctx, options, work.path);
  }
  if (r.status == RunStatus::kFailed && !work.path.empty() && !r.extra.contains("serial_log")) {
    keep_logs(r, ctx, work.path);
  }
  r.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

namespace {

class QemuCellRunner : public CellRunner {
 public:
  RunRecord run(const Cell& cell, const RunContext& ctx, const std::string& run_id) override {
    return run_qemu_cell(cell, ctx, run_id);
  }
};

}  // namespace

std::shared_ptr<CellRunner> make_qemu_cell_runner() { return std::make_shared<QemuCellRunner>(); }

}  // namespace memplace
