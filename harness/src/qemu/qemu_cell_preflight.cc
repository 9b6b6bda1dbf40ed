// SPDX-License-Identifier: GPL-2.0-only
#include "qemu/qemu_cell_preflight.h"

#include <unistd.h>

#include <vector>

#include "host/sysfs.h"
#include "qemu/qemu_caches.h"
#include "qemu/qemu_command.h"
#include "qemu/qemu_policy_reach.h"

namespace memplace {
namespace {

// An SNP cell whose channel cannot reach its private memory would measure QEMU, not the kernel:
// it is said as such, never judged as the kernel's failure.
Status snp_reach(const Cell& cell, const QemuCapabilities& caps) {
  const PolicyReach reach = predict_policy_reach(cell, true, caps, cached_host_gmem_policy());
  if (reach.private_ == Reach::kNotGoverned)
    return unsupported_error(reach.why + "; this cell cannot judge the kernel");
  return {};
}

}  // namespace

Status qemu_preflight(const Cell& cell, const QemuToucherOptions& o, const QemuCapabilities& caps,
                      const std::string& accel, const std::string& sysfs_root) {
  if (auto p = qemu_policy_name(cell.policy); !p) return p.error().as_kind(ErrorKind::kUnsupported);
  if (cell.backing == BackingKind::kGuestMemfdPrivate)
    return unsupported_error(
        "the qemu toucher's private guest memory is an SEV-SNP guest "
        "(backing guest_memfd with [qemu] snp = true); guest_memfd_private "
        "is the vcpu toucher's");
  if (cell.backing != BackingKind::kGuestMemfd) return {};
  std::vector<std::string> missing;
  if (o.snp) {
    auto snp = read_module_param(sysfs_root, "kvm_amd", "sev_snp");
    if (!snp || (*snp != "Y" && *snp != "1")) {
      missing.push_back(snp ? "kvm_amd sev_snp=" + *snp + " (needs Y)"
                            : "kvm_amd is not loaded or has no sev_snp parameter");
    }
    if (::access(sys_path(sysfs_root, "dev/sev").c_str(), F_OK) != 0)
      missing.push_back("no /dev/sev");
    if (::access(o.snp_config.ovmf.c_str(), R_OK) != 0) {
      missing.push_back("OVMF firmware " + o.snp_config.ovmf + " not found (qemu.ovmf)");
    }
    if (!caps.has_sev_snp_guest) {
      missing.push_back(o.qemu_binary + " (" + caps.version.text() +
                        ") has no sev-snp-guest object");
    }
    if (missing.empty()) return snp_reach(cell, caps);
    std::string m = "SEV-SNP guest cannot run here:";
    for (const auto& s : missing) m += " " + s + ";";
    m.pop_back();
    return unsupported_error(m);
  }
  if (guest_memfd_property(caps).empty()) {
    missing.push_back(o.qemu_binary + " " + caps.version.text() +
                      " has no memory-backend-memfd guest-memfd property (a QEMU with "
                      "x-guest-memfd or a patched one; qemu.binary)");
  }
  if (accel != "kvm") missing.push_back("guest_memfd needs KVM, accel here is " + accel);
  if (missing.empty()) return {};
  std::string m = "plain guest_memfd VM cannot run here:";
  for (const auto& s : missing) m += " " + s + ";";
  m.pop_back();
  return unsupported_error(m);
}

}  // namespace memplace
