// SPDX-License-Identifier: GPL-2.0-only
// Kernels built by `make kernels` (scripts/kernel-build.sh) booted in the testbed through the
// whole command line: `memplace run --testbed --kernel build:NAME`. A build takes many minutes, so
// these skip, saying how to make one, when the cache holds none.
#include "kernels/kernel_build.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/subprocess.h"
#include "kernels/kernel_fetch.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

// The cache dir as memplace finds it ("" without XDG_CACHE_HOME and HOME: then no build is found).
std::string cache_dir() {
  auto c = memplace_cache_dir();
  return c ? *c : "";
}

#define REQUIRE_BUILD(name)                                                           \
  do {                                                                                \
    auto b = load_kernel_build(cache_dir(), name);                                    \
    if (!b)                                                                           \
      GTEST_SKIP() << "no kernel build " << name << " in " << cache_dir()             \
                   << "/builds; `make kernels` builds it (about 30 min on 2 cores): " \
                   << b.error().message;                                              \
    auto q = run_command({"sh", "-c", "command -v qemu-system-x86_64"});              \
    if (!q || q->exit_code != 0) GTEST_SKIP() << "no qemu-system-x86_64";             \
  } while (0)

struct CellRun {
  std::string out;
  nlohmann::json record;
  nlohmann::json manifest;
};

// One guest_memfd cell interleaved over the 2 emulated nodes, faulted by host threads on node 0.
CellRun run_interleave_cell(const std::string& build) {
  CellRun c;
  c.out =
      (fs::temp_directory_path() / ("memplace-kbuild-e2e-" + std::to_string(getpid()))).string();
  fs::remove_all(c.out);
  auto r = run_command({MEMPLACE_BINARY, "run", "--testbed", "--kernel", "build:" + build,
                        "--policy", "interleave:0-1", "--backing", "guest_memfd", "--toucher",
                        "host", "--size", "64MiB", "--cpu-node", "0", "--out", c.out});
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return c;
  EXPECT_EQ(r->exit_code, 0) << r->out << r->err;
  std::ifstream runs(c.out + "/" + build + "/runs.jsonl");
  std::string line;
  EXPECT_TRUE(std::getline(runs, line)) << "no record in " << c.out << "/" << build;
  c.record = nlohmann::json::parse(line, nullptr, false);
  std::ifstream m(c.out + "/" + build + "/manifest.json");
  c.manifest = nlohmann::json::parse(m, nullptr, false);
  return c;
}

double pages_on(const nlohmann::json& record, const char* node) {
  const auto& p = record["placement_pages"];
  return p.contains(node) ? p[node].get<double>() : 0.0;
}

// The cell ran, and its record names the build: build.json as the cache holds it, via the host.
void expect_ok_on_build(const CellRun& c, const std::string& build) {
  ASSERT_TRUE(c.record.is_object()) << c.out;
  EXPECT_EQ(c.record["status"], "ok") << c.record.dump();
  auto b = load_kernel_build(cache_dir(), build);
  ASSERT_TRUE(b);
  const auto& env = c.record["environment"];
  EXPECT_EQ(env["kind"], "testbed");
  EXPECT_EQ(env["kernel"], b->release) << "uname -r in the guest";
  EXPECT_EQ(env["kernel_build"], b->info);
  EXPECT_EQ(c.manifest["kernel"]["build"], b->info);
}

TEST(KernelBuildTestbed, Build72HonorsInterleaveOnGuestMemfd) {
  REQUIRE_BUILD("7.2");
  CellRun c = run_interleave_cell("7.2");
  expect_ok_on_build(c, "7.2");
  if (HasFatalFailure()) return;
  // 64 MiB = 16384 pages, split evenly by the file's shared policy.
  EXPECT_NEAR(pages_on(c.record, "0"), 8192, 164) << c.record["placement_pages"].dump();
  EXPECT_NEAR(pages_on(c.record, "1"), 8192, 164) << c.record["placement_pages"].dump();
  EXPECT_TRUE(c.record["verdict"]["honored"].get<bool>());
  EXPECT_EQ(c.record["policy_readback"], "interleave:0-1");
  std::printf("[measured] build:7.2 guest_memfd interleave:0-1: N0 %.0f N1 %.0f pages\n",
              pages_on(c.record, "0"), pages_on(c.record, "1"));
  if (!HasFailure()) fs::remove_all(c.out);
}

TEST(KernelBuildTestbed, BuildWithoutSharedPolicyLeavesGuestMemfdOnTheFaultingNode) {
  REQUIRE_BUILD("7.2-no-gmem-policy");
  CellRun c = run_interleave_cell("7.2-no-gmem-policy");
  expect_ok_on_build(c, "7.2-no-gmem-policy");
  if (HasFatalFailure()) return;
  EXPECT_NEAR(pages_on(c.record, "0"), 16384, 164) << c.record["placement_pages"].dump();
  EXPECT_FALSE(c.record["verdict"]["honored"].get<bool>());
  EXPECT_EQ(c.record["policy_readback"], "default");
  if (!HasFailure()) fs::remove_all(c.out);
}

}  // namespace
}  // namespace memplace
