// SPDX-License-Identifier: GPL-2.0-only
#include "qemu/qemu_command.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <sstream>

#include "base/nodelist.h"
#include "base/unique_fd.h"
#include "host/kvm_uapi.h"
#include "host/sysfs.h"

namespace memplace {

std::vector<QemuNumaNode> testbed_numa_nodes(const TestbedSpec& tb) {
  std::vector<QemuNumaNode> nodes;
  int next_cpu = 0;
  for (int id = 0; id < tb.nodes; ++id) {
    QemuNumaNode n;
    n.id = id;
    n.mem_bytes = tb.mem_per_node_bytes;
    bool memory_only = false;
    for (int m : tb.memory_only_nodes) memory_only |= (m == id);
    if (!memory_only) {
      for (int c = 0; c < tb.cpus_per_node; ++c) n.cpus.push_back(next_cpu++);
    }
    nodes.push_back(n);
  }
  return nodes;
}

int total_cpus(const std::vector<QemuNumaNode>& nodes) {
  int n = 0;
  for (const auto& node : nodes) n += static_cast<int>(node.cpus.size());
  return n;
}

uint64_t total_memory(const std::vector<QemuNumaNode>& nodes) {
  uint64_t b = 0;
  for (const auto& node : nodes) b += node.mem_bytes;
  return b;
}

std::string format_cpu_list(const std::vector<int>& cpus) {
  return format_id_list(cpus);
}

std::string qemu_opt_value(std::string_view value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

namespace {

// QEMU takes sizes in bytes with an optional suffix; whole MiB keeps the line readable.
std::string qemu_size(uint64_t bytes) {
  if (bytes % (1ull << 20) == 0) return std::to_string(bytes >> 20) + "M";
  return std::to_string(bytes);
}

}  // namespace

std::vector<std::string> qemu_numa_args(const std::vector<QemuNumaNode>& nodes,
                                        const std::vector<std::vector<int>>& distances) {
  std::vector<std::string> a;
  for (const auto& n : nodes) {
    std::string mem = "m" + std::to_string(n.id);
    a.insert(a.end(),
             {"-object", "memory-backend-ram,id=" + mem + ",size=" + qemu_size(n.mem_bytes)});
    std::string node = "node,nodeid=" + std::to_string(n.id) + ",memdev=" + mem;
    // A range in cpus= must be one option each for disjoint ranges: cpus=0-1,cpus=4.
    std::string list = format_cpu_list(n.cpus);
    std::istringstream ranges(list);
    std::string range;
    while (std::getline(ranges, range, ',')) node += ",cpus=" + range;
    a.insert(a.end(), {"-numa", node});
  }
  for (size_t i = 0; i < distances.size() && i < nodes.size(); ++i) {
    for (size_t j = 0; j < distances[i].size() && j < nodes.size(); ++j) {
      if (i == j) continue;
      a.insert(a.end(), {"-numa", "dist,src=" + std::to_string(nodes[i].id) +
                                      ",dst=" + std::to_string(nodes[j].id) +
                                      ",val=" + std::to_string(distances[i][j])});
    }
  }
  return a;
}

std::vector<std::string> qemu_virtio_serial_args(const std::string& socket_path,
                                                 const std::string& port_name) {
  // QEMU connects to a socket the host already listens on, so nothing the guest writes
  // before the host is ready can be lost.
  return {"-device",  "virtio-serial-pci,id=vser0",
          "-chardev", "socket,id=records,path=" + qemu_opt_value(socket_path),
          "-device",  "virtserialport,bus=vser0.0,chardev=records,name=" + port_name};
}

std::vector<std::string> qemu_testbed_command(const QemuTestbedConfig& c) {
  std::vector<std::string> a = {c.qemu_binary, "-nodefaults", "-no-user-config", "-machine", "q35"};
  if (c.accel == "kvm") {
    a.insert(a.end(), {"-accel", "kvm", "-cpu", "host"});
  } else {
    // -cpu max exposes SVM under TCG, so kvm_amd loads in the guest and guest_memfd works.
    // One TCG thread for all vCPUs: with a thread per vCPU (QEMU 7.2), a vCPU can run a stale
    // translation of kernel text another vCPU is live-patching with int3 (jump labels, static
    // calls), and the guest dies with "Oops: int3" in __schedule or sched_clock_cpu: 3 of 13
    // boots of one testbed test here.
    a.insert(a.end(), {"-accel", "tcg,thread=single", "-cpu", "max"});
  }
  a.insert(a.end(),
           {"-smp", std::to_string(total_cpus(c.nodes)), "-m", qemu_size(total_memory(c.nodes))});
  auto numa = qemu_numa_args(c.nodes, c.distances);
  a.insert(a.end(), numa.begin(), numa.end());
  std::string append = "console=ttyS0 panic=1 loglevel=4";
  // Under TCG on a loaded host the guest's boot-time check that the timer interrupt arrives
  // through the IO-APIC can miss its few-millisecond window and panic ("IO-APIC + timer doesn't
  // work!"): 1 of 4 boots of a HZ=1000 self-built 7.2 at load 16 on 2 cores. KVM guests skip the
  // check on their own.
  if (c.accel != "kvm") append += " no_timer_check";
  if (!c.extra_append.empty()) append += " " + c.extra_append;
  a.insert(a.end(), {"-kernel", c.kernel, "-initrd", c.initrd, "-append", append});
  a.insert(a.end(), {"-display", "none", "-serial", "file:" + c.console_log, "-no-reboot"});
  auto serial = qemu_virtio_serial_args(c.socket_path, c.port_name);
  a.insert(a.end(), serial.begin(), serial.end());
  return a;
}

std::string choose_accel(std::string_view requested, bool cpu_virt, bool kvm_usable) {
  if (requested == "kvm" || requested == "tcg") return std::string(requested);
  return cpu_virt && kvm_usable ? "kvm" : "tcg";
}

std::string detect_accel(const std::string& requested) {
  if (requested == "kvm" || requested == "tcg") return requested;
  auto svm = cpuinfo_has_flag("", "svm");
  auto vmx = cpuinfo_has_flag("", "vmx");
  bool virt = (svm && *svm) || (vmx && *vmx);
  bool kvm_usable = false;
  if (virt) {
    UniqueFd fd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
    kvm_usable = fd.valid() && ioctl(fd.get(), KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
  }
  return choose_accel(requested, virt, kvm_usable);
}

}  // namespace memplace
