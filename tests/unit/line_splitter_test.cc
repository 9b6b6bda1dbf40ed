// SPDX-License-Identifier: GPL-2.0-only
#include "base/line_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace memplace {
namespace {

std::vector<std::string> feed_all(LineSplitter& s, const std::vector<std::string>& chunks) {
  std::vector<std::string> lines;
  for (const auto& c : chunks) s.feed(c, [&](std::string_view l) { lines.emplace_back(l); });
  return lines;
}

TEST(LineSplitter, JoinsChunksIntoLines) {
  LineSplitter s;
  auto lines = feed_all(s, {"{\"a\":", "1}\n{\"b\"", ":2}\n", "tail"});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "{\"a\":1}");
  EXPECT_EQ(lines[1], "{\"b\":2}");
  EXPECT_EQ(s.pending(), "tail");
}

TEST(LineSplitter, DropsAnOverLongLineAndRecoversAtItsNewline) {
  // A hostile guest writing without newlines must not grow the host's buffer without bound.
  LineSplitter s;
  std::string mib(1 << 20, 'x');
  std::vector<std::string> lines;
  for (size_t i = 0; i < (LineSplitter::kMaxLineBytes >> 20) + 2; ++i)
    s.feed(mib, [&](std::string_view l) { lines.emplace_back(l); });
  EXPECT_LE(s.pending().size(), LineSplitter::kMaxLineBytes);
  s.feed("still the long line\n{\"ok\":1}\n", [&](std::string_view l) { lines.emplace_back(l); });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "<guest line over 32 MiB dropped>");
  EXPECT_EQ(lines[1], "{\"ok\":1}");
}

// The qemu toucher's channel uses the agent protocol's much smaller limit; its placeholder says so.
TEST(LineSplitter, ASmallerLimitNamesItsSize) {
  LineSplitter s(64 * 1024);
  std::vector<std::string> lines;
  s.feed(std::string(64 * 1024 + 1, 'x'), [&](std::string_view l) { lines.emplace_back(l); });
  s.feed("\nnext\n", [&](std::string_view l) { lines.emplace_back(l); });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "<guest line over 64 KiB dropped>");
  EXPECT_EQ(lines[1], "next");
}

}  // namespace
}  // namespace memplace
