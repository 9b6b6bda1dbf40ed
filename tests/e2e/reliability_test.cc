// SPDX-License-Identifier: GPL-2.0-only
// Issue 14's reproducers through the real binary: results dirs that crashed, were tampered with
// or are in use, flags that contradict --resume, and the exit-code contract (0 ok, 1 a check
// failed, 2 bad input with nothing written, 3 environment).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "memplace_exec.h"
#include "results/results.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;
using memplace::testing::fresh_temp_path;
using memplace::testing::run_memplace;
using memplace::testing::slurp;

void spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// A finished four-run matrix of small anon cells, the raw material of most reproducers.
std::string four_runs(const std::string& name) {
  std::string out = fresh_temp_path(name);
  auto e = run_memplace("run -q --backing anon --size 4MiB --repeats 4 --out " + out);
  EXPECT_EQ(e.status, 0) << e.output;
  return out;
}

// Item 3: 3 lines plus 200 bytes of a 4th, then --resume: the new record went onto the torn line.
TEST(Reliability, ResumeMovesATornTailAsideAndWritesWholeLines) {
  std::string out = four_runs("torn");
  auto lines = lines_of(out + "/runs.jsonl");
  ASSERT_EQ(lines.size(), 4u);
  std::string torn = lines[3].substr(0, 200);
  spit(out + "/runs.jsonl", lines[0] + "\n" + lines[1] + "\n" + lines[2] + "\n" + torn);
  auto e = run_memplace("run -q --resume " + out);
  ASSERT_EQ(e.status, 0) << e.output;
  EXPECT_NE(e.output.find("torn line (200 bytes"), std::string::npos) << e.output;
  EXPECT_EQ(slurp(out + "/runs.jsonl.torn-1"), torn);
  auto runs = read_runs(out + "/runs.jsonl");
  ASSERT_TRUE(runs.ok());
  EXPECT_TRUE(runs->warnings.empty()) << runs->warnings.front();
  ASSERT_EQ(runs->records.size(), 4u);
  std::set<int> repeats;
  for (const auto& r : runs->records) repeats.insert(r.repeat);
  EXPECT_EQ(repeats, (std::set<int>{0, 1, 2, 3}));
  fs::remove_all(out);
}

// Item 4: a garbage middle line made --resume reuse r0004 and overwrite samples/r0004.csv.
TEST(Reliability, ResumeAfterAGarbageLineNeverReusesARunId) {
  std::string out = four_runs("garbage");
  auto lines = lines_of(out + "/runs.jsonl");
  ASSERT_EQ(lines.size(), 4u);
  std::string samples4 = slurp(out + "/samples/r0004.csv");
  ASSERT_FALSE(samples4.empty());
  spit(out + "/runs.jsonl", lines[0] + "\n\x01 garbage\n" + lines[2] + "\n" + lines[3] + "\n");
  auto e = run_memplace("run -q --resume " + out);
  ASSERT_EQ(e.status, 0) << e.output;
  auto runs = read_runs(out + "/runs.jsonl");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->records.size(), 4u);
  std::set<std::string> ids;
  for (const auto& r : runs->records) ids.insert(r.run_id);
  EXPECT_EQ(ids, (std::set<std::string>{"r0001", "r0003", "r0004", "r0005"}));
  EXPECT_EQ(slurp(out + "/samples/r0004.csv"), samples4);
  EXPECT_TRUE(fs::exists(out + "/samples/r0005.csv"));
  fs::remove_all(out);
}

