// SPDX-License-Identifier: GPL-2.0-only
// toucher = "qemu": one QEMU guest per cell. QEMU owns the guest RAM (a memory backend with the
// cell's host policy), a static agent inside the guest touches it on "go", and the host reads
// per-node meminfo around the touch and QEMU's own numa_maps. The pieces, one purpose each:
//   qemu_cell_options.h    [qemu] table -> options -> the cell's guest configuration
//   qemu_caches.h          QEMU probes and guest kernels, once per process
//   qemu_cell_preflight.h  what this host lacks for the cell ("unsupported")
//   qemu_cell_image.h      the agent and the guest's initramfs
//   qemu_dry_run.h         the command a run would start
//   guest_ram_placement.h  QEMU's numa_maps -> pages per node
//   qemu_cell_record.h     what the guest reported -> the record
// and this file, the run itself: preflight, image, QEMU, hello, "before", go, samples, done,
// "after" and numa_maps, poweroff, verdict.
#pragma once

#include <memory>
#include <string>

#include "experiment/cell_runner.h"
#include "qemu/guest_ram_placement.h"
#include "qemu/qemu_cell_options.h"
#include "qemu/qemu_cell_preflight.h"
#include "qemu/qemu_dry_run.h"
#include "results/run_record.h"
#include "spec/cell.h"

namespace memplace {

// Every failure becomes the record's status and message; QEMU never outlives the call.
// Options from ctx.qemu (the spec's [qemu] table).
RunRecord run_qemu_cell(const Cell& cell, const RunContext& ctx, const std::string& run_id);
RunRecord run_qemu_cell(const Cell& cell, const RunContext& ctx, const std::string& run_id,
                        const QemuToucherOptions& options);

// The matrix's runner for toucher = "qemu" cells: a QEMU guest owns its RAM, so the whole cell
// (snapshots, go handshake, numa_maps) differs from the local touchers'.
std::shared_ptr<CellRunner> make_qemu_cell_runner();

}  // namespace memplace
