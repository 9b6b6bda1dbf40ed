// SPDX-License-Identifier: GPL-2.0-only
// The guest's boot image: busybox, KVM modules (decompressed, in dependency order), a program
// with its shared libraries, and an /init script. The pure parts (module metadata, ldd output,
// the init script) are separate from the file reading so they can be tested on their own.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/cpio.h"
#include "base/result.h"

namespace memplace {

// The name the kernel knows a module file by: "kvm-amd.ko.xz" -> "kvm_amd".
std::string module_name_of_file(std::string_view filename);

// A decompressed .ko's `depends=` entry from .modinfo: "kvm,irqbypass" -> {"kvm","irqbypass"}.
std::vector<std::string> module_depends(std::string_view ko_bytes);

// Load order for `roots`, dependencies first, each module once. `deps` maps every known module
// to what it depends on; a dependency missing from the map is an error naming the chain.
Result<std::vector<std::string>> module_load_order(
    const std::vector<std::string>& roots,
    const std::map<std::string, std::vector<std::string>>& deps);

// Shared libraries from `ldd` output, the dynamic loader included; the vDSO is skipped.
// "\tlibnuma.so.1 => /lib/x86_64-linux-gnu/libnuma.so.1 (0x00007f...)"
// "\t/lib64/ld-linux-x86-64.so.2 (0x00007f...)"
Result<std::vector<std::string>> parse_ldd_output(std::string_view text);

struct ModuleLoad {
  std::string path;       // inside the guest: "/lib/modules/memplace/kvm.ko"
  bool optional = false;  // kvm_amd / kvm_intel: at most one matches the CPU
};

// Guest protocol on the virtio-serial port, one JSON object per line:
//   {"type":"hello","kernel":"<uname -r>"}        init is up, before modules load
//   {"type":"log","message":"..."}                init's own remarks (a module that failed)
//   <a runs.jsonl record>                         one per finished run, from `memplace run`
//   {"type":"end","exit_code":N}                  the program finished; poweroff follows
struct InitScript {
  std::string port_name = "memplace.0";
  std::vector<ModuleLoad> modules;
  // Shell command line run after the modules; "$PORT" expands to the port's device.
  std::string run_line;
};
std::string render_init_script(const InitScript& init);

// A run line that boots the real root: it reads root=, rootfstype=, ro and init= from
// /proc/cmdline (the same line boots a kernel with its block driver built in, no initramfs),
// waits for the device, mounts it, unmounts the initramfs's /proc, /sys, /dev, /tmp and
// switch_roots into init. A failure is one "memplace-init: ..." console line and a poweroff.
std::string switch_root_run_line();

// Busybox applets the init script uses, linked into /bin.
const std::vector<std::string>& init_applets();

struct InitramfsInputs {
  std::string busybox = "/bin/busybox";  // must be static
  std::string modules_dir;               // "" = nothing to load (KVM built in)
  std::vector<std::string> module_roots = {"kvm", "kvm_amd", "kvm_intel"};
  std::vector<std::string> optional_modules = {"kvm_amd", "kvm_intel"};
  // Programs copied with their ldd closure: host path -> path in the guest.
  std::map<std::string, std::string> programs;
  // Debug info is most of a RelWithDebInfo binary; the guest does not need it, and a smaller
  // image boots faster under TCG.
  bool strip_debug = true;
  std::vector<CpioEntry> extra_files;  // the spec, topology, ...
  std::string run_line;                // see InitScript
};

struct Initramfs {
  std::string bytes;                        // uncompressed newc archive
  std::vector<std::string> modules_loaded;  // in order, for the manifest
};

Result<Initramfs> build_initramfs(const InitramfsInputs& inputs);

}  // namespace memplace
