// SPDX-License-Identifier: GPL-2.0-only
// Files and directories the way memplace needs them: whole reads, complete writes, writes that
// are either all there or not at all, directory trees, and temporary directories that go away.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace memplace {

// Whole-file read by plain read(2): sysfs files report size 4096 whatever they hold, so
// stat-sized reads lie.
Result<std::string> read_text_file(const std::string& path);

// Writes all of `data`, across short writes and EINTR. `what` names the target in errors.
Status write_all(int fd, std::string_view data, const std::string& what);

// Creates or truncates `path` and writes `content`: for scratch files (a guest's initramfs).
Status write_file(const std::string& path, std::string_view content);

// Writes `content` to a temporary file created exclusively next to `path` (never through a
// symlink), fsyncs, renames over `path` and syncs the directory: a reader sees the old file or
// the new one, never a torn one.
Status write_file_atomic(const std::string& path, const std::string& content);

// mkdir -p; an existing directory is fine, an existing file is an error.
Status make_dirs(const std::string& path);

// A fresh directory (mkdtemp) removed with everything in it when the object goes.
class TempDir {
 public:
  // `prefix` is the path up to the random part: "/tmp/memplace-qemu-".
  static Result<TempDir> create(const std::string& prefix);
  TempDir(TempDir&& o) noexcept;
  TempDir& operator=(TempDir&& o) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  TempDir() = default;
  std::string path_;
};

}  // namespace memplace
