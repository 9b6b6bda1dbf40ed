// SPDX-License-Identifier: GPL-2.0-only
// Pinning moves the calling thread only, -1 is a no-op, and a CPU that does not exist is an
// error that names it.
#include "base/thread_pin.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <thread>

namespace memplace {
namespace {

cpu_set_t affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  return set;
}

TEST(PinCurrentThread, PinsOnlyTheCallingThread) {
  cpu_set_t before = affinity();
  int first = -1;
  for (int c = 0; c < CPU_SETSIZE && first < 0; ++c)
    if (CPU_ISSET(c, &before)) first = c;
  ASSERT_GE(first, 0);
  int count_in_thread = 0;
  bool on_first = false;
  std::thread([&] {
    ASSERT_TRUE(pin_current_thread(first).ok());
    cpu_set_t now = affinity();
    count_in_thread = CPU_COUNT(&now);
    on_first = CPU_ISSET(first, &now);
  }).join();
  EXPECT_EQ(count_in_thread, 1);
  EXPECT_TRUE(on_first);
  cpu_set_t after = affinity();
  EXPECT_EQ(CPU_COUNT(&after), CPU_COUNT(&before)) << "the caller's affinity must not change";
}

TEST(PinCurrentThread, MinusOneLeavesTheThreadAloneAndAMissingCpuIsNamed) {
  cpu_set_t before = affinity();
  EXPECT_TRUE(pin_current_thread(-1).ok());
  cpu_set_t after = affinity();
  EXPECT_TRUE(CPU_EQUAL(&before, &after));
  auto s = pin_current_thread(CPU_SETSIZE - 1);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().describe().find(std::to_string(CPU_SETSIZE - 1)), std::string::npos);
}

}  // namespace
}  // namespace memplace
