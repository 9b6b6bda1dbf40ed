// SPDX-License-Identifier: GPL-2.0-only
// Golden-file tests over the sample result dirs in tests/fixtures/results (see make_fixtures.py).
// To accept a deliberate change in output: MEMPLACE_UPDATE_GOLDEN=1 ./report_test, then review
// the diff of tests/fixtures/golden/.
#include "report/report.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "golden.h"
#include "results/results.h"
#include "test_support.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

using memplace::testing::expect_golden;
using memplace::testing::slurp;

using testing::fixture_path;
using testing::load_results_fixture;

TEST(MemusedTable, CoverLetterLayoutInMegabytes) {
  RunRecord r;
  // The cover letter's "generic kernel" numbers, in kB.
  r.meminfo_before = {{0, {{"MemUsed", 10221158}}}, {1, {{"MemUsed", 3391488}}}};
  r.meminfo_after = {{0, {{"MemUsed", 62926561}}}, {1, {{"MemUsed", 3278459}}}};
  std::string t = format_memused_table(r);
  EXPECT_EQ(t,
            "MemUsed (MB)        Node 0        Node 1         Total\n"
            "Before             9981.60       3312.00      13293.60\n"
            "After             61451.72       3201.62      64653.34\n"
            "Delta             51470.12       -110.38      51359.74\n");
}

TEST(MemusedTable, SparseNodesAndMissingMemUsed) {
  RunRecord r;
  // Node 2 without MemUsed falls back to MemTotal - MemFree; node 5 lacks an "after".
  r.meminfo_before = {{0, {{"MemUsed", 1024}}},
                      {2, {{"MemTotal", 4096}, {"MemFree", 3072}}},
                      {5, {{"MemUsed", 2048}}}};
  r.meminfo_after = {{0, {{"MemUsed", 2048}}}, {2, {{"MemTotal", 4096}, {"MemFree", 1024}}}};
  std::string t = format_memused_table(r);
  EXPECT_NE(t.find("Node 2"), std::string::npos);
  EXPECT_EQ(t.find("Node 1"), std::string::npos);
  EXPECT_NE(t.find("Delta                 1.00          2.00           n/a"), std::string::npos)
      << t;
}

TEST(MemusedTable, NoMeminfo) {
  EXPECT_EQ(format_memused_table(RunRecord{}), "(no meminfo recorded)\n");
}

TEST(ReportGolden, SingleKernelMarkdownAndCsv) {
  auto runs = load_results_fixture("k6.18");
  ASSERT_EQ(runs.size(), 11u);
  std::string md = render_report_markdown(runs, "k6.18");
  // The headline facts, independent of the golden file.
  EXPECT_NE(md.find("| interleave | 0-1 | host | 256MiB |  | 50/50 honored (3/3) | "
                    "100/0 **NOT honored** (0/3) |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| weighted-interleave | 0-1 | host | 256MiB |  |  | unsupported |"),
            std::string::npos);
  EXPECT_NE(md.find("| preferred | 1 | host | 256MiB |  |  | failed |"), std::string::npos);
  EXPECT_NE(md.find("status: **failed**: KVM_CREATE_GUEST_MEMFD"), std::string::npos);
  expect_golden(md, "k6.18.report.md");
  expect_golden(render_runs_csv(runs), "k6.18.runs.csv");
  expect_golden(render_summary_csv(runs), "k6.18.summary.csv");
}

TEST(ReportGolden, DirWithTwoKernelsIsGroupedByKernel) {
  auto runs = load_results_fixture("mixed");
  std::string md = render_report_markdown(runs, "mixed");
  size_t old_k = md.find("## Kernel 6.18.0-1-amd64 (testbed, tcg)");
  size_t new_k = md.find("## Kernel 7.0.0-memplace (testbed, tcg)");
  ASSERT_NE(old_k, std::string::npos);
  ASSERT_NE(new_k, std::string::npos);
  EXPECT_NE(md.find("on 2 kernels"), std::string::npos);
  // The same cell sits in each kernel's own summary with its own verdict.
  size_t not_honored = md.find("100/0 **NOT honored**");
  size_t honored = md.find("50/50 honored");
  EXPECT_TRUE(old_k < not_honored && not_honored < new_k);
  EXPECT_GT(honored, new_k);
  expect_golden(md, "mixed.report.md");
  expect_golden(render_summary_csv(runs), "mixed.summary.csv");
}

// A merged dir of two hosts on one kernel: each host gets its own summary.
TEST(ReportMarkdown, SeveralHostsAreGroupedByHostAndKernel) {
  std::vector<RunRecord> runs = load_results_fixture("k6.18");
  ASSERT_GE(runs.size(), 2u);
  EXPECT_EQ(render_report_markdown(runs, "t").find("## Host "), std::string::npos);
  for (size_t i = 0; i < runs.size(); ++i) runs[i].environment.hostname = i % 2 ? "beta" : "alpha";
  std::string md = render_report_markdown(runs, "t");
  EXPECT_NE(md.find("## Host alpha, kernel 6.18.0-1-amd64"), std::string::npos) << md;
  EXPECT_NE(md.find("## Host beta, kernel 6.18.0-1-amd64"), std::string::npos) << md;
  EXPECT_NE(md.find("on 2 host and kernel pairs"), std::string::npos);
}

TEST(WriteReport, WritesAllThreeFilesAndListsSkippedLines) {
  std::string dir = fs::temp_directory_path() / "memplace_report_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(fixture_path("results/mixed/runs.jsonl"), dir + "/runs.jsonl");
  {
    std::ofstream out(dir + "/runs.jsonl", std::ios::app);
    out << "{\"policy\": \"interleave\", \"nod";  // a run killed mid-write
  }
  ASSERT_TRUE(write_report(dir).ok());
  std::string md = slurp(dir + "/report.md");
  EXPECT_NE(md.find("## Skipped lines"), std::string::npos);
  EXPECT_NE(md.find("runs.jsonl:5: truncated"), std::string::npos) << md;
  EXPECT_EQ(slurp(dir + "/summary.csv"), render_summary_csv(load_results_fixture("mixed")));
  EXPECT_FALSE(slurp(dir + "/runs.csv").empty());
  fs::remove_all(dir);
}

TEST(WriteReport, MissingDirIsAnError) {
  EXPECT_FALSE(write_report("/nonexistent/dir").ok());
}

}  // namespace
}  // namespace memplace
