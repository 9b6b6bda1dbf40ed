// SPDX-License-Identifier: GPL-2.0-only
// Which of a qemu cell's memory its policy channel governs, worked out before the guest starts
// from what this QEMU offers (qemu_guest.h's capabilities, asked of the binary itself) and what
// this kernel does with a policy on guest_memfd (the probe's readback). The record carries the
// prediction beside what was measured, so a verdict can say why they differ.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "qemu/qemu_guest.h"
#include "spec/cell.h"

namespace memplace {

enum class Reach {
  kGoverned,     // the policy decides where these pages land
  kNotGoverned,  // nothing applies the policy to these pages
  kAbsent,       // the guest has no memory of this kind
};
std::string reach_name(Reach r);  // "governed", "not governed", "absent"

struct PolicyReach {
  Reach shared = Reach::kGoverned;  // QEMU's mapped guest RAM (all of a plain VM's)
  Reach private_ = Reach::kAbsent;  // SEV-SNP private memory: guest_memfd QEMU never maps
  std::string why;                  // one line: what decides each
};

// What the kernel does with a policy set on a guest_memfd mapping (probe: gmem_policy_state).
enum class KernelGmemPolicy { kHonored, kIgnored, kUnknown };
KernelGmemPolicy kernel_gmem_policy_from(const std::string& probe_state);

// `snp`: guest_memfd cells run as SEV-SNP guests ([qemu] snp).
PolicyReach predict_policy_reach(const Cell& cell, bool snp, const QemuCapabilities& caps,
                                 KernelGmemPolicy kernel);

// "shared governed, private not governed: <why>", as --dry-run prints it.
std::string prediction_line(const PolicyReach& p);

// What `memplace probe` says of one QEMU binary: version, accelerators, sev-snp-guest, the
// guest_memfd backend and whether host-nodes reaches it; as JSON and as aligned text.
nlohmann::json qemu_capabilities_json(const QemuCapabilities& caps);
std::string qemu_capabilities_text(const QemuCapabilities& caps);

}  // namespace memplace
