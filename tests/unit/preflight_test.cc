// SPDX-License-Identifier: GPL-2.0-only
#include "host/preflight.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "spec/spec.h"

namespace memplace {
namespace {

TEST(Preflight, DiskSpaceIsReadFromTheNearestExistingDirectory) {
  auto free = free_disk_bytes("/tmp/memplace-does-not-exist/a/b/c");
  ASSERT_TRUE(free.ok()) << free.error().describe();
  EXPECT_GT(*free, 0u);
  EXPECT_TRUE(check_results_disk("/tmp/memplace-does-not-exist/out", 1).ok());
  // More runs than any disk here can hold must be refused, naming the space.
  auto s = check_results_disk("/tmp/memplace-does-not-exist/out", size_t{1} << 40);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("MiB free for results"), std::string::npos) << s.error().message;
  // Reliability item 17: a resume with nothing left to run writes only the reports; the same
  // impossible need is no refusal then.
  EXPECT_TRUE(check_results_disk("/tmp/memplace-does-not-exist/out", 0).ok());
}

TEST(Preflight, KvmWarningsOnlyForCellsThatNeedKvm) {
  Cell anon;
  Cell gmem;
  gmem.backing = BackingKind::kGuestMemfd;
  Cell vcpu;
  vcpu.toucher = ToucherKind::kVcpu;
  EXPECT_TRUE(kvm_warnings({anon}, "/nonexistent/kvm").empty());
  auto w = kvm_warnings({anon, gmem, vcpu}, "/nonexistent/kvm");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("2 run(s)"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("unsupported"), std::string::npos) << w[0];
}

// A sysfs/procfs root with one node and a /proc/meminfo, both in kB.
std::string memory_root(uint64_t node_total, uint64_t node_free, uint64_t proc_total,
                        uint64_t proc_free) {
  std::string root = "/tmp/memplace-preflight-" + std::to_string(::getpid()) + "-" +
                     std::to_string(node_total) + "-" + std::to_string(proc_total);
  std::filesystem::create_directories(root + "/sys/devices/system/node/node0");
  std::filesystem::create_directories(root + "/proc");
  std::ofstream(root + "/sys/devices/system/node/node0/meminfo")
      << "Node 0 MemTotal: " << node_total << " kB\nNode 0 MemFree: " << node_free
      << " kB\nNode 0 MemUsed: " << node_total - node_free << " kB\n";
  std::ofstream(root + "/proc/meminfo")
      << "MemTotal:       " << proc_total << " kB\nMemFree:        " << proc_free
      << " kB\nMemAvailable:   " << proc_free << " kB\n";
  return root;
}

// Issue 14 item 20, with this machine's figures: node 0 said 6.3 GiB, /proc/meminfo 24 GiB.
TEST(Preflight, MemoryFiguresSayWhichIsUsedAndWarnWhenTheyDisagree) {
  std::string root = memory_root(6606028, 3000000, 24684084, 9855080);
  auto m = read_memory_figures(root);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  EXPECT_EQ(m->node_total_kb, 6606028u);
  EXPECT_EQ(m->proc_total_kb, 24684084u);
  EXPECT_EQ(m->proc_free_kb, 9855080u);
  EXPECT_NE(memory_figures_text(*m).find("node meminfo: 6.3 GiB total"), std::string::npos)
      << memory_figures_text(*m);
  EXPECT_NE(memory_figures_text(*m).find("used for the free-memory checks"), std::string::npos);
  EXPECT_NE(memory_figures_text(*m).find("/proc/meminfo: 23.5 GiB total"), std::string::npos);
  EXPECT_NE(memory_figures_warning(*m).find("disagree by more than 10%"), std::string::npos);
  std::filesystem::remove_all(root);

  // Within 10% on both totals and free: no warning.
  root = memory_root(24000000, 9000000, 24684084, 9855080);
  m = read_memory_figures(root);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(memory_figures_warning(*m), "");
  std::filesystem::remove_all(root);
}

// Issue 14 item 17: mem_per_node = "64GiB" on a 24 GiB host passed, and QEMU would have started
// with -m 131072M.
TEST(Preflight, AWholeVmMustFitTheHostsFreeMemoryAfterTheMargin) {
  HostFacts host;
  host.nodes = {0};
  host.free_bytes[0] = 24ull << 30;
  auto s = check_vm_fits_host((128ull << 30) + (256ull << 20), host);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("the guest needs 131328 MiB"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("256 MiB safety margin"), std::string::npos);
  EXPECT_TRUE(check_vm_fits_host((2ull << 30) + (256ull << 20), host).ok());
  host.margin_bytes = 22ull << 30;  // the margin counts against the guest
  EXPECT_FALSE(check_vm_fits_host((2ull << 30) + (256ull << 20), host).ok());
}

}  // namespace
}  // namespace memplace
