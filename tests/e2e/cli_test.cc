// SPDX-License-Identifier: GPL-2.0-only
// The command line reads what the user meant, or says what it cannot: no flag swallows the spec
// file, lists are comma-separated and repeatable, node lists take numactl's syntax, a value is
// checked while parsing, and --help and --version say what a user needs.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "memplace_exec.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;
using testing::fresh_temp_dir;
using testing::run_memplace;

const std::string kSpec = std::string(MEMPLACE_SOURCE_DIR) + "/specs/local-node0.toml";

// The cell lines a --dry-run prints ("bind:0/anon/host/64MiB/t1/cpuany #0").
int cell_lines(const std::string& output) {
  int n = 0;
  for (size_t at = output.find(" #"); at != std::string::npos; at = output.find(" #", at + 1)) ++n;
  return n;
}

TEST(Cli, AListFlagNeverSwallowsTheSpecFile) {
  auto e = run_memplace("run --dry-run --size 4MiB --backing anon " + kSpec);
  ASSERT_EQ(e.status, 0) << e.output;
  EXPECT_EQ(e.output.find("unknown backing"), std::string::npos) << e.output;
  EXPECT_NE(e.output.find("/anon/host/4MiB/"), std::string::npos) << e.output;
}

TEST(Cli, TwoValuesAfterOneFlagAreRefusedNotRunAsTwoSizes) {
  auto e = run_memplace("run --dry-run --size 4MiB 8MiB");
  EXPECT_EQ(e.status, 2) << e.output;
  EXPECT_EQ(e.output.find("8MiB/t1"), std::string::npos) << e.output;
}

TEST(Cli, CommasAndRepeatsAreOneRule) {
  auto commas = run_memplace("run --dry-run --backing anon,shmem --size 4MiB,8MiB");
  auto repeats =
      run_memplace("run --dry-run --backing anon --backing shmem --size 4MiB --size 8MiB");
  ASSERT_EQ(commas.status, 0) << commas.output;
  ASSERT_EQ(repeats.status, 0) << repeats.output;
  EXPECT_EQ(cell_lines(commas.output), 4) << commas.output;
  EXPECT_EQ(cell_lines(repeats.output), 4) << repeats.output;
  // A policy's own node list keeps its commas: two policies, not three.
  auto policies = run_memplace(
      "run --dry-run --testbed --node-count 3 --kernel debian:7.3 --size 4MiB "
      "--policy interleave:0,2,bind:1");
  ASSERT_EQ(policies.status, 0) << policies.output;
  EXPECT_NE(policies.output.find("interleave:0,2/"), std::string::npos) << policies.output;
  EXPECT_NE(policies.output.find("bind:1/"), std::string::npos) << policies.output;
}

TEST(Cli, NodeListsTakeNumactlsSyntax) {
  auto all = run_memplace("run --dry-run --policy interleave --nodes all --size 4MiB");
  ASSERT_EQ(all.status, 0) << all.output;
  EXPECT_NE(all.output.find("interleave:0"), std::string::npos) << all.output;
  // In a testbed the guest's nodes count: "all" of a 3-node testbed, "!1" and "+1".
  auto tb = run_memplace(
      "run --dry-run --testbed --node-count 3 --kernel debian:7.3 --size 4MiB "
      "--policy interleave:all,bind:!1,preferred:+1");
  ASSERT_EQ(tb.status, 0) << tb.output;
  EXPECT_NE(tb.output.find("interleave:0-2/"), std::string::npos) << tb.output;
  EXPECT_NE(tb.output.find("bind:0,2/"), std::string::npos) << tb.output;
  EXPECT_NE(tb.output.find("preferred:1/"), std::string::npos) << tb.output;
  auto none = run_memplace("run --dry-run --policy bind --nodes '!0-4095' --size 4MiB");
  EXPECT_EQ(none.status, 2) << none.output;
  EXPECT_NE(none.output.find("leaves no node"), std::string::npos) << none.output;
}

TEST(Cli, ASingleValuedFlagGivenTwiceAndAnOldSpellingAreNamed) {
  auto twice = run_memplace("run --dry-run --repeats 2 --repeats 3");
  EXPECT_EQ(twice.status, 2) << twice.output;
  EXPECT_NE(twice.output.find("--repeats: takes one value, got 2"), std::string::npos);
  auto old = run_memplace("run --dry-run --workload triad --size 4MiB");
  EXPECT_EQ(old.status, 0) << old.output;
  EXPECT_NE(old.output.find("--workload is the old name of --locality"), std::string::npos);
}

TEST(Cli, EnumerationsAreCheckedBeforeAnyDirIsRead) {
  auto e = run_memplace("compare --format xml /nonexistent-a /nonexistent-b");
  EXPECT_EQ(e.status, 2) << e.output;
  EXPECT_NE(e.output.find("xml"), std::string::npos) << e.output;
}

TEST(Cli, HelpShowsDefaultsAndExitCodesAndVersionItsRevision) {
  auto help = run_memplace("run --help");
  ASSERT_EQ(help.status, 0) << help.output;
  EXPECT_NE(help.output.find("[default: 64MiB]"), std::string::npos) << help.output;
  EXPECT_NE(help.output.find("Exit status: 0 done; 1 a gate failed"), std::string::npos);
  auto version = run_memplace("--version");
  ASSERT_EQ(version.status, 0) << version.output;
  EXPECT_NE(version.output.find("(revision "), std::string::npos) << version.output;
}

TEST(Cli, MergeTakesOutLikeEveryCommandAndTheOldFormWarns) {
  const std::string root = fresh_temp_dir("cli-merge");
  fs::create_directories(root);
  auto base = run_memplace("run -q --no-plots --size 4MiB --out " + root + "/base");
  ASSERT_EQ(base.status, 0) << base.output;
  auto merged = run_memplace("merge --out " + root + "/m1 " + root + "/base");
  EXPECT_EQ(merged.status, 0) << merged.output;
  EXPECT_TRUE(fs::exists(root + "/m1/runs.jsonl"));
  auto old = run_memplace("merge " + root + "/m2 " + root + "/base");
  EXPECT_EQ(old.status, 0) << old.output;
  EXPECT_NE(old.output.find("old form"), std::string::npos) << old.output;
  EXPECT_TRUE(fs::exists(root + "/m2/runs.jsonl"));
  fs::remove_all(root);
}

}  // namespace
}  // namespace memplace
