// SPDX-License-Identifier: GPL-2.0-only
// `memplace run --dry-run` for qemu cells: the exact command a run would start.
#pragma once

#include <string>

#include "qemu/qemu_cell_options.h"
#include "spec/cell.h"

namespace memplace {

// The exact QEMU command for a cell as a shell line, run-time paths as <placeholders>.
// The preflight behind the trailing "# unsupported: ..." line reads `sysfs_root` ("" = live).
std::string qemu_dry_run(const Cell& cell, const QemuToucherOptions& options,
                         const std::string& sysfs_root = "");

}  // namespace memplace
