// The placement sources on this host, through the real binary: anon and shmem cells (and
// guest_memfd where /dev/kvm works) record every source; the page-allocation trace agrees with
// move_pages page for page through each of its transports (BPF, tracefs) and the memory cgroup
// within 1% of the cell. Node MemUsed is
// host-wide and is printed, not asserted (see memplace_run_test.cc). A trace buffer too small
// for its cell reads "incomplete", never a number; the verdict then uses another source. Run by a
// user who may not read tracefs, the trace and cgroup sources are "unsupported", the run ok.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "experiment/results.h"
#include "memplace_exec.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

using testing::run_memplace_under;

uint64_t pages_on(const SourceReading& s, int node) {
  auto it = s.pages.find(node);
  return it == s.pages.end() ? 0 : it->second;
}

Result<std::vector<RunRecord>> run_cells(const std::string& name, const std::string& args,
                                         const std::string& prefix = "") {
  std::string out = testing::fresh_temp_dir("sources-" + name);
  auto e = run_memplace_under(prefix, "run " + args + " --out " + out + " -q");
  if (e.status != 0) return make_error("memplace exited " + std::to_string(e.status) + ":\n" + e.output);
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
  if (::geteuid() != 0) GTEST_SKIP() << "the trace and cgroup sources need root";
  std::string touchers = ::access("/dev/kvm", R_OK | W_OK) == 0 ? "host,vcpu" : "host";
  std::string backings = touchers == "host" ? "anon,shmem" : "anon,shmem,guest_memfd";
  const std::string transport = GetParam();
  auto records = run_cells("agree", "--policy bind --nodes 0 --backing " + backings +
                                        " --toucher " + touchers +
                                        " --size 64MiB --cpu-node 0 --no-thp --trace-transport " +
                                        transport);
  ASSERT_TRUE(records.ok()) << records.error().describe();
  ASSERT_FALSE(records->empty());
  const uint64_t cell = (64ull << 20) / 4096;
  int reused = 0;  // cells whose BPF programs a previous cell had loaded: the maps start clean
  for (const RunRecord& r : *records) {
    ASSERT_EQ(r.status, RunStatus::kOk) << r.cell_key << ": " << r.message;
    for (const char* name : {"move_pages", "trace", "cgroup", "meminfo"})
      ASSERT_TRUE(r.placement_sources.count(name)) << r.cell_key << " lacks " << name;
    const auto& move = r.placement_sources.at("move_pages");
    const auto& trace = r.placement_sources.at("trace");
    const auto& cgroup = r.placement_sources.at("cgroup");
    EXPECT_EQ(r.placement_source, "move_pages");
    ASSERT_TRUE(move.ok() && trace.ok()) << r.cell_key << ": " << trace.reason;
    EXPECT_EQ(trace.detail.value("transport", ""), transport) << r.cell_key;
    reused += trace.detail.value("programs", "").rfind("reused", 0) == 0;
    EXPECT_EQ(pages_on(move, 0), cell) << r.cell_key;
    EXPECT_EQ(pages_on(trace, 0), pages_on(move, 0)) << r.cell_key << " " << trace.detail.dump();
    ASSERT_TRUE(cgroup.ok()) << r.cell_key << ": " << cgroup.reason;
    const double diff = std::abs(static_cast<double>(pages_on(cgroup, 0)) -
                                 static_cast<double>(pages_on(move, 0)));
    EXPECT_LE(diff, 0.01 * cell) << r.cell_key << " " << cgroup.detail.dump();
    std::printf("%-40s move_pages %llu trace %llu cgroup %llu (%s) meminfo %llu\n",
                r.cell_key.c_str(), (unsigned long long)pages_on(move, 0),
                (unsigned long long)pages_on(trace, 0), (unsigned long long)pages_on(cgroup, 0),
                cgroup.detail.value("counter", "?").c_str(),
                (unsigned long long)pages_on(r.placement_sources.at("meminfo"), 0));
  }
  if (transport == "bpf") EXPECT_EQ(reused, static_cast<int>(records->size()) - 1);
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
  if (::geteuid() != 0) GTEST_SKIP() << "the trace source needs root";
  if (::access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "no usable /dev/kvm";
  auto records = run_cells("noise",
                           "--policy bind:0 --backing anon,shmem,guest_memfd --toucher vcpu"
                           " --size 64MiB --repeats 3",
                           "MEMPLACE_TEST_NOISE=256MiB@0 ");
  ASSERT_TRUE(records.ok()) << records.error().describe();
  ASSERT_EQ(records->size(), 9u);
  for (const RunRecord& r : *records) {
    ASSERT_EQ(r.status, RunStatus::kOk) << r.cell_key << ": " << r.message;
    ASSERT_TRUE(r.extra.contains("test_noise")) << r.cell_key;
    EXPECT_FALSE(r.extra["test_noise"].contains("error")) << r.extra["test_noise"].dump();
    const auto& move = r.placement_sources.at("move_pages");
    const auto& trace = r.placement_sources.at("trace");
    ASSERT_TRUE(move.ok() && trace.ok()) << r.cell_key << ": " << trace.reason;
    EXPECT_EQ(pages_on(move, 0), (64ull << 20) / 4096) << r.cell_key;
    EXPECT_EQ(pages_on(trace, 0), pages_on(move, 0)) << r.cell_key << " " << trace.detail.dump();
  }
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
  if (::geteuid() != 0) GTEST_SKIP() << "the trace source needs root";
  auto records = run_cells("overflow",
                           "--policy bind --nodes 0 --backing anon --size 64MiB --cpu-node 0 "
                           "--no-thp --placement-sources trace --trace-buffer-kib 8 "
                           "--trace-transport " +
                               std::string(GetParam()));
  ASSERT_TRUE(records.ok()) << records.error().describe();
  ASSERT_EQ(records->size(), 1u);
  const RunRecord& r = records->front();
  ASSERT_EQ(r.status, RunStatus::kOk) << r.message;
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
