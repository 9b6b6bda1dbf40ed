// SPDX-License-Identifier: GPL-2.0-only
#include "qemu/qemu_cell_image.h"

#include <filesystem>

#include "base/files.h"
#include "base/subprocess.h"
#include "qemu/initramfs.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

// The guest's /init runs this after mounting /proc, /sys and /dev.
std::string agent_run_line(const QemuToucherOptions& o) {
  if (!o.guest_run_line.empty()) return o.guest_run_line;
  return "exec /bin/memplace-agent";
}

// The agent rides in the initramfs, or a disk image holds it; the initramfs then only makes
// /dev/vda appear (Debian's cloud kernels build virtio_blk as a module) and hands over to the
// disk's init.
Status add_agent(const QemuToucherOptions& o, InitramfsInputs& in, nlohmann::json& extra) {
  if (o.disk_image.empty()) {
    std::string agent = find_agent(o);
    if (agent.empty()) {
      return make_error(
          "memplace-agent not found next to this program (build guest-agent/ or set "
          "qemu.agent in the spec)");
    }
    in.programs = {{agent, "bin/memplace-agent"}};
    in.run_line = agent_run_line(o);
    extra["guest_root"] = "initramfs";
    return {};
  }
  std::error_code ec;
  if (!fs::is_regular_file(o.disk_image, ec))
    return make_error("qemu.disk_image " + o.disk_image + " is not a readable file");
  in.module_roots.push_back("virtio_blk");
  in.run_line = o.guest_run_line.empty() ? switch_root_run_line() : o.guest_run_line;
  extra["guest_root"] = "disk";
  extra["disk_image"] = o.disk_image;
  extra["disk_agent"] = o.disk_agent;
  return {};
}

}  // namespace

std::string find_agent(const QemuToucherOptions& o) {
  if (!o.agent_binary.empty()) return o.agent_binary;
  // Installed, the agent sits beside memplace in bin/; in a build tree, in guest-agent/.
  return find_beside_self({"memplace-agent", "guest-agent/memplace-agent"});
}

Result<std::string> build_cell_initrd(const QemuToucherOptions& o, const KernelFiles& kernel,
                                      const std::string& work, nlohmann::json& extra) {
  InitramfsInputs in;
  in.busybox = o.busybox;
  // The agent's channel is a virtio-serial port; load its driver where it is a module.
  in.modules_dir = kernel.modules_dir;
  in.module_roots = {"virtio_pci", "virtio_console", "virtio_balloon"};
  if (auto s = add_agent(o, in, extra); !s) return s.error();
  in.optional_modules = in.module_roots;
  auto image = build_initramfs(in);
  if (!image) return image.error().prefixed("building the guest initramfs: ");
  const std::string initrd = work + "/initrd.cpio";
  if (auto s = write_file(initrd, image->bytes); !s)
    return s.error().prefixed("writing " + initrd + ": ");
  extra["initramfs_bytes"] = image->bytes.size();
  return initrd;
}

}  // namespace memplace
