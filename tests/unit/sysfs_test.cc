// SPDX-License-Identifier: GPL-2.0-only
#include "host/sysfs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "test_support.h"

namespace memplace {
namespace {

const std::string kHost = std::string(MEMPLACE_FIXTURES) + "/host";
using testing::kSparseNodesFixture;
const std::string kOneNode = std::string(MEMPLACE_FIXTURES) + "/one_node";

TEST(SysPath, JoinsRootAndRelative) {
  EXPECT_EQ(sys_path("", "proc/cpuinfo"), "/proc/cpuinfo");
  EXPECT_EQ(sys_path("/", "/proc/cpuinfo"), "/proc/cpuinfo");
  EXPECT_EQ(sys_path("/x/y", "sys/a"), "/x/y/sys/a");
  EXPECT_EQ(sys_path("/x/y/", "/sys/a"), "/x/y/sys/a");
}

TEST(ListNodes, SparseIdsAndStrayEntries) {
  auto nodes = list_nodes(kSparseNodesFixture);
  ASSERT_TRUE(nodes.ok()) << nodes.error().describe();
  EXPECT_EQ(*nodes, (std::vector<int>{0, 2}));
}

TEST(ListNodes, OneNodeAndHost) {
  for (const auto& root : {kOneNode, kHost}) {
    auto nodes = list_nodes(root);
    ASSERT_TRUE(nodes.ok()) << root << ": " << nodes.error().describe();
    EXPECT_EQ(*nodes, (std::vector<int>{0}));
  }
}

TEST(ListNodes, MissingTreeIsAnError) {
  auto nodes = list_nodes(std::string(MEMPLACE_FIXTURES) + "/does-not-exist");
  ASSERT_FALSE(nodes.ok());
  EXPECT_EQ(nodes.error().err, ENOENT);
}

TEST(ParseNodeMeminfo, KbAndUnitlessLines) {
  auto info = parse_node_meminfo(
      "Node 0 MemTotal:        5728468 kB\n"
      "Node 0 MemUsed:            1234 kB\n"
      "Node 0 HugePages_Total:     7\n"
      "Node 0 HugePages_Free:      0\n",
      0);
  ASSERT_TRUE(info.ok()) << info.error().describe();
  EXPECT_EQ(info->size(), 4u);
  EXPECT_EQ(info->at("MemTotal"), 5728468u);
  EXPECT_EQ(info->at("MemUsed"), 1234u);
  EXPECT_EQ(info->at("HugePages_Total"), 7u);
  EXPECT_EQ(info->at("HugePages_Free"), 0u);
}

TEST(ParseNodeMeminfo, RejectsWrongNodeAndGarbage) {
  auto wrong = parse_node_meminfo("Node 1 MemUsed: 5 kB\n", 0);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("node 1"), std::string::npos) << wrong.error().message;
  EXPECT_FALSE(parse_node_meminfo("Node 0 MemUsed: five kB\n", 0).ok());
  EXPECT_FALSE(parse_node_meminfo("Node 0 MemUsed 5 kB\n", 0).ok());
  EXPECT_FALSE(parse_node_meminfo("Node 0 MemUsed: 5 MB\n", 0).ok());
  EXPECT_FALSE(parse_node_meminfo("", 0).ok());
}

TEST(ReadNodeMeminfo, HostFixtureHasEveryField) {
  auto info = read_node_meminfo(kHost, 0);
  ASSERT_TRUE(info.ok()) << info.error().describe();
  EXPECT_EQ(info->size(), 36u);  // lines in the copied 6.18 file
  EXPECT_EQ(info->at("MemTotal"), info->at("MemFree") + info->at("MemUsed"));
  EXPECT_TRUE(info->count("HugePages_Surp"));
  EXPECT_TRUE(info->count("Active(anon)"));
}

TEST(ReadMeminfoSnapshot, SparseNodes) {
  auto snap = read_meminfo_snapshot(kSparseNodesFixture);
  ASSERT_TRUE(snap.ok()) << snap.error().describe();
  ASSERT_EQ(snap->size(), 2u);
  EXPECT_TRUE(snap->count(0));
  ASSERT_TRUE(snap->count(2));
  EXPECT_EQ(snap->at(2).at("MemTotal"), 8388608u);
  EXPECT_EQ(snap->at(2).at("MemUsed"), 262144u);
  EXPECT_EQ(snap->at(2).at("HugePages_Total"), 4u);
  EXPECT_EQ(snap->at(2).at("HugePages_Free"), 3u);
}

TEST(ParseNodeMeminfo, TooManyTokensIsMalformed) {
  auto bad = parse_node_meminfo("Node 0 MemUsed: 5 kB extra\n", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("malformed"), std::string::npos) << bad.error().message;
}

TEST(BracketedChoice, SelectedWordOrError) {
  EXPECT_EQ(*parse_bracketed_choice("always [madvise] never\n"), "madvise");
  EXPECT_EQ(*parse_bracketed_choice("always within_size advise [never] deny force\n"), "never");
  EXPECT_FALSE(parse_bracketed_choice("always madvise never\n").ok());
  EXPECT_FALSE(parse_bracketed_choice("always [] never\n").ok());
  EXPECT_FALSE(parse_bracketed_choice("always [madvise never\n").ok());
}

TEST(ThpSetting, LiveKernelNamesOneOfItsModes) {
  auto enabled = read_thp_setting("", "enabled");
  if (!enabled.ok()) GTEST_SKIP() << "no THP in this kernel: " << enabled.error().describe();
  EXPECT_TRUE(*enabled == "always" || *enabled == "madvise" || *enabled == "never") << *enabled;
  EXPECT_FALSE(
      read_thp_setting(kSparseNodesFixture, "enabled").ok());  // the fixture has no sys/kernel/mm
}

TEST(MeminfoReader, RereadsThroughOneDescriptor) {
  auto reader = MeminfoReader::open(kSparseNodesFixture, 2);
  ASSERT_TRUE(reader.ok()) << reader.error().describe();
  EXPECT_EQ(reader->node(), 2);
  for (int i = 0; i < 3; ++i) {
    auto info = reader->read({"MemUsed", "HugePages_Free"});
    ASSERT_TRUE(info.ok()) << info.error().describe();
    EXPECT_EQ(*info, (NodeMeminfo{{"MemUsed", 262144}, {"HugePages_Free", 3}}));
  }
  auto missing = reader->read({"NoSuchField"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("node2/meminfo"), std::string::npos)
      << missing.error().message;
}

TEST(MeminfoReader, AbsentNodeNamesThePath) {
  auto reader = MeminfoReader::open(kSparseNodesFixture, 1);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.error().err, ENOENT);
  EXPECT_NE(reader.error().describe().find("node1/meminfo"), std::string::npos);
}

TEST(ZoneinfoPcp, SumsEveryCpuOfEveryZonePerNode) {
  const char* text =
      "Node 0, zone      DMA\n  per-node stats\n      nr_inactive_anon 5\n  pagesets\n"
      "    cpu: 0\n              count:    0\n              high:     0\n"
      "Node 0, zone   Normal\n  pages free     100\n  pagesets\n"
      "    cpu: 0\n              count:    62\n              high:     1843\n"
      "    cpu: 1\n              count:    8\n              high:     1843\n"
      "Node 2, zone   Normal\n  pagesets\n    cpu: 0\n              count:    5\n";
  auto pcp = parse_zoneinfo_pcp_pages(text);
  ASSERT_TRUE(pcp.ok()) << pcp.error().describe();
  EXPECT_EQ(*pcp, (std::map<int, uint64_t>{{0, 70}, {2, 5}}));
  EXPECT_FALSE(parse_zoneinfo_pcp_pages("Node 0, zone Normal\n  count: lots\n").ok());
  EXPECT_FALSE(parse_zoneinfo_pcp_pages("Node x, zone Normal\n").ok());
  EXPECT_FALSE(parse_zoneinfo_pcp_pages("").ok());
}

TEST(ReadMeminfoSnapshot, LiveSystemCarriesPerCpuFreeLists) {
  auto snap = read_meminfo_snapshot("");
  ASSERT_TRUE(snap.ok()) << snap.error().describe();
  for (const auto& [node, info] : *snap) EXPECT_TRUE(info.count(kPcpFreeField)) << "node " << node;
  auto fixture =
      read_meminfo_snapshot(kSparseNodesFixture);  // no proc/zoneinfo: the kernel's fields only
  ASSERT_TRUE(fixture.ok());
  EXPECT_FALSE(fixture->at(2).count(kPcpFreeField));
}

TEST(ReadMeminfoSnapshot, LiveSystem) {
  auto snap = read_meminfo_snapshot("");
  ASSERT_TRUE(snap.ok()) << snap.error().describe();
  ASSERT_FALSE(snap->empty());
  for (const auto& [node, info] : *snap) {
    EXPECT_GT(info.at("MemTotal"), 0u) << "node " << node;
    EXPECT_TRUE(info.count("MemUsed")) << "node " << node;
  }
}

TEST(Cpulist, SparseAndMemoryOnlyNodes) {
  auto c0 = read_node_cpulist(kSparseNodesFixture, 0);
  ASSERT_TRUE(c0.ok()) << c0.error().describe();
  EXPECT_EQ(*c0, (std::vector<int>{0, 1}));
  auto c2 = read_node_cpulist(kSparseNodesFixture, 2);
  ASSERT_TRUE(c2.ok()) << c2.error().describe();
  EXPECT_TRUE(c2->empty());
  EXPECT_FALSE(read_node_cpulist(kSparseNodesFixture, 1).ok());
}

TEST(NodeOfCpu, FindsOwnerOrFails) {
  auto n = node_of_cpu(kSparseNodesFixture, 1);
  ASSERT_TRUE(n.ok()) << n.error().describe();
  EXPECT_EQ(*n, 0);
  EXPECT_FALSE(node_of_cpu(kSparseNodesFixture, 2).ok());
  auto live = node_of_cpu("", 0);
  ASSERT_TRUE(live.ok()) << live.error().describe();
  EXPECT_GE(*live, 0);
}

TEST(ParseNumaMaps, FieldsOfOneLine) {
  auto e = parse_numa_maps(
      "7f1c2a600000 interleave:0-1 anon=16384 dirty=16384 N0=8192 N1=8192 kernelpagesize_kB=4\n");
  ASSERT_TRUE(e.ok()) << e.error().describe();
  ASSERT_EQ(e->size(), 1u);
  const auto& m = (*e)[0];
  EXPECT_EQ(m.start, 0x7f1c2a600000u);
  EXPECT_EQ(m.policy, "interleave:0-1");
  EXPECT_EQ(m.node_pages, (std::map<int, uint64_t>{{0, 8192}, {1, 8192}}));
  EXPECT_EQ(m.page_size_kb, 4u);
  EXPECT_TRUE(m.anon);
  EXPECT_FALSE(m.huge);
  EXPECT_TRUE(m.file.empty());
}

TEST(ParseNumaMaps, SparseFixture) {
  auto maps = read_numa_maps(kSparseNodesFixture, 4242);
  ASSERT_TRUE(maps.ok()) << maps.error().describe();
  ASSERT_EQ(maps->size(), 7u);
  EXPECT_EQ((*maps)[0].file, "/usr/bin/memplace");
  EXPECT_FALSE((*maps)[0].anon);
  EXPECT_EQ((*maps)[1].node_pages, (std::map<int, uint64_t>{{0, 8192}, {2, 8192}}));
  EXPECT_EQ((*maps)[2].policy, "bind:2");
  EXPECT_EQ((*maps)[2].file, "/memfd:memplace-shmem\\040(deleted)");
  EXPECT_EQ((*maps)[3].policy, "weighted interleave:0,2");
  EXPECT_EQ((*maps)[3].node_pages, (std::map<int, uint64_t>{{0, 3072}, {2, 1024}}));
  EXPECT_TRUE((*maps)[4].huge);
  EXPECT_EQ((*maps)[4].page_size_kb, 2048u);
  EXPECT_EQ((*maps)[5].policy, "preferred:2");
}

TEST(ParseNumaMaps, HostFixtureIncludingBareLines) {
  auto maps = read_numa_maps(kHost, 4242);
  ASSERT_TRUE(maps.ok()) << maps.error().describe();
  ASSERT_EQ(maps->size(), 18u);
  uint64_t total = 0;
  for (const auto& m : *maps) {
    EXPECT_EQ(m.policy, "interleave:0");
    for (const auto& [node, pages] : m.node_pages) {
      EXPECT_EQ(node, 0);
      total += pages;
    }
  }
  EXPECT_EQ(total, 1u + 1 + 1 + 1 + 387 + 256 + 184 + 754 + 5 + 3 + 2 + 3 + 2 + 9);
  EXPECT_TRUE((*maps)[14].node_pages.empty());  // "7efce223f000 interleave:0"
}

TEST(ParseNumaMaps, RejectsBadAddressAndCounts) {
  EXPECT_FALSE(parse_numa_maps("zzzz default\n").ok());
  EXPECT_FALSE(parse_numa_maps("7f00 default N0=x\n").ok());
  EXPECT_FALSE(parse_numa_maps("7f00\n").ok());
}

TEST(ParseNumaMaps, LiveSelf) {
  auto maps = read_numa_maps("", static_cast<int>(::getpid()));
  ASSERT_TRUE(maps.ok()) << maps.error().describe();
  EXPECT_FALSE(maps->empty());
}

TEST(KernelRelease, FixturesAndLive) {
  auto host = read_kernel_release(kHost);
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->find('\n'), std::string::npos);
  EXPECT_EQ(host->substr(0, 5), "6.18.");
  EXPECT_EQ(*read_kernel_release(kSparseNodesFixture), "6.19.0-rc3-memplace");
  auto live = read_kernel_release("");
  ASSERT_TRUE(live.ok());
  EXPECT_FALSE(live->empty());
}

