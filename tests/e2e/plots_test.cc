// SPDX-License-Identifier: GPL-2.0-only
// Runs `memplace plot` (chart data, then plots/memplace_plots.py under Debian's /usr/bin/python3)
// on the sample result dirs:
// every chart is a well-formed PNG and SVG, and hostile dirs give warnings or one-line errors.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "memplace_exec.h"

namespace {

namespace fs = std::filesystem;

const std::string kPython = "/usr/bin/python3";
const std::string kScript = std::string(MEMPLACE_SOURCE_DIR) + "/plots/memplace_plots.py";
const std::string kResults = std::string(MEMPLACE_FIXTURES) + "/results";
// memplace writes the chart data and runs the script on it: the script never reads the dirs.
const std::string kPlot = std::string(MEMPLACE_BINARY) + " plot ";

using memplace::testing::Exec;
using memplace::testing::run_shell;
using memplace::testing::slurp;

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

// Signature, a first IHDR chunk with a non-empty image, and the IEND trailer.
void expect_valid_png(const fs::path& path) {
  std::string png = slurp(path);
  ASSERT_GT(png.size(), 1000u) << path;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  EXPECT_EQ(png.substr(12, 4), "IHDR") << path;
  EXPECT_GT(be32(png, 16), 100u) << path << " width";
  EXPECT_GT(be32(png, 20), 100u) << path << " height";
  EXPECT_EQ(png.substr(png.size() - 8, 4), "IEND") << path;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

void expect_valid_svg(const fs::path& path) {
  std::string svg = slurp(path);
  ASSERT_GT(svg.size(), 1000u) << path;
  EXPECT_NE(svg.find("<svg"), std::string::npos) << path;
  EXPECT_NE(svg.find("</svg>"), std::string::npos) << path;
}

class Plots : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kPython)) GTEST_SKIP() << kPython << " is absent";
    if (run_shell(kPython + " -c 'import matplotlib'").status != 0)
      GTEST_SKIP() << kPython << " has no matplotlib (Debian package python3-matplotlib)";
    out_ = fs::temp_directory_path() / ("memplace_plots_test_" + std::to_string(::getpid()));
    fs::remove_all(out_);
  }
  void TearDown() override {
    if (!out_.empty()) fs::remove_all(out_);
  }
  fs::path out_;
};

void expect_chart(const fs::path& dir, const std::string& name) {
  expect_valid_png(dir / (name + ".png"));
  expect_valid_svg(dir / (name + ".svg"));
}

// Copies a fixture dir so a test can make it hostile.
fs::path copy_fixture(const fs::path& to, const std::string& name) {
  fs::create_directories(to);
  fs::copy(kResults + "/" + name, to, fs::copy_options::recursive);
  return to;
}

