// SPDX-License-Identifier: GPL-2.0-only
// SIGINT/SIGTERM while memplace has runs to account for or children to stop. The matrix loop, the
// testbed's kernel loop and a qemu cell each hold a StopSignalGuard, finish or abandon the unit
// in flight, and say so in what they return.
//
// Guards nest and share one record: a qemu cell's guard inside the matrix's sees the same signal
// the matrix will, so both stop. The outermost guard installs the handler and restores the
// previous one on scope exit; a handler that was there before (not memplace's) is still called
// for every signal, so a caller's own bookkeeping keeps working.
#pragma once

#include <signal.h>

namespace memplace {

class StopSignalGuard {
 public:
  // What happens to a signal nobody above this guard accounts for once it goes out of scope.
  enum class Unclaimed {
    kCallerAccounts,  // the caller reports it (a summary, an exit status of 128 + N)
    kReraise,         // raised again after cleanup when the earlier disposition was the default
  };

  // While alive, SIGINT and SIGTERM are recorded instead of killing the process. The handler
  // has no SA_RESTART, so a blocking call (poll, a pipe read) returns EINTR and its loop can
  // look. The outermost guard starts with nothing recorded.
  explicit StopSignalGuard(Unclaimed unclaimed = Unclaimed::kCallerAccounts);
  ~StopSignalGuard();
  StopSignalGuard(const StopSignalGuard&) = delete;
  StopSignalGuard& operator=(const StopSignalGuard&) = delete;

  // The signal recorded since the outermost guard was installed, 0 if none.
  static int received();

 private:
  Unclaimed unclaimed_;
  bool outermost_ = false;
};

}  // namespace memplace