// Item 5: a --resume while the first run was going doubled the records. The second writer stops.
TEST(Reliability, ASecondWriterIsRefusedWithTheHoldersPid) {
  std::string out = four_runs("locked");
  int fd = ::open((out + "/memplace.lock").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  std::string me = std::to_string(::getpid()) + "\n";
  ASSERT_EQ(::ftruncate(fd, 0), 0);
  ASSERT_EQ(::pwrite(fd, me.data(), me.size(), 0), static_cast<ssize_t>(me.size()));
  std::string before = slurp(out + "/runs.jsonl");
  auto resume = run_memplace("run -q --resume " + out);
  EXPECT_EQ(resume.status, 2) << resume.output;
  EXPECT_NE(resume.output.find(out + " is in use by pid " + std::to_string(::getpid())),
            std::string::npos)
      << resume.output;
  auto report = run_memplace("report " + out);
  EXPECT_EQ(report.status, 2) << report.output;
  EXPECT_EQ(slurp(out + "/runs.jsonl"), before);
  ::close(fd);
  EXPECT_EQ(run_memplace("report " + out).status, 0);
  fs::remove_all(out);
}

// Item 6: --out on a dir of someone's files overwrote them all with exit 0.
TEST(Reliability, OutNeverWritesIntoSomeoneElsesDirOrOverAFile) {
  std::string dir = fresh_temp_path("foreign");
  fs::create_directories(dir);
  for (const char* f : {"report.md", "manifest.json.bak", "summary.csv"})
    spit(dir + "/" + f, std::string("mine: ") + f);
  auto e = run_memplace("run -q --size 4MiB --out " + dir);
  EXPECT_EQ(e.status, 2) << e.output;
  EXPECT_NE(e.output.find("holds no memplace results"), std::string::npos) << e.output;
  EXPECT_EQ(slurp(dir + "/report.md"), "mine: report.md");
  EXPECT_FALSE(fs::exists(dir + "/runs.jsonl"));

  // Item 16: --out naming a file is bad input, not an environment failure.
  auto file = run_memplace("run -q --size 4MiB --out " + dir + "/report.md");
  EXPECT_EQ(file.status, 2) << file.output;
  EXPECT_EQ(slurp(dir + "/report.md"), "mine: report.md");
  auto cmp = run_memplace("compare " + std::string(MEMPLACE_FIXTURES) + "/results/k6.18 " +
                          MEMPLACE_FIXTURES + "/results/k7.0 --out " + dir + "/summary.csv");
  EXPECT_EQ(cmp.status, 2) << cmp.output;
  EXPECT_EQ(slurp(dir + "/summary.csv"), "mine: summary.csv");
  EXPECT_EQ(run_memplace("report " + dir).status, 2);
  fs::remove_all(dir);

  // The issue's dir: someone's report.md, manifest.json, spec.toml and summary.csv.
  fs::create_directories(dir);
  const char* theirs[] = {"report.md", "manifest.json", "spec.toml", "summary.csv"};
  for (const char* f : theirs) spit(dir + "/" + f, std::string("mine: ") + f);
  auto four = run_memplace("run -q --size 4MiB --out " + dir);
  EXPECT_EQ(four.status, 2) << four.output;
  for (const char* f : theirs) EXPECT_EQ(slurp(dir + "/" + f), std::string("mine: ") + f);
  EXPECT_EQ(run_memplace("run -q --resume " + dir).status, 2);
  for (const char* f : theirs) EXPECT_EQ(slurp(dir + "/" + f), std::string("mine: ") + f);
  fs::remove_all(dir);

  std::string results = four_runs("again");
  auto again = run_memplace("run -q --size 4MiB --out " + results);
  EXPECT_EQ(again.status, 2) << again.output;
  EXPECT_NE(again.output.find("pass --resume"), std::string::npos) << again.output;
  fs::remove_all(results);
}

// Item 7: `memplace report` wrote through a symlink planted at NAME.tmp. Neither a planted
// NAME.tmp nor a symlink at a chart's own name (plots/*.svg, plots/charts.json) is followed.
TEST(Reliability, ReportNeverWritesThroughAPlantedSymlink) {
  std::string out = four_runs("planted");
  std::string victim = fresh_temp_path("victim");
  spit(victim, "victim");
  for (const char* f : {"report.md.tmp", "summary.csv.tmp", "runs.csv.tmp", "report.html.tmp",
                        "manifest.json.tmp", "plots/charts.json.tmp", "plots/charts.json",
                        "plots/split_grid.svg", "plots/split_grid.png"}) {
    fs::remove(out + "/" + f);
    fs::create_symlink(victim, out + "/" + f);
  }
  auto e = run_memplace("report " + out);
  ASSERT_EQ(e.status, 0) << e.output;
  EXPECT_EQ(slurp(victim), "victim");
  EXPECT_FALSE(fs::is_symlink(out + "/plots/split_grid.svg"));
  EXPECT_NE(slurp(out + "/plots/split_grid.svg").find("</svg>"), std::string::npos);
  EXPECT_NE(slurp(out + "/plots/charts.json").find("split_grid"), std::string::npos);
  fs::remove(victim);
  fs::remove_all(out);
}

// Item 8: matrix flags next to --resume were ignored with exit 0.
TEST(Reliability, MatrixFlagsNextToResumeAreRefusedByName) {
  std::string out = four_runs("resumeflags");
  std::string before = slurp(out + "/runs.jsonl");
  auto e = run_memplace("run --resume " + out + " --size 8MiB --policy bind:0");
  EXPECT_EQ(e.status, 2) << e.output;
  EXPECT_NE(e.output.find("drop --policy, --size"), std::string::npos) << e.output;
  EXPECT_EQ(slurp(out + "/runs.jsonl"), before);
  fs::remove_all(out);
}

// Item 2: flags the spec refuses were accepted, written into spec.toml, and --resume then
// refused that spec; 2e9 repeats ended in std::bad_alloc.
class SharedValidators : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(SharedValidators, FlagOutsideTheSpecsRangeIsBadInputAndWritesNothing) {
  std::string out = fresh_temp_path("range");
  auto e = run_memplace(std::string("run --size 4MiB ") + GetParam().first + " --out " + out);
  EXPECT_EQ(e.status, 2) << e.output;
  EXPECT_NE(e.output.find(GetParam().second), std::string::npos) << e.output;
  EXPECT_FALSE(fs::exists(out));
}

INSTANTIATE_TEST_SUITE_P(
    Issue14, SharedValidators,
    ::testing::Values(
        std::make_pair("--repeats 2000000000 --dry-run", "--repeats: must be 1..10000"),
        std::make_pair("--repeats 10001", "--repeats: must be 1..10000, got 10001"),
        std::make_pair("--sample-interval-ms 70000", "--sample-interval-ms: must be 1..60000"),
        std::make_pair("--threads 1025", "--threads: must be 1..1024"),
        std::make_pair("--tolerance 1.5", "--tolerance: must be a number in (0, 1)")),
    testing::ParamName());

// Item 10: the tolerance a resumed run judges with is the one the first run used.
TEST(Reliability, ResumedRunKeepsTheExactTolerance) {
  std::string out = fresh_temp_path("tolerance");
  auto e = run_memplace("run -q --size 4MiB --tolerance 0.0123456789 --out " + out);
  ASSERT_EQ(e.status, 0) << e.output;
  EXPECT_NE(slurp(out + "/spec.toml").find("tolerance = 0.0123456789\n"), std::string::npos)
      << slurp(out + "/spec.toml");
  spit(out + "/runs.jsonl", "");  // the run is redone on --resume, judged from spec.toml
  auto resume = run_memplace("run -q --no-plots --resume " + out);
  ASSERT_EQ(resume.status, 0) << resume.output;
  auto runs = read_runs(out + "/runs.jsonl");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->records.size(), 1u);
  EXPECT_EQ(runs->records[0].run_id, "r0002");
  EXPECT_NE(slurp(out + "/runs.jsonl").find("\"tolerance\":0.0123456789"), std::string::npos);
  fs::remove_all(out);
}