void write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Exactly one line on stderr and no Python traceback: what a user sees for bad input.
void expect_one_line_error(const Exec& r) {
  EXPECT_EQ(r.output.find("Traceback"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST_F(Plots, OneDirWritesEveryChartAsPngAndSvg) {
  Exec r = run_shell(kPlot + kResults + "/k6.18 --out " + out_.string());
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* name : {"headline", "timeline", "split_grid", "memused_bars-6.18.0-1-amd64",
                           "memused_timeline-6.18.0-1-amd64"})
    expect_chart(out_, name);
  std::string index = slurp(out_ / "charts.json");
  EXPECT_NE(index.find("\"headline_cell\": \"interleave:0-1/guest_memfd/host/256MiB/t1/cpu0\""),
            std::string::npos)
      << index;
  // Every written file is listed on stdout, for `memplace plot` to pass on.
  EXPECT_NE(r.output.find((out_ / "split_grid.svg").string()), std::string::npos) << r.output;
}

// 6.18 -> 7.0 holds one fix (guest_memfd interleave) and one regression (bind:1 shmem); the
// grid's SVG keeps its text, so both labels can be found in it.
TEST_F(Plots, TwoKernelsMarkTheFixAndTheRegression) {
  Exec r = run_shell(kPlot + kResults + "/k6.18 " + kResults + "/k7.0 --out " + out_.string());
  ASSERT_EQ(r.status, 0) << r.output;
  std::string grid = slurp(out_ / "split_grid.svg");
  EXPECT_EQ(count(grid, ">FIX<"), 1) << "one fix";
  EXPECT_EQ(count(grid, ">REGRESSION<"), 1) << "one regression";
  for (const char* k : {"6.18.0-1-amd64", "7.0.0-memplace"}) {
    expect_chart(out_, std::string("memused_bars-") + k);
    EXPECT_NE(grid.find(k), std::string::npos) << k;
  }
}

// A testbed dir holds one subdir per kernel; the first is the baseline.
TEST_F(Plots, TestbedDirIsReadKernelByKernel) {
  Exec r = run_shell(kPlot + MEMPLACE_FIXTURES + "/testbed --out " + out_.string());
  ASSERT_EQ(r.status, 0) << r.output;
  expect_chart(out_, "headline");
  expect_chart(out_, "split_grid");
  std::string index = slurp(out_ / "charts.json");
  EXPECT_LT(index.find("6.18.15+deb13-cloud-amd64"), index.find("7.3.4+deb13-cloud-amd64"));
}

// Three kernels read as a timeline: a chart with every cell on every kernel; two do not.
TEST_F(Plots, ThreeKernelsDrawTheKernelTimeline) {
  fs::path dir = out_ / "tb";
  fs::create_directories(dir);
  for (const char* k : {"6.18.15+deb13-cloud-amd64", "7.3.4+deb13-cloud-amd64"})
    fs::copy(std::string(MEMPLACE_FIXTURES) + "/testbed/" + k, dir / k,
             fs::copy_options::recursive);
  Exec two = run_shell(kPlot + dir.string() + " --out " + (out_ / "two").string());
  ASSERT_EQ(two.status, 0) << two.output;
  EXPECT_FALSE(fs::exists(out_ / "two" / "kernel_timeline.svg"));
  fs::copy(std::string(MEMPLACE_FIXTURES) + "/testbed/6.18.15+deb13-cloud-amd64", dir / "zz-again",
           fs::copy_options::recursive);
  Exec three = run_shell(kPlot + dir.string() + " --out " + (out_ / "three").string());
  ASSERT_EQ(three.status, 0) << three.output;
  expect_chart(out_ / "three", "kernel_timeline");
  const std::string svg = slurp(out_ / "three" / "kernel_timeline.svg");
  EXPECT_EQ(count(svg, "not honored"), 4) << "two guest_memfd cells on two 6.18 copies";
  EXPECT_NE(slurp(out_ / "three" / "charts.json").find("\"kernel_timeline\""), std::string::npos);
}

TEST_F(Plots, MissingDirExitsTwo) {
  Exec r = run_shell(kPlot + "/nonexistent --out " + out_.string());
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("/nonexistent"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Traceback"), std::string::npos) << r.output;
}

TEST_F(Plots, TruncatedAndDeeplyNestedLinesAreSkippedNotFatal) {
  fs::path dir = copy_fixture(out_ / "in", "mixed");
  std::ofstream(dir / "runs.jsonl", std::ios::app)
      << std::string(100000, '[') << std::string(100000, ']') << "\n{\"policy\": \"interle";
  Exec r = run_shell(kPlot + dir.string() + " --out " + (out_ / "o").string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("runs.jsonl:5"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("runs.jsonl:6"), std::string::npos) << r.output;
  expect_chart(out_ / "o", "split_grid");
}

// A samples_file naming a path outside the results dir (by "..", absolute, or through a
// symlink) is never opened: the charts that would need it are left out, with a warning.
TEST_F(Plots, SamplesFileOutsideTheDirIsNeverRead) {
  fs::path dir = copy_fixture(out_ / "in", "k6.18");
  write(out_ / "outside.csv", "t_seconds,node,MemUsed_kB\n0,0,1\n1,0,999999\n");
  fs::create_symlink(out_ / "outside.csv", dir / "samples" / "link.csv");
  std::string runs = slurp(dir / "runs.jsonl");
  const std::string names[] = {"../outside.csv", (out_ / "outside.csv").string(),
                               "samples/link.csv"};
  size_t at = 0;
  for (int i = 0; (at = runs.find("\"samples/r00", at)) != std::string::npos; ++i)
    runs.replace(at + 1, std::string("samples/r0001.csv").size(), names[i % 3]);
  write(dir / "runs.jsonl", runs);
  Exec r = run_shell(kPlot + dir.string() + " --out " + out_.string() + "/o");
  ASSERT_EQ(r.status, 0) << r.output;
  // memplace leaves out a name that is not a plain relative path; the script refuses a symlink
  // leading out of the dir.
  const std::string data = slurp(out_ / "o" / "chart-data.json");
  EXPECT_EQ(data.find("outside.csv"), std::string::npos) << data.substr(0, 2000);
  EXPECT_NE(r.output.find("'samples/link.csv' leads outside"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out_ / "o" / "timeline.svg")) << "drawn from a file outside the dir";
  expect_chart(out_ / "o", "headline");
}

// Issue 14 item 15: wrong types and 100k-character strings each ended in a traceback. Lines
// whose fields have the wrong type are skipped or drawn without them; long text is only text.
TEST_F(Plots, WrongTypesAndHugeStringsAreNotFatal) {
  fs::path dir = copy_fixture(out_ / "in", "k6.18");
  std::string runs = slurp(dir / "runs.jsonl");
  std::string first = runs.substr(0, runs.find('\n'));
  auto with = [&](const std::string& from, const std::string& to) {
    std::string line = first;
    size_t at = line.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) line.replace(at, from.size(), to);
    return line + "\n";
  };
  std::string huge(100000, 'k');
  std::ofstream(dir / "runs.jsonl", std::ios::app)
      << with("\"backing\": \"guest_memfd\"", "\"backing\": {\"a\": [1]}")
      << with("\"cpu_node\": 0", "\"cpu_node\": \"zero\"")
      << with("\"delta_used_mib\": {", "\"delta_used_mib\": 7, \"x\": {")
      << with("\"meminfo_after\": {", "\"meminfo_after\": [], \"y\": {")
      << with("\"environment\": {", "\"environment\": \"flat\", \"z\": {")
      << with("\"kernel\": \"6.18.0-1-amd64\"", "\"kernel\": \"" + huge + "\"")
      << with("\"cell_key\": \"", "\"cell_key\": \"" + huge);
  Exec r = run_shell(kPlot + dir.string() + " --out " + (out_ / "o").string());
  ASSERT_EQ(r.status, 0) << r.output.substr(0, 3000);
  EXPECT_EQ(r.output.find("Traceback"), std::string::npos) << r.output.substr(0, 3000);
  expect_chart(out_ / "o", "split_grid");
}

// Issue 14 items 15 and 16: `plot --out FILE` ended in a traceback; naming a file is bad input.
TEST_F(Plots, OutNamingAFileExitsTwoWithOneLine) {
  fs::create_directories(out_);
  write(out_ / "file", "mine");
  for (const fs::path& o : {out_ / "file", out_ / "file" / "sub"}) {
    Exec r = run_shell(kPlot + kResults + "/k6.18 --out " + o.string());
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("--out " + o.string()), std::string::npos) << r.output;
    expect_one_line_error(r);
  }
  EXPECT_EQ(slurp(out_ / "file"), "mine");
}

TEST_F(Plots, OversizedRunsFileExitsTwoWithOneLine) {
  fs::create_directories(out_ / "big");
  fs::resize_file((write(out_ / "big" / "runs.jsonl", ""), out_ / "big" / "runs.jsonl"),
                  513u << 20);
  Exec r = run_shell(kPlot + (out_ / "big").string() + " --out " + (out_ / "o").string());
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("536870912 bytes allowed"), std::string::npos) << r.output;
  expect_one_line_error(r);
}

TEST_F(Plots, NoRecordsExitsTwoWithOneLine) {
  fs::create_directories(out_ / "empty");
  write(out_ / "empty" / "runs.jsonl", "\n");
  Exec r = run_shell(kPlot + (out_ / "empty").string() + " --out " + (out_ / "o").string());
  EXPECT_EQ(r.status, 2) << r.output;
  expect_one_line_error(r);
}

// A run where no cell was ok (e.g. only guest_memfd_private cells on a kernel without
// SW_PROTECTED_VM) has nothing to key in a legend: the charts are drawn, not a traceback.
TEST_F(Plots, NoOkCellDrawsWithoutATraceback) {
  fs::path dir = copy_fixture(out_ / "in", "k6.18");
  std::string runs = slurp(dir / "runs.jsonl");
  for (const std::string from : {"\"status\": \"ok\"", "\"status\":\"ok\""})
    for (size_t at = 0; (at = runs.find(from, at)) != std::string::npos;)
      runs.replace(at, from.size(), "\"status\": \"unsupported\"");
  ASSERT_EQ(runs.find("\"ok\""), std::string::npos);
  write(dir / "runs.jsonl", runs);
  Exec r = run_shell(kPlot + dir.string() + " --out " + (out_ / "o").string());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("Traceback"), std::string::npos) << r.output;
  expect_chart(out_ / "o", "split_grid");
}

