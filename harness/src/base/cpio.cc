// SPDX-License-Identifier: GPL-2.0-only
#include "base/cpio.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace memplace {

CpioEntry cpio_file(std::string path, std::string data, uint32_t perm) {
  return {CpioEntry::Kind::kFile, std::move(path), perm, std::move(data)};
}
CpioEntry cpio_dir(std::string path) {
  return {CpioEntry::Kind::kDir, std::move(path), 0755, {}};
}
CpioEntry cpio_symlink(std::string path, std::string target) {
  return {CpioEntry::Kind::kSymlink, std::move(path), 0777, std::move(target)};
}
CpioEntry cpio_chardev(std::string path, uint32_t major, uint32_t minor) {
  return {CpioEntry::Kind::kCharDev, std::move(path), 0600, {}, major, minor};
}

std::vector<CpioEntry> complete_tree(std::vector<CpioEntry> entries) {
  std::map<std::string, CpioEntry> by_path;
  for (auto& e : entries) {
    std::string p = e.path;
    while (!p.empty() && p.front() == '/') p.erase(0, 1);
    e.path = p;
    by_path[p] = std::move(e);
  }
  std::set<std::string> parents;
  for (const auto& [path, e] : by_path) {
    for (size_t i = path.find('/'); i != std::string::npos; i = path.find('/', i + 1)) {
      parents.insert(path.substr(0, i));
    }
  }
  for (const auto& p : parents) {
    if (!by_path.count(p)) by_path[p] = cpio_dir(p);
  }
  // std::map orders "a" before "a/b", which is all the kernel needs.
  std::vector<CpioEntry> out;
  out.reserve(by_path.size());
  for (auto& [path, e] : by_path) out.push_back(std::move(e));
  return out;
}

namespace {

void append_header(std::string& out, uint32_t ino, uint32_t mode, uint32_t nlink, uint32_t filesize,
                   uint32_t rmajor, uint32_t rminor, const std::string& name) {
  char hdr[111];
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor,
  // rdevminor, namesize, check: thirteen 8-digit hex fields after the 6-byte magic.
  std::snprintf(hdr, sizeof hdr, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino,
                mode, 0u, 0u, nlink, 0u, filesize, 0u, 0u, rmajor, rminor,
                static_cast<uint32_t>(name.size() + 1), 0u);
  out.append(hdr, 110);
  out.append(name);
  out.push_back('\0');
  while (out.size() % 4) out.push_back('\0');
}

void append_data(std::string& out, const std::string& data) {
  out.append(data);
  while (out.size() % 4) out.push_back('\0');
}

}  // namespace

std::string cpio_newc(const std::vector<CpioEntry>& entries) {
  std::string out;
  uint32_t ino = 1;
  for (const auto& e : entries) {
    uint32_t mode = e.perm & 07777;
    uint32_t nlink = 1;
    const std::string* data = nullptr;
    switch (e.kind) {
      case CpioEntry::Kind::kFile:
        mode |= S_IFREG;
        data = &e.data;
        break;
      case CpioEntry::Kind::kDir:
        mode |= S_IFDIR;
        nlink = 2;
        break;
      case CpioEntry::Kind::kSymlink:
        mode |= S_IFLNK;
        data = &e.data;
        break;
      case CpioEntry::Kind::kCharDev:
        mode |= S_IFCHR;
        break;
    }
    uint32_t size = data ? static_cast<uint32_t>(data->size()) : 0;
    append_header(out, ino++, mode, nlink, size, e.dev_major, e.dev_minor, e.path);
    if (data) append_data(out, *data);
  }
  append_header(out, 0, 0, 1, 0, 0, 0, "TRAILER!!!");
  return out;
}

}  // namespace memplace
