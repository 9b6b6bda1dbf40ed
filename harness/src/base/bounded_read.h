// SPDX-License-Identifier: GPL-2.0-only
// Reading files out of directories we do not trust (results dirs from other hosts, shards):
// every open is relative to a directory fd and refuses symlinks, only regular files are read,
// and a file larger than its limit is an error rather than an allocation.
#pragma once

#include <cstddef>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace memplace {

// A directory the caller named (a command-line argument), opened for the *at() calls below.
Result<UniqueFd> open_dir(const std::string& path);
// `name` inside `dir`: one plain component, never "..", never a symlink.
Result<UniqueFd> open_subdir(int dir, const std::string& name, const std::string& shown_as);
bool is_plain_name(const std::string& name);

// The whole of `dir`/`name`, at most `max_bytes`. A missing file is an error with ENOENT.
Result<std::string> read_file_at(int dir, const std::string& name, size_t max_bytes,
                                 const std::string& shown_as);
// The same for a path: a file in a results dir (never through a symlink) or, with
// `follow_symlink`, a file the user named (a spec). Regular files only, a FIFO never waited on.
Result<std::string> read_file_bounded(const std::string& path, size_t max_bytes,
                                      bool follow_symlink = false);

}  // namespace memplace
