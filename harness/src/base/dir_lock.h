// SPDX-License-Identifier: GPL-2.0-only
// One writer per results directory: an exclusive flock on DIR/memplace.lock, held for as long as
// the DirLock lives. Two runs appending to one runs.jsonl would record the same cells twice; the
// kernel drops the lock when the holder exits, however it exits, so a crash never leaves a stale
// lock behind.
#pragma once

#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace memplace {

inline constexpr const char* kDirLockName = "memplace.lock";

class DirLock {
 public:
  // `dir` must exist. When another process holds the lock the error is bad input (the caller
  // chose a dir in use) and reads "DIR is in use by pid N".
  static Result<DirLock> acquire(const std::string& dir);
  DirLock() = default;
  bool held() const { return fd_.valid(); }

 private:
  explicit DirLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace memplace
