// SPDX-License-Identifier: GPL-2.0-only
#include "probe/host_features.h"

#include "base/text.h"
#include "host/kvm_uapi.h"

namespace memplace {
namespace {

FeatureAnswer answer(HostFeature f, bool available, std::string reason) {
  return FeatureAnswer{f, available, std::move(reason)};
}

FeatureAnswer kvm_answer(const ProbeReport& p) {
  if (!p.kvm_vm_created)
    return answer(HostFeature::kKvm, false, p.kvm_error.empty() ? "no KVM VM" : p.kvm_error);
  return answer(
      HostFeature::kKvm, true,
      "/dev/kvm opens and a VM is created (API " + std::to_string(p.kvm_api_version) + ")");
}

FeatureAnswer guest_memfd_answer(const ProbeReport& p) {
  if (!p.kvm_vm_created) return answer(HostFeature::kGuestMemfd, false, kvm_answer(p).reason);
  if (!p.guest_memfd)
    return answer(HostFeature::kGuestMemfd, false,
                  "KVM_CAP_GUEST_MEMFD is not offered by this kernel");
  return answer(HostFeature::kGuestMemfd, true, "KVM_CAP_GUEST_MEMFD is offered");
}

FeatureAnswer guest_memfd_mmap_answer(const ProbeReport& p) {
  auto gmem = guest_memfd_answer(p);
  if (!gmem.available) return answer(HostFeature::kGuestMemfdMmap, false, gmem.reason);
  const std::string flags = "KVM_CAP_GUEST_MEMFD_FLAGS " + hex_string(p.guest_memfd_flags);
  if (!p.guest_memfd_mmap || !p.guest_memfd_init_shared)
    return answer(HostFeature::kGuestMemfdMmap, false,
                  "guest_memfd lacks MMAP|INIT_SHARED (" + flags + ")");
  return answer(HostFeature::kGuestMemfdMmap, true,
                "guest_memfd has MMAP|INIT_SHARED (" + flags + ")");
}

FeatureAnswer sw_protected_answer(const ProbeReport& p) {
  const HostFeature f = HostFeature::kSwProtectedVm;
  if (!p.kvm_vm_created) return answer(f, false, kvm_answer(p).reason);
  if (!p.sw_protected_vm)
    return answer(f, false,
                  "KVM_X86_SW_PROTECTED_VM is not offered (KVM_CAP_VM_TYPES " +
                      hex_string(p.kvm_vm_types) + ")");
  if (!(p.sw_protected_attributes & kvm::kMemoryAttributePrivate))
    return answer(f, false,
                  "a SW_PROTECTED VM cannot mark memory private (attributes " +
                      hex_string(p.sw_protected_attributes) + ")");
  return answer(f, true, "KVM_X86_SW_PROTECTED_VM with private memory attributes");
}

FeatureAnswer thp_answer(const ProbeReport& p) {
  if (p.thp_enabled.empty())
    return answer(HostFeature::kThp, false, "this kernel has no transparent huge pages");
  if (p.thp_enabled == "never")
    return answer(HostFeature::kThp, false, "transparent_hugepage/enabled is never");
  return answer(HostFeature::kThp, true, "transparent_hugepage/enabled is " + p.thp_enabled);
}

FeatureAnswer two_nodes_answer(const ProbeReport& p) {
  size_t with_memory = 0;
  for (const auto& n : p.topology.nodes) with_memory += n.memory_bytes > 0;
  return answer(HostFeature::kTwoNodes, with_memory >= 2,
                std::to_string(with_memory) + " NUMA node(s) with memory");
}

}  // namespace

std::string host_feature_name(HostFeature f) {
  return name_of(kHostFeatureNames, f);
}

Result<HostFeature> parse_host_feature(std::string_view name) {
  return parse_named(kHostFeatureNames, name, "host feature");
}

std::vector<HostFeature> all_host_features() {
  return all_values(kHostFeatureNames);
}

// The placement sources' answers are the probe's own "usable (...)" / "unsupported: why".
FeatureAnswer feature_answer(const ProbeReport& p, HostFeature f) {
  const PlacementSourcesProbe& s = p.placement_sources;
  switch (f) {
    case HostFeature::kKvm:
      return kvm_answer(p);
    case HostFeature::kGuestMemfd:
      return guest_memfd_answer(p);
    case HostFeature::kGuestMemfdMmap:
      return guest_memfd_mmap_answer(p);
    case HostFeature::kSwProtectedVm:
      return sw_protected_answer(p);
    case HostFeature::kTracefs:
      return answer(f, s.trace_usable, s.trace);
    case HostFeature::kBpf:
      return answer(f, s.trace_bpf_usable, s.trace_bpf);
    case HostFeature::kMemcg:
      return answer(f, s.memcg_usable, s.memcg);
    case HostFeature::kThp:
      return thp_answer(p);
    case HostFeature::kTwoNodes:
      return two_nodes_answer(p);
  }
  return answer(f, false, "unknown feature");
}

FeatureAnswer probe_feature(HostFeature f, const std::string& root) {
  ProbeReport p;
  switch (f) {
    case HostFeature::kKvm:
    case HostFeature::kGuestMemfd:
    case HostFeature::kGuestMemfdMmap:
    case HostFeature::kSwProtectedVm:
      probe_kvm(root, p);
      break;
    case HostFeature::kTracefs:
      probe_trace_source(root, TraceTransport::kTracefs, p.placement_sources);
      break;
    case HostFeature::kBpf:
      probe_trace_source(root, TraceTransport::kBpf, p.placement_sources);
      break;
    case HostFeature::kMemcg:
      probe_memcg_source(root, p.placement_sources);
      break;
    case HostFeature::kThp:
      probe_thp(root, p);
      break;
    case HostFeature::kTwoNodes:
      probe_topology(p);
      break;
  }
  return feature_answer(p, f);
}

nlohmann::json to_json(const FeatureAnswer& a) {
  return {{"available", a.available}, {"reason", a.reason}};
}

}  // namespace memplace
