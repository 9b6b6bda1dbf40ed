// SPDX-License-Identifier: GPL-2.0-only
#include "base/nodelist.h"

#include <gtest/gtest.h>

namespace memplace {
namespace {

std::vector<int> ok(std::string_view s) {
  auto r = parse_id_list(s);
  EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error().describe());
  return r.ok() ? *r : std::vector<int>{};
}

TEST(NodeList, SingleRangeAndMixes) {
  EXPECT_EQ(ok("0"), (std::vector<int>{0}));
  EXPECT_EQ(ok("0-1"), (std::vector<int>{0, 1}));
  EXPECT_EQ(ok("0,2"), (std::vector<int>{0, 2}));
  EXPECT_EQ(ok("0-3,8-11"), (std::vector<int>{0, 1, 2, 3, 8, 9, 10, 11}));
  EXPECT_EQ(ok("5-5"), (std::vector<int>{5}));
}

TEST(NodeList, SortsDeduplicatesAndTrims) {
  EXPECT_EQ(ok(" 3,1,1-2 \n"), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(ok("0-1\n"), (std::vector<int>{0, 1}));
  EXPECT_EQ(ok("0 - 2"), (std::vector<int>{0, 1, 2}));
}

TEST(NodeList, RejectsBadInputNamingTheToken) {
  struct Case {
    const char* text;
    const char* mentions;
  } cases[] = {
      {"", "empty"},
      {"  \n", "empty"},
      {"1,", "empty element"},
      {",1", "empty element"},
      {"3-1", "reversed range \"3-1\""},
      {"-1", "negative id \"-1\""},
      {"a", "bad id \"a\""},
      {"0-x", "bad id \"x\""},
      {"0;1", "bad id \"0;1\""},
      {"4096", "exceeds"},
      {"0-", "empty id"},
      {"1.5", "bad id"},
  };
  for (const auto& c : cases) {
    auto r = parse_id_list(c.text);
    ASSERT_FALSE(r.ok()) << "accepted \"" << c.text << "\"";
    EXPECT_NE(r.error().message.find(c.mentions), std::string::npos)
        << "\"" << c.text << "\" -> " << r.error().message;
  }
}

TEST(NodeList, MaxIdIsInclusive) {
  EXPECT_TRUE(parse_id_list("7", 7).ok());
  EXPECT_FALSE(parse_id_list("8", 7).ok());
  EXPECT_FALSE(parse_id_list("0-8", 7).ok());
}

TEST(NodeList, FormatCollapsesRuns) {
  EXPECT_EQ(format_id_list({}), "");
  EXPECT_EQ(format_id_list({0}), "0");
  EXPECT_EQ(format_id_list({0, 1, 2, 5}), "0-2,5");
  EXPECT_EQ(format_id_list({0, 2}), "0,2");
  EXPECT_EQ(format_id_list({5, 0, 1, 1}), "0-1,5");
}

TEST(NodeList, FormatRoundTrips) {
  for (const char* s : {"0", "0-1", "0,2", "0-3,8-11", "1,3,5-7"}) {
    EXPECT_EQ(format_id_list(ok(s)), s);
  }
}

}  // namespace
}  // namespace memplace
