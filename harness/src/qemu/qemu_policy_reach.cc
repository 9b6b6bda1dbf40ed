// SPDX-License-Identifier: GPL-2.0-only
#include "qemu/qemu_policy_reach.h"

#include <algorithm>

namespace memplace {
namespace {

// Private SNP memory through the mbind channel: only a backend QEMU binds, on a kernel that
// takes a guest_memfd mapping's policy (the series), places it.
PolicyReach snp_mbind(const QemuCapabilities& caps, KernelGmemPolicy kernel) {
  PolicyReach p;
  p.shared = Reach::kGoverned;
  if (caps.guest_memfd_backend.empty() || !caps.guest_memfd_backend_host_nodes) {
    p.private_ = Reach::kNotGoverned;
    p.why = "private memory: not governed by the mbind channel with this QEMU (" +
            std::string(caps.guest_memfd_backend.empty()
                            ? "no guest_memfd backend"
                            : caps.guest_memfd_backend + " takes no host-nodes") +
            "); the task channel governs it";
  } else if (kernel == KernelGmemPolicy::kIgnored) {
    p.private_ = Reach::kNotGoverned;
    p.why = "private memory: " + caps.guest_memfd_backend +
            " binds it, but this kernel ignores a guest_memfd mapping's policy";
  } else {
    p.private_ = Reach::kGoverned;
    p.why = "private memory: bound by " + caps.guest_memfd_backend + "'s host-nodes" +
            (kernel == KernelGmemPolicy::kUnknown
                 ? " (whether this kernel applies it to guest_memfd is unknown here)"
                 : "");
  }
  return p;
}

}  // namespace

std::string reach_name(Reach r) {
  static const char* const kNames[] = {"governed", "not governed", "absent"};  // Reach's order
  return kNames[static_cast<int>(r)];
}

KernelGmemPolicy kernel_gmem_policy_from(const std::string& probe_state) {
  if (probe_state == "honored") return KernelGmemPolicy::kHonored;
  if (probe_state == "not_honored") return KernelGmemPolicy::kIgnored;
  return KernelGmemPolicy::kUnknown;
}

PolicyReach predict_policy_reach(const Cell& cell, bool snp, const QemuCapabilities& caps,
                                 KernelGmemPolicy kernel) {
  const bool task = cell.channel == PolicyChannel::kTask;
  const bool gmem = cell.backing == BackingKind::kGuestMemfd;
  PolicyReach p;
  if (task) {
    // Measured on 7.2 with and without the series: the faulting threads' task policy places
    // guest_memfd pages, private ones included, and QEMU's vCPU threads inherit it.
    p.private_ = gmem && snp ? Reach::kGoverned : Reach::kAbsent;
    p.why = "QEMU runs under the task policy its vCPU threads inherit";
    return p;
  }
  if (gmem && snp) return snp_mbind(caps, kernel);
  p.why = "shared RAM: the memory backend's host-nodes";
  if (gmem && kernel == KernelGmemPolicy::kIgnored) {
    p.shared = Reach::kNotGoverned;
    p.why = "guest RAM is a mapped guest_memfd, whose mapping policy this kernel ignores";
  }
  return p;
}

std::string prediction_line(const PolicyReach& p) {
  return "shared " + reach_name(p.shared) + ", private " + reach_name(p.private_) + ": " + p.why;
}

nlohmann::json qemu_capabilities_json(const QemuCapabilities& caps) {
  nlohmann::json j = {{"binary", caps.binary},
                      {"version", caps.version.text()},
                      {"version_line", caps.version_line},
                      {"accelerators", caps.accelerators},
                      {"sev_snp_guest", caps.has_sev_snp_guest},
                      {"qmp_error", caps.qmp_error}};
  // What guest memory can be backed by, as QMP answered.
  j["memory_backends"] = caps.memory_backends;
  j["guest_memfd_backend"] = caps.guest_memfd_backend;
  j["guest_memfd_backend_host_nodes"] = caps.guest_memfd_backend_host_nodes;
  j["plain_vm_guest_memfd_property"] = guest_memfd_property(caps);
  return j;
}

std::string qemu_capabilities_text(const QemuCapabilities& caps) {
  std::string accels;
  for (const auto& a : caps.accelerators) accels += (accels.empty() ? "" : ", ") + a;
  auto row = [](const std::string& k, const std::string& v) {
    std::string line = "  " + k;
    line.resize(std::max<size_t>(line.size() + 1, 34), ' ');
    return line + v + "\n";
  };
  std::string out = "QEMU " + caps.binary + "\n";
  out += row("version", caps.version.text() + " (" + caps.version_line + ")");
  out += row("accelerators", accels.empty() ? "unknown" : accels);
  out += row("sev-snp-guest", caps.has_sev_snp_guest ? "yes" : "no");
  const std::string plain = guest_memfd_property(caps);
  out += row("plain-VM guest_memfd RAM", plain.empty() ? "no" : "memory-backend-memfd," + plain);
  out +=
      row("guest_memfd backend",
          caps.guest_memfd_backend.empty()
              ? "none: SNP private memory is not reached by host-nodes (use --policy-channel task)"
              : caps.guest_memfd_backend);
  if (!caps.guest_memfd_backend.empty())
    out += row("host-nodes reaches it", caps.guest_memfd_backend_host_nodes ? "yes" : "no");
  if (!caps.qmp_error.empty()) out += row("QMP", "not asked: " + caps.qmp_error);
  return out;
}

}  // namespace memplace
