// SPDX-License-Identifier: GPL-2.0-only
// Running the memplace binary from a test: its exit status and everything it printed, and the
// temp paths the tests write into. The one copy for every test folder.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "base/subprocess.h"
#include "golden.h"
#include "test_support.h"

namespace memplace::testing {

struct Exec {
  int status = -1;     // exit status; -1 when killed by a signal
  std::string output;  // stdout and stderr together
  std::string out;     // stdout alone (`memplace slurm` prints its job ids there)
};

// Runs `command` through /bin/sh: its stdout in `out`, its exit status; `output` is left empty.
inline Exec run_stdout(const std::string& command) {
  Exec e;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return e;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) e.out.append(buf, n);
  int st = ::pclose(p);
  e.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return e;
}

// `args` go through /bin/sh: quote what needs quoting. `env` is prefixed ("PATH=/x"); `prefix`
// runs the binary under another program ("/usr/bin/setpriv ... "), "" for none.
inline Exec run_memplace_under(const std::string& prefix, const std::string& args,
                               const std::string& env = "") {
  namespace fs = std::filesystem;
  std::string err_file =
      (fs::temp_directory_path() / ("memplace-exec-" + std::to_string(::getpid()) + ".err"))
          .string();
  Exec e = run_stdout((env.empty() ? "" : "env " + env + " ") + prefix + MEMPLACE_BINARY + " " +
                      args + " 2>" + err_file);
  e.output = e.out + slurp(err_file);
  fs::remove(err_file);
  return e;
}

inline Exec run_memplace(const std::string& args, const std::string& env = "") {
  return run_memplace_under("", args, env);
}

// Runs `command` through /bin/sh, stdout and stderr interleaved in `output` as they came.
inline Exec run_shell(const std::string& command) {
  Exec e = run_stdout(command + " 2>&1");
  e.output = std::move(e.out);
  e.out.clear();
  return e;
}

// Whether the tools a testbed boot needs are here; `missing` names the first that is not. Tests
// skip only where one is truly absent.
inline bool have_testbed_tools(std::string* missing) {
  for (const char* tool : {"qemu-system-x86_64", "apt-get", "dpkg-deb", "xz"}) {
    auto r = run_command({"sh", "-c", std::string("command -v ") + tool});
    if (!r || r->exit_code != 0) {
      *missing = tool;
      return false;
    }
  }
  if (!std::filesystem::exists("/bin/busybox")) {
    *missing = "/bin/busybox (busybox-static)";
    return false;
  }
  return true;
}

}  // namespace memplace::testing

// The e2e tests name these e2e::...
namespace memplace::e2e {
using testing::Exec;
using testing::fresh_temp_dir;
using testing::run_memplace;
using testing::run_memplace_under;
using testing::write_text;
}  // namespace memplace::e2e
