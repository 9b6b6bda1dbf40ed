#include "qemu/qemu_dry_run.h"

#include "qemu/qemu_caches.h"
#include "qemu/qemu_cell_preflight.h"
#include "qemu/qemu_command.h"

namespace memplace {

std::string qemu_dry_run(const Cell& cell, const QemuToucherOptions& o,
                         const std::string& sysfs_root) {
  QemuCapabilities caps;
  if (auto probed = cached_qemu_probe(o.qemu_binary)) caps = *probed;
  std::string accel = o.snp ? "kvm" : detect_accel(o.accel);
  QemuGuestPaths paths;
  std::string kernel_name = o.kernel == "debian:" ? "debian:newest" : o.kernel;
  paths.kernel = o.kernel.rfind("debian:", 0) == 0 ? "<vmlinuz of " + kernel_name + ">" : o.kernel;
  paths.initrd = o.disk_image.empty() ? "<initramfs: busybox + memplace-agent>"
                                      : "<initramfs: busybox + virtio modules, switch_root>";
  paths.serial_log = "<run dir>/serial.log";
  paths.socket_path = "<run dir>/agent.sock";
  auto config = qemu_guest_config_for(cell, o, caps, accel, paths);
  if (!config) return "# qemu toucher cannot run this cell: " + config.error().message + "\n";
  std::string out = format_command_multiline(qemu_guest_command(*config));
  if (auto s = qemu_preflight(cell, o, caps, accel, sysfs_root); !s)
    out += "# " + s.error().describe() + "\n";
  return out;
}

}  // namespace memplace
