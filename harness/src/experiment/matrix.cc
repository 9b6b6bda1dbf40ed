// The matrix loop: results dir, manifest, resume, progress and interruption. Each finished run
// is on disk (fsync-ed) before the next cell starts, so a crash or Ctrl-C loses at most the run
// in flight.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <set>

#include "base/bounded_read.h"
#include "base/dir_lock.h"
#include "base/nodelist.h"
#include "experiment/host_identity.h"
#include "experiment/placement_choice.h"
#include "experiment/results.h"
#include "experiment/matrix.h"
#include "base/clock.h"
#include "base/stop_signals.h"
#include "kernel/sysfs.h"

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
    verdict = r.verdict->honored ? "honoured" : "NOT honoured";
  std::fprintf(stderr, "[%zu/%zu] %-44s %-11s %6.2fs %s %s%s%s\n", index, total, r.cell_key.c_str(),
               run_status_name(r.status), r.populate_seconds, split_text(r).c_str(),
               verdict.c_str(), r.message.empty() ? "" : " — ", r.message.c_str());
}

Status write_stream_text(int fd, const std::string& line) {
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("writing to stream");
    p += n;
    left -= static_cast<size_t>(n);
  }
  return {};
}

// The samples and workload files go first so the host has them by the time the record names
// them (testbed.h describes the lines).
Status write_stream_line(int fd, const RunRecord& r, const std::string& out_dir) {
  if (!r.samples_file.empty()) {
    auto csv = read_text_file(out_dir + "/" + r.samples_file);
    if (csv) {
      nlohmann::json samples = {
          {"type", "samples"}, {"run_id", r.run_id}, {"file", r.samples_file}, {"csv", *csv}};
      if (auto s = write_stream_text(fd, samples.dump() + "\n"); !s) return s;
    }
  }
  const nlohmann::json* workload_file = nullptr;
  if (r.extra.contains("workload") && r.extra["workload"].contains("file"))
    workload_file = &r.extra["workload"]["file"];
  if (workload_file && workload_file->is_string()) {
    std::string file = workload_file->get<std::string>();
    auto text = read_text_file(out_dir + "/" + file);
    if (text) {
      nlohmann::json workload = {
          {"type", "workload"}, {"run_id", r.run_id}, {"file", file}, {"text", *text}};
      if (auto s = write_stream_text(fd, workload.dump() + "\n"); !s) return s;
    }
  }
  return write_stream_text(fd, to_json(r).dump() + "\n");
}

// A merged dir (merge.h) names every host its runs came from. Resuming it adds this host's runs,
// so this host joins the list and the merge's own keys stay.
constexpr size_t kMaxManifestBytes = 64u << 20;
void carry_merged_manifest(const std::string& dir, const RunContext& ctx, nlohmann::json& manifest) {
  auto fd = open_dir(dir);
  if (!fd) return;
  auto text = read_file_at(fd->get(), "manifest.json", kMaxManifestBytes, dir + "/manifest.json");
  if (!text) return;
  auto prior = nlohmann::json::parse(*text, nullptr, false);
  if (prior.is_discarded() || !prior.is_object() || !prior.contains("merged_from")) return;
  for (const char* key : {"kind", "mode", "merged_from", "hosts"})
    if (prior.contains(key)) manifest[key] = prior[key];
  if (!manifest["hosts"].is_array()) manifest["hosts"] = nlohmann::json::array();
  const Environment& env = ctx.environment;
  if (!find_host(manifest["hosts"], env.hostname, env.topology_digest))
    manifest["hosts"].push_back(host_identity_json(env, to_json(ctx.probe)));
}

// The manifest as the matrix starts: who runs what where (this shard of it, if any). A resumed
// merged dir keeps what the merge recorded.
nlohmann::json start_manifest(const Spec& spec, const std::vector<Cell>& cells,
                              const RunOptions& options, const RunContext& ctx) {
  nlohmann::json manifest = {
      {"schema_version", kSchemaVersion},
      {"memplace_revision", memplace_revision()},
      {"invocation", options.invocation},
      {"spec_name", spec.name},
      {"spec_file", "spec.toml"},
      {"environment",
       {{"kind", ctx.environment.kind},
        {"kernel", ctx.environment.kernel},
        {"hostname", ctx.environment.hostname},
        {"topology_digest", ctx.environment.topology_digest}}},
      {"probe", to_json(ctx.probe)},
      {"cells", cells.size()},
      {"started_at", utc_now()},
      {"status", "running"},
  };
  if (spec.shard)
    manifest["shard"] = {{"index", spec.shard->index},
                         {"count", spec.shard->count},
                         {"runs", cells.size()},
                         {"matrix_runs", expand(spec).size()}};
  if (options.resume) carry_merged_manifest(options.out_dir, ctx, manifest);
  return manifest;
}

}  // namespace

