// SPDX-License-Identifier: GPL-2.0-only
// The one parser for JSON memplace did not write: depth is refused before a tree exists, because
// copying or dumping a json value recurses once per level (issue 14: a guest line 300,000 deep
// killed the host with SIGSEGV).
#include "base/json_bounded.h"

#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace memplace {
namespace {

using testing::nested;

TEST(JsonBounded, CountsNestingOutsideStringsOnly) {
  EXPECT_EQ(json_nesting_depth("1"), 0);
  EXPECT_EQ(json_nesting_depth(R"({"a":[1,{"b":[]}]})"), 4);
  // Brackets inside strings, escaped quotes included, are text.
  EXPECT_EQ(json_nesting_depth(R"({"a":"[[[[\"[[[{{{"})"), 1);
  EXPECT_EQ(json_nesting_depth(nested(64)), 64);
  // Counting stops just past the limit: a 300,000-deep line costs nothing extra.
  EXPECT_EQ(json_nesting_depth(nested(300000), 64), 65);
}

TEST(JsonBounded, AcceptsTheLimitAndRefusesOneMoreByName) {
  auto ok = parse_json_bounded(nested(kMaxJsonDepth));
  ASSERT_TRUE(ok.ok()) << ok.error().describe();
  nlohmann::json copy = *ok;  // copying what was accepted is safe
  EXPECT_EQ(copy.dump().size(), 2u * kMaxJsonDepth + 1);

  auto deep = parse_json_bounded(nested(kMaxJsonDepth + 1));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().message, "JSON nested deeper than 64 levels");
}

TEST(JsonBounded, HostileDepthIsRefusedWithoutCrashing) {
  std::string line = R"({"run_id":"r0001","extra":)" + nested(300000, "{}") + "}";
  auto j = parse_json_bounded(line);
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.error().message.find("nested deeper"), std::string::npos);
}

TEST(JsonBounded, MalformedTextIsNamed) {
  for (const char* text : {"", "{", "{\"a\": }", "\x01\xff garbage", "[1,2]]"}) {
    auto j = parse_json_bounded(text);
    ASSERT_FALSE(j.ok()) << text;
    EXPECT_EQ(j.error().message, "malformed JSON") << text;
  }
  auto j = parse_json_bounded(R"({"a":[1,2,{"b":"c"}]})");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["a"][2]["b"], "c");
}

}  // namespace
}  // namespace memplace
