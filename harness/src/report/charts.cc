// SPDX-License-Identifier: GPL-2.0-only
#include "report/charts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/subprocess.h"
#include "base/unique_fd.h"
#include "report/chart_data.h"

namespace memplace {
namespace {

constexpr size_t kIndexLimit = 1 << 20;
constexpr size_t kMaxCharts = 256;
constexpr size_t kMaxTitle = 300;

const char kHowToGetCharts[] =
    "install Debian's python3-matplotlib (apt-get install python3-matplotlib, or "
    "scripts/install-deps.sh), then `memplace report DIR` adds the charts";

// Names the script writes: [A-Za-z0-9._+-], no leading dot, so never a path or a hidden file.
bool plain_file_name(const std::string& name) {
  if (name.empty() || name.size() > 120 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '+' || c == '-';
  });
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool regular_file(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string bounded_text(const nlohmann::json& j, const char* key, size_t limit) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  std::string s = it->get<std::string>();
  return s.size() > limit ? s.substr(0, limit) : s;
}

std::optional<Chart> chart_from_json(const nlohmann::json& j, const std::string& dir) {
  if (!j.is_object()) return std::nullopt;
  Chart c;
  c.name = bounded_text(j, "name", 200);
  c.title = bounded_text(j, "title", kMaxTitle);
  if (!plain_file_name(c.name)) return std::nullopt;
  auto files = j.find("files");
  if (files == j.end() || !files->is_array()) return std::nullopt;
  for (const auto& f : *files) {
    if (!f.is_string()) continue;
    std::string name = f.get<std::string>();
    if (!plain_file_name(name) || !regular_file(dir + "/" + name)) continue;
    if (ends_with(name, ".png")) c.png = name;
    if (ends_with(name, ".svg")) c.svg = name;
  }
  auto dimension = [&](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() && *it > 0 && *it <= 100000 ? it->get<int>()
                                                                                : 0;
  };
  c.width = dimension("width");
  c.height = dimension("height");
  auto series = j.find("series");
  if (series != j.end() && series->is_number_integer() && *series >= 0 && *series < 1024)
    c.series = series->get<int>();
  if (c.png.empty() && c.svg.empty()) return std::nullopt;
  return c;
}

// Record text inside Markdown link text or a sentence: no brackets, backticks or line breaks.
std::string markdown_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '[' || c == ']' || c == '`' || c == '\\' || c == '*' || c == '_' || c == '<')
      out += '\\';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out;
}

// Inside a code span nothing is escaped, so only what would end the span or the line goes.
std::string code_text(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '`') out += (c == '\n' || c == '\r') ? ' ' : c;
  return out;
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

}  // namespace

const Chart* ChartIndex::find(const std::string& name) const {
  for (const Chart& c : charts)
    if (c.name == name) return &c;
  return nullptr;
}

const Chart* ChartIndex::find_series(const std::string& name_prefix, int series) const {
  for (const Chart& c : charts)
    if (c.series == series && c.name.rfind(name_prefix + "-", 0) == 0) return &c;
  return nullptr;
}

std::string plots_python() {
  const char* env = std::getenv("MEMPLACE_PYTHON");
  return env && *env ? env : "/usr/bin/python3";
}

std::string plots_script() {
  if (const char* env = std::getenv("MEMPLACE_PLOTS_DIR"); env && *env)
    return std::string(env) + "/memplace_plots.py";
  // Installed (cmake --install): PREFIX/bin/memplace and PREFIX/share/memplace/plots. A build
  // tree keeps a copy of plots/ at BUILD/share/memplace/plots, made when it is configured.
  std::string found = find_beside_self(
      {"../share/memplace/plots/memplace_plots.py", "share/memplace/plots/memplace_plots.py"});
  return found.empty() ? "share/memplace/plots/memplace_plots.py (beside memplace)" : found;
}

Result<std::string> read_bounded_file(const std::string& path, size_t limit) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) return errno_error("open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + path);
  if (!S_ISREG(st.st_mode)) return make_error(path + ": not a regular file", ErrorKind::kBadInput);
  if (static_cast<uint64_t>(st.st_size) > limit)
    return make_error(
        path + ": " + std::to_string(st.st_size) + " bytes, more than " + std::to_string(limit),
        ErrorKind::kBadInput);
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + path);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

