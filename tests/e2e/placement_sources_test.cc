// SPDX-License-Identifier: GPL-2.0-only
// The placement sources on this host, through the real binary: anon and shmem cells (and
// guest_memfd where the probe says it can be mapped) record every source; the page-allocation trace
// agrees with move_pages page for page through each of its transports (BPF, tracefs) and the memory
// cgroup within 1% of the cell. Node MemUsed is host-wide and is printed, not asserted (see
// memplace_run_test.cc). A trace buffer too small for its cell reads "incomplete", never a number;
// the verdict then uses another source. Run by a user who may not read tracefs, the trace and
// cgroup sources are "unsupported", the run ok; so are the sources the probe finds missing on this
// host, each for its own reason.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "host_features.h"
#include "memplace_exec.h"
#include "results/results.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

using testing::host_feature;
using testing::run_memplace_under;
namespace feature = testing::feature;

// BPF on a loaded host (and under the masks' seccomp filters, seen with the vcpu toucher on
// 6.18): a run the kernel skips, the program being already active on that CPU, makes the
// reading incomplete, never a wrong number. Tests accept that, and want some cell exact.
bool incomplete_for_skipped_bpf_runs(const SourceReading& trace) {
  return trace.state == SourceReading::State::kIncomplete &&
         trace.detail.value("transport", "") == "bpf" &&
         trace.reason.find("runs skipped") != std::string::npos;
}

// A source the probe finds missing must read "unsupported", never a number or a failure.
void expect_unsupported_reading(const RunRecord& r, const char* source, HostFeature f) {
  const SourceReading& s = r.placement_sources.at(source);
  EXPECT_EQ(s.state, SourceReading::State::kUnsupported)
      << r.cell_key << " " << source << " where the probe says: " << host_feature(f).reason;
  EXPECT_TRUE(s.pages.empty()) << r.cell_key << " " << source;
  EXPECT_FALSE(s.reason.empty()) << r.cell_key << " " << source;
}

uint64_t pages_on(const SourceReading& s, int node) {
  auto it = s.pages.find(node);
  return it == s.pages.end() ? 0 : it->second;
}

// The trace of one cell against move_pages on node 0: equal page for page, or incomplete for
// skipped BPF runs (said, and not counted). Returns whether the trace was read whole.
bool trace_matches_move_pages(const RunRecord& r) {
  const SourceReading& move = r.placement_sources.at("move_pages");
  const SourceReading& trace = r.placement_sources.at("trace");
  if (incomplete_for_skipped_bpf_runs(trace)) {
    std::printf("%s: %s\n", r.cell_key.c_str(), trace.reason.c_str());
    return false;
  }
  EXPECT_TRUE(trace.ok()) << r.cell_key << ": " << trace.reason;
  EXPECT_EQ(pages_on(trace, 0), pages_on(move, 0)) << r.cell_key << " " << trace.detail.dump();
  return trace.ok();
}

Result<std::vector<RunRecord>> run_cells(const std::string& name, const std::string& args,
                                         const std::string& prefix = "") {
  std::string out = testing::fresh_temp_dir("sources-" + name);
  auto e = run_memplace_under(prefix, "run " + args + " --out " + out + " -q");
  if (e.status != 0)
    return make_error("memplace exited " + std::to_string(e.status) + ":\n" + e.output);
  auto runs = read_runs(out + "/runs.jsonl");
  if (!runs) return runs.error();
  fs::remove_all(out);
  return runs->records;
}

// GCC says so with a macro, clang with a feature test (make test-asan builds with clang).
#if defined(__SANITIZE_ADDRESS__)
#define MEMPLACE_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEMPLACE_UNDER_ASAN 1
#endif
#endif

// Each test below runs once per trace transport.
class PlacementSourcesLocal : public ::testing::TestWithParam<const char*> {};

