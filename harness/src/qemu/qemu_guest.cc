// SPDX-License-Identifier: GPL-2.0-only
// The qemu toucher's QEMU command line (pure) and the probe of a QEMU binary.
#include "qemu/qemu_guest.h"

#include <cstdio>
#include <sstream>

#include "base/nodelist.h"
#include "base/subprocess.h"
#include "probe/probe.h"
#include "qemu/qemu_command.h"
#include "qemu/qemu_qmp.h"

namespace memplace {

std::string QemuVersion::text() const {
  if (!known()) return "unknown";
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(micro);
}

Result<QemuVersion> parse_qemu_version_numbers(std::string_view version) {
  QemuVersion v;
  std::string text(version.substr(0, 32));
  if (std::sscanf(text.c_str(), "%d.%d.%d", &v.major, &v.minor, &v.micro) < 2 || v.major <= 0) {
    return make_error("unreadable QEMU version \"" + text + "\"");
  }
  return v;
}

std::set<std::string> parse_qemu_property_help(std::string_view out) {
  std::set<std::string> props;
  std::istringstream in{std::string(out)};
  std::string line;
  while (std::getline(in, line)) {
    // "  share=<bool>           - Mark the memory as private to QEMU or shared"
    size_t start = line.find_first_not_of(' ');
    if (start == std::string::npos || start == 0) continue;
    size_t eq = line.find('=', start);
    if (eq == std::string::npos) continue;
    std::string name = line.substr(start, eq - start);
    if (name.find(' ') != std::string::npos) continue;
    props.insert(name);
  }
  return props;
}

std::vector<std::string> parse_qemu_accel_help(std::string_view out) {
  // "Accelerators supported in QEMU binary:\ntcg\nkvm\n"
  std::vector<std::string> accels;
  std::istringstream in{std::string(out)};
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line.find(' ') == std::string::npos && line.back() != ':')
      accels.push_back(line);
  return accels;
}

void fill_guest_memfd_backend(const QmpMemoryBackends& qmp, QemuCapabilities& caps) {
  caps.memory_backends = qmp.types;
  auto props = [&](const std::string& type) {
    auto it = qmp.properties.find(type);
    return it == qmp.properties.end() ? std::set<std::string>{} : it->second;
  };
  if (qmp.types.count("memory-backend-guest-memfd")) {
    caps.guest_memfd_backend = "memory-backend-guest-memfd";
    caps.guest_memfd_backend_host_nodes = props(caps.guest_memfd_backend).count("host-nodes") > 0;
  } else if (props("memory-backend-memfd").count("guest-memfd")) {
    caps.guest_memfd_backend = "memory-backend-memfd,guest-memfd=on";
    caps.guest_memfd_backend_host_nodes = props("memory-backend-memfd").count("host-nodes") > 0;
  }
}

namespace {

void add_qmp_answers(const std::string& binary, QemuCapabilities& caps) {
  auto qmp = ask_qmp_memory_backends(binary);
  if (!qmp) {
    caps.qmp_error = qmp.error().describe();
    return;
  }
  fill_guest_memfd_backend(*qmp, caps);
}

}  // namespace

Result<QemuCapabilities> probe_qemu(const std::string& binary) {
  QemuCapabilities caps;
  caps.binary = binary;
  auto version = run_command({binary, "--version"});
  if (!version) return version.error();
  if (version->exit_code != 0) {
    return make_error(binary + " --version exited with " + std::to_string(version->exit_code));
  }
  caps.version_line = version->out.substr(0, version->out.find('\n'));
  auto v = parse_qemu_version_numbers(parse_qemu_version(caps.version_line));
  if (!v) return v.error();
  caps.version = *v;
  // Options are asked of the binary itself: a patched QEMU may have what its version lacks.
  auto memfd = run_command({binary, "-object", "memory-backend-memfd,help"});
  if (memfd && memfd->exit_code == 0) caps.memfd_properties = parse_qemu_property_help(memfd->out);
  add_qmp_answers(binary, caps);
  auto accels = run_command({binary, "-accel", "help"});
  if (accels && accels->exit_code == 0) caps.accelerators = parse_qemu_accel_help(accels->out);
  auto types = run_command({binary, "-object", "help"});
  if (types && types->exit_code == 0) {
    std::istringstream in(types->out);
    std::string line;
    while (std::getline(in, line)) {
      size_t s = line.find_first_not_of(' ');
      if (s != std::string::npos && line.substr(s) == "sev-snp-guest")
        caps.has_sev_snp_guest = true;
    }
  }
  return caps;
}

std::string guest_memfd_property(const QemuCapabilities& caps) {
  if (caps.memfd_properties.count("guest-memfd")) return "guest-memfd";
  if (caps.memfd_properties.count("x-guest-memfd")) return "x-guest-memfd";
  return "";
}

Result<std::string> qemu_policy_name(PolicyMode mode) {
  switch (mode) {
    case PolicyMode::kDefault:
      return std::string("default");
    case PolicyMode::kBind:
      return std::string("bind");
    case PolicyMode::kInterleave:
      return std::string("interleave");
    case PolicyMode::kPreferred:
      return std::string("preferred");
    default:
      return make_error("QEMU memory backends have no policy '" + policy_name(mode) +
                        "' (they take default, preferred, bind, interleave)");
  }
}

