// The matrix loop: results dir, manifest, resume, progress and interruption. Each finished run
// is on disk (fsync-ed) before the next cell starts, so a crash or Ctrl-C loses at most the run
// in flight.
#include "experiment/matrix.h"

#include <unistd.h>

#include <cstdio>
#include <set>

#include "base/clock.h"
#include "base/files.h"
#include "base/stop_signals.h"
#include "experiment/results.h"
#include "kernel/probe.h"
#include "kernel/sysfs.h"

namespace memplace {
namespace {

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

std::string run_key(const std::string& cell_key, int repeat) {
  return cell_key + "#" + std::to_string(repeat);
}

std::string split_text(const RunRecord& r) {
  uint64_t total = 0;
  for (const auto& [n, p] : r.placement_pages) total += p;
  std::string s;
  for (const auto& [n, p] : r.placement_pages) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%sN%d %.1f%%", s.empty() ? "" : " ", n,
                  total ? 100.0 * p / total : 0.0);
    s += buf;
  }
  return s;
}

void print_progress(size_t index, size_t total, const RunRecord& r) {
  std::string verdict;
  if (r.status == RunStatus::kOk && r.verdict)
    verdict = r.verdict->honored ? "honoured" : "NOT honoured";
  std::fprintf(stderr, "[%zu/%zu] %-44s %-11s %6.2fs %s %s%s%s\n", index, total, r.cell_key.c_str(),
               run_status_name(r.status), r.populate_seconds, split_text(r).c_str(),
               verdict.c_str(), r.message.empty() ? "" : " — ", r.message.c_str());
}

// The runs an earlier, interrupted matrix left in the dir; refused unless resuming.
struct PriorRuns {
  std::set<std::string> done;  // run_key()s
  size_t count = 0;
};

Result<PriorRuns> read_prior_runs(const std::string& runs_path, bool resume) {
  PriorRuns prior;
  if (::access(runs_path.c_str(), F_OK) != 0) return prior;
  auto runs = read_runs(runs_path);
  if (!runs) return runs.error();
  if (!resume && !runs->records.empty())
    return make_error(runs_path + " already holds " + std::to_string(runs->records.size()) +
                      " runs; pass --resume to finish it or choose a new --out");
  for (const auto& w : runs->warnings) std::fprintf(stderr, "memplace: warning: %s\n", w.c_str());
  for (const auto& r : runs->records) prior.done.insert(run_key(r.cell_key, r.repeat));
  prior.count = runs->records.size();
  return prior;
}

Result<RunContext> make_context(const Spec& spec, const RunOptions& options) {
  RunContext ctx;
  ctx.sysfs_root = options.sysfs_root;
  ctx.out_dir = options.out_dir;
  ctx.sample_interval_ms = spec.sample_interval_ms;
  ctx.tolerance = spec.tolerance;
  if (spec.populate_method != "auto") {
    auto m = parse_populate_method(spec.populate_method);
    if (!m) return m.error();
    ctx.populate.method = *m;
  }
  ctx.populate.thp = spec.thp;
  ctx.workload = spec.workload;
  ctx.toucher_timeout_s = spec.toucher_timeout_s;
  ctx.qemu = spec.qemu;
  ctx.environment = options.environment;
  if (ctx.environment.kernel.empty()) {
    auto rel = read_kernel_release(options.sysfs_root);
    ctx.environment.kernel = rel ? *rel : "unknown";
  }
  if (ctx.environment.hostname.empty()) ctx.environment.hostname = hostname();
  ctx.probe = run_probe(options.sysfs_root);
  return ctx;
}

Manifest matrix_manifest(const Spec& spec, size_t cells, const RunOptions& options,
                         const RunContext& ctx) {
  Manifest m(options.out_dir, options.invocation, cells);
  m.fields()["spec_name"] = spec.name;
  m.fields()["spec_file"] = "spec.toml";
  m.fields()["environment"] = {{"kind", ctx.environment.kind},
                               {"kernel", ctx.environment.kernel},
                               {"hostname", ctx.environment.hostname}};
  m.fields()["probe"] = to_json(ctx.probe);
  m.fields()["started_at"] = utc_now();
  return m;
}

// Every cell not already done, in order, until the cells run out or a signal arrives.
Status run_cells(const std::vector<Cell>& cells, const RunContext& ctx, const RunOptions& options,
                 const PriorRuns& prior, RunsWriter& writer, MatrixSummary& summary) {
  StopSignalGuard signals;  // for the whole loop: a cell in flight finishes, then we stop
  size_t next_id = prior.count;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (signals.received()) break;
    const Cell& cell = cells[i];
    if (prior.done.count(run_key(cell_key(cell), cell.repeat))) {
      ++summary.skipped;
      continue;
    }
    char id[16];
    std::snprintf(id, sizeof id, "r%04zu", ++next_id);
    RunRecord r = run_cell_with(options.runners, cell, ctx, id);
    if (auto s = writer.append(r); !s) return s;
    if (options.on_record) options.on_record(r, options.out_dir);
    summary.count(r);
    if (options.progress) print_progress(i + 1, cells.size(), r);
  }
  summary.interrupted_by = signals.received();
  return {};
}

}  // namespace

Result<MatrixSummary> run_matrix(const Spec& spec, const std::vector<Cell>& cells,
                                 const RunOptions& options) {
  const std::string& dir = options.out_dir;
  if (auto s = make_dirs(dir + "/samples"); !s) return s.error();
  const std::string runs_path = dir + "/runs.jsonl";
  auto prior = read_prior_runs(runs_path, options.resume);
  if (!prior) return prior.error();
  auto ctx = make_context(spec, options);
  if (!ctx) return ctx.error();

  Manifest manifest = matrix_manifest(spec, cells.size(), options, *ctx);
  if (!spec.source_text.empty()) {
    if (auto s = write_file_atomic(dir + "/spec.toml", spec.source_text); !s) return s.error();
  }
  if (auto s = manifest.write(); !s) return s.error();
  auto writer = RunsWriter::open(runs_path);
  if (!writer) return writer.error();

  MatrixSummary summary;
  if (auto s = run_cells(cells, *ctx, options, *prior, *writer, summary); !s) return s.error();

  manifest.fields()["finished_at"] = utc_now();
  manifest.finish(summary.interrupted_by ? "interrupted" : "complete", summary);
  manifest.fields()["summary"]["skipped"] = summary.skipped;
  if (auto s = manifest.write(); !s) return s.error();
  if (options.on_dir_finished) options.on_dir_finished(dir);
  return summary;
}

}  // namespace memplace
