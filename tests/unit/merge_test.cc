// SPDX-License-Identifier: GPL-2.0-only
#include "results/merge.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/bounded_read.h"
#include "results/host_identity.h"
#include "results/results.h"
#include "spec/shard.h"
#include "test_support.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

// default + bind:0, anon, 2 repeats: 4 runs.
Spec four_runs(const std::string& name = "merge") {
  auto spec = parse_spec("name = \"" + name + R"("
[matrix]
policy = ["default", "bind:0"]
backing = ["anon"]
toucher = ["host"]
size = ["4MiB"]
repeats = 2
)",
                         "test");
  EXPECT_TRUE(spec.ok()) << spec.error().describe();
  return *spec;
}

RunRecord record_for(const Cell& c, const std::string& id, const std::string& host) {
  RunRecord r;
  r.run_id = id;
  r.cell_key = cell_key(c);
  r.repeat = c.repeat;
  r.policy = "default";
  r.backing = "anon";
  r.toucher = "host";
  r.size_bytes = c.size_bytes;
  r.status = RunStatus::kOk;
  r.environment.hostname = host;
  r.environment.topology_digest = "fnv1a64:" + host;
  r.samples_file = "samples/" + id + ".csv";
  return r;
}

// The dir a `run --shard` (or a whole run, shard empty) on `host` would have written.
MergeInput input(const std::string& dir, Spec spec, std::optional<Shard> shard,
                 const std::string& host) {
  MergeInput in;
  in.dir = dir;
  Spec whole = spec;
  whole.shard.reset();
  in.spec_identity = render_spec_toml(whole);
  spec.shard = shard;
  std::vector<Cell> cells = expand(whole);
  if (shard) cells = shard_cells(cells, *shard);
  int n = 0;
  for (const auto& c : cells)
    in.records.push_back(record_for(c, "r000" + std::to_string(++n), host));
  in.spec = spec;
  in.manifest = {{"environment", {{"hostname", host}}},
                 {"probe", {{"topology", {{"nodes", 1}}}}},
                 {"status", "complete"}};
  return in;
}

TEST(PlanMerge, ShardsBecomeTheWholeMatrixInOrderWithFreshIds) {
  Spec spec = four_runs();
  auto plan =
      plan_merge({input("s2", spec, Shard{2, 2}, "h"), input("s1", spec, Shard{1, 2}, "h")});
  ASSERT_TRUE(plan.ok()) << plan.error().describe();
  EXPECT_EQ(plan->mode, "shards");
  ASSERT_EQ(plan->records.size(), 4u);
  std::vector<Cell> cells = expand(spec);
  for (size_t i = 0; i < cells.size(); ++i) {
    EXPECT_EQ(run_key(plan->records[i].cell_key, plan->records[i].repeat), run_key(cells[i]));
    EXPECT_EQ(plan->records[i].run_id, "r000" + std::to_string(i + 1));
    EXPECT_EQ(plan->records[i].samples_file, "samples/r000" + std::to_string(i + 1) + ".csv");
  }
  EXPECT_TRUE(plan->missing.empty());
  EXPECT_EQ(plan->expected_runs, 4u);
  ASSERT_EQ(plan->copies.size(), 4u);
  ASSERT_EQ(plan->hosts.size(), 1u);
  EXPECT_EQ(plan->hosts[0]["hostname"], "h");
  EXPECT_TRUE(plan->hosts[0]["probe"].is_object());
  EXPECT_EQ(plan->sources.size(), 2u);
}

TEST(PlanMerge, OverlappingShardsNameTheRunsAndDirs) {
  Spec spec = four_runs();
  auto a = input("dirA", spec, Shard{1, 2}, "h");
  auto plan =
      plan_merge({a, input("dirB", spec, Shard{2, 2}, "h"), input("dirC", spec, Shard{1, 2}, "h")});
  ASSERT_FALSE(plan.ok());
  const std::string& msg = plan.error().message;
  EXPECT_NE(msg.find(a.records[0].cell_key + "#" + std::to_string(a.records[0].repeat)),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("dirA dirC"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("dirB"), std::string::npos) << msg;
}

TEST(PlanMerge, DifferentSpecsAreRefusedByName) {
  auto plan = plan_merge({input("mine", four_runs(), Shard{1, 2}, "h"),
                          input("theirs", four_runs("other"), Shard{2, 2}, "h")});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message.find("theirs"), std::string::npos) << plan.error().message;
  EXPECT_NE(plan.error().message.find("different spec"), std::string::npos);
}

