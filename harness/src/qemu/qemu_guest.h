// SPDX-License-Identifier: GPL-2.0-only
// The qemu toucher's QEMU command line as a pure function of a plain config, plus the probe of
// a QEMU binary's version and options that decides its spellings. The NUMA-free pieces shared
// with the testbed (virtio-serial, cpu lists) come from qemu_command.h.
//
// The cover letter's SNP guest, which qemu_guest_command reproduces:
//   qemu-system-x86_64 -enable-kvm ... -machine memory-encryption=sev0,vmport=off
//     -object sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1
//     -numa node,nodeid=0,memdev=ram0,cpus=0-15
//     -object memory-backend-memfd,id=ram0,host-nodes=0-1,policy=interleave,size=1024M,
//             share=true,prealloc=false
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "spec/cell.h"

namespace memplace {

struct QemuVersion {
  int major = 0, minor = 0, micro = 0;
  bool known() const { return major > 0; }
  bool at_least(int ma, int mi) const { return major > ma || (major == ma && minor >= mi); }
  std::string text() const;  // "7.2.22", or "unknown"
};

// "7.2.22" (what probe.h's parse_qemu_version takes out of `--version`) -> {7, 2, 22}.
Result<QemuVersion> parse_qemu_version_numbers(std::string_view version);

// Property names from `-object TYPE,help`: lines like "  share=<bool>  - Mark the memory ...".
std::set<std::string> parse_qemu_property_help(std::string_view help_output);

// What a QEMU binary can do, asked of the binary itself.
struct QemuCapabilities {
  std::string binary;
  QemuVersion version;
  std::string version_line;                // first line of --version, for the record
  std::set<std::string> memfd_properties;  // memory-backend-memfd's
  bool has_sev_snp_guest = false;          // the sev-snp-guest object type exists
  std::vector<std::string> accelerators;   // -accel help: "kvm", "tcg", ...
  std::set<std::string> memory_backends;   // QMP: every type implementing memory-backend
  // A backend that keeps guest memory in a guest_memfd QEMU itself binds (host-nodes/policy):
  // "memory-backend-guest-memfd", or "memory-backend-memfd,guest-memfd=on"; "" = none (stock
  // QEMU: an SNP guest's private guest_memfd is made inside QEMU, never mapped or bound).
  std::string guest_memfd_backend;
  bool guest_memfd_backend_host_nodes = false;  // that backend takes host-nodes
  std::string qmp_error;                        // why QMP could not be asked; "" = it answered
};
Result<QemuCapabilities> probe_qemu(const std::string& binary);
// Pure pieces of the probe: `-accel help`'s list, and the guest_memfd backend QMP found.
std::vector<std::string> parse_qemu_accel_help(std::string_view out);
struct QmpMemoryBackends;
void fill_guest_memfd_backend(const QmpMemoryBackends& qmp, QemuCapabilities& caps);

// The property a plain (non-confidential) VM uses to back RAM with guest_memfd. QEMU's docs
// introduce it as experimental "x-guest-memfd"; a later release may drop the "x-".
std::string guest_memfd_property(const QemuCapabilities& caps);

struct SevSnpConfig {
  int cbitpos = 51;
  int reduced_phys_bits = 1;
  bool kernel_hashes = false;
  std::string ovmf = "/usr/share/ovmf/OVMF.fd";
};

// One guest NUMA node and the host memory backend that holds it.
struct QemuGuestNode {
  int id = 0;
  uint64_t mem_bytes = 0;
  std::vector<int> cpus;                // guest CPU ids; empty = memory-only node
  std::string host_policy = "default";  // QEMU's spelling: default|preferred|bind|interleave
  std::vector<int> host_nodes;          // host-nodes=; ignored for "default"
};

struct QemuGuestConfig {
  std::string qemu_binary = "qemu-system-x86_64";
  QemuVersion version;            // decides spellings; unknown = current QEMU
  std::string accel = "tcg";      // "tcg" | "kvm"
  std::string cpu;                // "" = max (tcg), host (kvm), EPYC-v4 (SNP)
  std::string backend = "memfd";  // "memfd" | "ram"
  // Plain VM with guest_memfd RAM: memory-backend-memfd,<property>=on (share=on is required).
  bool guest_memfd = false;
  std::string guest_memfd_property = "x-guest-memfd";
  bool share = true;
  bool prealloc = false;
  std::vector<QemuGuestNode> nodes;
  std::optional<SevSnpConfig> snp;
  std::string kernel;
  std::string initrd;  // with a disk image it only loads virtio_blk and switch_roots; "" = none
  // A user image with the agent installed, attached read-write as a snapshot (the file itself
  // is never written): root=/dev/vda init=<disk_init> on the kernel command line, where an
  // initramfs (switch_root_run_line) or a kernel with built-in virtio_blk follows them.
  std::string disk_image;
  std::string disk_init;
  std::string append;       // added to the kernel command line
  std::string serial_log;   // ttyS0 (the console) goes here
  std::string socket_path;  // the agent channel's unix socket, listened on by memplace
  std::string port_name = "memplace.agent";
  // virtio-balloon free page reporting: pages the guest frees (its boot leftovers) go back to
  // the host, so the touch after "go" faults in fresh host memory instead of reusing them.
  bool free_page_reporting = false;
};

std::vector<std::string> qemu_guest_command(const QemuGuestConfig& config);

// The command as a shell line, one option per line ("\\\n  "), as --dry-run prints it.
std::string format_command_multiline(const std::vector<std::string>& argv);

// QEMU's name for a memplace policy; an error for modes QEMU's backends cannot express.
Result<std::string> qemu_policy_name(PolicyMode mode);

}  // namespace memplace
