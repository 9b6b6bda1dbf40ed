// SPDX-License-Identifier: GPL-2.0-only
#include "report/results_report.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "report/charts.h"
#include "report/html_text.h"
#include "report/report.h"
#include "report/report_html.h"
#include "report/testbed_report.h"
#include "results/results.h"
#include "results/results_dir.h"

namespace memplace {
namespace {

constexpr size_t kMaxReportedKernelDirs = 64;
constexpr size_t kChartFileLimit = 8 << 20;

// Files a reader may want beside the page; listed only when they exist.
const char* const kRawFiles[] = {"report.md",   "runs.jsonl",    "runs.csv",
                                 "summary.csv", "manifest.json", "spec.toml",
                                 "compare.md",  "compare.csv",   "compare.json"};

bool is_regular(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_real_dir(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string base_name(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  size_t slash = dir.rfind('/');
  return slash == std::string::npos ? dir : dir.substr(slash + 1);
}

// When a kernel's runs began: the testbed runs its kernels one after another in spec order.
std::string first_start(const std::string& dir) {
  auto runs = read_runs(dir + "/runs.jsonl");
  std::string first = "~";  // after every timestamp: dirs without one sort last, by name
  if (runs)
    for (const RunRecord& r : runs->records)
      if (!r.started_at.empty()) first = std::min(first, r.started_at);
  return first;
}

std::vector<std::string> raw_files(const std::string& dir,
                                   const std::vector<std::string>& kernel_dirs,
                                   const ChartsOutcome& charts) {
  std::vector<std::string> out;
  std::vector<std::string> prefixes = {""};
  for (const auto& k : kernel_dirs) prefixes.push_back(k + "/");
  for (const auto& prefix : prefixes)
    for (const char* name : kRawFiles)
      if (is_regular(dir + "/" + prefix + name)) out.push_back(prefix + name);
  if (charts.index)
    for (const Chart& c : charts.index->charts)
      for (const std::string& f : {c.png, c.svg})
        if (!f.empty()) out.push_back(charts.dir + "/" + f);
  return out;
}

// Every chart but the per-kernel timelines (many panels, large files; linked instead).
std::map<std::string, std::string> chart_images(const std::string& plots_dir,
                                                const ChartsOutcome& charts) {
  std::map<std::string, std::string> out;
  if (!charts.index) return out;
  for (const Chart& c : charts.index->charts) {
    if (c.name.rfind("memused_timeline-", 0) == 0) continue;
    bool svg = !c.svg.empty();
    auto bytes = read_bounded_file(plots_dir + "/" + (svg ? c.svg : c.png), kChartFileLimit);
    if (!bytes) {
      std::fprintf(stderr, "memplace report: chart left out: %s\n",
                   bytes.error().describe().c_str());
      continue;
    }
    out[c.name] = data_uri(svg ? "image/svg+xml" : "image/png", *bytes);
  }
  return out;
}

Result<std::vector<KernelResults>> read_kernels(const std::string& dir,
                                                const std::vector<std::string>& kernel_dirs) {
  std::vector<KernelResults> out;
  if (kernel_dirs.empty()) {
    auto runs = read_runs(dir + "/runs.jsonl");
    if (!runs) return runs.error();
    for (const auto& [kernel, group] : runs_by_kernel(runs->records)) {
      KernelResults k{kernel, "", {}};
      for (const RunRecord* r : group) k.records.push_back(*r);
      out.push_back(std::move(k));
    }
    return out;
  }
  for (const auto& label : kernel_dirs) {
    auto runs = read_runs(dir + "/" + label + "/runs.jsonl");
    if (!runs) return runs.error();
    out.push_back({label, label, std::move(runs->records)});
  }
  return out;
}

Status write_markdown(const std::string& dir, const std::vector<std::string>& kernel_dirs,
                      const std::string& charts_md) {
  if (kernel_dirs.empty()) return write_report(dir, charts_md);
  for (const auto& k : kernel_dirs)
    if (auto s = write_report(dir + "/" + k); !s) return s;
  return write_testbed_report(dir, kernel_dirs, charts_md);
}

Status write_html(const std::string& dir, const std::vector<std::string>& kernel_dirs,
                  ChartsOutcome charts) {
  auto kernels = read_kernels(dir, kernel_dirs);
  if (!kernels) return kernels.error();
  ReportPage page;
  page.title = (kernel_dirs.empty() ? "memplace results: " : "memplace testbed: ") + base_name(dir);
  page.kernels = std::move(*kernels);
  page.images = chart_images(dir + "/" + charts.dir, charts);
  page.files = raw_files(dir, kernel_dirs, charts);
  page.charts = std::move(charts);
  return write_file_atomic(dir + "/report.html", render_report_html(page));
}

}  // namespace

Result<std::vector<std::string>> find_kernel_dirs(const std::string& dir) {
  if (is_regular(dir + "/runs.jsonl")) return std::vector<std::string>{};
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno_error("open " + dir, ErrorKind::kBadInput);
  std::vector<std::pair<std::string, std::string>> found;  // (first start, name)
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || !is_real_dir(dir + "/" + name)) continue;
    if (!is_regular(dir + "/" + name + "/runs.jsonl")) continue;
    if (found.size() == kMaxReportedKernelDirs) {
      ::closedir(d);
      return make_error(dir + ": more than " + std::to_string(kMaxReportedKernelDirs) +
                        " kernel subdirs");
    }
    found.emplace_back(first_start(dir + "/" + name), name);
  }
  ::closedir(d);
  if (found.empty())
    return make_error(dir + ": no runs.jsonl here or in its subdirectories", ErrorKind::kBadInput);
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

Status write_results_report(const std::string& dir, const ReportSettings& settings,
                            std::vector<std::string> kernel_dirs) {
  if (kernel_dirs.empty()) {
    auto found = find_kernel_dirs(dir);
    if (!found) return found.error();
    kernel_dirs = std::move(*found);
  }
  std::vector<std::string> inputs;
  for (const auto& k : kernel_dirs) inputs.push_back(dir + "/" + k);
  if (inputs.empty()) inputs.push_back(dir);
  // Charts go only into a plots/ of memplace's own: a planted symlink would send them elsewhere.
  if (settings.plots)
    if (auto s = ensure_owned_subdir(dir, "plots"); !s) return s;
  ChartsOutcome charts = charts_for_report(inputs, dir + "/plots", !settings.plots, dir);
  if (auto s = write_markdown(dir, kernel_dirs, charts_markdown(charts)); !s) return s;
  if (!settings.html) return {};
  return write_html(dir, kernel_dirs, std::move(charts));
}

}  // namespace memplace