// Item 1: report, compare and --resume segfaulted on a deeply nested line.
TEST(Reliability, DeeplyNestedRecordsAreSkippedByEveryReader) {
  std::string out = four_runs("deep");
  auto lines = lines_of(out + "/runs.jsonl");
  ASSERT_EQ(lines.size(), 4u);
  // 100,000 levels in the issue's `extra` and `environment.topology`; this build's old binary
  // survived that and died at 1,000,000.
  std::string nest = std::string(1000000, '[') + std::string(1000000, ']');
  std::string deep_extra = lines[1], deep_topology = lines[2];
  ASSERT_NE(deep_extra.find("\"extra\":{"), std::string::npos);
  deep_extra.insert(deep_extra.find("\"extra\":{") + 9, "\"x\":" + nest + ",");
  ASSERT_NE(deep_topology.find("\"environment\":{"), std::string::npos);
  deep_topology.insert(deep_topology.find("\"environment\":{") + 15, "\"topology\":" + nest + ",");
  spit(out + "/runs.jsonl",
       lines[0] + "\n" + deep_extra + "\n" + deep_topology + "\n" + lines[3] + "\n");
  auto report = run_memplace("report " + out);
  EXPECT_EQ(report.status, 0) << report.output.substr(0, 2000);
  EXPECT_NE(slurp(out + "/report.md").find("nested deeper than 64 levels"), std::string::npos);
  auto cmp = run_memplace("compare " + out + " " + out);
  EXPECT_EQ(cmp.status, 0) << cmp.output.substr(0, 2000);
  auto resume = run_memplace("run -q --resume " + out);
  EXPECT_EQ(resume.status, 0) << resume.output.substr(0, 2000);
  auto runs = read_runs(out + "/runs.jsonl");
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->records.size(), 4u);  // the skipped runs ran again, under new ids
  fs::remove_all(out);
}