namespace {

std::string size_arg(uint64_t bytes) {
  if (bytes % (1ull << 20) == 0) return std::to_string(bytes >> 20) + "M";
  return std::to_string(bytes);
}

std::string on_off(bool b) {
  return b ? "on" : "off";
}

std::string backend_object(const QemuGuestConfig& c, const QemuGuestNode& n) {
  std::string o = c.backend == "ram" ? "memory-backend-ram" : "memory-backend-memfd";
  o += ",id=ram" + std::to_string(n.id);
  if (n.host_policy != "default" && !n.host_nodes.empty()) {
    o += ",host-nodes=" + format_id_list(n.host_nodes) + ",policy=" + n.host_policy;
  }
  o += ",size=" + size_arg(n.mem_bytes);
  if (c.backend != "ram") o += ",share=" + on_off(c.share || c.guest_memfd);
  o += ",prealloc=" + on_off(c.prealloc);
  if (c.guest_memfd && !c.snp) o += "," + c.guest_memfd_property + "=on";
  return o;
}

}  // namespace

std::vector<std::string> qemu_guest_command(const QemuGuestConfig& c) {
  std::vector<std::string> a = {c.qemu_binary, "-nodefaults", "-no-user-config"};
  std::string machine = "q35";
  if (c.snp) {
    // QEMU 6.0 renamed memory-encryption to confidential-guest-support.
    if (c.version.known() && !c.version.at_least(6, 0)) {
      machine += ",memory-encryption=sev0";
    } else {
      machine += ",confidential-guest-support=sev0";
    }
    machine += ",vmport=off";
  }
  a.insert(a.end(), {"-machine", machine});
  std::string cpu = c.cpu;
  if (cpu.empty()) cpu = c.snp ? "EPYC-v4" : (c.accel == "kvm" ? "host" : "max");
  // Single-threaded TCG, as in the testbed (qemu_command.cc says why: int3 text patching races).
  a.insert(a.end(), {"-accel", c.accel == "tcg" ? "tcg,thread=single" : c.accel, "-cpu", cpu});

  int cpus = 0;
  uint64_t mem = 0;
  for (const auto& n : c.nodes) {
    cpus += static_cast<int>(n.cpus.size());
    mem += n.mem_bytes;
  }
  a.insert(a.end(), {"-smp", std::to_string(cpus > 0 ? cpus : 1), "-m", size_arg(mem)});
  if (c.snp) {
    std::string snp = "sev-snp-guest,id=sev0,cbitpos=" + std::to_string(c.snp->cbitpos) +
                      ",reduced-phys-bits=" + std::to_string(c.snp->reduced_phys_bits);
    if (c.snp->kernel_hashes) snp += ",kernel-hashes=on";
    a.insert(a.end(), {"-object", snp, "-bios", c.snp->ovmf});
  }
  for (const auto& n : c.nodes) {
    a.insert(a.end(), {"-object", backend_object(c, n)});
    std::string node = "node,nodeid=" + std::to_string(n.id) + ",memdev=ram" + std::to_string(n.id);
    // Disjoint CPU ranges need one cpus= each: cpus=0-1,cpus=4.
    std::istringstream ranges(format_cpu_list(n.cpus));
    std::string range;
    while (std::getline(ranges, range, ',')) node += ",cpus=" + range;
    a.insert(a.end(), {"-numa", node});
  }

  std::string append = "console=ttyS0 panic=1 loglevel=4";
  // Report every freed page, not only whole pageblocks.
  if (c.free_page_reporting) append += " page_reporting.page_reporting_order=0";
  if (!c.disk_image.empty()) {
    append += " root=/dev/vda rw";
    if (!c.disk_init.empty()) append += " init=" + c.disk_init;
  }
  if (!c.append.empty()) append += " " + c.append;
  a.insert(a.end(), {"-kernel", c.kernel});
  if (!c.initrd.empty()) a.insert(a.end(), {"-initrd", c.initrd});
  if (!c.disk_image.empty()) {
    a.insert(a.end(), {"-drive", "file=" + qemu_opt_value(c.disk_image) +
                                     ",if=virtio,format=raw,snapshot=on"});
  }
  a.insert(a.end(), {"-append", append});
  a.insert(a.end(), {"-display", "none", "-serial", "file:" + c.serial_log, "-no-reboot"});
  if (c.free_page_reporting) {
    a.insert(a.end(), {"-device", "virtio-balloon-pci,free-page-reporting=on"});
  }
  auto port = qemu_virtio_serial_args(c.socket_path, c.port_name);
  a.insert(a.end(), port.begin(), port.end());
  return a;
}

std::string format_command_multiline(const std::vector<std::string>& argv) {
  std::string s;
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string word = join_command({argv[i]});
    if (i == 0) {
      s = word;
    } else if (!argv[i].empty() && argv[i][0] == '-') {
      s += " \\\n  " + word;
    } else {
      s += " " + word;
    }
  }
  return s + "\n";
}

}  // namespace memplace