TEST(ModuleParam, PresentAndAbsent) {
  auto snp = read_module_param(kSparseNodesFixture, "kvm_amd", "sev_snp");
  ASSERT_TRUE(snp.ok()) << snp.error().describe();
  EXPECT_EQ(*snp, "Y");
  auto none = read_module_param(kOneNode, "kvm_amd", "sev_snp");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().err, ENOENT);
}

TEST(CpuinfoFlag, WholeTokensOnly) {
  EXPECT_TRUE(*cpuinfo_has_flag(kSparseNodesFixture, "svm"));
  EXPECT_FALSE(*cpuinfo_has_flag(kSparseNodesFixture, "vmx"));
  EXPECT_TRUE(*cpuinfo_has_flag(kOneNode, "vmx"));
  EXPECT_TRUE(*cpuinfo_has_flag(kHost, "avx2"));
  EXPECT_FALSE(*cpuinfo_has_flag(kHost,
                                 "avx"
                                 "2x"));
  EXPECT_FALSE(*cpuinfo_has_flag(kHost, "sv"));   // prefix of nothing, not a substring match
  EXPECT_FALSE(*cpuinfo_has_flag(kHost, "svm"));  // PVM host: no hardware virtualisation flag
  EXPECT_FALSE(cpuinfo_has_flag(std::string(MEMPLACE_FIXTURES) + "/nope", "svm").ok());
}

TEST(WeightedInterleave, WeightsPerNodeIgnoringOtherFiles) {
  auto w = read_weighted_interleave_weights(kSparseNodesFixture);
  ASSERT_TRUE(w.ok()) << w.error().describe();
  EXPECT_EQ(*w, (std::map<int, int>{{0, 3}, {2, 1}}));
  auto host = read_weighted_interleave_weights(kHost);
  ASSERT_TRUE(host.ok()) << host.error().describe();
  EXPECT_EQ(*host, (std::map<int, int>{{0, 1}}));
  auto none = read_weighted_interleave_weights(kOneNode);
  ASSERT_TRUE(none.ok()) << none.error().describe();
  EXPECT_TRUE(none->empty());
}

TEST(ReadTextFile, SysfsFileLargerThanZero) {
  auto t = read_text_file("/sys/devices/system/node/online");
  ASSERT_TRUE(t.ok()) << t.error().describe();
  EXPECT_FALSE(t->empty());
  EXPECT_FALSE(read_text_file("/nonexistent/file").ok());
}

}  // namespace
}  // namespace memplace
