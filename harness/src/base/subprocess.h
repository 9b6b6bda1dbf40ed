// SPDX-License-Identifier: GPL-2.0-only
// The one place memplace starts other programs: helpers (apt-get, dpkg-deb, xz, ldd, lscpu),
// QEMU guests and the plot scripts. The argv is passed as is: no shell, so nothing needs quoting.
// Every child gets /dev/null for stdin and dies with the thread that started it
// (PR_SET_PDEATHSIG), so a memplace that is killed leaves no QEMU or apt-get behind.
#pragma once

#include <sys/types.h>

#include <csignal>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace memplace {

// Where a child's stdout and stderr go.
struct ChildOutput {
  enum class To { kInherit, kNull, kPipe, kFile };
  To stdout_to = To::kInherit;
  To stderr_to = To::kInherit;
  std::string file;  // kFile: created or truncated; both streams share it
};

// A task memory policy the child starts under, as `numactl --interleave` sets one: its threads
// inherit it, and so does every page they fault that no mapping's own policy governs.
struct TaskMempolicy {
  int mode = -1;           // an MPOL_* value (set_mempolicy(2)); -1 = inherit the parent's
  std::vector<int> nodes;  // the nodemask's nodes
};

struct SpawnOptions {
  ChildOutput output;
  std::vector<int> cpus;  // pin the child to these CPUs; empty = inherit
  TaskMempolicy mempolicy;
  std::string stdin_file;  // the child's stdin; "" = /dev/null
  // A pipe's read end the child waits on (one byte written to it) before it execs, so the
  // parent can place it (a cgroup) before the program runs; -1 = exec at once.
  int start_gate = -1;
};

// A started program. The destructor kills (SIGKILL) and reaps one still running, so a child
// cannot outlive the object that owns it.
class Child {
 public:
  // Fails only when the program cannot be started; an exec failure shows as exit status 127.
  static Result<Child> spawn(const std::vector<std::string>& argv, const SpawnOptions& options);

  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  // The read ends of kPipe streams (-1 otherwise); release() them to own them.
  UniqueFd& stdout_pipe() { return out_; }
  UniqueFd& stderr_pipe() { return err_; }

  // Whether the child has exited, without waiting.
  bool poll_exit();
  // Waits for the child to exit; returns exit_status().
  int wait();
  // Sends `sig`; for SIGKILL also reaps. Harmless once the child has exited.
  void kill(int sig = SIGKILL);

  bool exited() const { return exited_; }
  // Exit code, or 128 + the signal that ended it; -1 while running (or reaped elsewhere).
  int exit_status() const;
  int term_signal() const { return term_signal_; }  // 0 unless a signal ended it

 private:
  Child() = default;
  bool reap(bool block);
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
  int term_signal_ = 0;
  UniqueFd out_, err_;
};

struct CommandOutput {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;
  std::string err;
};

// Runs a helper to its end, capturing both streams. Fails only when the program cannot be
// started; a non-zero exit is in the result.
Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  const std::string& stdin_file = "");

// Like run_command, but a non-zero exit becomes an error carrying the tail of stderr.
Result<std::string> run_command_ok(const std::vector<std::string>& argv);

std::string join_command(const std::vector<std::string>& argv);  // for messages and manifests

// The absolute path of the program `name` as execvp would find it on $PATH; "" when absent.
std::string find_on_path(const std::string& name);
// This process's executable (/proc/self/exe); "" when it cannot be read.
std::string self_executable();

// The first of `relatives` (paths relative to the running binary's directory) that is a regular
// file, or "". Installed binaries and a build tree lay their companions out differently, so
// callers list both; nothing is looked up through the source tree.
std::string find_beside_self(std::initializer_list<std::string_view> relatives);
// One shell word: 'it'\''s'. For the scripts memplace writes (the testbed's init, sbatch jobs).
std::string shell_quote(std::string_view s);
// A child of this process that runs `body(arg)` without exec and is killed (SIGKILL) and reaped
// when the object goes. For work that must happen in another process (another pid to the
// page-allocation trace, another memory cgroup). The parent may have threads, so `body` makes
// system calls only: no malloc, no locks.
class ForkedChild {
 public:
  static Result<ForkedChild> start(int (*body)(void*), void* arg);
  ForkedChild(ForkedChild&& o) noexcept : pid_(o.pid_) { o.pid_ = -1; }
  ForkedChild& operator=(ForkedChild&&) = delete;
  ForkedChild(const ForkedChild&) = delete;
  ~ForkedChild();
  int pid() const { return pid_; }

 private:
  explicit ForkedChild(int pid) : pid_(pid) {}
  int pid_ = -1;
};

}  // namespace memplace
