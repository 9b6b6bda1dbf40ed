// SPDX-License-Identifier: GPL-2.0-only
// One signal guard for the matrix, the testbed and qemu cells: nested guards see one record, a
// handler installed before memplace's still runs, and a guard that re-raises does so only when
// nothing above it accounts for the signal.
#include "base/stop_signals.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>

namespace memplace {
namespace {

std::atomic<int> g_foreign{0};
void foreign_handler(int sig) {
  g_foreign.store(sig);
}

TEST(StopSignalGuard, NestedGuardsShareTheSignalAndTheOutermostRestores) {
  struct sigaction before {};
  sigaction(SIGTERM, nullptr, &before);
  {
    StopSignalGuard outer;
    EXPECT_EQ(StopSignalGuard::received(), 0);
    {
      StopSignalGuard inner(StopSignalGuard::Unclaimed::kReraise);
      raise(SIGTERM);
      EXPECT_EQ(StopSignalGuard::received(), SIGTERM);
    }
    // The inner guard neither re-raised (we are alive) nor cleared what the outer one sees.
    EXPECT_EQ(StopSignalGuard::received(), SIGTERM);
  }
  struct sigaction after {};
  sigaction(SIGTERM, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
  StopSignalGuard fresh;
  EXPECT_EQ(StopSignalGuard::received(), 0) << "a new outermost guard starts clean";
}

TEST(StopSignalGuard, AHandlerInstalledBeforeIsStillCalled) {
  struct sigaction sa {
  }, old{};
  sa.sa_handler = foreign_handler;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGINT, &sa, &old), 0);
  g_foreign = 0;
  {
    StopSignalGuard guard(StopSignalGuard::Unclaimed::kReraise);
    raise(SIGINT);
    EXPECT_EQ(StopSignalGuard::received(), SIGINT);
    EXPECT_EQ(g_foreign.load(), SIGINT);
  }
  // Not re-raised: the earlier disposition was a handler, which has had the signal.
  EXPECT_EQ(g_foreign.load(), SIGINT);
  sigaction(SIGINT, &old, nullptr);
}

TEST(StopSignalGuard, ReraisesAtScopeExitWhenTheDefaultWouldHaveKilled) {
  EXPECT_EXIT(
      {
        signal(SIGTERM, SIG_DFL);
        {
          StopSignalGuard guard(StopSignalGuard::Unclaimed::kReraise);
          raise(SIGTERM);
          if (StopSignalGuard::received() != SIGTERM) _exit(3);
        }
        _exit(0);  // not reached when the signal is raised again
      },
      ::testing::KilledBySignal(SIGTERM), "");
  EXPECT_EXIT(
      {
        signal(SIGTERM, SIG_DFL);
        {
          StopSignalGuard guard;  // the caller accounts for it
          raise(SIGTERM);
        }
        _exit(StopSignalGuard::received() == SIGTERM ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace memplace
