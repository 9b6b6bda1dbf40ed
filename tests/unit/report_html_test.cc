// SPDX-License-Identifier: GPL-2.0-only
// report.html's rendering (pure) and the chart index it trusts nothing in: escaping of record
// text, the page's self-containment, table row counts, and charts.json validation.
#include "report/report_html.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "report/charts.h"
#include "report/html_text.h"
#include "results/results.h"
#include "test_support.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

using testing::kGenericKernel;
using testing::kNumaAwareKernel;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

KernelResults fixture_kernel(const char* label) {
  auto runs = read_runs(std::string(MEMPLACE_FIXTURES) + "/testbed/" + label + "/runs.jsonl");
  EXPECT_TRUE(runs.ok());
  return {label, label, runs.ok() ? runs->records : std::vector<RunRecord>{}};
}

ReportPage fixture_page() {
  ReportPage page;
  page.title = "memplace testbed: fixture";
  page.kernels = {fixture_kernel(kGenericKernel), fixture_kernel(kNumaAwareKernel)};
  page.charts.note = "No charts: test.";
  page.files = {"report.md", std::string(kGenericKernel) + "/runs.jsonl"};
  return page;
}

TEST(HtmlText, EscapesMarkupAndQuotes) {
  EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(html_escape(std::string("a\0b\x1b", 4)), "ab");
  EXPECT_EQ(href_escape("javascript:alert(1) \"x\"/6.18+deb"),
            "javascript%3Aalert%281%29%20%22x%22/6.18+deb");
}

TEST(HtmlText, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(data_uri("image/svg+xml", "<svg/>"), "data:image/svg+xml;base64,PHN2Zy8+");
}

// Two kernels, four cells each (bind:1 and interleave:0-1 on anon and guest_memfd): every cell
// gets one cover-letter table per kernel, and the two guest_memfd cells are fixes.
TEST(ReportHtml, FixtureTablesSummaryAndFixes) {
  std::string html = render_report_html(fixture_page());
  EXPECT_EQ(count(html, "<table class=\"memused\">"), 8u);
  EXPECT_EQ(count(html, "<tr><th class=\"l\">Delta</th>"), 8u);
  EXPECT_EQ(count(html, "<article class=\"cell fix\""), 2u);
  EXPECT_NE(html.find("<strong>2 fixes, 0 regressions</strong>"), std::string::npos);
  // The cover letter's case on the generic kernel, numbers as report.md prints them: every
  // page on node 0 (78.27 -> 149.10 MB), node 1 unchanged.
  EXPECT_NE(html.find("<tr><th class=\"l\">Delta</th><td>70.83</td><td>-0.01</td><td>70.82</td>"),
            std::string::npos);
  EXPECT_NE(html.find("No charts: test."), std::string::npos);
  EXPECT_NE(html.find("<a href=\"6.18.15+deb13-cloud-amd64/runs.jsonl\">"), std::string::npos);
}

// Self-contained: no script, nothing fetched; the CSP forbids anything but data: images.
TEST(ReportHtml, NoScriptNoExternalResource) {
  ReportPage page = fixture_page();
  page.charts.index = ChartIndex{"", "", {Chart{"headline", "t", "h.png", "h.svg", 10, 5}}};
  page.images["headline"] = data_uri("image/svg+xml", "<svg xmlns='http://www.w3.org/2000/svg'/>");
  std::string html = render_report_html(page);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos) << "only inside base64";
  EXPECT_EQ(html.find("src=\"h."), std::string::npos);
  EXPECT_NE(html.find("<img src=\"data:image/svg+xml;base64,"), std::string::npos);
  EXPECT_NE(html.find("default-src 'none'; img-src data:"), std::string::npos);
}

TEST(ReportHtml, RecordTextIsEscapedEverywhere) {
  ReportPage page = fixture_page();
  const std::string evil = "<script>alert(1)</script>\"'&";
  page.kernels[0].label = evil;
  for (RunRecord& r : page.kernels[0].records) {
    r.backing = evil;
    r.message = evil;
    r.run_id = evil;
    r.cell_key = evil + r.cell_key;
  }
  page.title = evil;
  std::string html = render_report_html(page);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("\"'&<"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"), std::string::npos);
}

class ChartIndexDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("memplace-charts-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  fs::path dir_;
};

// A hostile charts.json may name files outside the plots dir, symlinks or nothing at all;
// only plain names of regular files inside it survive.
TEST_F(ChartIndexDir, OnlyPlainRegularFilesInsideTheDir) {
  write("ok.svg", "<svg/>");
  write("ok.png", "png");
  fs::create_symlink("/etc/passwd", dir_ / "link.svg");
  write("charts.json", R"({"headline_cell": "c", "charts": [
    {"name": "ok", "title": "T", "files": ["ok.png", "ok.svg"], "width": 10, "series": 1},
    {"name": "up", "files": ["../ok.svg"]},
    {"name": "abs", "files": ["/etc/passwd"]},
    {"name": "link", "files": ["link.svg"]},
    {"name": "../x", "files": ["ok.svg"]},
    {"name": "missing", "files": ["nope.svg"]},
    "junk", {"name": 5}]})");
  auto index = read_chart_index(dir_.string());
  ASSERT_TRUE(index.ok()) << index.error().describe();
  ASSERT_EQ(index->charts.size(), 1u);
  EXPECT_EQ(index->charts[0].svg, "ok.svg");
  EXPECT_EQ(index->charts[0].png, "ok.png");
  EXPECT_EQ(index->charts[0].width, 10);
  EXPECT_EQ(index->find_series("ok", 1), nullptr) << "a per-kernel chart is NAME-kernel";
  EXPECT_EQ(index->headline_cell, "c");
}

TEST_F(ChartIndexDir, OversizedOrMalformedIndexIsAnError) {
  write("charts.json", std::string(2 << 20, ' '));
  EXPECT_FALSE(read_chart_index(dir_.string()).ok());
  write("charts.json", "[1, 2]");
  EXPECT_FALSE(read_chart_index(dir_.string()).ok());
  fs::remove(dir_ / "charts.json");
  fs::create_symlink(dir_ / "elsewhere.json", dir_ / "charts.json");
  write("elsewhere.json", "{}");
  EXPECT_FALSE(read_chart_index(dir_.string()).ok()) << "a symlinked index is refused";
}

TEST(ChartsMarkdown, NoteOrImages) {
  ChartsOutcome none;
  none.note = "No charts: [x].";
  EXPECT_EQ(charts_markdown(none), "## Charts\n\nNo charts: \\[x\\].\n\n");
  ChartsOutcome some;
  some.index = ChartIndex{"interleave:0-1/guest_memfd/vcpu/64MiB/t1/cpu0",
                          "why",
                          {Chart{"headline", "Head [1]", "headline.png", "headline.svg", 0, 0},
                           Chart{"memused_bars-k", "Bars", "b.png", "", 0, 0, 0}}};
  std::string md = charts_markdown(some);
  EXPECT_NE(md.find("![Head \\[1\\]](plots/headline.png)"), std::string::npos) << md;
  EXPECT_NE(md.find("`interleave:0-1/guest_memfd/vcpu/64MiB/t1/cpu0`"), std::string::npos);
  EXPECT_NE(md.find("- [Bars](plots/b.png)"), std::string::npos) << md;
}

}  // namespace
}  // namespace memplace
