// SPDX-License-Identifier: GPL-2.0-only
#include "host/sampler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "golden.h"
#include "test_support.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;
using testing::kSparseNodesFixture;
using testing::slurp;
using testing::TempDir;

TEST(SampledFields, TheFiveCsvColumns) {
  EXPECT_EQ(sampled_fields(),
            (std::vector<std::string>{"MemUsed", "MemFree", "AnonPages", "Shmem", "FilePages"}));
}

TEST(ParseMeminfoFields, KeepsOnlyAskedAndRequiresThem) {
  const char* text =
      "Node 2 MemFree: 10 kB\nNode 2 MemUsed: 20 kB\nNode 2 Shmem: 30 kB\n"
      "Node 2 HugePages_Total: 1\n";
  auto two = parse_node_meminfo_fields(text, 2, {"MemUsed", "Shmem"});
  ASSERT_TRUE(two.ok()) << two.error().describe();
  EXPECT_EQ(*two, (NodeMeminfo{{"MemUsed", 20}, {"Shmem", 30}}));
  auto missing = parse_node_meminfo_fields(text, 2, {"MemUsed", "AnonPages"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("AnonPages"), std::string::npos);
}

TEST(Sampler, FixtureRootEveryNodeEveryField) {
  Sampler s(kSparseNodesFixture, std::chrono::milliseconds(2));
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  auto samples = s.stop();
  EXPECT_TRUE(s.error().empty()) << s.error();
  ASSERT_GE(samples.size(), 2u);  // the first at start, the last at stop
  double last_t = -1;
  for (const auto& smp : samples) {
    EXPECT_GE(smp.t_seconds, last_t);
    last_t = smp.t_seconds;
    ASSERT_EQ(smp.nodes.size(), 2u);
    ASSERT_TRUE(smp.nodes.count(2));
    EXPECT_EQ(smp.nodes.at(2).size(), sampled_fields().size());
    EXPECT_EQ(smp.nodes.at(2).at("MemUsed"), 262144u);
    EXPECT_EQ(smp.nodes.at(2).at("MemFree"), 8126464u);
  }
}

TEST(Sampler, RereadsTheFilesEachTick) {
  TempDir tmp("sampler");
  fs::copy(kSparseNodesFixture, tmp.path, fs::copy_options::recursive);
  const fs::path meminfo = tmp.path / "sys/devices/system/node/node2/meminfo";
  const std::string before = slurp(meminfo);
  std::string after = before;
  const std::string from = "Node 2 MemUsed:          262144 kB";
  ASSERT_NE(after.find(from), std::string::npos);
  after.replace(after.find(from), from.size(), "Node 2 MemUsed:          999999 kB");

  Sampler s(tmp.path.string(), std::chrono::milliseconds(1));
  s.start();  // takes its first sample before returning, so before the file changes
  {
    // Rewritten in place, as sysfs regenerates the file the sampler holds open; the new value
    // has the old one's width, so one small write never shows a torn line.
    std::fstream f(meminfo, std::ios::in | std::ios::out);
    f << after;
  }
  auto samples = s.stop();
  ASSERT_GE(samples.size(), 2u);
  EXPECT_EQ(samples.front().nodes.at(2).at("MemUsed"), 262144u);
  EXPECT_EQ(samples.back().nodes.at(2).at("MemUsed"), 999999u);  // stop() samples once more
}

TEST(Sampler, MissingRootRecordsErrorNotZeros) {
  Sampler s("/nonexistent-root", std::chrono::milliseconds(1));
  s.start();
  auto samples = s.stop();
  EXPECT_TRUE(samples.empty());
  EXPECT_FALSE(s.error().empty());
}

TEST(Sampler, StopWithoutWaitingForALongInterval) {
  // With a one-hour interval, stop() must still return promptly (it wakes the thread).
  Sampler s(kSparseNodesFixture, std::chrono::hours(1));
  s.start();
  auto samples = s.stop();
  EXPECT_EQ(samples.size(), 2u);  // the one at start and the one at stop
}

TEST(Sampler, LiveSystem) {
  auto nodes = list_nodes("");
  ASSERT_TRUE(nodes.ok());
  Sampler s("", std::chrono::milliseconds(10));
  s.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto samples = s.stop();
  EXPECT_TRUE(s.error().empty()) << s.error();
  ASSERT_GE(samples.size(), 2u);
  for (const auto& smp : samples) {
    ASSERT_EQ(smp.nodes.size(), nodes->size());
    for (int n : *nodes) {
      ASSERT_TRUE(smp.nodes.count(n));
      EXPECT_GT(smp.nodes.at(n).at("MemFree") + smp.nodes.at(n).at("MemUsed"), 0u);
    }
  }
}

TEST(WriteSamplesCsv, Golden) {
  std::vector<MeminfoSample> samples(2);
  samples[0].t_seconds = 0;
  samples[0].nodes[0] = {
      {"MemUsed", 1}, {"MemFree", 2}, {"AnonPages", 3}, {"Shmem", 4}, {"FilePages", 5}};
  samples[0].nodes[2] = {
      {"MemUsed", 10}, {"MemFree", 20}, {"AnonPages", 30}, {"Shmem", 40}, {"FilePages", 50}};
  samples[1].t_seconds = 0.0105;
  samples[1].nodes[0] = {
      {"MemUsed", 6}, {"MemFree", 7}, {"AnonPages", 8}, {"Shmem", 9}, {"FilePages", 10}};
  TempDir tmp("sampler");
  const std::string path = (tmp.path / "samples.csv").string();
  auto st = write_samples_csv(path, samples);
  ASSERT_TRUE(st.ok()) << st.error().describe();
  EXPECT_EQ(slurp(path),
            "t_seconds,node,MemUsed_kB,MemFree_kB,AnonPages_kB,Shmem_kB,FilePages_kB\n"
            "0.000000,0,1,2,3,4,5\n"
            "0.000000,2,10,20,30,40,50\n"
            "0.010500,0,6,7,8,9,10\n");
}

TEST(WriteSamplesCsv, ErrorsAreValues) {
  EXPECT_FALSE(write_samples_csv("/nonexistent-dir/x.csv", {}).ok());
  std::vector<MeminfoSample> bad(1);
  bad[0].nodes[0] = {{"MemUsed", 1}};
  TempDir tmp("sampler");
  auto st = write_samples_csv((tmp.path / "bad.csv").string(), bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("MemFree"), std::string::npos);
}

}  // namespace
}  // namespace memplace
