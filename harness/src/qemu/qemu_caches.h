// SPDX-License-Identifier: GPL-2.0-only
// QEMU probes and guest kernel lookups take seconds each: one of each per process is enough,
// however many qemu cells a matrix holds.
#pragma once

#include <string>

#include "base/result.h"
#include "kernels/kernel_fetch.h"
#include "qemu/qemu_cell_options.h"
#include "qemu/qemu_guest.h"
#include "qemu/qemu_policy_reach.h"

namespace memplace {

Result<QemuCapabilities> cached_qemu_probe(const std::string& binary);
// The kernel o.kernel names (fetch_kernel parses the reference), fetched with o.fetch: one fetch
// per reference for the whole matrix.
Result<KernelFiles> cached_guest_kernel(const QemuToucherOptions& o);
// What this host kernel does with a policy on a guest_memfd mapping (the probe's readback),
// asked once per process.
KernelGmemPolicy cached_host_gmem_policy();

}  // namespace memplace
