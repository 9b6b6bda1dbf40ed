// SIGINT/SIGTERM while memplace has runs to account for or children to stop: the matrix loop
// (run_matrix) and the testbed's kernel loop both hold a StopSignalGuard, finish or abandon the
// unit in flight, and return 128 + the signal themselves.
//
// The qemu toucher's ChainedStopSignals (qemu_process.h) is deliberately separate: it nests
// inside the matrix's guard, passes the signal on to it, keeps its own record (reset when it is
// installed, which must not clear the matrix's), and re-raises at scope exit when nothing
// handled the signal before it.
#pragma once

#include <signal.h>

namespace memplace {

// While alive, SIGINT and SIGTERM are recorded instead of killing the process. The handler has
// no SA_RESTART, so a blocking call (poll, a pipe read) returns EINTR and its loop can look.
// Restores the previous handlers on scope exit. Guards do not nest: installing one clears what
// the last one recorded.
class StopSignalGuard {
 public:
  StopSignalGuard();
  ~StopSignalGuard();
  StopSignalGuard(const StopSignalGuard&) = delete;
  StopSignalGuard& operator=(const StopSignalGuard&) = delete;
  static int received();  // the signal number, 0 if none (or no guard installed)

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace memplace
