// Running the memplace binary from a test: exit status and the combined stdout/stderr.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace memplace::testing {

struct Exec {
  int status = -1;  // the exit code, or -1 when killed by a signal
  std::string output;
};

// `args` go through sh, as a user would type them.
inline Exec run_memplace(const std::string& args, const std::string& env = "") {
  std::string cmd = env + (env.empty() ? "" : " ") + MEMPLACE_BINARY + " " + args + " 2>&1";
  Exec e;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return e;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) e.output.append(buf, n);
  int st = ::pclose(p);
  e.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return e;
}

// A path under /tmp unique to this test process, not yet existing.
inline std::string fresh_temp_path(const std::string& name) {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("memplace-test-" + name + "-" + std::to_string(::getpid())))
                        .string();
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace memplace::testing