// Item 16: compare --fail-on-regression exited 0 when a cell failed or vanished, or nothing
// overlapped.
TEST(Reliability, CompareFailsWhenARunVanishesFailsOrNothingOverlaps) {
  std::string base = four_runs("cmp-base");
  std::string cand = fresh_temp_path("cmp-cand");
  fs::create_directories(cand);
  auto lines = lines_of(base + "/runs.jsonl");
  spit(cand + "/runs.jsonl", "");
  EXPECT_EQ(run_memplace("compare " + base + " " + base + " --fail-on-regression").status, 0);
  auto empty = run_memplace("compare " + base + " " + cand + " --fail-on-regression");
  EXPECT_EQ(empty.status, 1) << empty.output;
  EXPECT_NE(empty.output.find("shares no cell with the baseline"), std::string::npos);
  std::string failed = lines[0];
  size_t st = failed.find("\"status\":\"ok\"");
  ASSERT_NE(st, std::string::npos);
  failed.replace(st, 13, "\"status\":\"failed\"");
  std::string all_failed;
  for (const auto& l : lines) {
    std::string f = l;
    f.replace(f.find("\"status\":\"ok\""), 13, "\"status\":\"failed\"");
    all_failed += f + "\n";
  }
  spit(cand + "/runs.jsonl", all_failed);
  auto broke = run_memplace("compare " + base + " " + cand + " --fail-on-regression");
  EXPECT_EQ(broke.status, 1) << broke.output;
  EXPECT_NE(broke.output.find("ran in the baseline, failed here"), std::string::npos);
  fs::remove_all(base);
  fs::remove_all(cand);
}

// Item 16: a cell ok in the baseline and missing from the candidate, while other cells still
// overlap, is a regression too; a candidate with more cells than the baseline is not.
TEST(Reliability, CompareFailsWhenOneOfSeveralCellsIsMissing) {
  std::string base = fresh_temp_path("cmp2-base");
  auto e = run_memplace("run -q --no-plots --backing anon,shmem --size 4MiB --out " + base);
  ASSERT_EQ(e.status, 0) << e.output;
  std::string cand = fresh_temp_path("cmp2-cand");
  fs::create_directories(cand);
  for (const auto& l : lines_of(base + "/runs.jsonl"))
    if (l.find("\"backing\":\"anon\"") != std::string::npos) spit(cand + "/runs.jsonl", l + "\n");
  ASSERT_EQ(lines_of(cand + "/runs.jsonl").size(), 1u);
  auto missing = run_memplace("compare " + base + " " + cand + " --fail-on-regression");
  EXPECT_EQ(missing.status, 1) << missing.output;
  EXPECT_NE(missing.output.find("default/shmem/host/4MiB/t1/cpuany in B: ran in the baseline, "
                                "missing here"),
            std::string::npos)
      << missing.output;
  EXPECT_EQ(run_memplace("compare " + cand + " " + base + " --fail-on-regression").status, 0);
  EXPECT_EQ(run_memplace("compare " + base + " " + cand).status, 0);
  fs::remove_all(base);
  fs::remove_all(cand);
}

