// SPDX-License-Identifier: GPL-2.0-only
// `memplace report` and `memplace run` leave report.md, charts and report.html; without
// matplotlib they still succeed and say how to get charts. The fidelity test reads the numbers
// the headline chart draws (its SVG text) and finds the same numbers in report.md.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "golden.h"
#include "memplace_exec.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;
using memplace::testing::slurp;

const char* kKernels[] = {"6.18.15+deb13-cloud-amd64", "7.3.4+deb13-cloud-amd64"};

using testing::Exec;

using testing::run_shell;

bool have_matplotlib() {
  return run_shell("/usr/bin/python3 -c 'import matplotlib'").status == 0;
}

class ReportCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("memplace-report-cmd-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy(fs::path(MEMPLACE_FIXTURES) / "testbed", dir_ / "tb", fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(dir_); }
  Exec report(const std::string& args, const std::string& env = "") {
    return run_shell(env + " " + MEMPLACE_BINARY + " report " + args);
  }
  fs::path dir_;
};

TEST_F(ReportCommand, TestbedDirGetsChartsMarkdownAndHtml) {
  if (!have_matplotlib()) GTEST_SKIP() << "/usr/bin/python3 has no matplotlib";
  Exec e = report((dir_ / "tb").string());
  ASSERT_EQ(e.status, 0) << e.output;
  std::string md = slurp((dir_ / "tb" / "report.md").string());
  EXPECT_NE(md.find("## Charts"), std::string::npos);
  EXPECT_NE(md.find("](plots/headline.png)"), std::string::npos) << md;
  EXPECT_NE(md.find("](plots/split_grid.png)"), std::string::npos) << md;
  for (const char* f : {"headline.svg", "split_grid.svg", "charts.json"})
    EXPECT_TRUE(fs::exists(dir_ / "tb" / "plots" / f)) << f;
  std::string html = slurp((dir_ / "tb" / "report.html").string());
  EXPECT_NE(html.find("<img src=\"data:image/svg+xml;base64,"), std::string::npos);
  // Each kernel's own report.md is regenerated too.
  for (const char* k : kKernels) EXPECT_TRUE(fs::exists(dir_ / "tb" / k / "report.md")) << k;
}

// A tiny wrapper that runs Debian's Python without site-packages: a Python lacking matplotlib.
std::string python_without_matplotlib(const fs::path& dir) {
  fs::path wrapper = dir / "python-no-mpl";
  std::ofstream(wrapper) << "#!/bin/sh\nexec /usr/bin/python3 -S \"$@\"\n";
  fs::permissions(wrapper, fs::perms::owner_all);
  return "MEMPLACE_PYTHON=" + wrapper.string();
}

