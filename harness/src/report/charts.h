// SPDX-License-Identifier: GPL-2.0-only
// The bridge to plots/: runs the chart script (Debian's python3-matplotlib) on finished results
// dirs and reads back the charts it drew. charts.json and the chart files are read as untrusted
// input: bounded in size, names limited to plain file names inside the plots dir.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/subprocess.h"

namespace memplace {

struct Chart {
  std::string name;           // "headline", "split_grid", "memused_bars-<kernel>", ...
  std::string title;          // from the records: escape before display
  std::string png, svg;       // plain file names inside the plots dir ("" when absent)
  int width = 0, height = 0;  // pixels of the PNG
  int series = -1;            // per-kernel charts: index of the kernel in the dirs given
};

struct ChartIndex {
  std::string headline_cell;  // cell key the headline figure shows, "" without one
  std::string headline_why;
  std::vector<Chart> charts;

  const Chart* find(const std::string& name) const;
  // The chart of one kernel: name_prefix "memused_bars", series its index.
  const Chart* find_series(const std::string& name_prefix, int series) const;
};

// What a report says about charts: the ones drawn, or why there are none and how to get them.
struct ChartsOutcome {
  std::optional<ChartIndex> index;
  std::string dir = "plots";  // relative to the report
  std::string note;           // set when index is empty
};

// The interpreter the chart script runs under: $MEMPLACE_PYTHON (an install or a test) or
// Debian's /usr/bin/python3, whose python3-matplotlib install-deps.sh installs.
std::string plots_python();
// plots/memplace_plots.py: $MEMPLACE_PLOTS_DIR, else the source tree memplace was built from.
std::string plots_script();

// Runs the chart script as is: its exit code (2 bad input, 3 no matplotlib) and output.
Result<CommandOutput> run_plot_script(const std::vector<std::string>& dirs,
                                      const std::string& out_dir);

// Draws charts for `dirs` (each a results dir or a testbed dir; the first kernel found is the
// baseline) into out_dir. The error says why no charts were drawn and how to get them.
Result<ChartIndex> draw_charts(const std::vector<std::string>& dirs, const std::string& out_dir);

// Reads plots_dir/charts.json; charts whose files are missing or badly named are left out.
Result<ChartIndex> read_chart_index(const std::string& plots_dir);

// Draws unless `skip`, and turns a failure into a note; never fails the run.
ChartsOutcome charts_for_report(const std::vector<std::string>& dirs, const std::string& out_dir,
                                bool skip, const std::string& report_dir);

// report.md's "Charts" section: the main charts as images, the others as links, or the note.
std::string charts_markdown(const ChartsOutcome& charts);

// A regular file (no symlink) of at most `limit` bytes.
Result<std::string> read_bounded_file(const std::string& path, size_t limit);

}  // namespace memplace
