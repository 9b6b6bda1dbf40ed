// SPDX-License-Identifier: GPL-2.0-only
// Whether this host can run a qemu cell's guest at all: what it lacks becomes the cell's
// "unsupported" row (ErrorKind::kUnsupported) before any guest image is built.
#pragma once

#include <string>

#include "base/result.h"
#include "qemu/qemu_cell_options.h"
#include "qemu/qemu_guest.h"
#include "spec/cell.h"

namespace memplace {

// Why this host cannot run the cell's guest (an unsupported error), or ok. SNP: kvm_amd sev_snp=Y,
// /dev/sev, OVMF and QEMU's sev-snp-guest; plain guest_memfd: QEMU's guest-memfd property and KVM.
Status qemu_preflight(const Cell& cell, const QemuToucherOptions& options,
                      const QemuCapabilities& caps, const std::string& accel,
                      const std::string& sysfs_root);

}  // namespace memplace
