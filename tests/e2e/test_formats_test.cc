// SPDX-License-Identifier: GPL-2.0-only
// KTAP and JUnit as their own consumers read them: memplace's KTAP through the parser in the
// kernel's tree (tools/testing/kunit/kunit.py from Debian's linux-source, taken from memplace's
// kernel source cache), its JUnit through python3-junitparser. The counts each consumer reports
// must be the cells' own: 3 honored, 2 not honored or failed, 1 unsupported in the fixture.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "kernels/kernel_fetch.h"
#include "memplace_exec.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;
using testing::run_memplace;
using testing::run_shell;

const std::string kFixtures = std::string(MEMPLACE_FIXTURES) + "/results";

// The KUnit tool from the linux-source-7.2 deb in the cache, unpacked once; "" when no source is
// cached.
std::string kunit_tool() {
  auto cache = memplace_cache_dir();
  if (!cache) return "";
  const std::string dir = *cache + "/kunit-7.2";
  const std::string tool = dir + "/linux-source-7.2/tools/testing/kunit/kunit.py";
  if (fs::exists(tool)) return tool;
  std::string deb;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(*cache + "/sources", ec))
    if (e.path().filename().string().rfind("linux-source-7.2_", 0) == 0 &&
        e.path().extension() == ".deb")
      deb = e.path().string();
  if (deb.empty()) return "";
  fs::create_directories(dir);
  auto x = run_shell("dpkg-deb --fsys-tarfile '" + deb +
                     "' | tar -xO ./usr/src/linux-source-7.2.tar.xz | xz -dc | tar -x -C '" + dir +
                     "' --wildcards 'linux-source-7.2/tools/testing/kunit/*.py'");
  return x.status == 0 && fs::exists(tool) ? tool : "";
}

std::string fixture_copy(const std::string& name) {
  const std::string dir = testing::fresh_temp_dir("formats-" + name);
  fs::copy(kFixtures + "/" + name, dir, fs::copy_options::recursive);
  return dir;
}

TEST(TestFormats, KtapPassesTheKernelsOwnParser) {
  const std::string kunit = kunit_tool();
  if (kunit.empty())
    GTEST_SKIP() << "linux-source-7.2 is not in memplace's cache (kernels/7.2.conf builds fetch "
                    "it): the kernel's KTAP parser is not here";
  const std::string dir = fixture_copy("k6.18");
  auto report = run_memplace("report --no-plots --format ktap " + dir);
  ASSERT_EQ(report.status, 0) << report.output;
  testing::write_text(dir + ".ktap", report.out);
  auto parsed = run_shell("/usr/bin/python3 " + kunit + " parse " + dir + ".ktap");
  EXPECT_EQ(parsed.status, 1) << "kunit.py exits 1 when a test failed\n" << parsed.output;
  EXPECT_NE(parsed.output.find("Ran 6 tests: passed: 3, failed: 2, skipped: 1"), std::string::npos)
      << parsed.output;
  EXPECT_EQ(parsed.output.find("[ERROR]"), std::string::npos) << parsed.output;

  // compare: one test per cell of the later dir; the regression fails, the fix passes.
  auto cmp = run_memplace("compare --format ktap " + kFixtures + "/k6.18 " + kFixtures + "/k7.0");
  ASSERT_EQ(cmp.status, 0) << cmp.output;
  testing::write_text(dir + "-compare.ktap", cmp.out);
  auto cparsed = run_shell("/usr/bin/python3 " + kunit + " parse " + dir + "-compare.ktap");
  EXPECT_NE(cparsed.output.find("[FAILED] B: bind:1/shmem/host/256MiB/t1/cpu0"), std::string::npos)
      << cparsed.output;
  EXPECT_NE(cparsed.output.find("[PASSED] B: interleave:0-1/guest_memfd/host/256MiB/t1/cpu0"),
            std::string::npos)
      << cparsed.output;
  fs::remove_all(dir);
  fs::remove(dir + ".ktap");
  fs::remove(dir + "-compare.ktap");
}

TEST(TestFormats, JunitIsReadByJunitparser) {
  if (run_shell("/usr/bin/python3 -c 'import junitparser'").status != 0)
    GTEST_SKIP() << "python3-junitparser is not installed (scripts/install-deps.sh)";
  const std::string dir = fixture_copy("k6.18");
  auto report = run_memplace("report --no-plots --format junit " + dir);
  ASSERT_EQ(report.status, 0) << report.output;
  testing::write_text(dir + ".xml", report.out);
  auto read = run_shell(
      "/usr/bin/python3 -c 'import sys, junitparser\n"
      "x = junitparser.JUnitXml.fromfile(sys.argv[1])\n"
      "for s in x: print(s.tests, s.failures, s.skipped, s.errors)\n"
      "print(sorted(c.name for s in x for c in s)[0])' " +
      dir + ".xml");
  ASSERT_EQ(read.status, 0) << read.output;
  EXPECT_NE(read.output.find("6 2 1 0"), std::string::npos) << read.output;
  EXPECT_NE(read.output.find("bind:1/shmem/host/256MiB/t1/cpu0"), std::string::npos) << read.output;
  fs::remove_all(dir);
  fs::remove(dir + ".xml");
}

// run --format ktap: the run's own cells as tests on stdout, after the run.
TEST(TestFormats, RunPrintsItsCellsAsKtap) {
  const std::string dir = testing::fresh_temp_dir("formats-run");
  auto e =
      run_memplace("run -q --no-plots --size 4MiB --backing anon,shmem --format ktap --out " + dir);
  ASSERT_EQ(e.status, 0) << e.output;
  EXPECT_EQ(e.out.rfind("KTAP version 1\n1..2\n", 0), 0u) << e.out;
  EXPECT_NE(e.out.find("ok 1 default/anon/host/4MiB/t1/cpuany"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("ok 2 default/shmem/host/4MiB/t1/cpuany"), std::string::npos) << e.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace memplace
