// SPDX-License-Identifier: GPL-2.0-only
// The spec's numbers through one set of validators (issue 14 items 2 and 10): what the CLI
// accepts is what spec.toml accepts, and what is written there reads back bit for bit.
#include "spec/spec_ranges.h"

#include <gtest/gtest.h>

#include "spec/spec.h"
#include "spec/spec_keys.h"

namespace memplace {
namespace {

// A flag's value goes through its key in the table (set_key_from_text), as TOML's does.
Status flag_value(const char* section, const char* key, const char* value, const char* flag) {
  Spec spec = default_spec();
  return set_key_from_text(*find_spec_key(section, key), value, flag, spec);
}

TEST(SpecRanges, TomlAndFlagsShareTheLimits) {
  EXPECT_TRUE(flag_value("matrix", "repeats", "10000", "--repeats").ok());
  auto r = flag_value("matrix", "repeats", "10001", "--repeats");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "--repeats: must be 1..10000, got 10001");
  auto toml = parse_spec("[matrix]\nrepeats = 10001\n", "t.toml");
  ASSERT_FALSE(toml.ok());
  EXPECT_EQ(toml.error().message, "matrix.repeats: must be 1..10000, got 10001");

  EXPECT_FALSE(flag_value("run", "sample_interval_ms", "70000", "--sample-interval-ms").ok());
  EXPECT_FALSE(parse_spec("[run]\nsample_interval_ms = 70000\n", "t.toml").ok());
  EXPECT_FALSE(check_threads(0, "--threads").ok());
  EXPECT_FALSE(check_threads(1025, "--threads").ok());
  EXPECT_FALSE(check_tolerance(1.0, "--tolerance").ok());
  EXPECT_FALSE(check_tolerance(0.0, "--tolerance").ok());
  EXPECT_TRUE(check_tolerance(0.0123456789, "--tolerance").ok());
}

TEST(SpecRanges, AMatrixTooLargeToExpandIsRefusedBeforeExpanding) {
  Spec spec = default_spec();
  spec.repeats = kMaxRepeats;
  spec.sizes = std::vector<uint64_t>(11, 4096);
  for (size_t i = 0; i < spec.sizes.size(); ++i) spec.sizes[i] = 4096 * (i + 1);
  auto s = check_spec(spec);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("more than 100000 runs"), std::string::npos);
  spec.sizes.resize(10);
  EXPECT_TRUE(check_spec(spec).ok());
}

// Item 10: 0.0123456789 came back as 0.0123457, so a resumed run judged differently.
TEST(SpecRanges, TolerancesRoundTripExactly) {
  for (double t : {0.05, 0.0123456789, 0.1 + 0.2 - 0.25, 1e-7, 0.9999999999999999}) {
    Spec spec = default_spec();
    spec.tolerance = t;
    std::string text = render_spec_toml(spec);
    auto back = parse_spec(text, "rendered.toml");
    ASSERT_TRUE(back.ok()) << back.error().describe() << "\n" << text;
    EXPECT_EQ(back->tolerance, t) << text;
  }
}

}  // namespace
}  // namespace memplace
