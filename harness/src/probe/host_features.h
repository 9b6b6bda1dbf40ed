// SPDX-License-Identifier: GPL-2.0-only
// The host features a run or a test can need, each answered by the same probe `memplace probe`
// runs, with the reason in words. Tests require a feature by its enum value (an unknown name does
// not compile) and skip, or check the product's "unsupported" answer, with this reason.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/enum_names.h"
#include "probe/probe.h"

namespace memplace {

enum class HostFeature {
  kKvm,             // /dev/kvm opens and a VM can be created
  kGuestMemfd,      // KVM_CAP_GUEST_MEMFD on a default VM
  kGuestMemfdMmap,  // guest_memfd with MMAP and INIT_SHARED: host-mappable, so placeable
  kSwProtectedVm,   // KVM_X86_SW_PROTECTED_VM with private guest_memfd memory
  kTracefs,         // the trace source through a tracefs instance
  kBpf,             // the trace source through BPF programs on the raw tracepoints
  kMemcg,           // the memory-cgroup source: a child cgroup of memplace's own
  kThp,             // transparent huge pages for anonymous memory (enabled is not "never")
  kTwoNodes,        // at least two NUMA nodes with memory
};

inline constexpr EnumNames<HostFeature, 9> kHostFeatureNames{
    {"kvm", "guest_memfd", "guest_memfd_mmap", "sw_protected_vm", "tracefs", "bpf", "memcg", "thp",
     "two_nodes"}};

std::string host_feature_name(HostFeature f);
Result<HostFeature> parse_host_feature(std::string_view name);
std::vector<HostFeature> all_host_features();

struct FeatureAnswer {
  HostFeature feature = HostFeature::kKvm;
  bool available = false;
  std::string reason;  // why it is or is not available, as the probe saw it
};

// The one decision, made from a probe report (`memplace probe` lists it under "features").
FeatureAnswer feature_answer(const ProbeReport& p, HostFeature f);
// Probes only the parts `f` needs, then decides with feature_answer(): cheap enough for a test to
// ask before it runs. `root` as in run_probe().
FeatureAnswer probe_feature(HostFeature f, const std::string& root = "");

nlohmann::json to_json(const FeatureAnswer& a);

}  // namespace memplace
