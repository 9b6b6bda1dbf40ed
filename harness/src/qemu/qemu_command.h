// SPDX-License-Identifier: GPL-2.0-only
// QEMU command lines as pure functions of plain configs, so they are golden-file tested and can
// be printed by --dry-run. The NUMA and virtio-serial pieces are shared with the qemu toucher.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "spec/spec.h"

namespace memplace {

struct QemuNumaNode {
  int id = 0;
  uint64_t mem_bytes = 0;
  std::vector<int> cpus;  // empty = memory-only node
};

// Guest nodes from a [testbed] table: consecutive CPU ids, none on memory-only nodes.
std::vector<QemuNumaNode> testbed_numa_nodes(const TestbedSpec& tb);
int total_cpus(const std::vector<QemuNumaNode>& nodes);
uint64_t total_memory(const std::vector<QemuNumaNode>& nodes);

// "0-3,5": QEMU's and the kernel's list syntax.
std::string format_cpu_list(const std::vector<int>& cpus);

// A value inside a QEMU option list ("file=VALUE,if=virtio"): QEMU splits such lists at commas
// and reads ",," as one literal comma, so "/tmp/x,y.img" must go in as "/tmp/x,,y.img".
std::string qemu_opt_value(std::string_view value);

// -object memory-backend-ram + -numa node per node, then -numa dist for every off-diagonal
// entry of `distances` (rows indexed like `nodes`).
std::vector<std::string> qemu_numa_args(const std::vector<QemuNumaNode>& nodes,
                                        const std::vector<std::vector<int>>& distances);

// A virtio-serial port named `port_name`, connected to a unix socket that the host listens on.
std::vector<std::string> qemu_virtio_serial_args(const std::string& socket_path,
                                                 const std::string& port_name);

struct QemuTestbedConfig {
  std::string qemu_binary = "qemu-system-x86_64";
  std::string accel = "tcg";  // "tcg" | "kvm"
  std::vector<QemuNumaNode> nodes;
  std::vector<std::vector<int>> distances;
  std::string kernel;
  std::string initrd;
  std::string extra_append;  // appended to the kernel command line
  std::string console_log;   // the guest's ttyS0 goes here
  std::string socket_path;   // record channel
  std::string port_name = "memplace.0";
};

std::vector<std::string> qemu_testbed_command(const QemuTestbedConfig& config);

// "auto" means KVM only where the host can run ordinary guests: vmx/svm in cpuinfo and a
// /dev/kvm that answers. A PVM-backed /dev/kvm answers without vmx/svm: it cannot boot Linux.
std::string choose_accel(std::string_view requested, bool cpu_virt, bool kvm_usable);

// The accelerator "auto" resolves to on this host (cpuinfo flags, /dev/kvm).
std::string detect_accel(const std::string& requested);

}  // namespace memplace