// Item 19: with HOME unset the kernel cache went to /tmp/.cache/memplace, even for --dry-run.
TEST(Reliability, NoCacheDirWithoutHomeIsBadInputAndDryRunCreatesNothing) {
  bool existed = fs::exists("/tmp/.cache/memplace");
  auto e = run_memplace("run --testbed --kernel debian:7 --size 4MiB --dry-run",
                        "env -u HOME -u XDG_CACHE_HOME");
  EXPECT_EQ(e.status, 2) << e.output;
  EXPECT_NE(e.output.find("set XDG_CACHE_HOME or HOME"), std::string::npos) << e.output;
  if (!existed) {
    EXPECT_FALSE(fs::exists("/tmp/.cache/memplace"));
  }

  std::string cache = fresh_temp_path("xdg");
  auto dry = run_memplace("run --testbed --kernel debian:7 --size 4MiB --dry-run",
                          "env XDG_CACHE_HOME=" + cache);
  EXPECT_EQ(dry.status, 0) << dry.output;
  EXPECT_FALSE(fs::exists(cache)) << "a dry run created the kernel cache";
}

// Item 20: on a host with hot-plugged memory node 0's meminfo said 6.3 GiB against 24 GiB in
// /proc/meminfo. The issue's figures are bound over node0/meminfo in a private mount namespace
// (root only); probe and the run's preflight name the figure they use and warn.
TEST(Reliability, NodeMeminfoThatDisagreesWithProcMeminfoIsNamedAndWarned) {
  const std::string node0 = "/sys/devices/system/node/node0/meminfo";
  std::string fake = fresh_temp_path("node0-meminfo");
  std::string text = slurp(node0);
  size_t total = text.find("MemTotal:"), free = text.find("MemFree:");
  ASSERT_NE(total, std::string::npos) << node0;
  ASSERT_NE(free, std::string::npos) << node0;
  text.replace(free, text.find('\n', free) - free, "MemFree:        3000000 kB");
  text.replace(total, text.find('\n', total) - total, "MemTotal:       6606028 kB");
  spit(fake, text);
  std::string in_ns =
      "unshare -m sh -c 'mount --bind " + fake + " " + node0 + " && exec \"$0\" \"$@\"'";
  if (::geteuid() != 0 || std::system(("env " + in_ns + " /bin/true 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "needs root and a private mount namespace to fake node0/meminfo";
  if (std::stoull(slurp("/proc/meminfo").substr(9)) < (7ull << 20))  // 6.3 GiB > 10% below
    GTEST_SKIP() << "host has too little memory for the fake node figure to disagree";
  auto probe = run_memplace("probe", in_ns);
  EXPECT_EQ(probe.status, 0) << probe.output;
  EXPECT_NE(probe.output.find("node meminfo: 6.3 GiB total, 2.9 GiB free (used for the "
                              "free-memory checks); /proc/meminfo:"),
            std::string::npos)
      << probe.output;
  EXPECT_NE(probe.output.find("disagree by more than 10%"), std::string::npos) << probe.output;
  auto dry = run_memplace("run --size 4MiB --dry-run", in_ns);
  EXPECT_EQ(dry.status, 0) << dry.output;
  EXPECT_NE(dry.output.find("warning: the nodes' meminfo and /proc/meminfo disagree"),
            std::string::npos)
      << dry.output;
  fs::remove(fake);
}

// Item 17: mem_per_node = "64GiB" passed the preflight on a 24 GiB host.
TEST(Reliability, TestbedGuestLargerThanTheHostIsRefusedBeforeAnythingRuns) {
  std::string dir = fresh_temp_path("bigguest");
  fs::create_directories(dir);
  // The issue's 64GiB per node (131072M for QEMU) only outgrows hosts below 128 GiB.
  uint64_t host_kib = 0;
  std::istringstream(slurp("/proc/meminfo").substr(9)) >> host_kib;  // "MemTotal:" first
  std::vector<std::string> sizes = {"64TiB"};
  if (host_kib < (128ull << 20)) sizes.push_back("64GiB");
  for (const auto& size : sizes) {
    spit(dir + "/big.toml", "[matrix]\nsize = \"4MiB\"\n[testbed]\nnodes = 2\nmem_per_node = \"" +
                                size + "\"\nkernels = [\"debian:7\"]\n");
    auto e = run_memplace("run " + dir + "/big.toml --dry-run --out " + dir + "/out");
    EXPECT_EQ(e.status, 2) << size << ": " << e.output;
    EXPECT_NE(e.output.find("(2 nodes of " + size + "): the guest needs"), std::string::npos)
        << e.output;
    EXPECT_NE(e.output.find("--force"), std::string::npos) << e.output;
    EXPECT_FALSE(fs::exists(dir + "/out"));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace memplace
