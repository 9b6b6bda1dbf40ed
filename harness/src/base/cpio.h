// SPDX-License-Identifier: GPL-2.0-only
// cpio "newc" archives, the format the kernel unpacks as an initramfs. Built in memory so the
// boot image can be assembled (and tested) without external tools.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace memplace {

struct CpioEntry {
  enum class Kind { kFile, kDir, kSymlink, kCharDev };
  Kind kind = Kind::kFile;
  std::string path;  // relative to the archive root, no leading '/': "bin/busybox"
  uint32_t perm = 0644;
  std::string data;                       // file contents, or the symlink target
  uint32_t dev_major = 0, dev_minor = 0;  // kCharDev only
};

CpioEntry cpio_file(std::string path, std::string data, uint32_t perm = 0644);
CpioEntry cpio_dir(std::string path);
CpioEntry cpio_symlink(std::string path, std::string target);
CpioEntry cpio_chardev(std::string path, uint32_t major, uint32_t minor);

// Adds directory entries for every parent that is missing, drops duplicates (last one wins) and
// orders parents before children: the kernel does not create missing directories itself.
std::vector<CpioEntry> complete_tree(std::vector<CpioEntry> entries);

// The archive bytes, entries in the given order, ending with the TRAILER!!! record.
std::string cpio_newc(const std::vector<CpioEntry>& entries);

}  // namespace memplace