TEST(PlanMerge, ShardsMixedWithWholeRunsOrOtherCountsAreRefused) {
  Spec spec = four_runs();
  auto mixed =
      plan_merge({input("s", spec, Shard{1, 2}, "h"), input("w", spec, std::nullopt, "g")});
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.error().message.find("whole matrix: w"), std::string::npos);
  auto counts =
      plan_merge({input("a", spec, Shard{1, 2}, "h"), input("b", spec, Shard{2, 3}, "h")});
  ASSERT_FALSE(counts.ok());
  EXPECT_NE(counts.error().message.find("b (2/3)"), std::string::npos) << counts.error().message;
}

TEST(PlanMerge, AMissingShardsRunsAreListed) {
  Spec spec = four_runs();
  auto plan =
      plan_merge({input("s1", spec, Shard{1, 3}, "h"), input("s3", spec, Shard{3, 3}, "h")});
  ASSERT_TRUE(plan.ok()) << plan.error().describe();
  std::vector<Cell> absent = shard_cells(expand(spec), Shard{2, 3});
  ASSERT_EQ(plan->missing.size(), absent.size());
  for (size_t i = 0; i < absent.size(); ++i) EXPECT_EQ(plan->missing[i], run_key(absent[i]));
  EXPECT_EQ(plan->records.size() + plan->missing.size(), plan->expected_runs);
}

TEST(PlanMerge, HostsKeepTheirOwnRunsSideBySide) {
  Spec spec = four_runs();
  auto b = input("b", spec, std::nullopt, "beta");
  b.records.pop_back();  // beta's last run failed to be written
  auto plan = plan_merge({input("a", spec, std::nullopt, "alpha"), b});
  ASSERT_TRUE(plan.ok()) << plan.error().describe();
  EXPECT_EQ(plan->mode, "hosts");
  ASSERT_EQ(plan->records.size(), 7u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(plan->records[i].environment.hostname, "alpha");
  for (size_t i = 4; i < 7; ++i) EXPECT_EQ(plan->records[i].environment.hostname, "beta");
  EXPECT_EQ(plan->expected_runs, 8u);
  ASSERT_EQ(plan->missing.size(), 1u);
  EXPECT_EQ(plan->missing[0].rfind("beta|", 0), 0u) << plan->missing[0];
  EXPECT_EQ(plan->hosts.size(), 2u);
  // One host's dir given twice is the same runs twice.
  auto twice = plan_merge(
      {input("a", spec, std::nullopt, "alpha"), input("a2", spec, std::nullopt, "alpha")});
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("alpha|"), std::string::npos) << twice.error().message;
}

TEST(PlanMerge, ARunOutsideTheMatrixIsRefused) {
  Spec spec = four_runs();
  auto in = input("s", spec, std::nullopt, "h");
  in.records[0].cell_key = "weighted-interleave:0/anon/host/4MiB/t1/cpuany";
  auto plan = plan_merge({in});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message.find("not in the spec's matrix"), std::string::npos);
}

TEST(PlanMerge, FileNamesARecordCannotBeTrustedWithAreDropped) {
  Spec spec = four_runs();
  auto in = input("s", spec, std::nullopt, "h");
  in.records[0].samples_file = "../../etc/passwd";
  in.records[1].samples_file = "/etc/shadow";
  in.records[2].extra = {{"locality", {{"file", "workloads/r0003-triad.json"}}}};  // a legacy name
  in.records[3].extra = {{"locality", {{"file", "workloads/../../x.json"}}}};
  auto plan = plan_merge({in});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->records[0].samples_file, "");
  EXPECT_EQ(plan->records[1].samples_file, "");
  EXPECT_EQ(plan->records[2].extra["locality"]["file"], "locality/r0003-triad.json");
  EXPECT_FALSE(plan->records[3].extra["locality"].contains("file"));
  EXPECT_TRUE(plan->records[3].extra["locality"].contains("file_error"));
  for (const auto& c : plan->copies) {
    EXPECT_TRUE(safe_samples_path(c.from) || safe_locality_path(c.from)) << c.from;
    EXPECT_TRUE(safe_samples_path(c.to) || safe_locality_path(c.to)) << c.to;
  }
  EXPECT_EQ(plan->warnings.size(), 3u);
}

