// SPDX-License-Identifier: GPL-2.0-only
#include "report/report_html.h"

#include <algorithm>
#include <cctype>

#include "report/compare.h"
#include "report/html_text.h"
#include "report/record_view.h"
#include "report/report.h"

namespace memplace {
namespace {

using view::fixed;

// Records of one cell, per kernel (index as in page.kernels).
using CellRecords = std::map<std::string, std::vector<std::vector<const RunRecord*>>>;

std::string esc(std::string_view s) {
  return html_escape(s);
}

std::string state_class(std::string state) {
  std::replace(state.begin(), state.end(), ' ', '-');
  return state;
}

std::string state_html(view::CellState state) {
  using view::CellState;
  std::string name = view::cell_state_name(state);
  std::string mark = state == CellState::kHonored                                    ? "\u2713 "
                     : state == CellState::kNotHonored || state == CellState::kMixed ? "\u2717 "
                                                                                     : "";
  return "<span class=\"" + state_class(name) + "\">" + mark + esc(name) + "</span>";
}

std::string side_html(const CompareSide& side, const std::vector<int>& nodes) {
  if (!side.present) return "<span class=\"absent\">not run</span>";
  std::string out = side.ok ? esc(view::split_text(side.split, nodes)) + " " : "";
  out += state_html(side.state);
  if (side.judged > 1)
    out += " (" + std::to_string(side.honored) + "/" + std::to_string(side.judged) + ")";
  return out;
}

std::string cell_title(const RunRecord& r) {
  std::string out = r.policy + (r.nodes.empty() ? "" : " " + view::nodes_text(r.nodes)) +
                    " \u00b7 " + r.backing + " \u00b7 " + r.toucher + " toucher \u00b7 " +
                    view::size_text(r.size_bytes) + " \u00b7 " + std::to_string(r.threads) +
                    (r.threads == 1 ? " thread" : " threads");
  if (r.cpu_node) out += " \u00b7 CPUs of node " + std::to_string(*r.cpu_node);
  return out;
}

// An id for a cell's block: the key with everything but [A-Za-z0-9-] made "_".
std::string cell_anchor(const std::string& key) {
  std::string out = "cell-";
  for (char c : key) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return out;
}

CellRecords records_by_cell(const ReportPage& page) {
  CellRecords out;
  for (size_t k = 0; k < page.kernels.size(); ++k)
    for (const RunRecord& r : page.kernels[k].records) {
      auto& per_kernel = out[cell_match_key(r)];
      per_kernel.resize(page.kernels.size());
      per_kernel[k].push_back(&r);
    }
  return out;
}

// The run a cover-letter table shows: the first ok repeat with both snapshots.
const RunRecord* table_run(const std::vector<const RunRecord*>& runs) {
  const RunRecord* best = nullptr;
  for (const RunRecord* r : runs)
    if (r->status == RunStatus::kOk && !r->meminfo_before.empty() && !r->meminfo_after.empty() &&
        (!best || r->repeat < best->repeat))
      best = r;
  return best;
}

// The chart's title is drawn in it and is its alt text; a caption only adds what it lacks.
std::string figure(const ReportPage& page, const Chart* chart, const std::string& caption,
                   const char* css_class = "") {
  if (!chart) return "";
  auto it = page.images.find(chart->name);
  if (it == page.images.end()) return "";
  std::string size = chart->width > 0 && chart->height > 0
                         ? " width=\"" + std::to_string(chart->width) + "\" height=\"" +
                               std::to_string(chart->height) + "\""
                         : "";
  return "<figure class=\"" + std::string(css_class) + "\"><img src=\"" + it->second + "\" alt=\"" +
         esc(chart->title) + "\"" + size + ">" +
         (caption.empty() ? "" : "<figcaption>" + caption + "</figcaption>") + "</figure>\n";
}

std::string header(const ReportPage& page) {
  size_t runs = 0;
  for (const auto& k : page.kernels) runs += k.records.size();
  std::string out = "<header><h1>" + esc(page.title) + "</h1>\n<p class=\"sub\">" +
                    std::to_string(page.kernels.size()) +
                    (page.kernels.size() == 1 ? " kernel, " : " kernels, ") + std::to_string(runs) +
                    " runs. Every number on this page comes from the "
                    "runs.jsonl files listed under <a href=\"#files\">Raw files</a>.</p>\n";
  out +=
      "<nav><a href=\"#summary\">Summary</a><a href=\"#headline\">The cover letter's "
      "cell</a><a href=\"#comparison\">Every cell</a><a href=\"#cells\">Cell tables</a>"
      "<a href=\"#kernels\">Per kernel</a><a href=\"#files\">Raw files</a></nav></header>\n";
  return out;
}

std::string kernels_table(const ReportPage& page, const CompareResult& cmp) {
  std::string out =
      "<div class=\"scroll\"><table class=\"kernels\"><thead><tr><th class=\"l\">kernel</th>"
      "<th class=\"l\">where</th><th>runs</th><th>ok</th><th>unsupported</th><th>failed</th>"
      "<th>cells honored</th><th>not honored</th><th>mixed</th></tr></thead><tbody>\n";
  for (size_t k = 0; k < page.kernels.size(); ++k) {
    const auto& records = page.kernels[k].records;
    int ok = 0, unsupported = 0, failed = 0, cells[3] = {0, 0, 0};
    for (const RunRecord& r : records)
      (r.status == RunStatus::kOk            ? ok
       : r.status == RunStatus::kUnsupported ? unsupported
                                             : failed) += 1;
    for (const CellComparison& c : cmp.cells) {
      view::CellState st = c.sides[k].state;
      if (st == view::CellState::kHonored) ++cells[0];
      if (st == view::CellState::kNotHonored) ++cells[1];
      if (st == view::CellState::kMixed) ++cells[2];
    }
    std::string where = records.empty() ? "" : records.front().environment.kind;
    if (!records.empty() && !records.front().environment.accel.empty())
      where += ", " + records.front().environment.accel;
    out += "<tr><td class=\"l\">" + esc(page.kernels[k].label) +
           (k == 0 && page.kernels.size() > 1 ? " (baseline)" : "") + "</td><td class=\"l\">" +
           esc(where) + "</td>";
    for (int v :
         {static_cast<int>(records.size()), ok, unsupported, failed, cells[0], cells[1], cells[2]})
      out += "<td>" + std::to_string(v) + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody></table></div>\n";
}

std::string changes_list(const ReportPage& page, const CompareResult& cmp) {
  if (page.kernels.size() < 2) return "";
  std::string items;
  int fixes = 0, regressions = 0, same = 0, other = 0;
  for (const CellComparison& c : cmp.cells)
    for (size_t s = 1; s < c.sides.size(); ++s) {
      std::string change = change_name(c.sides[s].change);
      if (change == "same") ++same;
      if (change != "fix" && change != "regression") {
        other += change != "same";
        continue;
      }
      (change == "fix" ? fixes : regressions) += 1;
      items += "<li class=\"" + change + "\"><span class=\"badge " + change + "\">" +
               (change == "fix" ? "FIX" : "REGRESSION") + "</span> <code>" + esc(c.cell_key) +
               "</code> on " + esc(page.kernels[s].label) + ": " +
               side_html(c.sides[0], c.split_nodes) + " \u2192 " +
               side_html(c.sides[s], c.split_nodes) + "</li>\n";
    }
  std::string out = "<p><strong>" + std::to_string(fixes) + " fix" + (fixes == 1 ? "" : "es") +
                    ", " + std::to_string(regressions) + " regression" +
                    (regressions == 1 ? "" : "s") + "</strong> against " +
                    esc(page.kernels[0].label) + "; " + std::to_string(same) + " same, " +
                    std::to_string(other) + " otherwise changed, new or missing.</p>\n";
  return items.empty() ? out : out + "<ul class=\"changes\">\n" + items + "</ul>\n";
}

std::string summary_section(const ReportPage& page, const CompareResult& cmp) {
  std::string out = "<section id=\"summary\"><h2>Summary</h2>\n" + kernels_table(page, cmp) +
                    changes_list(page, cmp);
  if (!page.charts.index) out += "<p class=\"note\">" + esc(page.charts.note) + "</p>\n";
  return out + "</section>\n";
}

std::string headline_section(const ReportPage& page) {
  if (!page.charts.index) return "";
  const ChartIndex& index = *page.charts.index;
  std::string why = index.headline_cell.empty()
                        ? ""
                        : "Its numbers, every kernel: <a href=\"#" +
                              cell_anchor(index.headline_cell) + "\"><code>" +
                              esc(index.headline_cell) + "</code></a>.";
  std::string body =
      figure(page, index.find("headline"), why) + figure(page, index.find("timeline"), "");
  if (body.empty()) return "";
  return "<section id=\"headline\"><h2>The cover letter's cell</h2>\n" + body + "</section>\n";
}

std::string grid_section(const ReportPage& page) {
  if (!page.charts.index) return "";
  std::string body = figure(page, page.charts.index->find("split_grid"), "", "wide");
  if (body.empty()) return "";
  return "<section id=\"comparison\"><h2>Every cell on every kernel</h2>\n" + body + "</section>\n";
}

std::string memused_table_html(const RunRecord& r, const std::string& caption) {
  MemusedTable t = memused_table(r);
  std::string out = "<table class=\"memused\"><caption>" + caption +
                    "</caption><thead><tr><th class=\"l\">MemUsed (MB)</th>";
  for (int node : t.nodes) out += "<th>Node " + std::to_string(node) + "</th>";
  out += "<th>Total</th></tr></thead><tbody>";
  const char* names[3] = {"Before", "After", "Delta"};
  for (int i = 0; i < 3; ++i) {
    out += "<tr><th class=\"l\">" + std::string(names[i]) + "</th>";
    for (const auto& v : t.rows[i]) out += "<td>" + (v ? fixed(*v, 2) : "n/a") + "</td>";
    out += "</tr>";
  }
  return out + "</tbody></table>\n";
}

std::string cell_article(const ReportPage& page, const CellComparison& cell,
                         const std::vector<std::vector<const RunRecord*>>& runs) {
  const RunRecord* any = nullptr;
  for (const auto& k : runs)
    if (!k.empty()) any = k.front();
  if (!any) return "";
  std::string verdicts, tables, marks;
  for (size_t k = 0; k < page.kernels.size(); ++k) {
    const CompareSide& side = cell.sides[k];
    std::string change = k ? change_name(side.change) : "";
    bool marked = change == "fix" || change == "regression";
    if (marked && marks.find(change) == std::string::npos) marks += " " + change;
    verdicts += "<p" + (marked ? " class=\"" + change + "\"" : std::string()) + ">" +
                esc(page.kernels[k].label) + ": " + side_html(side, cell.split_nodes) +
                (marked ? " <span class=\"badge " + change + "\">" +
                              (change == "fix" ? "FIX" : "REGRESSION") + "</span>"
                        : "") +
                (side.present && !side.ok ? " " + esc(side.message) : "") + "</p>\n";
    if (const RunRecord* r = k < runs.size() ? table_run(runs[k]) : nullptr)
      tables += memused_table_html(*r, esc(page.kernels[k].label) + ": run " + esc(r->run_id) +
                                           ", repeat " + std::to_string(r->repeat) + " of " +
                                           std::to_string(runs[k].size()));
  }
  return "<article class=\"cell" + marks + "\" id=\"" + cell_anchor(cell.cell_key) + "\"><h3>" +
         esc(cell_title(*any)) + "</h3>\n" + verdicts + "<div class=\"tables\">" + tables +
         "</div></article>\n";
}

std::string cells_section(const ReportPage& page, const CompareResult& cmp) {
  CellRecords records = records_by_cell(page);
  std::string out =
      "<section id=\"cells\"><h2>Each cell in the cover letter's format</h2>\n<p class=\"sub\">"
      "MemUsed per node before and after the touch of the cell's first repeat, in MB (MiB, as "
      "numastat prints them); every repeat is in report.md.</p>\n";
  for (const CellComparison& c : cmp.cells) out += cell_article(page, c, records[c.cell_key]);
  return out + "</section>\n";
}

std::string summary_grid_html(const std::vector<RunRecord>& records) {
  std::vector<const RunRecord*> runs;
  for (const RunRecord& r : records) runs.push_back(&r);
  SummaryGrid s = summarise(runs);
  std::string out =
      "<div class=\"scroll\"><table class=\"grid\"><thead><tr><th class=\"l\">"
      "policy</th><th class=\"l\">toucher</th><th class=\"l\">size</th>";
  for (const auto& b : s.backings) out += "<th>" + esc(b) + "</th>";
  out += "</tr></thead><tbody>\n";
  for (const auto& key : s.rows) {
    const RunRecord* any = nullptr;
    for (const auto& b : s.backings)
      if (const view::CellFold* f = s.find(key, b)) any = f->first;
    out += "<tr><td class=\"l\">" + esc(any->policy) +
           (any->nodes.empty() ? "" : " " + esc(view::nodes_text(any->nodes))) +
           "</td><td class=\"l\">" + esc(any->toucher) + "</td><td class=\"l\">" +
           esc(view::size_text(any->size_bytes)) + "</td>";
    for (const auto& b : s.backings) {
      const view::CellFold* f = s.find(key, b);
      std::string text =
          !f      ? ""
          : f->ok ? esc(view::split_text(f->split(), s.split_nodes)) + " " + state_html(f->state())
                  : state_html(f->state());
      out += "<td>" + text + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</tbody></table></div>\n";
}

std::string kernel_links(const KernelResults& k, const std::vector<std::string>& files) {
  std::string prefix = k.subdir.empty() ? "" : k.subdir + "/";
  std::string out;
  for (const std::string& f : files)
    if (!prefix.empty() && f.rfind(prefix, 0) == 0)
      out += " <a href=\"" + href_escape(f) + "\">" + esc(f.substr(prefix.size())) + "</a>";
  return out.empty() ? "" : "<p>Files:" + out + "</p>\n";
}

std::string kernels_section(const ReportPage& page) {
  std::string out = "<section id=\"kernels\"><h2>Per kernel</h2>\n";
  for (size_t k = 0; k < page.kernels.size(); ++k) {
    const KernelResults& kr = page.kernels[k];
    out += "<h3>" + esc(kr.label) + (k == 0 && page.kernels.size() > 1 ? " (baseline)" : "") +
           "</h3>\n" + kernel_links(kr, page.files);
    out += "<p class=\"sub\">Split: percent of pages per node, summed over repeats.</p>\n" +
           summary_grid_html(kr.records);
    if (page.charts.index)
      out += figure(page, page.charts.index->find_series("memused_bars", static_cast<int>(k)), "");
  }
  return out + "</section>\n";
}

std::string files_section(const ReportPage& page) {
  std::string out = "<section id=\"files\"><h2>Raw files</h2>\n<ul>\n";
  for (const std::string& f : page.files)
    out += "<li><a href=\"" + href_escape(f) + "\">" + esc(f) + "</a></li>\n";
  return out + "</ul>\n</section>\n";
}

}  // namespace

std::string render_report_html(const ReportPage& page) {
  std::vector<std::vector<RunRecord>> sides;
  std::vector<std::string> labels;
  for (const KernelResults& k : page.kernels) {
    sides.push_back(k.records);
    labels.push_back(k.label);
  }
  CompareResult cmp = compare_runs(sides, labels);
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         // Nothing but the page itself and its data: images, even if a chart file were hostile.
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "img-src data:; style-src 'unsafe-inline'\">\n<title>" +
         esc(page.title) + "</title>\n<style>" + report_css() + "</style></head>\n<body><main>\n" +
         header(page) + summary_section(page, cmp) + headline_section(page) + grid_section(page) +
         cells_section(page, cmp) + kernels_section(page) + files_section(page) +
         "</main></body></html>\n";
}

}  // namespace memplace
