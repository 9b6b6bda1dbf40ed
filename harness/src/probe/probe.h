// SPDX-License-Identifier: GPL-2.0-only
// What this host can do, asked of the kernel directly rather than guessed from versions.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/policy.h"
#include "host/preflight.h"
#include "host/topology.h"
#include "placement/placement_probe.h"

namespace memplace {

struct ProbeReport {
  std::string kernel_release;
  Topology topology;
  bool kvm_present = false;
  bool kvm_vm_created = false;
  std::string kvm_error;
  int kvm_api_version = 0;
  // KVM_CAP_VM_TYPES (1 << type) and whether KVM_X86_SW_PROTECTED_VM is among them, with what
  // such a VM's guest_memfd offers (KVM_CAP_GUEST_MEMFD_FLAGS, KVM_CAP_MEMORY_ATTRIBUTES).
  uint64_t kvm_vm_types = 0;
  bool sw_protected_vm = false;
  uint64_t sw_protected_gmem_flags = 0;
  uint64_t sw_protected_attributes = 0;
  // Whether the trace and memory-cgroup placement sources can run here.
  PlacementSourcesProbe placement_sources;
  bool guest_memfd = false;        // KVM_CAP_GUEST_MEMFD
  uint64_t guest_memfd_flags = 0;  // KVM_CAP_GUEST_MEMFD_FLAGS bitmask
  bool guest_memfd_mmap = false;
  bool guest_memfd_init_shared = false;
  // Shared NUMA policy on guest_memfd: mbind through one mapping, read back through another.
  std::string gmem_policy_state;  // "honored" | "not_honored" | "unknown"
  std::string gmem_policy_detail;
  std::map<std::string, bool> policies_supported;  // policy name -> accepted by the kernel
  bool weighted_interleave = false;
  bool sev_snp_param = false;  // kvm_amd sev_snp=Y
  bool dev_sev = false;
  bool cpu_virt = false;  // vmx/svm in cpuinfo
  // Transparent huge page modes ("always", "madvise", "never", ...); "" where the kernel has none.
  std::string thp_enabled;
  std::string thp_shmem_enabled;
  std::string qemu_binary;
  std::string qemu_version;
  // Node meminfo against /proc/meminfo (preflight.h); absent where either cannot be read.
  std::optional<MemoryFigures> memory;
};

// The shared-policy check on its own, so tests can compare its verdict with the kernel's answer:
// a few pages of guest_memfd mapped twice, `mode` over `nodes` mbound through the first view,
// the policy read back through the second.
struct GmemPolicyCheck {
  std::string state;  // "honored" | "not_honored" | "unknown"
  std::string detail;
  PolicyMode mode = PolicyMode::kBind;
  std::vector<int> nodes;
  std::optional<PolicyReadback> first_view;   // the VMA that was mbound
  std::optional<PolicyReadback> second_view;  // the other VMA: the shared (file) policy
};
GmemPolicyCheck check_gmem_shared_policy(PolicyMode mode, const std::vector<int>& nodes);

// `sysfs_root` also roots the device nodes (dev/kvm, dev/sev), so a fixture tree without them
// probes a host without KVM. Never fails: what cannot be asked is reported as absent.
ProbeReport run_probe(const std::string& sysfs_root = "");
// The parts run_probe() is made of, for a caller that needs one answer (host_features.h).
void probe_kvm(const std::string& root, ProbeReport& r);
void probe_thp(const std::string& root, ProbeReport& r);
void probe_topology(ProbeReport& r);
nlohmann::json to_json(const ProbeReport& p);
std::string format_probe_text(const ProbeReport& p);

// "QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u16)" -> "7.2.19"; "" if none.
std::string parse_qemu_version(std::string_view first_line);

}  // namespace memplace
