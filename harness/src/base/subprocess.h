// Running helper programs (apt-get, dpkg-deb, xz, ldd) and capturing their output. The argv is
// passed as is: no shell, so nothing needs quoting.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace memplace {

struct CommandOutput {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;
  std::string err;
};

// Fails only when the program cannot be started; a non-zero exit is in the result.
Result<CommandOutput> run_command(const std::vector<std::string>& argv);

// Like run_command, but a non-zero exit becomes an error carrying the tail of stderr.
Result<std::string> run_command_ok(const std::vector<std::string>& argv);

std::string join_command(const std::vector<std::string>& argv);  // for messages and manifests

// The absolute path of the program `name` as execvp would find it on $PATH; "" when absent.
std::string find_on_path(const std::string& name);
// This process's executable (/proc/self/exe); "" when it cannot be read.
std::string self_executable();
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
