// A QEMU process driven step by step: the qemu toucher needs phase deadlines (boot, touch,
// poweroff) and to act between lines (snapshots while the guest holds its memory), which the
// testbed's callback-driven run_guest_session does not offer. Same guarantees: the host listens
// before QEMU starts, QEMU dies with the thread that started it (PR_SET_PDEATHSIG), and the
// destructor kills and reaps it, so no QEMU outlives its owner. SIGINT/SIGTERM while a QEMU runs
// end the wait (see ChainedStopSignals).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace memplace {

class QemuProcess {
 public:
  using Clock = std::chrono::steady_clock;

  QemuProcess() = default;
  ~QemuProcess();
  QemuProcess(const QemuProcess&) = delete;
  QemuProcess& operator=(const QemuProcess&) = delete;

  // Listens on `socket_path`, then starts `argv` with stdout/stderr into `qemu_log`, pinned to
  // `cpus` when not empty.
  Status start(const std::vector<std::string>& argv, const std::string& socket_path,
               const std::string& qemu_log, const std::vector<int>& cpus = {});

  enum class Wait { kLine, kTimeout, kExited, kClosed, kSignal };
  // The next complete line from the guest channel, waiting until `deadline`. A run of bytes
  // longer than the protocol's line limit comes back as one (undecodable) line.
  Wait next_line(Clock::time_point deadline, std::string* line);
  Status send(const std::string& line);  // adds the '\n'

  // Waits up to `grace` for QEMU to exit on its own, then kills it. Idempotent.
  void stop(std::chrono::milliseconds grace);
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exited_; }
  int exit_status() const { return exit_status_; }  // exit code or 128 + signal; -1 unknown
  bool connected() const { return conn_.valid(); }

 private:
  bool reap(bool block);
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_status_ = -1;
  std::string socket_path_;
  UniqueFd listener_, conn_;
  bool conn_closed_ = false;
  std::string buf_;  // bytes after the last complete line
};

// Unlike stop_signals.h's StopSignalGuard, which swallows the signal for its caller to account
// for, this one also passes it on: run_matrix's own handler must see a Ctrl-C that arrived during
// a qemu cell, or the matrix would go on to the next cell.
// Installs SIGINT/SIGTERM handlers that record the signal and chain to the previous handlers;
// restores them on scope exit and, if a signal arrived while the previous disposition was the
// default, re-raises it then, after QEMU is gone.
class ChainedStopSignals {
 public:
  ChainedStopSignals();
  ~ChainedStopSignals();
  static int received();  // 0 = none

 private:
  bool active_ = false;
};

}  // namespace memplace
