// What this host can do, asked of the kernel directly rather than guessed from versions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "memplace/topology.h"

namespace memplace {

struct ProbeReport {
  std::string kernel_release;
  Topology topology;
  bool kvm_present = false;
  bool kvm_vm_created = false;
  std::string kvm_error;
  int kvm_api_version = 0;
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
  bool cpu_virt = false;       // vmx/svm in cpuinfo
  std::string qemu_binary;
  std::string qemu_version;
};

ProbeReport run_probe(const std::string& sysfs_root = "");
nlohmann::json to_json(const ProbeReport& p);
std::string format_probe_text(const ProbeReport& p);

}  // namespace memplace
