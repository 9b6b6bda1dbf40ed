// SPDX-License-Identifier: GPL-2.0-only
#include "qemu/qemu_dry_run.h"

#include "base/nodelist.h"
#include "kernels/kernel_build.h"
#include "kernels/kernel_fetch.h"
#include "kernels/kernel_ref.h"
#include "qemu/qemu_caches.h"
#include "qemu/qemu_cell_preflight.h"
#include "qemu/qemu_command.h"
#include "qemu/qemu_policy_reach.h"

namespace memplace {
namespace {

// The image a dry run shows: a path as given, a build's bzImage, a Debian kernel's placeholder.
std::string dry_run_kernel(const QemuToucherOptions& o) {
  auto ref = parse_kernel_ref(o.kernel);
  if (!ref) return "<" + ref.error().message + ">";
  if (ref->kind == KernelRef::Kind::kPath) return ref->value;
  if (ref->kind == KernelRef::Kind::kDebian)
    return "<vmlinuz of debian:" + (ref->value.empty() ? "newest" : ref->value) + ">";
  auto cache =
      o.fetch.cache_dir.empty() ? memplace_cache_dir() : Result<std::string>(o.fetch.cache_dir);
  if (!cache) return "<" + cache.error().message + ">";
  auto b = load_kernel_build(*cache, ref->value);
  return b ? b->vmlinuz : "<" + b.error().message + ">";
}

}  // namespace

std::string qemu_dry_run(const Cell& cell, const QemuToucherOptions& o,
                         const std::string& sysfs_root) {
  QemuCapabilities caps;
  auto probed = cached_qemu_probe(o.qemu_binary);
  if (probed) caps = *probed;
  std::string accel = o.snp ? "kvm" : detect_accel(o.accel);
  QemuGuestPaths paths;
  paths.kernel = dry_run_kernel(o);
  paths.initrd = o.disk_image.empty() ? "<initramfs: busybox + memplace-agent>"
                                      : "<initramfs: busybox + virtio modules, switch_root>";
  paths.serial_log = "<run dir>/serial.log";
  paths.socket_path = "<run dir>/agent.sock";
  auto config = qemu_guest_config_for(cell, o, caps, accel, paths);
  if (!config) return "# qemu toucher cannot run this cell: " + config.error().message + "\n";
  std::string out = format_command_multiline(qemu_guest_command(*config));
  out +=
      "# policy reach (" + policy_channel_name(cell.channel) + " channel): " +
      (probed
           ? prediction_line(predict_policy_reach(cell,
                                                  o.snp && cell.backing == BackingKind::kGuestMemfd,
                                                  caps, cached_host_gmem_policy()))
           : "unknown: " + o.qemu_binary + " cannot be asked (" + probed.error().describe() + ")") +
      "\n";
  if (cell.channel == PolicyChannel::kTask && cell.policy != PolicyMode::kDefault)
    out += "# started as numactl would: set_mempolicy(" + policy_name(cell.policy) + ", " +
           format_id_list(cell.nodes) + ") before exec\n";
  if (auto s = qemu_preflight(cell, o, caps, accel, sysfs_root); !s)
    out += "# " + s.error().describe() + "\n";
  return out;
}

}  // namespace memplace
