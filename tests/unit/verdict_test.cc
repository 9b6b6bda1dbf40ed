// SPDX-License-Identifier: GPL-2.0-only
#include "experiment/verdict.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace memplace {
namespace {

using testing::kMiB;

Cell cell(PolicyMode mode, std::vector<int> nodes, uint64_t size = 64 * kMiB) {
  Cell c;
  c.policy = mode;
  c.nodes = std::move(nodes);
  c.size_bytes = size;
  return c;
}

VerdictInputs two_nodes(int toucher_node = 0) {
  VerdictInputs in;
  in.host_nodes = {0, 1};
  in.toucher_node = toucher_node;
  in.free_bytes = {{0, 8192 * kMiB}, {1, 8192 * kMiB}};
  return in;
}

TEST(ExpectedSplit, DefaultFollowsTheTouchingCpu) {
  auto e = expected_split(cell(PolicyMode::kDefault, {}), two_nodes(1));
  EXPECT_EQ(e, (std::map<int, double>{{1, 1.0}}));
}

TEST(ExpectedSplit, DefaultSpillsWhenTheLocalNodeIsFull) {
  auto in = two_nodes(0);
  in.free_bytes[0] = 16 * kMiB;
  auto e = expected_split(cell(PolicyMode::kDefault, {}), in);
  EXPECT_DOUBLE_EQ(e[0], 0.25);
  EXPECT_DOUBLE_EQ(e[1], 0.75);
}

TEST(ExpectedSplit, BindPrefersTheLocalNodeInsideTheMask) {
  EXPECT_EQ(expected_split(cell(PolicyMode::kBind, {1}), two_nodes(0)),
            (std::map<int, double>{{1, 1.0}}));
  EXPECT_EQ(expected_split(cell(PolicyMode::kBind, {0, 1}), two_nodes(1)),
            (std::map<int, double>{{1, 1.0}}));
}

TEST(ExpectedSplit, InterleaveIsEqualAndWeightedFollowsWeights) {
  auto e = expected_split(cell(PolicyMode::kInterleave, {0, 1}), two_nodes());
  EXPECT_DOUBLE_EQ(e[0], 0.5);
  EXPECT_DOUBLE_EQ(e[1], 0.5);
  auto in = two_nodes();
  in.interleave_weights = {{0, 3}, {1, 1}};
  auto w = expected_split(cell(PolicyMode::kWeightedInterleave, {0, 1}), in);
  EXPECT_DOUBLE_EQ(w[0], 0.75);
  EXPECT_DOUBLE_EQ(w[1], 0.25);
}

TEST(ExpectedSplit, PreferredGoesToItsNode) {
  EXPECT_EQ(expected_split(cell(PolicyMode::kPreferred, {1}), two_nodes(0)),
            (std::map<int, double>{{1, 1.0}}));
}

TEST(Judge, CoverLetterWithTheSeriesIsHonored) {
  // 50 GB interleaved, landing 25,604 / 25,707 MB as in the cover letter.
  auto v = judge(cell(PolicyMode::kInterleave, {0, 1}), {{0, 25604}, {1, 25707}}, two_nodes());
  EXPECT_TRUE(v.honored) << v.reason;
  EXPECT_LT(v.max_deviation, 0.01);
}

TEST(Judge, CoverLetterWithoutTheSeriesIsNotHonored) {
  // Everything on node 0: the generic kernel's behaviour.
  auto v = judge(cell(PolicyMode::kInterleave, {0, 1}), {{0, 51470}, {1, 0}}, two_nodes());
  EXPECT_FALSE(v.honored);
  EXPECT_NEAR(v.max_deviation, 0.5, 1e-9);
  EXPECT_NE(v.reason.find("NOT honored"), std::string::npos);
}

TEST(Judge, BindToTheWrongNodeIsCaught) {
  auto v = judge(cell(PolicyMode::kBind, {1}), {{0, 16384}}, two_nodes());
  EXPECT_FALSE(v.honored);
  EXPECT_DOUBLE_EQ(v.max_deviation, 1.0);
}

TEST(Judge, ToleranceIsRespected) {
  auto in = two_nodes();
  in.tolerance = 0.05;
  auto inside = judge(cell(PolicyMode::kInterleave, {0, 1}), {{0, 5400}, {1, 4600}}, in);
  EXPECT_TRUE(inside.honored) << inside.reason;
  auto outside = judge(cell(PolicyMode::kInterleave, {0, 1}), {{0, 5600}, {1, 4400}}, in);
  EXPECT_FALSE(outside.honored) << outside.reason;
}

TEST(Judge, NoPagesIsNeverHonored) {
  auto v = judge(cell(PolicyMode::kDefault, {}), {}, two_nodes());
  EXPECT_FALSE(v.honored);
}

TEST(Judge, SparseNodeIds) {
  VerdictInputs in;
  in.host_nodes = {0, 2};
  in.toucher_node = 2;
  auto v = judge(cell(PolicyMode::kDefault, {}), {{2, 100}}, in);
  EXPECT_TRUE(v.honored) << v.reason;
  EXPECT_EQ(v.expected, (std::map<int, double>{{2, 1.0}}));
}

}  // namespace
}  // namespace memplace
