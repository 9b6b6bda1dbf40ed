// SPDX-License-Identifier: GPL-2.0-only
#include "spec/shard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "spec/spec.h"

namespace memplace {
namespace {

// 4 policies x 2 backings x 2 repeats, as the Slurm test runs it.
Spec sixteen_runs() {
  auto spec = parse_spec(R"(
name = "shards"
[matrix]
policy = ["default", "bind:0", "interleave:0", "preferred:0"]
backing = ["anon", "shmem"]
toucher = ["host"]
size = ["32MiB"]
repeats = 2
)",
                         "test");
  EXPECT_TRUE(spec.ok()) << spec.error().describe();
  return *spec;
}

TEST(ParseShard, TakesKOfN) {
  auto s = parse_shard("2/4", "--shard");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->index, 2);
  EXPECT_EQ(s->count, 4);
  EXPECT_EQ(shard_text(*s), "2/4");
  EXPECT_TRUE(parse_shard("1/1", "--shard").ok());
  EXPECT_TRUE(parse_shard("100000/100000", "--shard").ok());
}

TEST(ParseShard, RefusesWhatIsNotKOfN) {
  for (const char* bad : {"0/4", "5/4", "1/0", "a/b", "", "4", "/4", "1/", "1/4x", "-1/4", "1/-4",
                          " 1/4", "1//4", "1/100001", "99999999999/1"}) {
    auto s = parse_shard(bad, "--shard");
    ASSERT_FALSE(s.ok()) << "accepted '" << bad << "'";
    EXPECT_NE(s.error().message.find("--shard"), std::string::npos) << s.error().message;
  }
}

TEST(ShardCells, EveryRunInExactlyOneShardAndSlicesBalanced) {
  std::vector<Cell> all = expand(sixteen_runs());
  ASSERT_EQ(all.size(), 16u);
  std::set<std::string> every;
  for (const auto& c : all) every.insert(run_key(c));
  for (int n = 1; n <= 17; ++n) {
    std::multiset<std::string> seen;
    size_t smallest = all.size(), largest = 0;
    for (int k = 1; k <= n; ++k) {
      auto mine = shard_cells(all, Shard{k, n});
      smallest = std::min(smallest, mine.size());
      largest = std::max(largest, mine.size());
      for (const auto& c : mine) seen.insert(run_key(c));
    }
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), every) << "N=" << n;
    EXPECT_EQ(seen.size(), all.size()) << "a run in two shards, N=" << n;
    EXPECT_LE(largest - smallest, 1u) << "N=" << n;
  }
}

TEST(ShardCells, SplitsRepeatsOfOneCellAcrossShards) {
  // The key includes the repeat, so two repeats of a cell are two runs that may go apart.
  std::vector<Cell> all = expand(sixteen_runs());
  std::vector<std::string> keys;
  for (const auto& c : all) keys.push_back(run_key(c));
  auto shards = assign_shards(keys, 4);
  bool apart = false;
  for (size_t i = 0; i + 1 < all.size(); i += 2) apart = apart || shards[i] != shards[i + 1];
  EXPECT_TRUE(apart);
}

TEST(AssignShards, DependsOnTheKeysNotTheirOrder) {
  std::vector<std::string> keys;
  for (int i = 0; i < 50; ++i) keys.push_back("cell" + std::to_string(i) + "#0");
  auto forward = assign_shards(keys, 7);
  std::vector<std::string> reversed(keys.rbegin(), keys.rend());
  auto backward = assign_shards(reversed, 7);
  for (size_t i = 0; i < keys.size(); ++i)
    EXPECT_EQ(forward[i], backward[keys.size() - 1 - i]) << keys[i];
  // A key listed twice is one run, in one shard.
  auto twice = assign_shards({"a#0", "b#0", "a#0"}, 2);
  EXPECT_EQ(twice[0], twice[2]);
  EXPECT_NE(twice[0], twice[1]);
}

TEST(ShardCells, TestbedKernelsArePartOfTheKey) {
  std::vector<Cell> all = expand(sixteen_runs());
  std::vector<std::string> kernels = {"debian:6.18", "debian:7.3", "debian:7.3"};
  for (int n : {1, 3, 5}) {
    size_t total = 0;
    std::set<std::string> seen;
    for (int k = 1; k <= n; ++k) {
      for (size_t kern = 0; kern < kernels.size(); ++kern) {
        for (const auto& c : shard_cells_for_kernel(all, kernels, kern, Shard{k, n})) {
          ++total;
          seen.insert(std::to_string(kern) + "|" + run_key(c));
        }
      }
    }
    // Every (kernel, run) once, the kernel given twice included.
    EXPECT_EQ(total, all.size() * kernels.size()) << "N=" << n;
    EXPECT_EQ(seen.size(), all.size() * kernels.size()) << "N=" << n;
  }
  // With one shard per run of the whole product, each kernel gets only part of its matrix.
  auto mine = shard_cells_for_kernel(all, kernels, 0, Shard{1, 3});
  EXPECT_LT(mine.size(), all.size());
  EXPECT_GT(mine.size(), 0u);
}

TEST(SelectRuns, KeepsTheListedRunsInMatrixOrder) {
  std::vector<Cell> all = expand(sixteen_runs());
  auto picked = select_runs(all, {run_key(all[5]), run_key(all[2]), "not-a-run#0"});
  ASSERT_EQ(picked.size(), 2u);
  EXPECT_EQ(run_key(picked[0]), run_key(all[2]));
  EXPECT_EQ(run_key(picked[1]), run_key(all[5]));
}

TEST(SpecShard, RoundTripsThroughTomlAndStaysOutOfTheGuestSpec) {
  std::string text = render_spec_toml(sixteen_runs());
  EXPECT_EQ(text.find("shard ="), std::string::npos);
  Spec s = sixteen_runs();
  s.shard = Shard{3, 4};
  std::string with = render_spec_toml(s);
  EXPECT_NE(with.find("shard = \"3/4\""), std::string::npos) << with;
  auto back = parse_spec(with, "rendered");
  ASSERT_TRUE(back.ok()) << back.error().describe();
  ASSERT_TRUE(back->shard.has_value());
  EXPECT_EQ(*back->shard, (Shard{3, 4}));
  EXPECT_EQ(render_spec_toml(s, false).find("shard ="), std::string::npos);
}

TEST(SpecShard, BadShardNamesTheField) {
  for (const char* bad : {"\"0/4\"", "\"5/4\"", "\"1/0\"", "\"a/b\"", "2"}) {
    auto s = parse_spec(std::string("[run]\nshard = ") + bad + "\n", "t.toml");
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.error().message.find("run.shard"), std::string::npos) << s.error().message;
  }
}

}  // namespace
}  // namespace memplace
