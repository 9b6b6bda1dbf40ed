// SPDX-License-Identifier: GPL-2.0-only
// A test hook: another process that allocates memory on one node while a cell's touch runs, so
// a test can show that the host-wide meminfo delta moves with it while the trace and cgroup
// sources (which count the toucher's tasks only) do not. MEMPLACE_TEST_NOISE="256MiB@0" turns it
// on; records made with it say so in extra.test_noise.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "base/subprocess.h"
#include "base/unique_fd.h"

namespace memplace {

struct NoiseSpec {
  uint64_t bytes = 0;
  int node = 0;
};
// "256MiB@0" -> 256 MiB bound to node 0; errors name the variable.
Result<NoiseSpec> parse_noise_spec(const std::string& text);
// From MEMPLACE_TEST_NOISE, when set.
Result<std::optional<NoiseSpec>> noise_from_env();

class NoiseProcess {
 public:
  // Forks and execs the child (memplace's own binary, `noise-process`), which maps and binds its
  // memory and waits; returns once it is ready. Nothing is touched yet.
  static Result<NoiseProcess> start(const NoiseSpec& spec);
  // Lets it touch every page.
  Status go();
  // Waits (at most `timeout_ms`) until every page is touched.
  Status wait_done(int timeout_ms);
  pid_t pid() const { return child_.pid(); }

 private:
  Status wait_for(char what, int timeout_ms);
  NoiseProcess(ForkedChild child, UniqueFd go, UniqueFd done)
      : child_(std::move(child)), go_(std::move(go)), done_(std::move(done)) {}
  ForkedChild child_;
  UniqueFd go_, done_;
};

// The exec'd child: SPEC ("256MiB@0"), the pipe ends it inherited. Returns its exit code.
int noise_process_main(const std::string& spec_text, int go_fd, int done_fd);

}  // namespace memplace
