// SPDX-License-Identifier: GPL-2.0-only
// The one owner of QEMU guest processes, two ways of driving them:
// - QemuProcess, step by step: the qemu toucher needs phase deadlines (boot, touch, poweroff)
//   and to act between lines (snapshots while the guest holds its memory);
// - run_guest_session, to completion with a callback per line: the testbed's record stream.
// Both listen on the guest channel's unix socket before QEMU starts, start QEMU through
// base/subprocess (it dies with the thread that started it), and kill and reap it when their
// owner is done, so no QEMU outlives its run. SIGINT/SIGTERM recorded by a StopSignalGuard end
// any wait.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/line_splitter.h"
#include "base/result.h"
#include "base/subprocess.h"
#include "base/unique_fd.h"

namespace memplace {

class QemuProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // Lines from the guest longer than `max_line_bytes` come back as one undecodable placeholder
  // line; the default is the agent protocol's limit.
  explicit QemuProcess(size_t max_line_bytes = 0);
  ~QemuProcess();
  QemuProcess(const QemuProcess&) = delete;
  QemuProcess& operator=(const QemuProcess&) = delete;

  // Listens on `socket_path`, then starts `argv` with stdout/stderr into `qemu_log`, pinned to
  // `cpus` when not empty, under `mempolicy` when it names one (the task channel).
  Status start(const std::vector<std::string>& argv, const std::string& socket_path,
               const std::string& qemu_log, const std::vector<int>& cpus = {},
               const TaskMempolicy& mempolicy = {});

  enum class Wait { kLine, kTimeout, kExited, kClosed, kSignal };
  // The next complete line from the guest channel, waiting until `deadline`.
  Wait next_line(Clock::time_point deadline, std::string* line);
  // After kClosed: waits for QEMU itself to exit (kExited), until `deadline` or a signal.
  Wait wait_exit(Clock::time_point deadline);
  // Bytes after the last complete line, once the channel is closed.
  const std::string& partial_line() const { return splitter_.pending(); }
  Status send(const std::string& line);  // adds the '\n'

  // Waits up to `grace` for QEMU to exit on its own, then kills it. Idempotent.
  void stop(std::chrono::milliseconds grace);
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  bool running() const { return child_ && !child_->exited(); }
  int exit_status() const { return child_ ? child_->exit_status() : -1; }
  bool connected() const { return conn_.valid(); }
  bool ever_connected() const { return ever_connected_; }

 private:
  void read_channel();
  std::optional<Child> child_;
  std::string socket_path_;
  UniqueFd listener_, conn_;
  bool ever_connected_ = false;
  bool conn_closed_ = false;
  LineSplitter splitter_;
  std::deque<std::string> lines_;
};

struct GuestSessionConfig {
  std::vector<std::string> argv;  // the QEMU command line
  std::string socket_path;        // the path the command line's chardev connects to
  std::string qemu_log;           // QEMU's own stdout/stderr
  // Until the guest's first line (its kernel is up), then from that line to the end: a boot
  // that hangs is caught early, and a long matrix is not cut short by a slow boot.
  int boot_timeout_seconds = 300;
  int timeout_seconds = 600;
};

struct GuestSessionResult {
  bool timed_out = false;
  bool boot_timed_out = false;     // timed_out before the guest's first line
  bool connected = false;          // QEMU opened the record channel
  int exit_status = -1;            // QEMU's exit code, or 128 + signal
  double first_line_seconds = -1;  // first line from the guest, i.e. the guest is up
  double wall_seconds = 0;
  int lines = 0;
  int interrupted_by = 0;  // SIGINT/SIGTERM seen by a StopSignalGuard; QEMU was killed
};

// Called for each complete line (without '\n'), and for a partial last line when QEMU ends.
using GuestLineHandler = std::function<void(std::string_view line)>;

// Runs one QEMU guest to completion: every line the guest sends goes to `on_line`; QEMU is
// killed at the deadline or on SIGINT/SIGTERM. Lines may be up to LineSplitter::kMaxLineBytes
// (a run's samples travel as one line).
Result<GuestSessionResult> run_guest_session(const GuestSessionConfig& config,
                                             const GuestLineHandler& on_line);

}  // namespace memplace
