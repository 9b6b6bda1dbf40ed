// SPDX-License-Identifier: GPL-2.0-only
// The placement sources in the testbed, one guest per Debian kernel (6.18: guest_memfd without
// the shared-policy series; 7.3: with it). In each guest:
//   1. anon, shmem and guest_memfd x host and vcpu touchers x bind:1 and interleave:0-1 at
//      64 MiB, with another process allocating 256 MiB on node 0 during every touch
//      (MEMPLACE_TEST_NOISE): the trace equals move_pages page for page, the cgroup is within
//      1% of the cell, and the host-wide meminfo delta is off by the other process's memory. The
//      vcpu-faulted guest_memfd cells are the case the trace exists for: KVM allocates those
//      pages for the vCPU threads, and move_pages reads them only afterwards, through a second
//      mapping. On two nodes NUMA balancing moves the touching thread's own older pages (stack,
//      heap, the micro-VM's code) next to its CPU during the touch: the trace tells those
//      migrations from new memory (PageTally) and must still equal move_pages.
//      All of them through the transport memplace chooses: BPF on 6.18, tracefs on 7.3, whose
//      tracepoints can preempt a BPF program (trace_transport.h). One more guest_memfd cell
//      through the other transport: exact on 6.18 (tracefs); on 7.3 (BPF) exact or
//      incomplete for the runs the kernel skipped, never a wrong number;
//   2. a cell whose trace ring buffer (8 KiB: the BPF ring, or per CPU for tracefs) cannot hold
//      its events, on each transport: incomplete, never a number;
//   3. guest_memfd_private cells on both channels: unsupported on Debian's kernels, which leave
//      CONFIG_KVM_SW_PROTECTED_VM unset, with that reason; the matrix goes on.
// One boot per kernel keeps this to a couple of minutes of TCG.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/subprocess.h"
#include "memplace_exec.h"
#include "results/results.h"
#include "testbed/testbed.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kCellPages = (64ull << 20) / 4096;
constexpr uint64_t kNoisePages = (256ull << 20) / 4096;

using testing::have_testbed_tools;

uint64_t pages_on(const SourceReading& s, int node) {
  auto it = s.pages.find(node);
  return it == s.pages.end() ? 0 : it->second;
}

std::string sources_line(const RunRecord& r) {
  std::string line = r.cell_key + " [" + run_status_name(r.status) + "]";
  for (const auto& [name, s] : r.placement_sources) {
    line += "  " + name + "=";
    if (s.ok()) {
      line += std::to_string(pages_on(s, 0)) + "/" + std::to_string(pages_on(s, 1));
      // How many pages the trace saw migrated, and how many of them were not the cell's.
      if (name == "trace" && s.detail.contains("migrated_pages") &&
          s.detail["migrated_pages"].is_object())
        line += " (migrated " + s.detail["migrated_pages"].value("all", nlohmann::json()).dump() +
                ", not the cell's " +
                s.detail["migrated_pages"].value("not_the_cells", nlohmann::json()).dump() + ")";
    } else {
      line += s.state == SourceReading::State::kIncomplete ? "incomplete" : "unsupported";
    }
  }
  return line;
}

// The transport memplace chooses on `kernel`, and the other one.
std::string chosen_transport(const std::string& kernel) {
  return kernel == "debian:6.18" ? "bpf" : "tracefs";
}
std::string other_transport(const std::string& kernel) {
  return chosen_transport(kernel) == "bpf" ? "tracefs" : "bpf";
}

// The noisy matrix, then the overflowing cell and the private cells, all streamed back.
std::string guest_run_line(const TestbedSpec& tb, const std::string& kernel) {
  const std::string stream = " --stream \"$PORT\" --env-kind testbed -q";
  return "MEMPLACE_TEST_NOISE=256MiB@0 " +
         guest_memplace_line(detect_accel(tb.accel), testbed_topology_json(tb)) +
         "; /memplace run --policy bind:1 --backing anon --toucher host --size 32MiB --no-thp"
         " --trace-buffer-kib 8 --placement-sources trace --trace-transport bpf --out "
         "/tmp/overflow" +
         stream +
         "; /memplace run --policy bind:1 --backing anon --toucher host --size 16MiB --no-thp"
         " --trace-buffer-kib 8 --placement-sources trace --trace-transport tracefs"
         " --out /tmp/overflow-tracefs" +
         stream +
         "; MEMPLACE_TEST_NOISE=256MiB@0 /memplace run --policy interleave:0-1"
         " --backing guest_memfd --toucher vcpu --size 48MiB --cpu-node 0 --trace-transport " +
         other_transport(kernel) + " --out /tmp/other" + stream +
         "; /memplace run --policy bind:1 --backing guest_memfd_private --toucher vcpu"
         " --policy-channel mbind,task --size 32MiB --out /tmp/private" +
         stream;
}

