// SPDX-License-Identifier: GPL-2.0-only
#include "host/topology.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "host/sysfs.h"

namespace memplace {
namespace {

TEST(Topology, LiveMachine) {
  auto t = discover_topology();
  ASSERT_TRUE(t.ok()) << t.error().describe();
  ASSERT_FALSE(t->nodes.empty());
  for (const auto& n : t->nodes) EXPECT_GT(n.memory_bytes, 0u) << "node " << n.os_index;
  EXPECT_FALSE(t->nodes.front().cpus.empty());

  // hwloc and the kernel must agree on which nodes exist and which CPUs each has.
  auto kernel_nodes = list_nodes("");
  ASSERT_TRUE(kernel_nodes.ok());
  EXPECT_EQ(t->node_ids(), *kernel_nodes);
  for (const auto& n : t->nodes) {
    auto cpus = read_node_cpulist("", n.os_index);
    ASSERT_TRUE(cpus.ok());
    EXPECT_EQ(n.cpus, *cpus) << "node " << n.os_index;
  }

  // hwloc's node size and the kernel's MemTotal differ by reserved memory only (a few %).
  auto mem = read_node_meminfo("", t->nodes.front().os_index);
  ASSERT_TRUE(mem.ok());
  const double kernel_bytes = mem->at("MemTotal") * 1024.0;
  EXPECT_NEAR(t->nodes.front().memory_bytes / kernel_bytes, 1.0, 0.25);
}

TEST(Topology, DistancesSquareWithLocalDiagonal) {
  auto t = discover_topology();
  ASSERT_TRUE(t.ok());
  if (t->distances.empty()) {
    GTEST_SKIP() << "hwloc reports no NUMA distance matrix (" << t->nodes.size() << " node(s))";
  }
  ASSERT_EQ(t->distances.size(), t->nodes.size());
  for (size_t i = 0; i < t->distances.size(); ++i) {
    ASSERT_EQ(t->distances[i].size(), t->nodes.size());
    for (size_t j = 0; j < t->distances.size(); ++j)
      EXPECT_LE(t->distances[i][i], t->distances[i][j]);
  }
}

// hwloc loads an XML topology instead of the machine when HWLOC_XMLFILE is set.
class XmlTopology : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string xml = std::string(MEMPLACE_FIXTURES) + "/hwloc/sparse_cxl.xml";
    ::setenv("HWLOC_XMLFILE", xml.c_str(), 1);
  }
  void TearDown() override { ::unsetenv("HWLOC_XMLFILE"); }
};

TEST_F(XmlTopology, SparseIdsCpulessNodeAndDistances) {
  auto t = discover_topology();
  ASSERT_TRUE(t.ok()) << t.error().describe();
  EXPECT_EQ(t->node_ids(), (std::vector<int>{0, 2, 3}));
  ASSERT_EQ(t->nodes.size(), 3u);
  EXPECT_EQ(t->nodes[0].cpus, (std::vector<int>{0, 1}));
  EXPECT_EQ(t->nodes[1].cpus, (std::vector<int>{2, 3}));
  EXPECT_TRUE(t->nodes[2].cpus.empty()) << "a CPU-less node must not inherit the machine's CPUs";
  EXPECT_EQ(t->nodes[0].memory_bytes, 1ull << 30);
  EXPECT_EQ(t->nodes[1].memory_bytes, 2ull << 30);
  EXPECT_EQ(t->nodes[2].memory_bytes, 4ull << 30);
  EXPECT_EQ(t->distances,
            (std::vector<std::vector<uint64_t>>{{10, 21, 30}, {21, 10, 30}, {30, 30, 10}}));
}

TEST(Topology, NodeIdsAndJson) {
  Topology t;
  t.nodes = {{0, 1024, {0, 1}}, {2, 2048, {}}};
  t.distances = {{10, 20}, {20, 10}};
  EXPECT_EQ(t.node_ids(), (std::vector<int>{0, 2}));
  auto j = to_json(t);
  EXPECT_EQ(j["nodes"][1]["os_index"], 2);
  EXPECT_EQ(j["nodes"][1]["memory_bytes"], 2048u);
  EXPECT_TRUE(j["nodes"][1]["cpus"].empty());
  EXPECT_EQ(j["nodes"][0]["cpus"], nlohmann::json::array({0, 1}));
  EXPECT_EQ(j["distances"][0][1], 20u);
}

}  // namespace
}  // namespace memplace
