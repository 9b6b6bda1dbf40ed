// SPDX-License-Identifier: GPL-2.0-only
// The matrix loop: results dir, manifest, resume, progress and interruption. Each finished run
// is on disk (fsync-ed) before the next cell starts, so a crash or Ctrl-C loses at most the run
// in flight.
#include "experiment/matrix.h"

#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <set>

#include "base/bounded_read.h"
#include "base/clock.h"
#include "base/dir_lock.h"
#include "base/files.h"
#include "base/nodelist.h"
#include "base/stop_signals.h"
#include "base/text.h"
#include "experiment/placement_choice.h"
#include "host/sysfs.h"
#include "results/host_identity.h"
#include "results/results.h"
#include "results/results_dir.h"

namespace memplace {
namespace {

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
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
    verdict = r.verdict->honored ? "honored" : "NOT honored";
  std::fprintf(stderr, "[%zu/%zu] %-44s %-11s %6.2fs %s %s%s%s\n", index, total, r.cell_key.c_str(),
               run_status_name(r.status), r.populate_seconds, split_text(r).c_str(),
               verdict.c_str(), r.message.empty() ? "" : " — ", r.message.c_str());
}

// A merged dir (merge.h) names every host its runs came from. Resuming it adds this host's runs,
// so this host joins the list and the merge's own keys stay.
void carry_merged_manifest(const std::string& dir, const RunContext& ctx,
                           nlohmann::json& manifest) {
  auto read = read_json_file(dir + "/manifest.json");  // bounded in size and depth
  if (!read || !read->is_object() || !read->contains("merged_from")) return;
  const nlohmann::json& prior = *read;
  for (const char* key : {"kind", "mode", "merged_from", "hosts"})
    if (prior.contains(key)) manifest[key] = prior[key];
  if (!manifest["hosts"].is_array()) manifest["hosts"] = nlohmann::json::array();
  const Environment& env = ctx.environment;
  if (!find_host(manifest["hosts"], env.hostname, env.topology_digest))
    manifest["hosts"].push_back(host_identity_json(env, to_json(ctx.probe)));
}

// The runs an earlier, interrupted matrix left in the dir; refused unless resuming, and its torn
// last line repaired when resuming.
struct PriorRuns {
  std::set<std::string> done;  // run_key()s
  int64_t last_id = 0;         // the highest run number in the dir
};

Result<PriorRuns> read_prior_runs(const std::string& dir, bool resume) {
  const std::string runs_path = dir + "/runs.jsonl";
  PriorRuns prior;
  prior.last_id = next_run_number(RunsFile{}, dir) - 1;
  if (::access(runs_path.c_str(), F_OK) != 0) return prior;
  if (resume) {
    auto repaired = repair_runs_tail(runs_path);
    if (!repaired) return repaired.error();
    if (!repaired->empty()) std::fprintf(stderr, "memplace: %s\n", repaired->c_str());
  }
  auto runs = read_runs(runs_path);
  if (!runs) return runs.error();
  if (!resume && !runs->records.empty())
    return make_error(runs_path + " already holds " + std::to_string(runs->records.size()) +
                      " runs; pass --resume to finish it or choose a new --out");
  for (const auto& w : runs->warnings)
    std::fprintf(stderr, "memplace: warning: %s\n", terminal_safe(w).c_str());
  for (const auto& r : runs->records) prior.done.insert(run_key(r.cell_key, r.repeat));
  prior.last_id = next_run_number(*runs, dir) - 1;
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
  ctx.locality = spec.locality;
  ctx.toucher_timeout_s = spec.toucher_timeout_s;
  ctx.placement_sources = spec.placement_sources;
  ctx.trace_buffer_kib = spec.trace_buffer_kib;
  ctx.trace_transport = spec.trace_transport;
  ctx.qemu = spec.qemu;
  ctx.environment = options.environment;
  if (ctx.environment.kernel.empty()) {
    auto rel = read_kernel_release(options.sysfs_root);
    ctx.environment.kernel = rel ? *rel : "unknown";
  }
  if (ctx.environment.hostname.empty()) ctx.environment.hostname = hostname();
  ctx.probe = run_probe(options.sysfs_root);
  if (ctx.environment.topology_digest.empty())
    ctx.environment.topology_digest =
        topology_digest(ctx.environment.topology.is_null() ? to_json(ctx.probe.topology)
                                                           : ctx.environment.topology);
  return ctx;
}

Manifest matrix_manifest(const Spec& spec, size_t cells, const RunOptions& options,
                         const RunContext& ctx) {
  Manifest m(options.out_dir, options.invocation, cells);
  auto& f = m.fields();
  f["spec_name"] = spec.name;
  f["spec_file"] = "spec.toml";
  f["environment"] = {{"kind", ctx.environment.kind},
                      {"kernel", ctx.environment.kernel},
                      {"hostname", ctx.environment.hostname},
                      {"topology_digest", ctx.environment.topology_digest}};
  f["probe"] = to_json(ctx.probe);
  f["started_at"] = utc_now();
  if (spec.shard)
    f["shard"] = {{"index", spec.shard->index},
                  {"count", spec.shard->count},
                  {"runs", cells},
                  {"matrix_runs", expand(spec).size()}};
  if (options.resume) carry_merged_manifest(options.out_dir, ctx, f);
  return m;
}

// Every cell not already done, in order, until the cells run out or a signal arrives.
Status run_cells(const std::vector<Cell>& cells, const RunContext& ctx, const RunOptions& options,
                 const PriorRuns& prior, RunsWriter& writer, MatrixSummary& summary) {
  StopSignalGuard signals;  // for the whole loop: a cell in flight finishes, then we stop
  int64_t next_id = prior.last_id;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (signals.received()) break;
    const Cell& cell = cells[i];
    if (prior.done.count(run_key(cell))) {
      ++summary.skipped;
      continue;
    }
    char id[24];
    std::snprintf(id, sizeof id, "r%04" PRId64, ++next_id);
    RunRecord r = run_cell_with(options.runners, cell, ctx, id);
    if (auto s = writer.append(r); !s) return s;
    if (options.on_record) options.on_record(r, options.out_dir);
    summary.count(r);
    if (options.progress) print_progress(i + 1, cells.size(), r);
    // Sources that worked yet disagree by more than 1% of the cell: one of them is wrong.
    if (auto w = disagreement_warning(r); !w.empty())
      std::fprintf(stderr, "memplace: warning: %s\n", terminal_safe(w).c_str());
  }
  summary.interrupted_by = signals.received();
  return {};
}

}  // namespace

