// SPDX-License-Identifier: GPL-2.0-only
#include "report/testbed_report.h"

#include "report/compare.h"
#include "report/kernel_timeline.h"
#include "report/record_view.h"
#include "report/report.h"
#include "results/results.h"

namespace memplace {

namespace {

std::string verdict_word(const RunRecord& r) {
  if (r.status != RunStatus::kOk)
    return std::string(run_status_name(r.status)) +
           (r.message.empty() ? "" : ": " + view::md_cell(r.message));
  if (!r.verdict) return "no verdict";
  return r.verdict->honored ? "honored" : "not honored";
}

}  // namespace

std::string render_testbed_report(const std::string& title,
                                  const std::vector<TestbedKernelRecords>& kernels,
                                  const std::string& comparison_md, const std::string& charts_md) {
  std::string md = "# " + title + "\n\n";
  md +=
      "Each kernel ran the same matrix in an emulated NUMA guest; its full report is in its "
      "own directory.\n\n";
  for (const auto& k : kernels) {
    std::string accel;
    for (const auto& r : k.records) {
      if (!r.environment.accel.empty()) accel = r.environment.accel;
    }
    md += "- [" + k.label + "](" + k.label + "/report.md): " + std::to_string(k.records.size()) +
          " runs" + (accel.empty() ? "" : ", " + accel) + "\n";
  }
  md += "\n" + charts_md;
  md += render_kernel_timeline(kernels);
  md += "## The cover letter's case: interleave on guest_memfd\n\n";
  for (const auto& k : kernels) {
    md += "### " + k.label + "\n\n";
    bool any = false;
    for (const auto& r : k.records) {
      if (r.policy != "interleave" || r.backing != "guest_memfd") continue;
      any = true;
      md += "- `" + view::md_code(r.cell_key) + "` repeat " + std::to_string(r.repeat) + ": " +
            verdict_word(r) + "\n\n";
      if (r.status == RunStatus::kOk) md += "```\n" + format_memused_table(r) + "```\n\n";
    }
    if (!any) md += "No interleave/guest_memfd run in this matrix.\n\n";
  }
  if (!comparison_md.empty()) {
    md += "## Every cell across kernels (first kernel is the baseline)\n\n";
    // The comparison's own headings move one level down to nest under this section.
    std::string nested;
    size_t pos = 0;
    while (pos < comparison_md.size()) {
      size_t eol = comparison_md.find('\n', pos);
      std::string line = comparison_md.substr(pos, eol == std::string::npos ? eol : eol - pos + 1);
      if (!line.empty() && line[0] == '#') line = "##" + line;
      nested += line;
      if (eol == std::string::npos) break;
      pos = eol + 1;
    }
    md += nested;
    if (md.back() != '\n') md += '\n';
  }
  return md;
}

Status write_testbed_report(const std::string& out_dir, const std::vector<std::string>& labels,
                            const std::string& charts_md) {
  std::vector<TestbedKernelRecords> kernels;
  std::vector<std::string> dirs;
  for (const auto& label : labels) {
    auto runs = read_runs(out_dir + "/" + label + "/runs.jsonl");
    if (!runs) return runs.error();
    kernels.push_back({label, std::move(runs->records)});
    dirs.push_back(out_dir + "/" + label);
  }
  std::string comparison;
  if (kernels.size() >= 2) {
    std::vector<std::vector<RunRecord>> sides;
    for (const auto& k : kernels) sides.push_back(k.records);
    CompareResult r = compare_runs(sides, labels);
    r.dirs = dirs;
    if (auto s = write_compare(r, out_dir); !s) return s;
    comparison = render_compare_markdown(r);
  }
  std::string name = out_dir;
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  name = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
  return write_file_atomic(
      out_dir + "/report.md",
      render_testbed_report("memplace testbed: " + name, kernels, comparison, charts_md));
}

}  // namespace memplace