void MatrixSummary::count(const RunRecord& r) {
  switch (r.status) {
    case RunStatus::kOk:
      ++ok;
      if (r.verdict && !r.verdict->honored) ++not_honored;
      return;
    case RunStatus::kUnsupported:
      ++unsupported;
      return;
    case RunStatus::kFailed:
      ++failed;
      return;
  }
}

Result<MatrixSummary> run_matrix(const Spec& spec, const std::vector<Cell>& cells,
                                 const RunOptions& options) {
  const std::string& dir = options.out_dir;
  if (auto s = make_dirs(dir + "/samples"); !s) return s.error();
  // Held until the manifest is final: a second run on this dir stops here (DirLock says who).
  auto lock = DirLock::acquire(dir);
  if (!lock) return lock.error();
  const std::string runs_path = dir + "/runs.jsonl";

  std::set<std::string> done;
  int last_id = next_run_number(RunsFile{}, dir) - 1;
  if (::access(runs_path.c_str(), F_OK) == 0) {
    if (options.resume) {
      auto repaired = repair_runs_tail(runs_path);
      if (!repaired) return repaired.error();
      if (!repaired->empty()) std::fprintf(stderr, "memplace: %s\n", repaired->c_str());
    }
    auto prior = read_runs(runs_path);
    if (!prior) return prior.error();
    if (!options.resume && !prior->records.empty())
      return make_error(runs_path + " already holds " + std::to_string(prior->records.size()) +
                        " runs; pass --resume to finish it or choose a new --out");
    for (const auto& w : prior->warnings)
      std::fprintf(stderr, "memplace: warning: %s\n", w.c_str());
    for (const auto& r : prior->records) done.insert(run_key(r.cell_key, r.repeat));
    last_id = next_run_number(*prior, dir) - 1;
  }

  RunContext ctx;
  ctx.sysfs_root = options.sysfs_root;
  ctx.out_dir = dir;
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
  ctx.placement_sources = spec.placement_sources;
  ctx.trace_buffer_kib = spec.trace_buffer_kib;
  ctx.qemu = spec.qemu;
  ctx.environment = options.environment;
  if (ctx.environment.kernel.empty()) {
    auto rel = read_kernel_release(options.sysfs_root);
    ctx.environment.kernel = rel ? *rel : "unknown";
  }
  if (ctx.environment.hostname.empty()) ctx.environment.hostname = hostname();
  ctx.probe = run_probe(options.sysfs_root);
  if (ctx.environment.topology_digest.empty())
    ctx.environment.topology_digest = topology_digest(
        ctx.environment.topology.is_null() ? to_json(ctx.probe.topology) : ctx.environment.topology);

  nlohmann::json manifest = start_manifest(spec, cells, options, ctx);
  if (!spec.source_text.empty()) {
    if (auto s = write_file_atomic(dir + "/spec.toml", spec.source_text); !s) return s.error();
  }
  if (auto s = write_json_atomic(dir + "/manifest.json", manifest); !s) return s.error();

  auto writer = RunsWriter::open(runs_path);
  if (!writer) return writer.error();
  UniqueFd stream;
  if (!options.stream_path.empty()) {
    int fd = ::open(options.stream_path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return errno_error("open stream " + options.stream_path);
    stream.reset(fd);
  }

  MatrixSummary summary;
  StopSignalGuard signals;  // for the whole loop: a cell in flight finishes, then we stop
  int next_id = last_id;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (signals.received()) break;
    const Cell& cell = cells[i];
    if (done.count(run_key(cell))) {
      ++summary.skipped;
      continue;
    }
    char id[16];
    std::snprintf(id, sizeof id, "r%04d", ++next_id);
    RunRecord r = run_cell_with(options.runners, cell, ctx, id);
    if (auto s = writer->append(r); !s) return s.error();
    if (stream.valid()) {
      if (auto s = write_stream_line(stream.get(), r, dir); !s)
        std::fprintf(stderr, "memplace: %s\n", s.error().describe().c_str());
    }
    summary.count(r);
    if (options.progress) print_progress(i + 1, cells.size(), r);
    // Sources that worked yet disagree by more than 1% of the cell: one of them is wrong.
    if (auto w = disagreement_warning(r); !w.empty())
      std::fprintf(stderr, "memplace: warning: %s\n", w.c_str());
  }

  summary.interrupted_by = signals.received();
  manifest["finished_at"] = utc_now();
  manifest["status"] = summary.interrupted_by ? "interrupted" : "complete";
  manifest["summary"] = {{"ok", summary.ok},
                         {"unsupported", summary.unsupported},
                         {"failed", summary.failed},
                         {"not_honored", summary.not_honored},
                         {"skipped", summary.skipped}};
  if (auto s = write_json_atomic(dir + "/manifest.json", manifest); !s) return s.error();
  if (options.on_dir_finished) options.on_dir_finished(dir);
  return summary;
}

std::string memplace_revision() {
#ifdef MEMPLACE_GIT_REV
  return MEMPLACE_GIT_REV;
#else
  return "unknown";
#endif
}

}  // namespace memplace
