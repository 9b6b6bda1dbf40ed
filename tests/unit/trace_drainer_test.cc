// SPDX-License-Identifier: GPL-2.0-only
// The trace transports' reader thread: it drains while running, and not once stop() returns.
#include "placement/trace_drainer.h"

#include <gtest/gtest.h>

#include <atomic>

namespace memplace {
namespace {

TEST(TraceDrainer, DrainsUntilStoppedAndNeverAfter) {
  std::atomic<int> calls{0};
  TraceDrainer drainer;
  drainer.start([&] { ++calls; }, std::chrono::milliseconds(1));
  while (calls < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  drainer.stop();
  const int at_stop = calls;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(calls, at_stop);
  drainer.stop();  // a second stop is a no-op
}

TEST(TraceDrainer, StopWakesItWithoutWaitingTheInterval) {
  TraceDrainer drainer;
  drainer.start([] {}, std::chrono::hours(1));
  const auto t0 = std::chrono::steady_clock::now();
  drainer.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

}  // namespace
}  // namespace memplace
