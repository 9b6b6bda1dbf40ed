// Running helper programs (apt-get, dpkg-deb, xz, ldd) and capturing their output. The argv is
// passed as is: no shell, so nothing needs quoting.
#pragma once

#include <string>
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

}  // namespace memplace
