// SPDX-License-Identifier: GPL-2.0-only
// The time limit every touch runs under, and how a timeout reads.
#include <gtest/gtest.h>

#include "touchers/toucher.h"

namespace memplace {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(DefaultToucherTimeout, IsTwoMinutesPlusOnePerStartedGiB) {
  EXPECT_EQ(default_toucher_timeout(0), seconds(120));
  EXPECT_EQ(default_toucher_timeout(64ull << 20), seconds(180));
  EXPECT_EQ(default_toucher_timeout(1ull << 30), seconds(180));
  EXPECT_EQ(default_toucher_timeout((1ull << 30) + 4096), seconds(240));
  EXPECT_EQ(default_toucher_timeout(256ull << 30), seconds(120 + 256 * 60));
}

TEST(ToucherTimeoutFor, ConfiguredWinsOverTheDefault) {
  Cell cell;
  cell.size_bytes = 4ull << 30;
  EXPECT_EQ(toucher_timeout_for(cell, std::nullopt), seconds(360));
  EXPECT_EQ(toucher_timeout_for(cell, seconds(5)), seconds(5));
}

TEST(TimedOutMessage, WholeAndFractionalSeconds) {
  EXPECT_EQ(timed_out_message("vcpu", seconds(2)), "vcpu toucher timed out after 2 s");
  EXPECT_EQ(timed_out_message("host", milliseconds(250)), "host toucher timed out after 0.25 s");
  EXPECT_EQ(timed_out_message("host", milliseconds(0)), "host toucher timed out after 0 s");
}

}  // namespace
}  // namespace memplace