// The cells of a matrix in TOML: the runs the guest line's further `memplace run`s make, which
// the host admits beside the spec's (the two command lines above, cell for cell).
std::vector<Cell> cells_of(const std::string& matrix) {
  auto spec = parse_spec("name = \"extra\"\n[matrix]\n" + matrix, "extra_runs");
  EXPECT_TRUE(spec.ok()) << spec.error().describe();
  return spec.ok() ? expand(*spec) : std::vector<Cell>{};
}

std::vector<Cell> guest_extra_runs() {
  std::vector<Cell> runs = cells_of(
      "policy = [\"bind:1\"]\nbacking = [\"anon\"]\ntoucher = [\"host\"]\n"
      "size = [\"32MiB\", \"16MiB\"]\n");
  for (const Cell& c : cells_of("policy = [\"interleave:0-1\"]\nbacking = [\"guest_memfd\"]\n"
                                "toucher = [\"vcpu\"]\nsize = [\"48MiB\"]\ncpu_node = [0]\n"))
    runs.push_back(c);
  for (const Cell& c : cells_of("policy = [\"bind:1\"]\nbacking = [\"guest_memfd_private\"]\n"
                                "toucher = [\"vcpu\"]\nsize = [\"32MiB\"]\n"
                                "policy_channel = [\"mbind\", \"task\"]\n"))
    runs.push_back(c);
  return runs;
}

// The trace equals move_pages page for page, through `transport`.
void check_trace_is_exact(const RunRecord& r, const std::string& transport) {
  const auto& move = r.placement_sources.at("move_pages");
  const auto& trace = r.placement_sources.at("trace");
  ASSERT_TRUE(move.ok()) << r.cell_key << ": " << move.reason;
  EXPECT_EQ(move.total_pages(), r.size_bytes / 4096) << r.cell_key;
  ASSERT_TRUE(trace.ok()) << r.cell_key << ": " << trace.reason;
  EXPECT_EQ(trace.detail.value("transport", ""), transport)
      << r.cell_key << " " << trace.detail.dump();
  // Debian's kernels randomize the memory map, so the struct pages' base must come from the
  // kernel itself; the fixed x86-64 base would have put every page at a pfn no node claims.
  if (transport == "bpf") {
    EXPECT_EQ(trace.detail.value("vmemmap_base_from", ""), "kallsyms") << r.cell_key;
  }
  for (int node : {0, 1}) EXPECT_EQ(pages_on(trace, node), pages_on(move, node)) << r.cell_key;
}

void check_matrix_record(const RunRecord& r, const std::string& transport) {
  ASSERT_EQ(r.status, RunStatus::kOk) << r.cell_key << ": " << r.message;
  EXPECT_EQ(r.placement_source, "move_pages") << r.cell_key;
  ASSERT_TRUE(r.extra.contains("test_noise")) << r.cell_key;
  EXPECT_FALSE(r.extra["test_noise"].contains("error")) << r.extra["test_noise"].dump();
  const auto& move = r.placement_sources.at("move_pages");
  const auto& cgroup = r.placement_sources.at("cgroup");
  const auto& meminfo = r.placement_sources.at("meminfo");
  check_trace_is_exact(r, transport);
  ASSERT_TRUE(cgroup.ok()) << r.cell_key << ": " << cgroup.reason;
  for (int node : {0, 1}) {
    const double diff = std::abs(static_cast<double>(pages_on(cgroup, node)) -
                                 static_cast<double>(pages_on(move, node)));
    EXPECT_LE(diff, 0.01 * kCellPages)
        << r.cell_key << " node " << node << " " << cgroup.detail.dump();
  }
  if (r.backing == "guest_memfd" && r.toucher == "vcpu") {
    // The case the trace exists for: KVM allocated these pages on its own guest_memfd fault
    // path (not through the mapping at userspace_addr), so no host page table held them while
    // the trace counted them; move_pages read them only afterwards, through a second mapping.
    ASSERT_TRUE(r.extra.contains("toucher")) << r.cell_key;
    EXPECT_EQ(r.extra["toucher"].value("guest_memfd_fault_path", ""), "guest_memfd") << r.cell_key;
  }
  // The other process's 256 MiB on node 0 is in the host-wide delta, in neither of the others.
  ASSERT_TRUE(meminfo.ok()) << meminfo.reason;
  EXPECT_GT(static_cast<double>(pages_on(meminfo, 0)),
            static_cast<double>(pages_on(move, 0)) + 0.75 * kNoisePages)
      << r.cell_key;
}

