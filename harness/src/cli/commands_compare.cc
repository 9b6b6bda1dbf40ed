// SPDX-License-Identifier: GPL-2.0-only
// `memplace compare` and `memplace plot`: readers of finished results dirs only.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "base/subprocess.h"
#include "base/text.h"
#include "cli/commands_internal.h"
#include "memplace/commands.h"
#include "report/chart_data.h"
#include "report/charts.h"
#include "report/compare.h"
#include "report/test_results.h"

namespace memplace {
int command_compare(const CompareArgs& args) {
  if (args.by != "dir" && args.by != "host")
    return fail(kExitBadInput, "--by: expected dir or host, got '" + args.by + "'");
  bool by_host = args.by == "host";
  if (!by_host && args.dirs.size() < 2)
    return fail(kExitBadInput, "compare needs at least two results dirs (or --by host)");
  if (!args.out_dir.empty()) {
    struct stat st;
    if (::stat(args.out_dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
      return fail(kExitBadInput, "--out " + args.out_dir + ": exists and is not a directory");
  }
  auto result = by_host ? compare_dirs_by_host(args.dirs) : compare_dirs(args.dirs);
  if (!result) return fail(kExitBadInput, result.error().describe());
  for (const auto& w : result->warnings)
    std::fprintf(stderr, "memplace: warning: %s\n", terminal_safe(w).c_str());
  if (args.format == "markdown" || args.format == "md")
    std::printf("%s", render_compare_markdown(*result).c_str());
  else if (args.format == "csv")
    std::printf("%s", render_compare_csv(*result).c_str());
  else if (args.format == "json")
    std::printf("%s\n", compare_to_json(*result).dump(2).c_str());
  else if (args.format == "ktap" || args.format == "junit") {
    const auto tests = compare_tests(*result, regression_failures(*result, args.allow_unsupported));
    std::printf(
        "%s", (args.format == "ktap" ? render_ktap(tests) : render_junit(tests, "memplace compare"))
                  .c_str());
  } else
    return fail(kExitBadInput,
                "--format: expected markdown, csv or json, got '" + args.format + "'");
  if (!args.out_dir.empty()) {
    if (auto s = write_compare(*result, args.out_dir); !s)
      return fail(kExitEnvironment, s.error().describe());
    std::fprintf(stderr, "memplace: wrote %s/compare.{md,csv,json}\n", args.out_dir.c_str());
  }
  std::fprintf(stderr, "memplace: %d regression(s), %d fix(es), %d missing across %zu cells\n",
               count_changes(*result, Change::kRegression), count_changes(*result, Change::kFix),
               count_changes(*result, Change::kMissing), result->cells.size());
  if (!args.fail_on_regression) return kExitOk;
  // Also a failure: a cell ok in the baseline that failed or vanished, or no overlap at all;
  // the line says how many, so the exit code never contradicts the summary above.
  auto failures = regression_failures(*result, args.allow_unsupported);
  for (const auto& f : failures) std::fprintf(stderr, "memplace: regression: %s\n", f.c_str());
  if (!failures.empty())
    std::fprintf(stderr, "memplace: --fail-on-regression: %zu failing cell(s) or check(s)\n",
                 failures.size());
  return failures.empty() ? kExitOk : kExitCheckFailed;
}

int command_plot(const PlotArgs& args) {
  if (args.dirs.empty()) return fail(kExitBadInput, "plot needs at least one results dir");
  std::string out = args.out_dir.empty() ? args.dirs.front() + "/plots" : args.out_dir;
  // A results dir's plots/ is memplace's own (no planted symlink followed); --out is the user's.
  Status made =
      args.out_dir.empty() ? ensure_owned_subdir(args.dirs.front(), "plots") : make_dirs(out);
  if (!made && !args.out_dir.empty() && (made.error().err == ENOTDIR || made.error().err == EEXIST))
    return fail(kExitBadInput, "--out " + out + ": a part of the path is not a directory");
  if (!made) return fail(exit_code_for(made.error()), made.error().describe());
  auto run = run_plot_script(args.dirs, out);
  if (!run) return fail(exit_code_for(run.error()), run.error().describe());
  std::fprintf(stdout, "%s", run->out.c_str());
  std::fprintf(stderr, "%s", run->err.c_str());
  if (run->exit_code == 0) std::fprintf(stderr, "memplace: charts in %s\n", out.c_str());
  return run->exit_code;
}

Status print_test_report(const std::string& format, const std::string& dir) {
  if (format != "ktap" && format != "junit") return {};
  auto series = chart_series({dir});
  if (!series) return series.error();
  std::vector<RunRecord> runs;
  for (ChartSeries& s : *series)
    for (RunRecord& r : s.runs) runs.push_back(std::move(r));
  const auto tests = cell_tests(runs);
  std::printf("%s", (format == "ktap" ? render_ktap(tests) : render_junit(tests, dir)).c_str());
  return {};
}

}  // namespace memplace