Result<ChartIndex> read_chart_index(const std::string& plots_dir) {
  auto text = read_bounded_file(plots_dir + "/charts.json", kIndexLimit);
  if (!text) return text.error();
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object())
    return make_error(plots_dir + "/charts.json: not a JSON object", ErrorKind::kBadInput);
  ChartIndex index;
  index.headline_cell = bounded_text(j, "headline_cell", 200);
  index.headline_why = bounded_text(j, "headline_why", 600);
  auto charts = j.find("charts");
  if (charts != j.end() && charts->is_array()) {
    for (const auto& c : *charts) {
      if (index.charts.size() >= kMaxCharts) break;
      if (auto chart = chart_from_json(c, plots_dir)) index.charts.push_back(std::move(*chart));
    }
  }
  return index;
}

Result<CommandOutput> run_plot_script(const std::vector<std::string>& dirs,
                                      const std::string& out_dir) {
  std::string python = plots_python(), script = plots_script();
  if (::access(script.c_str(), R_OK) != 0)
    return make_error("the chart script is not at " + script + " (set MEMPLACE_PLOTS_DIR)",
                      ErrorKind::kEnvironment);
  if (::access(python.c_str(), X_OK) != 0)
    return make_error(python + " is missing; " + kHowToGetCharts, ErrorKind::kEnvironment);
  // The script draws what memplace decided: it reads the chart data, never the dirs.
  auto series = chart_series(dirs);
  if (!series) return series.error();
  const std::string data = out_dir + "/" + kChartDataFile;
  if (auto s = write_file_atomic(data, chart_data(*series).dump(1) + "\n"); !s)
    return s.error().prefixed("chart data: ");
  // --name=VALUE: a path starting with "-" is a path, never an option.
  return run_command({python, script, "--data=" + data, "--out=" + out_dir});
}

Result<ChartIndex> draw_charts(const std::vector<std::string>& dirs, const std::string& out_dir) {
  auto run = run_plot_script(dirs, out_dir);
  if (!run) return run.error();
  std::string python = plots_python();
  // The script's own warnings (skipped lines, charts with nothing to draw) go to the user.
  if (!run->err.empty()) std::fprintf(stderr, "%s", run->err.c_str());
  if (run->exit_code == 3 && run->err.find("matplotlib") != std::string::npos)
    return make_error("matplotlib is not installed for " + python + "; " + kHowToGetCharts,
                      ErrorKind::kEnvironment);
  if (run->exit_code != 0)
    return make_error("the chart script failed (exit " + std::to_string(run->exit_code) +
                          "): " + last_line(run->err),
                      run->exit_code == 2 ? ErrorKind::kBadInput : ErrorKind::kFailed);
  return read_chart_index(out_dir);
}

ChartsOutcome charts_for_report(const std::vector<std::string>& dirs, const std::string& out_dir,
                                bool skip, const std::string& report_dir) {
  ChartsOutcome out;
  if (skip) {
    out.note =
        "Charts were not drawn (--no-plots); `memplace report " + report_dir + "` draws them.";
    return out;
  }
  auto index = draw_charts(dirs, out_dir);
  if (!index) {
    std::fprintf(stderr, "memplace: no charts: %s\n", index.error().describe().c_str());
    out.note = "No charts: " + index.error().describe() + ".";
    return out;
  }
  out.index = std::move(*index);
  return out;
}

std::string charts_markdown(const ChartsOutcome& charts) {
  std::string md = "## Charts\n\n";
  if (!charts.index) return md + markdown_text(charts.note) + "\n\n";
  const ChartIndex& index = *charts.index;
  auto image = [&](const Chart& c) {
    return "![" + markdown_text(c.title) + "](" + charts.dir + "/" +
           (c.png.empty() ? c.svg : c.png) + ")\n\n";
  };
  const std::vector<std::string> shown = {"headline", "timeline", "kernel_timeline", "split_grid"};
  for (const std::string& name : shown) {
    const Chart* c = index.find(name);
    if (!c) continue;
    md += image(*c);
    if (name == "headline" && !index.headline_cell.empty())
      md += "The headline cell is `" + code_text(index.headline_cell) +
            "`: " + markdown_text(index.headline_why) + ".\n\n";
  }
  std::string others;
  for (const Chart& c : index.charts) {
    if (std::find(shown.begin(), shown.end(), c.name) != shown.end()) continue;
    others += "- [" + markdown_text(c.title) + "](" + charts.dir + "/" +
              (c.png.empty() ? c.svg : c.png) + ")\n";
  }
  if (!others.empty()) md += "More charts:\n\n" + others + "\n";
  if (index.charts.empty()) md += "The chart script found nothing to draw.\n\n";
  return md + "Each chart is also an SVG next to its PNG in `" + charts.dir +
         "/`; report.html holds them in one page.\n\n";
}

}  // namespace memplace
