// Paper-style tables from a results dir: per-run Before/After/Delta MemUsed in the cover
// letter's (numastat -m) layout, and a policy x backing summary. Reads only normalised files.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "experiment/run_record.h"

namespace memplace {

// "                 Node 0     Node 1      Total" table for one run, MB with two decimals.
std::string format_memused_table(const RunRecord& r);
std::string render_report_markdown(const std::vector<RunRecord>& runs, const std::string& title);
std::string render_runs_csv(const std::vector<RunRecord>& runs);
std::string render_summary_csv(const std::vector<RunRecord>& runs);

// Reads dir/runs.jsonl (+ manifest), writes report.md, runs.csv, summary.csv atomically.
Status write_report(const std::string& dir);

}  // namespace memplace
