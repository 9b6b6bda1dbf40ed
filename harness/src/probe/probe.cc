// SPDX-License-Identifier: GPL-2.0-only
#include "probe/probe.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "base/nodelist.h"
#include "base/subprocess.h"
#include "base/text.h"
#include "host/backing.h"
#include "host/kvm.h"
#include "host/kvm_uapi.h"
#include "host/sysfs.h"
#include "probe/host_features.h"

namespace memplace {
namespace {

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string describe_readback(const PolicyReadback& r) {
  auto mode = policy_from_mpol(r.mpol);
  std::string s = mode ? policy_name(*mode) : "mpol " + std::to_string(r.mpol);
  if (!r.nodes.empty()) s += ":" + format_id_list(r.nodes);
  return s;
}

// Runs `binary arg` without a shell and returns the first line of its stdout.
Result<std::string> first_output_line(const std::string& binary, const std::string& arg) {
  auto r = run_command({binary, arg});
  if (!r) return r.error();
  if (r->exit_code != 0) return make_error(binary + " " + arg + " did not exit cleanly");
  return r->out.substr(0, r->out.find('\n'));
}

// Same two-view readout on shmem, whose shared policy every kernel honors: if this does not
// read back, the method (not guest_memfd) is broken and no verdict can be drawn.
std::optional<std::string> shmem_control(PolicyMode mode, const std::vector<int>& nodes,
                                         size_t size) {
  auto m = create_backing(BackingKind::kShmem, size);
  if (!m) return "shmem control: " + m.error().describe();
  auto view = m->map_again();
  if (!view) return "shmem control: " + view.error().describe();
  if (auto st = apply_policy(m->addr(), m->size(), mode, nodes); !st)
    return "shmem control: " + st.error().describe();
  auto back = read_policy_at(view->addr());
  if (!back) return "shmem control: " + back.error().describe();
  if (back->mpol != mpol_value(mode) || back->nodes != nodes)
    return "shmem control read back " + describe_readback(*back) + " instead of " +
           policy_name(mode) + ":" + format_id_list(nodes);
  return std::nullopt;
}

}  // namespace

void probe_kvm(const std::string& root, ProbeReport& r) {
  // Opened the way every backing opens it, so the reason given here is the one a run records.
  auto sys = KvmSystem::open(sys_path(root, "dev/kvm"));
  r.kvm_present = sys.ok() || sys.error().err != ENOENT;
  if (!sys) {
    r.kvm_error = sys.error().describe();
    return;
  }
  r.kvm_api_version = sys->api_version();
  r.kvm_vm_types = static_cast<uint64_t>(sys->check_extension(kvm::kCapVmTypes));
  r.sw_protected_vm = r.kvm_vm_types & (1ull << kvm::kX86SwProtectedVm);
  if (r.sw_protected_vm) {
    // The VM type is offered; what its guest_memfd can do is asked of such a VM.
    if (auto pvm = KvmVm::create(*sys, kvm::kX86SwProtectedVm)) {
      r.sw_protected_gmem_flags =
          static_cast<uint64_t>(pvm->check_extension(kvm::kCapGuestMemfdFlags));
      r.sw_protected_attributes =
          static_cast<uint64_t>(pvm->check_extension(kvm::kCapMemoryAttributes));
    }
  }
  auto vm = KvmVm::create(*sys);
  if (!vm) {
    r.kvm_error = vm.error().describe();
    r.guest_memfd = sys->check_extension(kvm::kCapGuestMemfd) > 0;
    return;
  }
  r.kvm_vm_created = true;
  // guest_memfd support depends on the VM type, so ask the VM rather than the system fd.
  r.guest_memfd = vm->check_extension(kvm::kCapGuestMemfd) > 0;
  r.guest_memfd_flags = static_cast<uint64_t>(vm->check_extension(kvm::kCapGuestMemfdFlags));
  r.guest_memfd_mmap = r.guest_memfd_flags & kvm::kGuestMemfdFlagMmap;
  r.guest_memfd_init_shared = r.guest_memfd_flags & kvm::kGuestMemfdFlagInitShared;
}

void probe_thp(const std::string& root, ProbeReport& r) {
  if (auto thp = read_thp_setting(root, "enabled")) r.thp_enabled = *thp;
  if (auto thp = read_thp_setting(root, "shmem_enabled")) r.thp_shmem_enabled = *thp;
}

void probe_topology(ProbeReport& r) {
  if (auto topo = discover_topology()) r.topology = std::move(*topo);
}

std::string parse_qemu_version(std::string_view line) {
  const std::string_view key = "version ";
  size_t at = line.find(key);
  if (at == std::string_view::npos) return "";
  std::string_view rest = line.substr(at + key.size());
  return std::string(rest.substr(0, rest.find_first_of(" \t\r\n")));
}

GmemPolicyCheck check_gmem_shared_policy(PolicyMode mode, const std::vector<int>& nodes) {
  GmemPolicyCheck c;
  c.state = "unknown";
  c.mode = mode;
  c.nodes = nodes;
  const size_t size = 4 * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const std::string set = policy_name(mode) + ":" + format_id_list(nodes);
  auto m = create_backing(BackingKind::kGuestMemfd, size);
  if (!m) {
    c.detail = "cannot create guest_memfd: " + m.error().describe();
    return c;
  }
  auto view = m->map_again();
  if (!view) {
    c.detail = "cannot map guest_memfd twice: " + view.error().describe();
    return c;
  }
  if (auto st = apply_policy(m->addr(), m->size(), mode, nodes); !st) {
    c.detail = "mbind on guest_memfd failed: " + st.error().describe();
    return c;
  }
  auto first = read_policy_at(m->addr());
  auto second = read_policy_at(view->addr());
  if (!first || !second) {
    c.detail = "get_mempolicy failed: " + (!first ? first.error() : second.error()).describe();
    return c;
  }
  c.first_view = *first;
  c.second_view = *second;
  const std::string seen = describe_readback(*second);
  if (first->mpol != mpol_value(mode) || first->nodes != nodes) {
    c.detail = "the mbound mapping itself reads back " + describe_readback(*first) + ", not " + set;
    return c;
  }
  if (auto broken = shmem_control(mode, nodes, size)) {
    c.detail = *broken;
    return c;
  }
  if (second->mpol == mpol_value(mode) && second->nodes == nodes) {
    c.state = "honored";
    c.detail = "mbind " + set + " on one mapping reads back " + seen +
               " through a second mapping: the policy lives in the file (shared policy)";
  } else if (second->mpol == mpol_value(PolicyMode::kDefault)) {
    c.state = "not_honored";
    c.detail = "mbind " + set + " on one mapping reads back " + seen +
               " through a second mapping: the policy stays with the VMA, guest_memfd keeps no "
               "shared policy (shmem control reads back " +
               set + ")";
  } else {
    c.detail = "mbind " + set + " reads back " + seen + " through a second mapping";
  }
  return c;
}

ProbeReport run_probe(const std::string& root) {
  ProbeReport r;
  if (auto rel = read_kernel_release(root)) r.kernel_release = *rel;
  probe_topology(r);
  probe_kvm(root, r);
  if (auto m = read_memory_figures(root)) r.memory = *m;

  std::vector<int> nodes = r.topology.node_ids();
  if (nodes.empty()) nodes = {0};
  for (PolicyMode mode : all_policies())
    r.policies_supported[policy_name(mode)] = kernel_supports_policy(mode, nodes.front());

  if (r.kvm_vm_created && r.guest_memfd && r.guest_memfd_mmap && r.guest_memfd_init_shared) {
    // Interleave shows the cover letter's effect on two nodes; on one node bind is the policy
    // whose read-back cannot be confused with anything the kernel picks by itself.
    PolicyMode mode = nodes.size() >= 2 ? PolicyMode::kInterleave : PolicyMode::kBind;
    auto check = check_gmem_shared_policy(mode, nodes);
    r.gmem_policy_state = check.state;
    r.gmem_policy_detail = check.detail;
  } else {
    r.gmem_policy_state = "unknown";
    r.gmem_policy_detail = !r.kvm_vm_created ? "no KVM VM: " + r.kvm_error
                           : !r.guest_memfd  ? "KVM_CAP_GUEST_MEMFD is not offered"
                                             : "guest_memfd cannot be mmapped (needs MMAP and "
                                               "INIT_SHARED)";
  }

  r.placement_sources = probe_placement_sources(root);

  auto weights = read_weighted_interleave_weights(root);
  r.weighted_interleave = weights.ok() && !weights->empty() &&
                          r.policies_supported[policy_name(PolicyMode::kWeightedInterleave)];

  if (auto snp = read_module_param(root, "kvm_amd", "sev_snp"))
    r.sev_snp_param = *snp == "Y" || *snp == "1";
  r.dev_sev = path_exists(sys_path(root, "dev/sev"));
  auto svm = cpuinfo_has_flag(root, "svm");
  auto vmx = cpuinfo_has_flag(root, "vmx");
  r.cpu_virt = (svm.ok() && *svm) || (vmx.ok() && *vmx);

  probe_thp(root, r);

  r.qemu_binary = find_on_path("qemu-system-x86_64");
  if (!r.qemu_binary.empty())
    if (auto line = first_output_line(r.qemu_binary, "--version"))
      r.qemu_version = parse_qemu_version(*line);
  return r;
}

nlohmann::json to_json(const ProbeReport& p) {
  nlohmann::json features = nlohmann::json::object();
  for (HostFeature f : all_host_features())
    features[host_feature_name(f)] = to_json(feature_answer(p, f));
  nlohmann::json memory;
  if (p.memory)
    memory = {{"node_total_kb", p.memory->node_total_kb},
              {"node_free_kb", p.memory->node_free_kb},
              {"proc_total_kb", p.memory->proc_total_kb},
              {"proc_free_kb", p.memory->proc_free_kb},
              {"checks_use", "node"},
              {"warning", memory_figures_warning(*p.memory)}};
  return {
      {"memory", memory},
      {"features", features},
      {"kernel_release", p.kernel_release},
      {"topology", to_json(p.topology)},
      {"kvm",
       {{"present", p.kvm_present},
        {"vm_created", p.kvm_vm_created},
        {"error", p.kvm_error},
        {"api_version", p.kvm_api_version}}},
      {"guest_memfd",
       {{"supported", p.guest_memfd},
        {"flags", p.guest_memfd_flags},
        {"mmap", p.guest_memfd_mmap},
        {"init_shared", p.guest_memfd_init_shared},
        {"numa_policy", {{"state", p.gmem_policy_state}, {"detail", p.gmem_policy_detail}}}}},
      {"sw_protected_vm",
       {{"vm_types", p.kvm_vm_types},
        {"offered", p.sw_protected_vm},
        {"guest_memfd_flags", p.sw_protected_gmem_flags},
        {"memory_attributes", p.sw_protected_attributes}}},
      {"placement_sources", to_json(p.placement_sources)},
      {"policies_supported", p.policies_supported},
      {"weighted_interleave", p.weighted_interleave},
      {"sev_snp", {{"kvm_amd_sev_snp", p.sev_snp_param}, {"dev_sev", p.dev_sev}}},
      {"cpu_virt", p.cpu_virt},
      {"thp", {{"enabled", p.thp_enabled}, {"shmem_enabled", p.thp_shmem_enabled}}},
      {"qemu", {{"binary", p.qemu_binary}, {"version", p.qemu_version}}},
  };
}

namespace {

// One "  key<padding>value" line of the probe's text.
void row(std::ostringstream& o, const std::string& key, const std::string& value) {
  o << "  " << key << std::string(key.size() < 24 ? 24 - key.size() : 1, ' ') << value << "\n";
}

std::string yes(bool b) {
  return b ? "yes" : "no";
}

std::string gib(uint64_t bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f GiB", bytes / double(1ull << 30));
  return b;
}

void format_host(std::ostringstream& o, const ProbeReport& p) {
  o << "host\n";
  row(o, "kernel", p.kernel_release.empty() ? "?" : p.kernel_release);
  row(o, "numa nodes", format_id_list(p.topology.node_ids()));
  for (const auto& n : p.topology.nodes)
    row(o, "  node " + std::to_string(n.os_index),
        gib(n.memory_bytes) + ", cpus " + (n.cpus.empty() ? "none" : format_id_list(n.cpus)));
  if (!p.topology.distances.empty()) {
    std::string d;
    for (const auto& rowv : p.topology.distances) {
      if (!d.empty()) d += " / ";
      for (size_t j = 0; j < rowv.size(); ++j) d += (j ? " " : "") + std::to_string(rowv[j]);
    }
    row(o, "distances", d);
  }
  row(o, "cpu virtualisation", yes(p.cpu_virt) + " (svm/vmx in cpuinfo)");
  if (p.memory) {
    row(o, "memory", memory_figures_text(*p.memory));
    if (auto w = memory_figures_warning(*p.memory); !w.empty()) row(o, "warning", w);
  }
}

void format_kvm(std::ostringstream& o, const ProbeReport& p) {
  o << "kvm\n";
  row(o, "/dev/kvm",
      p.kvm_present ? "present, API " + std::to_string(p.kvm_api_version) : "absent");
  row(o, "create VM",
      p.kvm_vm_created ? "yes" : "no" + (p.kvm_error.empty() ? "" : " (" + p.kvm_error + ")"));
  row(o, "guest_memfd", yes(p.guest_memfd));
  row(o, "guest_memfd flags",
      hex_string(p.guest_memfd_flags) + " (MMAP " + yes(p.guest_memfd_mmap) + ", INIT_SHARED " +
          yes(p.guest_memfd_init_shared) + ")");
  row(o, "guest_memfd mempolicy", p.gmem_policy_state);
  // The detail is a sentence; wrap it under the value column.
  std::string line;
  std::istringstream words(p.gmem_policy_detail);
  for (std::string w; words >> w;) {
    if (!line.empty() && line.size() + 1 + w.size() > 70) {
      row(o, "", line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + w;
  }
  if (!line.empty()) row(o, "", line);
  row(o, "SW_PROTECTED_VM",
      std::string(p.sw_protected_vm ? "offered" : "not offered") + " (KVM_CAP_VM_TYPES " +
          hex_string(p.kvm_vm_types) + ")");
  if (p.sw_protected_vm)
    row(o, "",
        "guest_memfd flags " + hex_string(p.sw_protected_gmem_flags) + ", attributes " +
            hex_string(p.sw_protected_attributes));
}

void format_rest(std::ostringstream& o, const ProbeReport& p) {
  o << "placement sources\n";
  row(o, "trace via tracefs", p.placement_sources.trace);
  row(o, "trace via BPF", p.placement_sources.trace_bpf);
  row(o, "memory cgroup", p.placement_sources.memcg);
  o << "numa policies\n";
  std::string accepted, refused;
  for (PolicyMode mode : all_policies()) {
    auto it = p.policies_supported.find(policy_name(mode));
    std::string& list = (it != p.policies_supported.end() && it->second) ? accepted : refused;
    list += (list.empty() ? "" : " ") + policy_name(mode);
  }
  row(o, "accepted", accepted.empty() ? "none" : accepted);
  if (!refused.empty()) row(o, "refused", refused);
  row(o, "weighted interleave", yes(p.weighted_interleave));
  o << "transparent huge pages\n";
  row(o, "enabled", p.thp_enabled.empty() ? "absent" : p.thp_enabled);
  row(o, "shmem_enabled", p.thp_shmem_enabled.empty() ? "absent" : p.thp_shmem_enabled);
  o << "confidential computing\n";
  row(o, "kvm_amd sev_snp", yes(p.sev_snp_param));
  row(o, "/dev/sev", p.dev_sev ? "present" : "absent");
  o << "qemu\n";
  row(o, "binary", p.qemu_binary.empty() ? "not found on PATH" : p.qemu_binary);
  if (!p.qemu_binary.empty()) row(o, "version", p.qemu_version.empty() ? "?" : p.qemu_version);
  o << "features (memplace probe --require NAME)\n";
  for (HostFeature f : all_host_features()) {
    FeatureAnswer a = feature_answer(p, f);
    row(o, host_feature_name(f), (a.available ? "yes: " : "no: ") + a.reason);
  }
}

}  // namespace

std::string format_probe_text(const ProbeReport& p) {
  std::ostringstream o;
  format_host(o, p);
  format_kvm(o, p);
  format_rest(o, p);
  return o.str();
}

}  // namespace memplace