TEST_P(PlacementSourcesLocal, AnonAndShmemSourcesAgree) {
#if defined(MEMPLACE_UNDER_ASAN)
  // Under ASan the touching task also faults the shadow of every page it writes, so the trace
  // and the cgroup rightly count pages that are not the cell's; the plain build runs this test.
  GTEST_SKIP() << "AddressSanitizer's shadow memory is allocated by the touching task";
#endif
  const std::string transport = GetParam();
  const HostFeature trace_feature = transport == "bpf" ? feature::bpf : feature::tracefs;
  const bool vcpu = host_feature(feature::kvm).available;
  const bool gmem = host_feature(feature::guest_memfd_mmap).available;
  const bool trace_here = host_feature(trace_feature).available;
  const bool memcg_here = host_feature(feature::memcg).available;
  auto records = run_cells(
      "agree", std::string("--policy bind --nodes 0 --backing anon,shmem") +
                   (gmem ? ",guest_memfd" : "") + " --toucher host" + (vcpu ? ",vcpu" : "") +
                   " --size 64MiB --cpu-node 0 --no-thp --trace-transport " + transport);
  ASSERT_TRUE(records.ok()) << records.error().describe();
  ASSERT_FALSE(records->empty());
  const uint64_t cell = (64ull << 20) / 4096;
  int reused = 0;  // cells whose BPF programs a previous cell had loaded: the maps start clean
  int exact = 0;   // cells whose trace was read whole
  for (const RunRecord& r : *records) {
    ASSERT_EQ(r.status, RunStatus::kOk) << r.cell_key << ": " << r.message;
    for (const char* name : {"move_pages", "trace", "cgroup", "meminfo"})
      ASSERT_TRUE(r.placement_sources.count(name)) << r.cell_key << " lacks " << name;
    const auto& move = r.placement_sources.at("move_pages");
    const auto& trace = r.placement_sources.at("trace");
    const auto& cgroup = r.placement_sources.at("cgroup");
    EXPECT_EQ(r.placement_source, "move_pages");
    ASSERT_TRUE(move.ok()) << r.cell_key << ": " << move.reason;
    EXPECT_EQ(pages_on(move, 0), cell) << r.cell_key;
    if (!trace_here) expect_unsupported_reading(r, "trace", trace_feature);
    if (!memcg_here) expect_unsupported_reading(r, "cgroup", feature::memcg);
    if (!trace_here || !memcg_here) continue;
    ASSERT_TRUE(cgroup.ok()) << r.cell_key << ": " << cgroup.reason;
    const double diff =
        std::abs(static_cast<double>(pages_on(cgroup, 0)) - static_cast<double>(pages_on(move, 0)));
    EXPECT_LE(diff, 0.01 * cell) << r.cell_key << " " << cgroup.detail.dump();
    EXPECT_EQ(trace.detail.value("transport", ""), transport) << r.cell_key;
    reused += trace.detail.value("programs", "").rfind("reused", 0) == 0;
    if (!trace_matches_move_pages(r)) continue;
    ++exact;
    std::printf("%-40s move_pages %llu trace %llu cgroup %llu (%s) meminfo %llu\n",
                r.cell_key.c_str(), (unsigned long long)pages_on(move, 0),
                (unsigned long long)pages_on(trace, 0), (unsigned long long)pages_on(cgroup, 0),
                cgroup.detail.value("counter", "?").c_str(),
                (unsigned long long)pages_on(r.placement_sources.at("meminfo"), 0));
  }
  if (!trace_here || !memcg_here) return;
  EXPECT_GT(exact, 0) << "no cell's trace was read whole";
  if (transport == "bpf") {
    EXPECT_EQ(reused, static_cast<int>(records->size()) - 1);
  }
}

