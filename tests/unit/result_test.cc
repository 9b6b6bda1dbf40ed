// SPDX-License-Identifier: GPL-2.0-only
#include "base/result.h"

#include <gtest/gtest.h>

namespace memplace {
namespace {

Result<int> half(int v) {
  if (v % 2) return make_error("odd value " + std::to_string(v));
  return v / 2;
}

TEST(Result, CarriesValueOrError) {
  auto ok = half(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 4);
  auto bad = half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().describe(), "odd value 3");
}

TEST(Result, ErrnoErrorKeepsErrno) {
  errno = ENOENT;
  Error e = errno_error("open /nonexistent");
  EXPECT_EQ(e.err, ENOENT);
  EXPECT_NE(e.describe().find("errno 2"), std::string::npos);
  Status s = e;
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.error().err, ENOENT);
}

// The kind travels with the error through added context, and an unsupported error says so when
// described: records and dry runs show "unsupported: <why>".
TEST(Result, KindSurvivesContextAndUnsupportedIsDescribedAsSuch) {
  Error e = unsupported_error("no KVM", ENOENT);
  EXPECT_EQ(e.kind, ErrorKind::kUnsupported);
  Error outer = e.prefixed("touch: ");
  EXPECT_EQ(outer.kind, ErrorKind::kUnsupported);
  EXPECT_EQ(outer.err, ENOENT);
  EXPECT_EQ(outer.message, "touch: no KVM");
  EXPECT_EQ(e.describe().rfind("unsupported: no KVM: ", 0), 0u) << e.describe();
  EXPECT_EQ(make_error("late", ErrorKind::kTimeout).describe(), "late");
  EXPECT_EQ(make_error("plain").kind, ErrorKind::kFailed);
}

}  // namespace
}  // namespace memplace