// Record text is drawn as text: "$" is no mathtext, markup stays characters, and the file
// name made from the kernel holds no path.
TEST_F(Plots, HostileKernelNameIsDrawnAsText) {
  fs::path dir = copy_fixture(out_ / "in", "k6.18");
  std::string runs = slurp(dir / "runs.jsonl");
  const std::string from = "\"kernel\": \"6.18.0-1-amd64\"";
  for (size_t at = 0; (at = runs.find(from, at)) != std::string::npos;)
    runs.replace(at, from.size(), "\"kernel\": \"$\\\\frac{1}{0}$ <b>&/../x\"");
  write(dir / "runs.jsonl", runs);
  Exec r = run_shell(kPlot + dir.string() + " --out " + (out_ / "o").string());
  ASSERT_EQ(r.status, 0) << r.output;
  std::string bars = slurp(out_ / "o" / "memused_bars-__frac_1__0____b___.._x.svg");
  EXPECT_NE(bars.find("$\\frac{1}{0}$ &lt;b&gt;&amp;/../x"), std::string::npos) << "title";
  for (const auto& f : fs::directory_iterator(out_ / "o")) {
    std::string name = f.path().filename().string();
    EXPECT_TRUE(std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._+-", c);
    })) << name;
  }
  expect_chart(out_ / "o", "memused_bars-__frac_1__0____b___.._x");
}

// -S drops site-packages, so the script sees a Python without matplotlib.
TEST(PlotsWithoutMatplotlib, ExitsThreeNamingTheDebianPackage) {
  if (!fs::exists(kPython)) GTEST_SKIP() << kPython << " is absent";
  Exec r = run_shell(kPython + " -S " + kScript + " " + kResults + "/k6.18 --out /tmp/unused");
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_NE(r.output.find("python3-matplotlib"), std::string::npos) << r.output;
}

}  // namespace