// The test hook's noise process (MEMPLACE_TEST_NOISE) runs beside every touch of the testbed's
// placement-sources test. It must share no page with memplace: when it was a bare fork, a vCPU
// thread that wrote one of memplace's pages first after being traced got a copy-on-write copy,
// and the trace read move_pages + 1. Who writes such a page first is a race between memplace's
// threads, so this guards rather than proves: on this host, loaded, the fork gave 8 of 9 and 17
// of 18 such cells one page too many in some runs and none in others; the exec'd child none.
TEST(PlacementSourcesNoise, TheNoiseProcessAddsNoPageToTheTrace) {
#if defined(MEMPLACE_UNDER_ASAN)
  GTEST_SKIP() << "AddressSanitizer's shadow memory is allocated by the touching task";
#endif
  MEMPLACE_REQUIRE_FEATURE(kvm);
  if (!host_feature(feature::bpf).available && !host_feature(feature::tracefs).available)
    GTEST_SKIP() << "no trace transport: " << host_feature(feature::tracefs).reason;
  const bool gmem = host_feature(feature::guest_memfd_mmap).available;
  auto records =
      run_cells("noise",
                std::string("--policy bind:0 --backing anon,shmem") + (gmem ? ",guest_memfd" : "") +
                    " --toucher vcpu --size 64MiB --repeats 3",
                "MEMPLACE_TEST_NOISE=256MiB@0 ");
  ASSERT_TRUE(records.ok()) << records.error().describe();
  ASSERT_EQ(records->size(), gmem ? 9u : 6u);
  int exact = 0;
  for (const RunRecord& r : *records) {
    ASSERT_EQ(r.status, RunStatus::kOk) << r.cell_key << ": " << r.message;
    ASSERT_TRUE(r.extra.contains("test_noise")) << r.cell_key;
    EXPECT_FALSE(r.extra["test_noise"].contains("error")) << r.extra["test_noise"].dump();
    const auto& move = r.placement_sources.at("move_pages");
    ASSERT_TRUE(move.ok()) << r.cell_key << ": " << move.reason;
    EXPECT_EQ(pages_on(move, 0), (64ull << 20) / 4096) << r.cell_key;
    exact += trace_matches_move_pages(r);
  }
  EXPECT_GT(exact, 0) << "no cell's trace was read whole";
}

// Bad input for the sources: memplace run by a user who may neither read tracefs nor create a
// cgroup. Both sources are unsupported with that reason; the run itself is ok, measured by
// move_pages.
TEST(PlacementSourcesNobody, WithoutPermissionTheSourcesAreUnsupportedNeverFailed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop to nobody";
  if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "no setpriv (util-linux)";
  std::string out = testing::fresh_temp_dir("sources-nobody");
  fs::create_directories(out);
  fs::permissions(out, fs::perms::all);
  auto e = run_memplace_under("/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups ",
                              "run --policy bind --nodes 0 --backing anon --size 8MiB --no-thp "
                              "--out " +
                                  out + "/o -q");
  ASSERT_EQ(e.status, 0) << e.output;
  auto runs = read_runs(out + "/o/runs.jsonl");
  ASSERT_TRUE(runs.ok()) << runs.error().describe();
  ASSERT_EQ(runs->records.size(), 1u);
  const RunRecord& r = runs->records.front();
  EXPECT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(r.placement_source, "move_pages");
  const auto& trace = r.placement_sources.at("trace");
  EXPECT_EQ(trace.state, SourceReading::State::kUnsupported);
  EXPECT_NE(trace.reason.find("permission"), std::string::npos) << trace.reason;
  const auto& cgroup = r.placement_sources.at("cgroup");
  EXPECT_EQ(cgroup.state, SourceReading::State::kUnsupported);
  EXPECT_FALSE(cgroup.reason.empty());
  fs::remove_all(out);
}

TEST_P(PlacementSourcesLocal, AnOverflowingTraceBufferIsIncomplete) {
  const std::string transport = GetParam();
  const HostFeature trace_feature = transport == "bpf" ? feature::bpf : feature::tracefs;
  const bool trace_here = host_feature(trace_feature).available;
  auto records = run_cells("overflow",
                           "--policy bind --nodes 0 --backing anon --size 64MiB --cpu-node 0 "
                           "--no-thp --placement-sources trace --trace-buffer-kib 8 "
                           "--trace-transport " +
                               std::string(GetParam()));
  ASSERT_TRUE(records.ok()) << records.error().describe();
  ASSERT_EQ(records->size(), 1u);
  const RunRecord& r = records->front();
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
  EXPECT_EQ(r.placement_source, "move_pages");
  if (!trace_here) return expect_unsupported_reading(r, "trace", trace_feature);
  const auto& trace = r.placement_sources.at("trace");
  EXPECT_EQ(trace.state, SourceReading::State::kIncomplete) << trace.detail.dump();
  EXPECT_EQ(trace.detail.value("transport", ""), GetParam());
  EXPECT_NE(trace.reason.find("lost"), std::string::npos) << trace.reason;
  EXPECT_TRUE(trace.pages.empty());
  EXPECT_FALSE(trace.pages_seen.empty());
  EXPECT_EQ(r.placement_sources.at("cgroup").reason, "not requested (run.placement_sources)");
  EXPECT_EQ(r.placement_source, "move_pages");
}

INSTANTIATE_TEST_SUITE_P(Transports, PlacementSourcesLocal, ::testing::Values("bpf", "tracefs"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace memplace