class PlacementSourcesTestbed : public ::testing::TestWithParam<const char*> {};

TEST_P(PlacementSourcesTestbed, TraceIsExactCgroupWithinOnePercentMeminfoOff) {
  std::string missing;
  if (!have_testbed_tools(&missing)) GTEST_SKIP() << "no " << missing;
  const std::string kernel = GetParam();
  std::string toml =
      "name = \"placement-sources\"\n[matrix]\n"
      "policy = [\"bind:1\", \"interleave:0-1\"]\nbacking = [\"anon\", \"shmem\", "
      "\"guest_memfd\"]\n"
      "toucher = [\"host\", \"vcpu\"]\nsize = [\"64MiB\"]\ncpu_node = [0]\n"
      "[testbed]\nnodes = 2\nmem_per_node = \"1GiB\"\ncpus_per_node = 1\nkernels = [\"" +
      kernel + "\"]\ntimeout = 900\n";
  auto spec = parse_spec(toml, "placement_sources_test");
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  spec->source_text = toml;
  TestbedHostConfig host;
  host.memplace_binary = MEMPLACE_BINARY;
  host.guest_run_line = guest_run_line(*spec->testbed, kernel);
  host.guest_extra_runs = guest_extra_runs();
  ASSERT_EQ(host.guest_extra_runs.size(), 5u);
  RunOptions options;
  options.out_dir =
      (fs::temp_directory_path() / ("memplace-sources-" + std::to_string(getpid()))).string();
  fs::remove_all(options.out_dir);
  options.progress = true;
  auto summary = run_testbed(*spec, *spec->testbed, options, host);
  ASSERT_TRUE(summary.ok()) << summary.error().describe();

  std::string dir;
  for (const auto& e : fs::directory_iterator(options.out_dir))
    if (e.is_directory()) dir = e.path().string();
  auto runs = read_runs(dir + "/runs.jsonl");
  ASSERT_TRUE(runs.ok()) << runs.error().describe();
  int matrix = 0, overflow = 0, priv = 0, other = 0;
  for (const RunRecord& r : runs->records) {
    std::printf("%s\n", sources_line(r).c_str());
    if (r.size_bytes == (64ull << 20)) {
      ++matrix;
      check_matrix_record(r, chosen_transport(kernel));
    } else if (r.size_bytes == (48ull << 20)) {
      ++other;
      ASSERT_EQ(r.status, RunStatus::kOk) << r.cell_key << ": " << r.message;
      const auto& trace = r.placement_sources.at("trace");
      if (kernel == "debian:7.3" && trace.state == SourceReading::State::kIncomplete) {
        std::printf("the BPF transport on 7.3: %s\n", trace.reason.c_str());
        EXPECT_NE(trace.reason.find("runs skipped"), std::string::npos) << trace.reason;
        EXPECT_GT(trace.detail.value("missed_program_runs", 0), 0) << trace.detail.dump();
        EXPECT_TRUE(trace.pages.empty());
      } else {
        check_trace_is_exact(r, other_transport(kernel));
      }
    } else if (r.backing == "anon") {
      ++overflow;
      ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
      const auto& trace = r.placement_sources.at("trace");
      EXPECT_EQ(trace.state, SourceReading::State::kIncomplete) << to_json(r).dump(2);
      EXPECT_EQ(trace.detail.value("transport", ""),
                r.size_bytes == (32ull << 20) ? "bpf" : "tracefs");
      EXPECT_NE(trace.reason.find("lost"), std::string::npos) << trace.reason;
      EXPECT_TRUE(trace.pages.empty());
      EXPECT_EQ(r.placement_source, "move_pages");  // the verdict never used the partial count
    } else if (r.backing == "guest_memfd_private") {
      ++priv;
      EXPECT_EQ(r.status, RunStatus::kUnsupported) << r.message;
      EXPECT_NE(r.message.find("SW_PROTECTED_VM"), std::string::npos) << r.message;
    }
  }
  EXPECT_EQ(matrix, 12);
  EXPECT_EQ(overflow, 2);
  EXPECT_EQ(other, 1);
  EXPECT_EQ(priv, 2);
  if (!HasFailure() && !std::getenv("MEMPLACE_KEEP")) fs::remove_all(options.out_dir);
}

INSTANTIATE_TEST_SUITE_P(DebianKernels, PlacementSourcesTestbed,
                         ::testing::Values("debian:6.18", "debian:7.3"), [](const auto& info) {
                           return std::string(info.param).substr(7) == "6.18" ? "k6_18" : "k7_3";
                         });

}  // namespace
}  // namespace memplace
