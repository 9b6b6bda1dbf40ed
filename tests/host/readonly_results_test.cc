// SPDX-License-Identifier: GPL-2.0-only
// Reliability item 17: a results dir on a read-only filesystem was refused as "only 0 MiB free".
// In a private mount namespace a read-only tmpfs stands in for such a filesystem; the refusal
// must name it as read-only.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "host/preflight.h"

namespace memplace {
namespace {

TEST(ReadOnlyResults, TheRefusalSaysReadOnly) {
  char dir[] = "/tmp/memplace-ro-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // 77: no private mount namespace or tmpfs here (no CAP_SYS_ADMIN); the test cannot run.
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr))
      ::_exit(77);
    if (::mount("tmpfs", dir, "tmpfs", MS_RDONLY, "size=1m") != 0) ::_exit(77);
    auto s = check_results_disk(std::string(dir) + "/out", 1);
    ::_exit(!s.ok() && s.error().describe().find("read-only filesystem") != std::string::npos ? 0
                                                                                              : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::rmdir(dir);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "cannot mount a read-only tmpfs here";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the refusal does not say read-only filesystem";
}

}  // namespace
}  // namespace memplace
