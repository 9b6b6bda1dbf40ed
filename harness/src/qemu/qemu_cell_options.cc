// SPDX-License-Identifier: GPL-2.0-only
#include "qemu/qemu_cell_options.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "spec/spec_keys.h"

namespace memplace {
namespace {

uint64_t round_up_mib(uint64_t b) {
  return (b + (1ull << 20) - 1) & ~((1ull << 20) - 1);
}

std::string backend_for(const Cell& cell) {
  return cell.backing == BackingKind::kAnon ? "ram" : "memfd";
}

}  // namespace

QemuToucherOptions qemu_toucher_options(const QemuSpec& q) {
  QemuToucherOptions o;
  o.qemu_binary = q.binary.value_or(o.qemu_binary);
  o.kernel = q.kernel.value_or(o.kernel);
  o.disk_image = q.disk_image.value_or(o.disk_image);
  o.disk_agent = q.disk_agent.value_or(o.disk_agent);
  o.agent_binary = q.agent.value_or(o.agent_binary);
  o.busybox = q.busybox.value_or(o.busybox);
  o.accel = q.accel.value_or(o.accel);
  o.snp = q.snp.value_or(o.snp);
  o.snp_config.ovmf = q.ovmf.value_or(o.snp_config.ovmf);
  o.snp_config.cbitpos = q.cbitpos.value_or(o.snp_config.cbitpos);
  o.snp_config.reduced_phys_bits = q.reduced_phys_bits.value_or(o.snp_config.reduced_phys_bits);
  o.snp_config.kernel_hashes = q.kernel_hashes.value_or(o.snp_config.kernel_hashes);
  o.boot_timeout_seconds = q.boot_timeout_s.value_or(o.boot_timeout_seconds);
  o.agent_timeout_seconds = q.agent_timeout_s.value_or(o.agent_timeout_seconds);
  o.poweroff_timeout_seconds = q.poweroff_timeout_s.value_or(o.poweroff_timeout_seconds);
  o.guest_overhead_bytes = q.guest_overhead_bytes.value_or(o.guest_overhead_bytes);
  o.extra_append = q.extra_append.value_or(o.extra_append);
  return o;
}

Result<QemuSpec> qemu_spec_env_fallbacks(QemuSpec q,
                                         const std::function<const char*(const char*)>& getenv,
                                         std::vector<std::string>* warnings) {
  // The variables and their parsing are the spec-key table's (spec/spec_keys.cc).
  Spec spec;
  spec.qemu = std::move(q);
  if (auto s = apply_env_fallbacks("qemu", spec, getenv); !s) return s.error();
  if (warnings) warnings->insert(warnings->end(), spec.warnings.begin(), spec.warnings.end());
  if (auto s = check_qemu_spec(spec.qemu); !s) return s.error().prefixed("from the environment: ");
  return spec.qemu;
}

Result<QemuGuestConfig> qemu_guest_config_for(const Cell& cell, const QemuToucherOptions& o,
                                              const QemuCapabilities& caps,
                                              const std::string& accel,
                                              const QemuGuestPaths& paths) {
  auto policy = qemu_policy_name(cell.policy);
  if (!policy) return policy.error();
  QemuGuestConfig c;
  c.qemu_binary = o.qemu_binary;
  c.version = caps.version;
  c.accel = o.snp ? "kvm" : accel;
  c.backend = backend_for(cell);
  if (cell.backing == BackingKind::kGuestMemfd) {
    if (o.snp) {
      c.snp = o.snp_config;
    } else {
      c.guest_memfd = true;
      std::string prop = guest_memfd_property(caps);
      if (!prop.empty()) c.guest_memfd_property = prop;
    }
  }
  QemuGuestNode node;
  node.id = 0;
  uint64_t overhead = o.guest_overhead_bytes + cell.size_bytes / 32;  // struct pages, tables
  node.mem_bytes = round_up_mib(cell.size_bytes + overhead);
  for (int i = 0; i < std::max(1, cell.threads); ++i) node.cpus.push_back(i);
  // The task channel sets no backend policy: QEMU runs under the task policy instead.
  if (cell.channel == PolicyChannel::kMbind) {
    node.host_policy = *policy;
    node.host_nodes = cell.nodes;
  }
  c.nodes = {node};
  c.kernel = paths.kernel;
  c.initrd = paths.initrd;
  c.disk_image = o.disk_image;
  if (!o.disk_image.empty()) c.disk_init = o.disk_agent;
  c.append = o.extra_append;
  // Encrypted guests cannot hand pages back this way; everything else does.
  c.free_page_reporting = !c.snp;
  c.serial_log = paths.serial_log;
  c.socket_path = paths.socket_path;
  return c;
}

QemuToucherOptions qemu_cell_options(const RunContext& ctx) {
  QemuToucherOptions o = qemu_toucher_options(ctx.qemu);
  // The table's agent_timeout_s (or MEMPLACE_QEMU_AGENT_TIMEOUT_S, its fallback) is specific to
  // this toucher, so it wins over the limit every toucher shares.
  if (ctx.toucher_timeout_s && !ctx.qemu.agent_timeout_s)
    o.agent_timeout_seconds = *ctx.toucher_timeout_s;
  return o;
}

}  // namespace memplace
