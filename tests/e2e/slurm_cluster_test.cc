// SPDX-License-Identifier: GPL-2.0-only
// `memplace slurm` against a real one-node Slurm cluster started for the test (local_slurm.h):
// a 4-shard array of a small host-toucher matrix, then the dependent merge job, whose merged
// dir must hold exactly the runs an unsharded run makes, every one ok.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "e2e/local_slurm.h"
#include "memplace_exec.h"
#include "results/results.h"

namespace memplace {
namespace {

using e2e::LocalSlurm;
using e2e::run_memplace;

constexpr const char* kSlurmSpec = R"(name = "slurm-e2e"
[matrix]
policy = ["default", "bind:0", "interleave:0", "preferred:0"]
backing = ["anon", "shmem"]
toucher = ["host"]
size = ["32MiB"]
cpu_node = [0]
repeats = 2
)";

std::set<std::string> run_keys(const std::vector<RunRecord>& records) {
  std::set<std::string> keys;
  for (const auto& r : records) keys.insert(r.cell_key + "#" + std::to_string(r.repeat));
  return keys;
}

// The value after `what ` on a line of the slurm command's stdout.
std::string field(const std::string& out, const std::string& what) {
  size_t at = out.find(what + " ");
  if (at == std::string::npos) return "";
  size_t end = out.find('\n', at);
  return out.substr(at + what.size() + 1,
                    end == std::string::npos ? end : end - at - what.size() - 1);
}

// Bounded: the merge job writes its exit status last; a job that left the queue without it, or
// ten minutes without it, is a failure.
std::string wait_for_merge(const LocalSlurm& slurm, const std::string& job,
                           const std::string& file) {
  using namespace std::chrono;
  auto deadline = steady_clock::now() + minutes(10);
  int gone_polls = 0;
  while (steady_clock::now() < deadline) {
    std::string text = testing::slurp(file);
    if (!text.empty()) return text;
    gone_polls = slurm.job_state(job).empty() ? gone_polls + 1 : 0;
    if (gone_polls > 5) return "merge job " + job + " left the queue without writing " + file;
    std::this_thread::sleep_for(seconds(1));
  }
  return "merge job " + job + " did not finish within 10 minutes";
}

TEST(SlurmCluster, FourShardArrayMergesToExactlyTheUnshardedRuns) {
  LocalSlurm slurm;
  std::string why = slurm.start();
  if (!why.empty()) GTEST_SKIP() << "no local Slurm cluster: " << why;

  std::string base = e2e::fresh_temp_dir("slurm-e2e");
  std::filesystem::create_directories(base);
  e2e::write_text(base + "/spec.toml", kSlurmSpec);
  auto unsharded = run_memplace("run " + base + "/spec.toml --out " + base + "/unsharded -q");
  ASSERT_EQ(unsharded.status, 0) << unsharded.output;

  auto sub = run_memplace("slurm " + base + "/spec.toml --out " + base + "/cluster --shards 4 " +
                          "--partition main");
  ASSERT_EQ(sub.status, 0) << sub.output << slurm.log_tails();
  std::string array_job = field(sub.out, "array_job"), merge_job = field(sub.out, "merge_job");
  ASSERT_FALSE(array_job.empty()) << sub.output;
  ASSERT_FALSE(merge_job.empty()) << sub.output;
  EXPECT_EQ(field(sub.out, "report"), base + "/cluster/merged/report.md");

  std::string exit_text = wait_for_merge(slurm, merge_job, base + "/cluster/slurm/merge.exit");
  ASSERT_EQ(exit_text, "0\n") << testing::slurp(base + "/cluster/slurm/logs/merge.out")
                              << slurm.log_tails();

  auto want = read_runs(base + "/unsharded/runs.jsonl");
  auto got = read_runs(base + "/cluster/merged/runs.jsonl");
  ASSERT_TRUE(want.ok() && got.ok());
  ASSERT_EQ(want->records.size(), 16u);
  EXPECT_EQ(run_keys(got->records), run_keys(want->records));
  EXPECT_EQ(got->records.size(), want->records.size());
  std::set<std::string> ids;
  for (const auto& r : got->records) {
    EXPECT_EQ(r.status, RunStatus::kOk) << r.cell_key << ": " << r.message;
    EXPECT_EQ(r.environment.hostname, want->records.front().environment.hostname);
    EXPECT_EQ(r.environment.topology_digest, want->records.front().environment.topology_digest);
    ids.insert(r.run_id);
  }
  EXPECT_EQ(ids.size(), got->records.size()) << "run ids collide";

  auto manifest = read_json_file(base + "/cluster/merged/manifest.json");
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ((*manifest)["mode"], "shards");
  EXPECT_EQ((*manifest)["status"], "complete");
  std::set<std::string> shards;
  for (const auto& s : (*manifest)["merged_from"]) shards.insert(s["shard"].get<std::string>());
  EXPECT_EQ(shards, (std::set<std::string>{"1/4", "2/4", "3/4", "4/4"}));
  ASSERT_EQ((*manifest)["hosts"].size(), 1u);
  EXPECT_TRUE((*manifest)["hosts"][0]["probe"].is_object());
  EXPECT_TRUE(std::filesystem::exists(base + "/cluster/merged/report.md"));
  std::filesystem::remove_all(base);
  EXPECT_TRUE(slurm.stop_all()) << "a daemon survived SIGTERM and SIGKILL";
}

// --per-host: one job pinned to each listed node (here the only one) runs the whole matrix into
// OUT/hosts/NODE, and the merge job merges by host.
TEST(SlurmCluster, PerHostJobRunsTheWholeMatrixOnItsNode) {
  LocalSlurm slurm;
  std::string why = slurm.start();
  if (!why.empty()) GTEST_SKIP() << "no local Slurm cluster: " << why;
  std::string base = e2e::fresh_temp_dir("slurm-host");
  std::filesystem::create_directories(base);
  std::string spec = kSlurmSpec;
  spec.replace(spec.find("repeats = 2"), 11, "repeats = 1");
  e2e::write_text(base + "/spec.toml", spec);

  auto sub = run_memplace("slurm " + base + "/spec.toml --out " + base + "/cluster --per-host " +
                          slurm.node());
  ASSERT_EQ(sub.status, 0) << sub.output << slurm.log_tails();
  EXPECT_NE(field(sub.out, "host_job").find(" " + slurm.node()), std::string::npos) << sub.out;
  std::string merge_job = field(sub.out, "merge_job");
  std::string exit_text = wait_for_merge(slurm, merge_job, base + "/cluster/slurm/merge.exit");
  ASSERT_EQ(exit_text, "0\n") << testing::slurp(base + "/cluster/slurm/logs/merge.out")
                              << slurm.log_tails();
  auto got = read_runs(base + "/cluster/merged/runs.jsonl");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->records.size(), 8u);
  EXPECT_TRUE(std::filesystem::exists(base + "/cluster/hosts/" + slurm.node() + "/runs.jsonl"));
  auto manifest = read_json_file(base + "/cluster/merged/manifest.json");
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ((*manifest)["mode"], "hosts");
  EXPECT_EQ((*manifest)["status"], "complete");
  std::filesystem::remove_all(base);
  EXPECT_TRUE(slurm.stop_all());
}

}  // namespace
}  // namespace memplace