TEST(PlanMerge, OlderRecordsTakeTheirHostFromTheManifest) {
  Spec spec = four_runs();
  auto in = input("s", spec, std::nullopt, "h");
  for (auto& r : in.records) r.environment = Environment{};
  auto plan = plan_merge({in});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->records[0].environment.hostname, "h");
  EXPECT_EQ(plan->records[0].environment.topology_digest,
            topology_digest(nlohmann::json{{"nodes", 1}}));
}

// Real shard dirs (tests/fixtures/merge/README.md).
TEST(MergeFixtures, TwoRealShardsMakeTheWholeMatrix) {
  std::vector<MergeInput> inputs;
  for (const char* d : {"shard-1-of-2", "shard-2-of-2"}) {
    auto in = read_merge_input(testing::fixture_path(std::string("merge/") + d));
    ASSERT_TRUE(in.ok()) << in.error().describe();
    ASSERT_TRUE(in->spec.shard.has_value());
    inputs.push_back(std::move(*in));
  }
  EXPECT_EQ(inputs[0].spec_identity, inputs[1].spec_identity);
  auto plan = plan_merge(inputs);
  ASSERT_TRUE(plan.ok()) << plan.error().describe();
  EXPECT_EQ(plan->records.size(), 4u);
  EXPECT_TRUE(plan->missing.empty());
  EXPECT_EQ(plan->copies.size(), 4u);
  ASSERT_EQ(plan->hosts.size(), 1u);
  EXPECT_EQ(plan->hosts[0]["probe"]["kernel_release"], plan->records[0].environment.kernel);
  EXPECT_EQ(plan->hosts[0]["topology_digest"], plan->records[0].environment.topology_digest);
  EXPECT_EQ(plan->hosts[0]["topology_digest"],
            topology_digest(plan->hosts[0]["probe"]["topology"]));
}

TEST(MergeFixtures, AShardOfAnotherSpecIsNamed) {
  std::vector<MergeInput> inputs;
  for (const char* d : {"shard-1-of-2", "other-spec-shard-2-of-2"}) {
    auto in = read_merge_input(testing::fixture_path(std::string("merge/") + d));
    ASSERT_TRUE(in.ok()) << in.error().describe();
    inputs.push_back(std::move(*in));
  }
  auto plan = plan_merge(inputs);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message.find("other-spec-shard-2-of-2"), std::string::npos);
  // Alone, shard 1 is half the matrix: the other half is missing, by name.
  auto half = plan_merge({inputs[0]});
  ASSERT_TRUE(half.ok());
  EXPECT_EQ(half->missing.size(), 2u);
}

// On disk: a results dir is untrusted, so links it holds are never followed.
class MergeDirs : public ::testing::Test {
 protected:
  void SetUp() override {
    root = (fs::temp_directory_path() / ("memplace-merge-unit-" + std::to_string(::getpid())))
               .string();
    fs::remove_all(root);
    fs::create_directories(root + "/in/samples");
    std::ofstream(root + "/secret") << "not yours\n";
    std::ofstream(root + "/in/spec.toml") << render_spec_toml(four_runs());
    std::string lines;
    int n = 0;
    for (const auto& c : expand(four_runs()))
      lines += to_json(record_for(c, "r000" + std::to_string(++n), "h")).dump() + "\n";
    std::ofstream(root + "/in/runs.jsonl") << lines;
    std::ofstream(root + "/in/samples/r0001.csv") << "t_seconds,node\n0,0\n";
    fs::create_symlink(root + "/secret", root + "/in/samples/r0002.csv");
  }
  void TearDown() override { fs::remove_all(root); }
  std::string root;
};