namespace {

// The manifest's last word: status, finish time, and a summary of the dir's runs rather than this
// invocation's (a no-op --resume of a complete dir said ok 0, skipped 8).
Status finish_manifest(Manifest& manifest, const std::string& dir, const MatrixSummary& summary,
                       const std::string& status) {
  manifest.fields()["finished_at"] = utc_now();
  MatrixSummary whole;
  if (auto all = read_runs(dir + "/runs.jsonl"))
    for (const RunRecord& r : all->records) whole.count(r);
  else
    whole = summary;
  manifest.finish(status, whole);
  return manifest.write();
}

}  // namespace

Result<MatrixSummary> run_matrix(const Spec& spec, const std::vector<Cell>& cells,
                                 const RunOptions& options) {
  // From the dir's first moment: an interrupt while it is being set up is recorded, the setup
  // ends with spec.toml and a manifest, and the loop stops before its first cell.
  StopSignalGuard signals;
  const std::string& dir = options.out_dir;
  if (auto s = make_dirs(dir); !s) return s.error();
  // Samples go only into a samples/ of memplace's own, never through a planted symlink.
  if (auto s = ensure_owned_subdir(dir, "samples"); !s) return s.error();
  // Held until the manifest is final: a second run on this dir stops here (DirLock says who).
  auto lock = DirLock::acquire(dir);
  if (!lock) return lock.error();
  // The spec first, before the probe's second of work: an interrupt from here on leaves a dir
  // that --resume finishes (it held only the lock and samples/ before).
  if (!spec.source_text.empty()) {
    if (auto s = write_file_atomic(dir + "/spec.toml", spec.source_text); !s) return s.error();
  }
  auto prior = read_prior_runs(dir, options.resume);
  if (!prior) return prior.error();
  auto ctx = make_context(spec, options);
  if (!ctx) return ctx.error();

  Manifest manifest = matrix_manifest(spec, cells.size(), options, *ctx);
  if (auto text = read_file_bounded(dir + "/spec.toml", kMaxSpecBytes))
    manifest.fields()["spec_digest"] = spec_digest(*text);
  if (auto s = manifest.write(); !s) return s.error();
  auto writer = RunsWriter::open(dir + "/runs.jsonl");
  if (!writer) return writer.error();

  MatrixSummary summary;
  if (auto s = run_cells(cells, *ctx, options, *prior, *writer, summary); !s) {
    // A full disk mid-matrix: the manifest says so, never "running" for a dir nobody runs.
    (void)finish_manifest(manifest, dir, summary, "failed");
    return s.error();
  }
  if (auto s = finish_manifest(manifest, dir, summary,
                               summary.interrupted_by ? "interrupted" : "complete");
      !s)
    return s.error();
  if (options.on_dir_finished) options.on_dir_finished(dir);
  return summary;
}

}  // namespace memplace
