// SPDX-License-Identifier: GPL-2.0-only
// An exec's results dir: written like a run's, so report, compare and plot read it as one.
#include "exec/exec_results.h"

#include "base/files.h"
#include "report/results_report.h"
#include "results/manifest.h"
#include "results/results.h"
#include "results/results_dir.h"

namespace memplace {
namespace {

// The cgroup's pages per node over time, in the samples file's columns (t_seconds, node,
// MemUsed_kB), so the MemUsed timeline chart draws the command's own memory.
std::string samples_csv(const ExecOutcome& out) {
  std::string csv = "t_seconds,node,MemUsed_kB\n";
  for (const ExecSample& s : out.samples)
    for (const auto& [node, pages] : s.pages.total)
      csv +=
          std::to_string(s.t) + "," + std::to_string(node) + "," + std::to_string(pages * 4) + "\n";
  return csv;
}

}  // namespace

Status write_exec_dir(const std::string& dir, const ExecOutcome& out, RunRecord record,
                      const std::string& invocation, bool plots) {
  if (auto s = ensure_owned_subdir(dir, "samples"); !s) return s;
  record.samples_file = "samples/" + record.run_id + ".csv";
  if (auto s = write_file_atomic(dir + "/" + record.samples_file, samples_csv(out)); !s) return s;
  Manifest manifest(dir, invocation, 1);
  manifest.fields()["kind"] = record.toucher;  // "exec" or "attach"
  manifest.fields()["cgroup"] = out.cgroup;
  auto writer = RunsWriter::open(dir + "/runs.jsonl");
  if (!writer) return writer.error();
  if (auto s = writer->append(record); !s) return s;
  MatrixSummary summary;
  summary.count(record);
  manifest.finish("complete", summary);
  if (auto s = manifest.write(); !s) return s;
  return write_results_report(dir, ReportSettings{plots, true});
}

}  // namespace memplace
