// Runs plots/memplace_plots.py with Debian's /usr/bin/python3 on the sample result dirs and
// checks that every chart is written as a well-formed PNG and SVG.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;

const std::string kPython = "/usr/bin/python3";
const std::string kScript = std::string(MEMPLACE_SOURCE_DIR) + "/plots/memplace_plots.py";
const std::string kResults = std::string(MEMPLACE_FIXTURES) + "/results";

struct ScriptRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

ScriptRun run(const std::string& command) {
  ScriptRun r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

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
    if (run(kPython + " -c 'import matplotlib'").exit_code != 0)
      GTEST_SKIP() << kPython << " has no matplotlib (Debian package python3-matplotlib)";
    out_ = fs::temp_directory_path() / ("memplace_plots_test_" + std::to_string(::getpid()));
    fs::remove_all(out_);
  }
  void TearDown() override {
    if (!out_.empty()) fs::remove_all(out_);
  }
  fs::path out_;
};

TEST_F(Plots, OneDirWritesEveryChartAsPngAndSvg) {
  ScriptRun r = run(kPython + " " + kScript + " " + kResults + "/k6.18 --out " + out_.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* name : {"memused_bars", "memused_timeline", "split_grid"}) {
    expect_valid_png(out_ / (std::string(name) + ".png"));
    expect_valid_svg(out_ / (std::string(name) + ".svg"));
  }
  // The comparison needs two dirs.
  EXPECT_FALSE(fs::exists(out_ / "compare.png"));
}

TEST_F(Plots, SeveralDirsAddTheComparison) {
  ScriptRun r = run(kPython + " " + kScript + " " + kResults + "/k6.18 " + kResults + "/k7.0 " +
                    kResults + "/mixed --out " + out_.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* dir : {"k6.18", "k7.0", "mixed"})
    for (const char* name : {"memused_bars", "memused_timeline", "split_grid"}) {
      expect_valid_png(out_ / (std::string(dir) + "_" + name + ".png"));
      expect_valid_svg(out_ / (std::string(dir) + "_" + name + ".svg"));
    }
  expect_valid_png(out_ / "compare.png");
  expect_valid_svg(out_ / "compare.svg");
  // Every written file is listed on stdout, for `memplace plot` to pass on.
  EXPECT_NE(r.output.find((out_ / "compare.png").string()), std::string::npos) << r.output;
}

TEST_F(Plots, MissingDirExitsTwo) {
  ScriptRun r = run(kPython + " " + kScript + " /nonexistent --out " + out_.string());
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/runs.jsonl"), std::string::npos) << r.output;
}

TEST_F(Plots, TruncatedLineIsSkippedNotFatal) {
  fs::path dir = out_ / "in";
  fs::create_directories(dir);
  fs::copy(kResults + "/mixed", dir, fs::copy_options::recursive);
  std::ofstream(dir / "runs.jsonl", std::ios::app) << "{\"policy\": \"interle";
  ScriptRun r =
      run(kPython + " " + kScript + " " + dir.string() + " --out " + (out_ / "o").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("runs.jsonl:5"), std::string::npos) << r.output;
  expect_valid_png(out_ / "o" / "split_grid.png");
}

// -S drops site-packages, so the script sees a Python without matplotlib.
TEST(PlotsWithoutMatplotlib, ExitsThreeNamingTheDebianPackage) {
  if (!fs::exists(kPython)) GTEST_SKIP() << kPython << " is absent";
  ScriptRun r = run(kPython + " -S " + kScript + " " + kResults + "/k6.18 --out /tmp/unused");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("python3-matplotlib"), std::string::npos) << r.output;
}

}  // namespace
