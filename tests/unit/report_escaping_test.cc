// SPDX-License-Identifier: GPL-2.0-only
// Text from records in report.md and the CSVs (issue 14 items 13 and 14): a hostile policy or
// message must not add Markdown structure, a cell must not run as a spreadsheet formula, and
// meminfo that contradicts itself is "n/a", never a wrapped number.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>

#include "report/record_view.h"
#include "report/report.h"

namespace memplace {
namespace {

RunRecord hostile_record() {
  RunRecord r;
  r.run_id = "r0001";
  r.cell_key = "default/anon/host/4MiB/t1`|x";
  r.policy = "default\n# Injected heading\n| fake | table |";
  r.backing = "anon";
  r.toucher = "host";
  r.size_bytes = 4ull << 20;
  r.status = RunStatus::kFailed;
  r.message = "=HYPERLINK(\"http://evil\")\n## also injected <script>";
  r.environment.kernel = "6.1\n# kernel heading";
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(ReportEscaping, RecordTextAddsNoMarkdownStructure) {
  RunRecord ok = hostile_record();
  ok.status = RunStatus::kOk;
  std::string md = render_report_markdown({hostile_record(), ok}, "t");
  for (const auto& l : lines_of(md)) {
    // The injected text stays inside its line: it starts no heading and no table row.
    EXPECT_NE(l.rfind("# Injected", 0), 0u) << l;
    EXPECT_NE(l.rfind("| fake", 0), 0u) << l;
    EXPECT_NE(l.rfind("## also", 0), 0u) << l;
    EXPECT_NE(l.rfind("# kernel", 0), 0u) << l;
    EXPECT_EQ(l.find("<script>"), std::string::npos) << l;
    // Every table row keeps its column count: the header's.
    if (l.rfind("| ", 0) == 0 && l.find("default") != std::string::npos) {
      EXPECT_EQ(std::count(l.begin(), l.end(), '|') - std::count(l.begin(), l.end(), '\\'), 6) << l;
    }
  }
  EXPECT_NE(md.find("default # Injected heading \\| fake \\| table \\|"), std::string::npos) << md;
  EXPECT_NE(md.find("`default/anon/host/4MiB/t1'\\|x`"), std::string::npos) << md;
}

TEST(ReportEscaping, CsvCellsAreQuotedAndFormulasNeutralised) {
  EXPECT_EQ(view::csv_field("=1+1"), "\"'=1+1\"");
  EXPECT_EQ(view::csv_field("+cmd"), "\"'+cmd\"");
  EXPECT_EQ(view::csv_field("@SUM(A1)"), "\"'@SUM(A1)\"");
  EXPECT_EQ(view::csv_field("-2+3"), "\"'-2+3\"");
  EXPECT_EQ(view::csv_field("\t=x"), "\"'\t=x\"");
  // Numbers and the empty node list are data, not formulas.
  EXPECT_EQ(view::csv_field("-0.25"), "-0.25");
  EXPECT_EQ(view::csv_field("-"), "-");
  EXPECT_EQ(view::csv_field("a,b"), "\"a,b\"");
  std::string csv = render_runs_csv({hostile_record()});
  EXPECT_NE(csv.find("\"'=HYPERLINK(\"\"http://evil\"\")"), std::string::npos) << csv;
  EXPECT_EQ(csv.find(",=HYPERLINK"), std::string::npos) << csv;
}

TEST(ReportEscaping, ContradictoryMeminfoIsNotAvailableNotAWrappedNumber) {
  RunRecord r;
  r.meminfo_before = {{0, {{"MemTotal", 1000}, {"MemFree", 2000}}}};
  r.meminfo_after = {{0, {{"MemTotal", 1000}, {"MemUsed", 5000}}}};
  EXPECT_FALSE(view::memused_kb(r.meminfo_before, 0).has_value());
  EXPECT_FALSE(view::memused_kb(r.meminfo_after, 0).has_value());
  std::string t = format_memused_table(r);
  EXPECT_EQ(t.find("18014398509481984"), std::string::npos) << t;
  EXPECT_NE(t.find("n/a"), std::string::npos) << t;
}

}  // namespace
}  // namespace memplace
