// Running the memplace binary from e2e tests: its exit status and everything it printed.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "golden.h"

namespace memplace::e2e {

struct Exec {
  int status = -1;     // exit status; -1 when killed by a signal
  std::string output;  // stdout and stderr together
  std::string out;     // stdout alone (`memplace slurm` prints its job ids there)
};

// `args` go through /bin/sh: quote what needs quoting. `env` is prefixed ("PATH=/x").
inline Exec run_memplace(const std::string& args, const std::string& env = "") {
  namespace fs = std::filesystem;
  std::string err_file = (fs::temp_directory_path() /
                          ("memplace-exec-" + std::to_string(::getpid()) + ".err"))
                             .string();
  std::string cmd =
      (env.empty() ? "" : "env " + env + " ") + MEMPLACE_BINARY + " " + args + " 2>" + err_file;
  Exec e;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return e;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) e.out.append(buf, n);
  int st = ::pclose(p);
  e.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  e.output = e.out + testing::slurp(err_file);
  fs::remove(err_file);
  return e;
}

// A fresh directory path under the temp dir, removed first if an earlier run left it.
inline std::string fresh_temp_dir(const std::string& name) {
  namespace fs = std::filesystem;
  std::string dir =
      (fs::temp_directory_path() / ("memplace-" + name + "-" + std::to_string(::getpid())))
          .string();
  fs::remove_all(dir);
  return dir;
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

}  // namespace memplace::e2e