TEST_F(MergeDirs, CopiesSamplesButNotThroughSymlinks) {
  auto in = read_merge_input(root + "/in");
  ASSERT_TRUE(in.ok()) << in.error().describe();
  std::vector<MergeInput> inputs = {std::move(*in)};
  auto plan = plan_merge(inputs);
  ASSERT_TRUE(plan.ok()) << plan.error().describe();
  ASSERT_TRUE(write_merged_dir(root + "/out", inputs, *plan, "test").ok());
  auto merged = read_runs(root + "/out/runs.jsonl");
  ASSERT_TRUE(merged.ok());
  ASSERT_EQ(merged->records.size(), 4u);
  EXPECT_EQ(merged->records[0].samples_file, "samples/r0001.csv");
  std::ifstream copied(root + "/out/samples/r0001.csv");
  std::string first;
  std::getline(copied, first);
  EXPECT_EQ(first, "t_seconds,node");
  // The link, and the two samples that were never written, are dropped from their records.
  EXPECT_EQ(merged->records[1].samples_file, "");
  EXPECT_FALSE(fs::exists(root + "/out/samples/r0002.csv"));
  EXPECT_GE(plan->warnings.size(), 3u);
  EXPECT_TRUE(fs::exists(root + "/out/spec.toml"));
  auto manifest = read_json_file(root + "/out/manifest.json");
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ((*manifest)["kind"], "merged");
  EXPECT_EQ((*manifest)["status"], "complete");
  // A merged dir is never merged over.
  EXPECT_FALSE(check_merge_out(root + "/out").ok());
  EXPECT_TRUE(check_merge_out(root + "/fresh").ok());
}

TEST_F(MergeDirs, ALinkedSamplesDirIsNotFollowed) {
  fs::rename(root + "/in/samples", root + "/real-samples");
  fs::create_symlink(root + "/real-samples", root + "/in/samples");
  auto in = read_merge_input(root + "/in");
  ASSERT_TRUE(in.ok());
  std::vector<MergeInput> inputs = {std::move(*in)};
  auto plan = plan_merge(inputs);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(write_merged_dir(root + "/out", inputs, *plan, "test").ok());
  auto merged = read_runs(root + "/out/runs.jsonl");
  ASSERT_TRUE(merged.ok());
  for (const auto& r : merged->records) EXPECT_EQ(r.samples_file, "") << r.run_id;
}

TEST_F(MergeDirs, LinkedSpecOrRunsMakeNoInput) {
  fs::rename(root + "/in/runs.jsonl", root + "/runs.jsonl");
  fs::create_symlink(root + "/runs.jsonl", root + "/in/runs.jsonl");
  EXPECT_FALSE(read_merge_input(root + "/in").ok());
  fs::remove(root + "/in/spec.toml");
  auto missing = read_merge_input(root + "/in");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().describe().find("not a memplace results dir"), std::string::npos);
}

TEST(BoundedRead, RefusesLargerFilesLinksAndNonFiles) {
  std::string dir =
      (fs::temp_directory_path() / ("memplace-bounded-" + std::to_string(::getpid()))).string();
  fs::create_directories(dir + "/sub");
  std::ofstream(dir + "/ten") << "0123456789";
  fs::create_symlink(dir + "/ten", dir + "/link");
  ::mkfifo((dir + "/fifo").c_str(), 0600);
  auto fd = open_dir(dir);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(*read_file_at(fd->get(), "ten", 10, "ten"), "0123456789");
  EXPECT_FALSE(read_file_at(fd->get(), "ten", 9, "ten").ok());
  EXPECT_FALSE(read_file_at(fd->get(), "link", 100, "link").ok());
  EXPECT_FALSE(read_file_at(fd->get(), "fifo", 100, "fifo").ok());
  EXPECT_FALSE(read_file_at(fd->get(), "sub", 100, "sub").ok());
  EXPECT_FALSE(read_file_at(fd->get(), "../ten", 100, "../ten").ok());
  EXPECT_FALSE(open_subdir(fd->get(), "..", "..").ok());
  EXPECT_TRUE(open_subdir(fd->get(), "sub", "sub").ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace memplace
