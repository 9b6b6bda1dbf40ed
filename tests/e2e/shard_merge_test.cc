// SPDX-License-Identifier: GPL-2.0-only
// `run --shard`, `merge`, `compare --by host` and `slurm` (without a cluster) through the real
// binary: small host-toucher matrices on this machine.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "memplace_exec.h"
#include "results/results.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;
using e2e::fresh_temp_dir;
using e2e::run_memplace;
using e2e::write_text;
using testing::slurp;

// default + bind:0, anon, 2 repeats of 4 MiB: four runs, seconds in all.
constexpr const char* kMergeSpec = R"(name = "merge-e2e"
[matrix]
policy = ["default", "bind:0"]
backing = ["anon"]
toucher = ["host"]
size = ["4MiB"]
cpu_node = [0]
repeats = 2
)";

std::set<std::string> run_keys(const std::string& dir) {
  std::set<std::string> keys;
  auto runs = read_runs(dir + "/runs.jsonl");
  if (!runs) return keys;
  for (const auto& r : runs->records) keys.insert(r.cell_key + "#" + std::to_string(r.repeat));
  return keys;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    out.push_back(text.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

class ShardMerge : public ::testing::Test {
 protected:
  void SetUp() override {
    base = fresh_temp_dir("shard-merge");
    fs::create_directories(base);
    spec = base + "/spec.toml";
    write_text(spec, kMergeSpec);
  }
  void TearDown() override { fs::remove_all(base); }
  void run_shard(int k, int n, const std::string& spec_path, const std::string& out) {
    auto e = run_memplace("run " + spec_path + " --shard " + std::to_string(k) + "/" +
                          std::to_string(n) + " --out " + out + " -q");
    ASSERT_EQ(e.status, 0) << e.output;
  }
  std::string base, spec;
};

TEST_F(ShardMerge, BadShardsExitTwoAndWriteNothing) {
  for (const char* bad : {"0/4", "5/4", "1/0", "a/b"}) {
    std::string out = base + "/bad";
    auto e = run_memplace("run " + spec + " --shard " + bad + " --out " + out);
    EXPECT_EQ(e.status, 2) << bad << ": " << e.output;
    EXPECT_NE(e.output.find("--shard"), std::string::npos) << e.output;
    EXPECT_FALSE(fs::exists(out)) << bad;
  }
}

TEST_F(ShardMerge, DryRunsOfTheShardsListEveryRunOnce) {
  auto whole = run_memplace("run " + spec + " --dry-run");
  ASSERT_EQ(whole.status, 0) << whole.output;
  std::vector<std::string> want = lines(whole.out);
  std::vector<std::string> got;
  for (int k = 1; k <= 3; ++k) {
    auto e = run_memplace("run " + spec + " --dry-run -q --shard " + std::to_string(k) + "/3");
    ASSERT_EQ(e.status, 0) << e.output;
    for (const auto& l : lines(e.out)) got.push_back(l);
  }
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(want.size(), 4u);
}

TEST_F(ShardMerge, ShardsMergeIntoTheUnshardedRunsAndResumeFillsAGap) {
  for (int k = 1; k <= 3; ++k) run_shard(k, 3, spec, base + "/s" + std::to_string(k));
  auto whole = run_memplace("run " + spec + " --out " + base + "/whole -q");
  ASSERT_EQ(whole.status, 0) << whole.output;
  auto shard_manifest = read_json_file(base + "/s2/manifest.json");
  ASSERT_TRUE(shard_manifest.ok());
  EXPECT_EQ((*shard_manifest)["shard"]["index"], 2);
  EXPECT_EQ((*shard_manifest)["shard"]["count"], 3);

  auto merged =
      run_memplace("merge " + base + "/m " + base + "/s1 " + base + "/s2 " + base + "/s3");
  ASSERT_EQ(merged.status, 0) << merged.output;
  EXPECT_EQ(run_keys(base + "/m"), run_keys(base + "/whole"));
  EXPECT_TRUE(fs::exists(base + "/m/report.md"));
  EXPECT_EQ(run_memplace("report " + base + "/m").status, 0);
  auto cmp = run_memplace("compare " + base + "/whole " + base + "/m --fail-on-regression");
  EXPECT_EQ(cmp.status, 0) << cmp.output;

  // Shard 2 never ran: its runs are named, exit 1, and --resume runs just those.
  auto gap = run_memplace("merge " + base + "/gap " + base + "/s1 " + base + "/s3");
  EXPECT_EQ(gap.status, 1) << gap.output;
  for (const auto& key : run_keys(base + "/s2"))
    EXPECT_NE(gap.output.find(key), std::string::npos) << key << "\n" << gap.output;
  auto resumed = run_memplace("run --resume " + base + "/gap -q");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_EQ(run_keys(base + "/gap"), run_keys(base + "/whole"));
  auto runs = read_runs(base + "/gap/runs.jsonl");
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->records.size(), 4u);
  auto manifest = read_json_file(base + "/gap/manifest.json");
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ((*manifest)["kind"], "merged");
  EXPECT_EQ((*manifest)["merged_from"].size(), 2u);
  EXPECT_EQ((*manifest)["hosts"].size(), 1u);
}

TEST_F(ShardMerge, OverlapsAndOtherSpecsExitTwoAndNameThem) {
  run_shard(1, 2, spec, base + "/s1");
  auto twice = run_memplace("merge " + base + "/m " + base + "/s1 " + base + "/s1");
  EXPECT_EQ(twice.status, 2) << twice.output;
  auto keys = run_keys(base + "/s1");
  ASSERT_FALSE(keys.empty());
  EXPECT_NE(twice.output.find(*keys.begin()), std::string::npos) << twice.output;
  EXPECT_FALSE(fs::exists(base + "/m/runs.jsonl"));

  std::string other = base + "/other.toml";
  std::string text = kMergeSpec;
  text.replace(text.find("4MiB"), 4, "8MiB");
  write_text(other, text);
  run_shard(2, 2, other, base + "/o2");
  auto mixed = run_memplace("merge " + base + "/m " + base + "/s1 " + base + "/o2");
  EXPECT_EQ(mixed.status, 2) << mixed.output;
  EXPECT_NE(mixed.output.find(base + "/o2"), std::string::npos) << mixed.output;
  EXPECT_FALSE(fs::exists(base + "/m/runs.jsonl"));
}

// In the testbed the kernel is part of a run's key: over all shards, every kernel gets every run
// once. Dry runs only; nothing boots (the two kernel images only have to exist).
TEST_F(ShardMerge, TestbedShardsCoverEveryKernelsRunsOnce) {
  write_text(base + "/k1", "not a kernel");
  write_text(base + "/k2", "not a kernel");
  std::string kernels = " --testbed --kernel " + base + "/k1 --kernel " + base + "/k2";
  auto whole = run_memplace("run " + spec + kernels + " --dry-run");
  ASSERT_EQ(whole.status, 0) << whole.output;
  auto cell_lines = [&](const std::string& out) {
    std::vector<std::string> cells;
    for (const auto& l : lines(out))
      if (l.rfind("  " + base + "/k", 0) == 0) cells.push_back(l);
    return cells;
  };
  std::vector<std::string> want = cell_lines(whole.out), got;
  ASSERT_EQ(want.size(), 8u) << whole.out;
  std::set<size_t> sizes;
  for (int k = 1; k <= 3; ++k) {
    auto e =
        run_memplace("run " + spec + kernels + " --dry-run --shard " + std::to_string(k) + "/3");
    ASSERT_EQ(e.status, 0) << e.output;
    auto mine = cell_lines(e.out);
    sizes.insert(mine.size());
    got.insert(got.end(), mine.begin(), mine.end());
  }
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(sizes, (std::set<size_t>{2, 3}));  // 8 runs dealt over 3 shards
}

// A testbed run's OUT holds one results dir per kernel; such tops merge kernel by kernel.
TEST_F(ShardMerge, TestbedTopsMergeKernelByKernel) {
  run_shard(1, 2, spec, base + "/t1/k-a");
  run_shard(2, 2, spec, base + "/t2/k-a");
  auto merged = run_memplace("merge " + base + "/m " + base + "/t1 " + base + "/t2");
  ASSERT_EQ(merged.status, 0) << merged.output;
  EXPECT_EQ(run_keys(base + "/m/k-a").size(), 4u);
  EXPECT_TRUE(fs::exists(base + "/m/k-a/report.md"));
  auto mixed = run_memplace("merge " + base + "/m2 " + base + "/t1 " + base + "/t2/k-a");
  EXPECT_EQ(mixed.status, 2) << mixed.output;
}

// Two hosts' whole-matrix runs: the second host is this one's run under another name.
TEST_F(ShardMerge, HostsMergeSideBySideAndCompareByHost) {
  auto a = run_memplace("run " + spec + " --out " + base + "/a -q");
  ASSERT_EQ(a.status, 0) << a.output;
  auto runs = read_runs(base + "/a/runs.jsonl");
  ASSERT_TRUE(runs.ok() && !runs->records.empty());
  std::string host = runs->records[0].environment.hostname;
  fs::copy(base + "/a", base + "/b", fs::copy_options::recursive);
  for (const char* f : {"/b/runs.jsonl", "/b/manifest.json"}) {
    std::string t = slurp(base + f);
    for (const std::string& from :
         {"\"hostname\":\"" + host + "\"", "\"hostname\": \"" + host + "\""})
      for (size_t at; (at = t.find(from)) != std::string::npos;)
        t.replace(at, from.size(), "\"hostname\":\"other-host\"");
    write_text(base + f, t);
  }
  auto merged = run_memplace("merge " + base + "/m " + base + "/a " + base + "/b");
  ASSERT_EQ(merged.status, 0) << merged.output;
  auto manifest = read_json_file(base + "/m/manifest.json");
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ((*manifest)["mode"], "hosts");
  EXPECT_EQ((*manifest)["hosts"].size(), 2u);
  EXPECT_EQ(run_keys(base + "/m").size(), 4u);
  auto mruns = read_runs(base + "/m/runs.jsonl");
  ASSERT_TRUE(mruns.ok());
  EXPECT_EQ(mruns->records.size(), 8u);

  auto by_host = run_memplace("compare --by host " + base + "/m");
  EXPECT_EQ(by_host.status, 0) << by_host.output;
  EXPECT_NE(by_host.out.find(host + " (baseline)"), std::string::npos) << by_host.out;
  EXPECT_NE(by_host.out.find("other-host"), std::string::npos) << by_host.out;
  EXPECT_EQ(run_memplace("compare --by host " + base + "/a").status, 2);
  EXPECT_EQ(run_memplace("compare --by kernel " + base + "/a " + base + "/b").status, 2);
  if (std::system("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1") == 0) {
    auto plot = run_memplace("plot " + base + "/m");
    EXPECT_EQ(plot.status, 0) << plot.output;
  }
}

TEST_F(ShardMerge, SlurmWithoutSbatchExitsThreeNamingThePackage) {
  auto e =
      run_memplace("slurm " + spec + " --out " + base + "/cluster --shards 2", "PATH=/nonexistent");
  EXPECT_EQ(e.status, 3) << e.output;
  EXPECT_NE(e.output.find("slurm-client"), std::string::npos) << e.output;
  EXPECT_FALSE(fs::exists(base + "/cluster"));
}

TEST_F(ShardMerge, SlurmBadInputExitsTwo) {
  std::string out = " --out " + base + "/cluster";
  EXPECT_EQ(run_memplace("slurm " + spec + out + " --shards 0 --dry-run").status, 2);
  EXPECT_EQ(run_memplace("slurm " + spec + out + " --shards 5 --dry-run").status, 2);  // 4 runs
  EXPECT_EQ(run_memplace("slurm " + spec + out + " --per-host 'n[1-2]' --dry-run").status, 2);
  EXPECT_EQ(run_memplace("slurm " + spec + out + " --shards 2 --per-host a --dry-run").status, 2);
  EXPECT_EQ(run_memplace("slurm " + spec + out + " --constraint 'a b' --dry-run").status, 2);
  EXPECT_FALSE(fs::exists(base + "/cluster"));
}

// The merge script as Slurm would run it, with a stand-in memplace that records its arguments:
// it merges the shards that left a dir, names the one that did not, and keeps the exit status.
TEST_F(ShardMerge, SlurmMergeScriptMergesWhatExists) {
  std::string stub = base + "/stub.sh";
  write_text(stub, "#!/bin/sh\necho \"$@\" >> " + base + "/calls\nexit 1\n");
  fs::permissions(stub, fs::perms(0755));
  std::string out = base + "/cluster";
  auto dry =
      run_memplace("slurm " + spec + " --out " + out + " --shards 3 --dry-run --memplace " + stub);
  ASSERT_EQ(dry.status, 0) << dry.output;
  EXPECT_NE(dry.out.find("#SBATCH --array=1-3"), std::string::npos) << dry.out;
  EXPECT_FALSE(fs::exists(out));
  size_t at = dry.out.find("# " + out + "/slurm/merge.sh\n");
  ASSERT_NE(at, std::string::npos) << dry.out;
  std::string merge = dry.out.substr(dry.out.find('\n', at) + 1);
  for (const char* d : {"/slurm", "/shards/1", "/shards/3"}) fs::create_directories(out + d);
  write_text(base + "/merge.sh", merge);
  std::string log = base + "/merge.log";
  int st = std::system(("sh " + base + "/merge.sh > " + log + " 2>&1").c_str());
  EXPECT_EQ(WEXITSTATUS(st), 1);
  EXPECT_EQ(slurp(base + "/calls"),
            "merge " + out + "/merged " + out + "/shards/1 " + out + "/shards/3\n");
  EXPECT_NE(slurp(log).find("shard 2 left no results dir"), std::string::npos) << slurp(log);
  EXPECT_EQ(slurp(out + "/slurm/merge.exit"), "1\n");
}

}  // namespace
}  // namespace memplace