TEST_F(ReportCommand, WithoutMatplotlibSaysHowToGetChartsAndSucceeds) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 is absent";
  Exec e = report((dir_ / "tb").string(), python_without_matplotlib(dir_));
  ASSERT_EQ(e.status, 0) << e.output;
  std::string md = slurp((dir_ / "tb" / "report.md").string());
  EXPECT_NE(md.find("No charts: matplotlib is not installed"), std::string::npos) << md;
  EXPECT_NE(md.find("apt-get install python3-matplotlib"), std::string::npos) << md;
  EXPECT_FALSE(fs::exists(dir_ / "tb" / "plots" / "headline.png"));
  std::string html = slurp((dir_ / "tb" / "report.html").string());
  EXPECT_NE(html.find("python3-matplotlib"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
}

TEST_F(ReportCommand, NoPlotsDrawsNothing) {
  Exec e = report("--no-plots " + (dir_ / "tb").string());
  ASSERT_EQ(e.status, 0) << e.output;
  EXPECT_FALSE(fs::exists(dir_ / "tb" / "plots"));
  EXPECT_NE(slurp((dir_ / "tb" / "report.md").string()).find("(--no-plots)"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "tb" / "report.html"));
}

TEST_F(ReportCommand, DirWithoutRunsExitsTwo) {
  fs::create_directories(dir_ / "empty");
  Exec e = report((dir_ / "empty").string());
  EXPECT_EQ(e.status, 2) << e.output;
  EXPECT_NE(e.output.find("no runs.jsonl here or in its subdirectories"), std::string::npos);
}

// The text of the SVG element with this id (matplotlib writes <g id="..."><text ...>T</text>).
std::string svg_text(const std::string& svg, const std::string& id) {
  std::smatch m;
  std::regex re("<g id=\"" + id + "\">\\s*<text[^>]*>([^<]*)</text>");
  return std::regex_search(svg, m, re) ? m[1].str() : "";
}

// Node `node`'s value in the Delta row of the first MemUsed table after `line`, which follows
// `heading`, in report.md.
std::string report_delta(const std::string& md, const std::string& heading, const std::string& line,
                         int node) {
  size_t at = md.find(heading);
  if (at != std::string::npos) at = md.find(line, at);
  if (at == std::string::npos) return "";
  at = md.find("\nDelta", at);
  std::istringstream row(md.substr(at + 1, md.find('\n', at + 1) - at - 1));
  std::string word;
  row >> word;  // "Delta"
  for (int i = 0; i <= node; ++i) row >> word;
  return word;
}

// Fidelity: the deltas the headline figure labels are report.md's, for the same runs.
TEST_F(ReportCommand, HeadlineChartShowsTheNumbersOfReportMd) {
  if (!have_matplotlib()) GTEST_SKIP() << "/usr/bin/python3 has no matplotlib";
  ASSERT_EQ(report((dir_ / "tb").string()).status, 0);
  std::string svg = slurp((dir_ / "tb" / "plots" / "headline.svg").string());
  std::string md = slurp((dir_ / "tb" / "report.md").string());
  std::smatch cell;
  std::string index = slurp((dir_ / "tb" / "plots" / "charts.json").string());
  ASSERT_TRUE(std::regex_search(index, cell, std::regex("\"headline_cell\": \"([^\"]+)\"")));
  int compared = 0;
  for (int s = 0; s < 2; ++s) {
    // The figure shows each kernel's first repeat, as the cover letter shows one run.
    std::string heading = std::string("### ") + kKernels[s] + "\n";
    std::string line = "- `" + cell[1].str() + "` repeat 0:";
    for (int node = 0; node < 2; ++node) {
      std::string drawn =
          svg_text(svg, "headline-delta-" + std::to_string(s) + "-n" + std::to_string(node));
      ASSERT_FALSE(drawn.empty()) << "kernel " << s << " node " << node;
      ASSERT_EQ(drawn.substr(drawn.size() - 3), " MB") << drawn;
      std::string value =
          drawn.substr(drawn[0] == '+' ? 1 : 0, drawn.size() - 3 - (drawn[0] == '+' ? 1 : 0));
      EXPECT_EQ(value, report_delta(md, heading, line, node)) << kKernels[s] << " node " << node;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 4);
}

// memplace run on this host: charts and report.html appear when the run ends, and --no-plots
// leaves them out.
TEST(RunReports, RunLeavesChartsAndHtmlUnlessNoPlots) {
  if (!have_matplotlib()) GTEST_SKIP() << "/usr/bin/python3 has no matplotlib";
  fs::path dir = fs::temp_directory_path() / ("memplace-run-charts-" + std::to_string(getpid()));
  fs::remove_all(dir);
  std::string base = std::string(MEMPLACE_BINARY) + " run --backing anon --size 8MiB -q --out ";
  Exec with = run_shell(base + (dir / "with").string());
  ASSERT_EQ(with.status, 0) << with.output;
  EXPECT_TRUE(fs::exists(dir / "with" / "plots" / "split_grid.svg"));
  EXPECT_TRUE(fs::exists(dir / "with" / "report.html"));
  EXPECT_NE(slurp((dir / "with" / "report.md").string()).find("](plots/split_grid.png)"),
            std::string::npos);
  Exec without = run_shell(base + (dir / "without").string() + " --no-plots");
  ASSERT_EQ(without.status, 0) << without.output;
  EXPECT_FALSE(fs::exists(dir / "without" / "plots"));
  EXPECT_TRUE(fs::exists(dir / "without" / "report.html"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace memplace
