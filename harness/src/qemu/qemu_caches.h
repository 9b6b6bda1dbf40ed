// QEMU probes and guest kernel lookups take seconds each: one of each per process is enough,
// however many qemu cells a matrix holds.
#pragma once

#include <string>

#include "base/result.h"
#include "qemu/kernel_fetch.h"
#include "qemu/qemu_cell_options.h"
#include "qemu/qemu_guest.h"

namespace memplace {

Result<QemuCapabilities> cached_qemu_probe(const std::string& binary);
// The kernel o.kernel names, fetched with o.fetch; "debian:" alone means the newest usable
// Debian cloud kernel.
Result<KernelFiles> cached_guest_kernel(const QemuToucherOptions& o);

}  // namespace memplace
