// SPDX-License-Identifier: GPL-2.0-only
#include "qemu/qemu_command.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "spec/spec.h"
#include "testbed/testbed.h"

namespace memplace {
namespace {

// One argument per line. MEMPLACE_UPDATE_GOLDEN=1 rewrites the files instead of comparing.
void expect_golden(const std::string& name, const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& a : argv) text += a + "\n";
  std::string path = std::string(MEMPLACE_FIXTURES) + "/golden/" + name + ".txt";
  if (std::getenv("MEMPLACE_UPDATE_GOLDEN")) {
    std::ofstream(path) << text;
    return;
  }
  std::ifstream f(path);
  ASSERT_TRUE(f) << "missing golden file " << path;
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(text, ss.str()) << "golden file " << path;
}

QemuTestbedConfig base(const TestbedSpec& tb) {
  QemuTestbedConfig c;
  c.nodes = testbed_numa_nodes(tb);
  c.distances = tb.distances;
  c.kernel = "/cache/kernels/7.3.4+deb13-cloud-amd64/vmlinuz";
  c.initrd = "/tmp/memplace-testbed-x/initrd.cpio";
  c.console_log = "/results/7.3.4+deb13-cloud-amd64/console.log";
  c.socket_path = "/tmp/memplace-testbed-x/records.sock";
  return c;
}

// testbed.extra_append reaches the guest kernel's command line, after memplace's own options.
TEST(QemuCommand, TestbedExtraAppendEndsTheKernelCommandLine) {
  auto spec = parse_spec("[testbed]\nextra_append = \"memplace.test=1 quiet\"\n", "t.toml");
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  QemuTestbedConfig c = testbed_qemu_config(*spec->testbed, "tcg", TestbedHostConfig{});
  const auto argv = qemu_testbed_command(c);
  auto at = std::find(argv.begin(), argv.end(), "-append");
  ASSERT_NE(at, argv.end());
  ASSERT_NE(at + 1, argv.end());
  const std::string& append = *(at + 1);
  EXPECT_EQ(append.size() - append.rfind(" memplace.test=1 quiet"),
            std::string(" memplace.test=1 quiet").size())
      << append;
}

TEST(QemuCommand, TwoNodesUnderTcg) {
  TestbedSpec tb;  // 2 nodes of 1 GiB, one CPU each
  expect_golden("qemu_testbed_2node_tcg", qemu_testbed_command(base(tb)));
}

TEST(QemuCommand, MemoryOnlyNodeAndDistancesUnderKvm) {
  TestbedSpec tb;
  tb.nodes = 3;
  tb.cpus_per_node = 2;
  tb.mem_per_node_bytes = 512ull << 20;
  tb.memory_only_nodes = {2};
  tb.distances = {{10, 21, 31}, {21, 10, 21}, {31, 21, 10}};
  QemuTestbedConfig c = base(tb);
  c.accel = "kvm";
  c.qemu_binary = "/opt/qemu/bin/qemu-system-x86_64";
  expect_golden("qemu_testbed_3node_kvm_memonly", qemu_testbed_command(c));
}

TEST(QemuCommand, NumaNodesGetConsecutiveCpusAndNoneWhenMemoryOnly) {
  TestbedSpec tb;
  tb.nodes = 3;
  tb.cpus_per_node = 2;
  tb.memory_only_nodes = {1};
  auto nodes = testbed_numa_nodes(tb);
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes[0].cpus, (std::vector<int>{0, 1}));
  EXPECT_TRUE(nodes[1].cpus.empty());
  EXPECT_EQ(nodes[2].cpus, (std::vector<int>{2, 3}));
  EXPECT_EQ(total_cpus(nodes), 4);
  EXPECT_EQ(total_memory(nodes), 3ull << 30);
}

TEST(QemuCommand, CpuListsCollapseRanges) {
  EXPECT_EQ(format_cpu_list({0, 1, 2, 5, 7, 8}), "0-2,5,7-8");
  EXPECT_EQ(format_cpu_list({3}), "3");
  EXPECT_EQ(format_cpu_list({}), "");
}

TEST(QemuCommand, DisjointCpuRangesBecomeRepeatedCpusOptions) {
  auto args = qemu_numa_args({{0, 1ull << 30, {0, 1, 4}}}, {});
  ASSERT_EQ(args.size(), 4u);
  EXPECT_EQ(args[3], "node,nodeid=0,memdev=m0,cpus=0-1,cpus=4");
}

TEST(QemuCommand, AutoAccelNeedsBothVirtFlagsAndAWorkingKvm) {
  EXPECT_EQ(choose_accel("auto", true, true), "kvm");
  // This host: a PVM-backed /dev/kvm answers, but cpuinfo has no vmx/svm.
  EXPECT_EQ(choose_accel("auto", false, true), "tcg");
  EXPECT_EQ(choose_accel("auto", true, false), "tcg");
  EXPECT_EQ(choose_accel("kvm", false, false), "kvm");
  EXPECT_EQ(choose_accel("tcg", true, true), "tcg");
}

}  // namespace
}  // namespace memplace
