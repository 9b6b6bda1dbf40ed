// SPDX-License-Identifier: GPL-2.0-only
// What a qemu cell's guest is made of: the options a spec's [qemu] table sets (falling back to
// the MEMPLACE_QEMU_* variables), and the guest configuration they give one
// cell. Pure functions of their inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/result.h"
#include "experiment/cell_runner.h"
#include "kernels/kernel_fetch.h"
#include "qemu/qemu_guest.h"
#include "spec/cell.h"
#include "spec/spec.h"

namespace memplace {

// Everything a qemu cell's guest needs beyond the cell. A spec's [qemu] table (spec.h) sets the
// user-facing fields through qemu_toucher_options(); the rest are for tests.
struct QemuToucherOptions {
  std::string qemu_binary = "qemu-system-x86_64";
  // "debian:" (newest usable Debian cloud kernel), "debian:VERSION", or a bzImage path.
  std::string kernel = "debian:";
  // A raw disk image with the agent installed at disk_agent: the guest's root is /dev/vda and
  // its init is that agent (see guest-agent/README.md). "" = the agent rides in the initramfs.
  std::string disk_image;
  std::string disk_agent = "/sbin/memplace-agent";
  std::string agent_binary;  // "" = next to this executable
  std::string busybox = "/bin/busybox";
  std::string accel = "auto";  // auto | kvm | tcg
  bool snp = false;            // guest_memfd cells run as SEV-SNP guests
  SevSnpConfig snp_config;
  int boot_timeout_seconds = 120;   // QEMU start to the agent's hello
  int agent_timeout_seconds = 600;  // go to done
  int poweroff_timeout_seconds = 30;
  // RunContext::locality in the guest: the agent's repetitions and per-repetition minimum time
  // (not in [qemu] yet; tests set them). Its report must arrive within agent_timeout_seconds of
  // done.
  int locality_repetitions = 5;
  double locality_min_time_seconds = 0.1;
  // After hello, with free page reporting: wait at least min, at most max, for the guest RAM's
  // resident size to stop falling before the "before" snapshot.
  double settle_min_seconds = 3.0;
  double settle_max_seconds = 15.0;
  // Guest RAM beyond the touch: the guest kernel, its page tables, the initramfs.
  uint64_t guest_overhead_bytes = 256ull << 20;
  std::string extra_append;
  KernelFetchOptions fetch;
  // Replaces the agent in the guest's init (shell; tests of hung and garbled guests only).
  std::string guest_run_line;
};

// The defaults above, overridden by every field the [qemu] table sets.
QemuToucherOptions qemu_toucher_options(const QemuSpec& spec);
// What a qemu cell runs with: qemu_toucher_options(ctx.qemu), whose go-to-done limit is
// ctx.toucher_timeout_s (run.toucher_timeout_s) where the [qemu] table leaves agent_timeout_s
// unset.
QemuToucherOptions qemu_cell_options(const RunContext& ctx);

// Fills the fields `spec` leaves unset from the environment: MEMPLACE_QEMU_<KEY> for each [qemu]
// key that has one (docs/spec-reference.md lists them); the older names (MEMPLACE_QEMU,
// MEMPLACE_QEMU_DISK, MEMPLACE_AGENT, ..._BOOT_TIMEOUT, ..._AGENT_TIMEOUT) still read, each
// adding a line to `warnings`. The spec's own values win. Errors name the variable.
Result<QemuSpec> qemu_spec_env_fallbacks(QemuSpec spec,
                                         const std::function<const char*(const char*)>& getenv,
                                         std::vector<std::string>* warnings = nullptr);

// Paths that exist only at run time; --dry-run shows placeholders.
struct QemuGuestPaths {
  std::string kernel;
  std::string initrd;
  std::string serial_log;
  std::string socket_path;
};

// The guest for a cell: one guest node holding cell.size_bytes + overhead and cell.threads
// vCPUs, backed per cell.backing (anon: memory-backend-ram; shmem: memfd; guest_memfd: memfd
// with guest_memfd, or an SNP guest when options.snp), with the cell's host policy.
Result<QemuGuestConfig> qemu_guest_config_for(const Cell& cell, const QemuToucherOptions& options,
                                              const QemuCapabilities& caps,
                                              const std::string& accel,
                                              const QemuGuestPaths& paths);

// The guest for a cell: one guest node holding cell.size_bytes + overhead and cell.threads
// vCPUs, backed per cell.backing (anon: memory-backend-ram; shmem: memfd; guest_memfd: memfd
// with guest_memfd, or an SNP guest when options.snp), with the cell's host policy.
Result<QemuGuestConfig> qemu_guest_config_for(const Cell& cell, const QemuToucherOptions& options,
                                              const QemuCapabilities& caps,
                                              const std::string& accel,
                                              const QemuGuestPaths& paths);

}  // namespace memplace
