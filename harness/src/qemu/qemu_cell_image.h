// SPDX-License-Identifier: GPL-2.0-only
// The guest image of a qemu cell: the kernel's virtio modules and an initramfs whose init runs
// the agent, or hands over to a disk image that holds it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"
#include "kernels/kernel_fetch.h"
#include "qemu/qemu_cell_options.h"

namespace memplace {

// The agent binary: qemu.agent (or MEMPLACE_QEMU_AGENT), else memplace-agent found relative to this
// executable (base/subprocess.h); "" when there is none.
std::string find_agent(const QemuToucherOptions& o);

// Writes <work>/initrd.cpio for the cell's guest and returns its path. `extra` (the record's)
// gets guest_root ("initramfs" | "disk"), the disk image and agent path, and initramfs_bytes.
Result<std::string> build_cell_initrd(const QemuToucherOptions& o, const KernelFiles& kernel,
                                      const std::string& work, nlohmann::json& extra);

}  // namespace memplace
