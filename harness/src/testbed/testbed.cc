// SPDX-License-Identifier: GPL-2.0-only
#include "testbed/testbed.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>

#include "base/dir_lock.h"
#include "base/files.h"
#include "base/stop_signals.h"
#include "base/subprocess.h"
#include "experiment/matrix.h"
#include "experiment/record_builder.h"
#include "qemu/initramfs.h"
#include "qemu/qemu_command.h"
#include "qemu/qemu_process.h"
#include "results/host_identity.h"
#include "results/results.h"
#include "results/results_dir.h"
#include "testbed/record_stream.h"

namespace memplace {

namespace fs = std::filesystem;

nlohmann::json testbed_topology_json(const TestbedSpec& tb) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& n : testbed_numa_nodes(tb)) {
    nodes.push_back({{"id", n.id}, {"mem_bytes", n.mem_bytes}, {"cpus", n.cpus}});
  }
  return {
      {"nodes", nodes}, {"distances", tb.distances}, {"memory_only_nodes", tb.memory_only_nodes}};
}

QemuTestbedConfig testbed_qemu_config(const TestbedSpec& tb, const std::string& accel,
                                      const TestbedHostConfig& host) {
  QemuTestbedConfig qc;
  qc.qemu_binary = host.qemu_binary;
  qc.accel = accel;
  qc.nodes = testbed_numa_nodes(tb);
  qc.distances = tb.distances;
  qc.extra_append = tb.extra_append;
  return qc;
}

std::string guest_memplace_line(const std::string& accel, const nlohmann::json& topology,
                                bool only_listed_runs, const std::string& resume_dir) {
  std::string matrix =
      resume_dir.empty() ? "/spec.toml --out /tmp/out" : "--resume " + shell_quote(resume_dir);
  return "/memplace run " + matrix + " --stream \"$PORT\" --env-kind testbed --env-accel " +
         shell_quote(accel) + " --env-topology " + shell_quote(topology.dump()) +
         (only_listed_runs ? " --only-runs /runs.txt" : "");
}

std::vector<size_t> cells_without_records(const std::vector<Cell>& cells,
                                          const std::set<std::pair<std::string, int>>& received) {
  std::vector<size_t> missing;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (!received.count({cell_key(cells[i]), cells[i].repeat})) missing.push_back(i);
  }
  return missing;
}

RunRecord testbed_failed_record(const Cell& cell, const std::string& run_id,
                                const std::string& message, const Environment& env) {
  RunRecord r = record_for_cell(cell, run_id, env);
  r.status = RunStatus::kFailed;
  r.message = message;
  r.extra = {{"testbed", "no record from the guest"}};
  return r;
}

std::string last_lines(const std::string& text, int n) {
  size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
  size_t pos = end;
  for (int i = 0; i < n && pos > 0; ++i) {
    size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      pos = 0;
      break;
    }
    pos = nl;
    if (i + 1 < n && pos == 0) break;
  }
  if (pos < end && text[pos] == '\n') ++pos;
  std::string out = text.substr(pos, end - pos);
  out.erase(std::remove(out.begin(), out.end(), '\r'), out.end());
  return out;
}

std::string panic_line(const std::string& console) {
  size_t at = console.find("Kernel panic");
  if (at == std::string::npos) return "";
  size_t begin = console.rfind('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  size_t end = console.find('\n', at);
  std::string line = console.substr(begin, end == std::string::npos ? end : end - begin);
  while (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string guest_failure_reason(const std::string& console, bool timed_out, int qemu_status) {
  if (console.find("Kernel panic") != std::string::npos) return "panic";
  if (timed_out) return "timeout";
  return "exit";
}

namespace {

using Clock = std::chrono::steady_clock;

struct KernelRun {
  KernelFiles files;
  std::string dir;
  double fetch_seconds = 0;  // download and unpack (0 when cached), for the phase timings
};

// What one kernel's boot needs from the host and says back to it.
struct KernelBoot {
  const Spec& spec;
  const TestbedSpec& tb;
  const RunOptions& options;
  const TestbedHostConfig& host;
  const KernelRun& k;
  const std::vector<Cell>& all_cells;
  std::string accel;
  nlohmann::json topology;
  std::function<void(const std::string&)> say;
};

std::string run_keys_text(const std::vector<Cell>& cells) {
  std::string out;
  for (const auto& c : cells) out += run_key(c) + "\n";
  return out;
}

std::string read_or_empty(const std::string& path) {
  auto text = read_text_file(path);
  return text ? *text : "";
}

// What a kernel's dir already holds when a testbed run is resumed.
struct KernelProgress {
  std::set<std::pair<std::string, int>> done;  // (cell_key, repeat) with a record
  int64_t last_id = 0;                         // highest run id number in use
  std::string runs_text;                       // runs.jsonl, for the guest's own --resume
  std::set<std::string> files;                 // "samples/r0001.csv", "locality/..." on disk
};

Result<KernelProgress> kernel_progress(const std::string& dir, bool resume,
                                       const std::function<void(const std::string&)>& say) {
  KernelProgress p;
  std::string runs = dir + "/runs.jsonl";
  if (!resume || ::access(runs.c_str(), F_OK) != 0) return p;
  auto repaired = repair_runs_tail(runs);
  if (!repaired) return repaired.error();
  if (!repaired->empty()) say(*repaired);
  auto prior = read_runs(runs);
  if (!prior) return prior.error();
  for (const auto& w : prior->warnings) say("warning: " + w);
  for (const auto& r : prior->records) p.done.insert({r.cell_key, r.repeat});
  p.last_id = next_run_number(*prior, dir) - 1;
  for (const char* sub : {"samples", "locality", "workloads"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir + "/" + sub, ec))
      p.files.insert(std::string(sub) + "/" + e.path().filename().string());
  }
  auto text = read_text_file(runs);
  if (!text) return text.error();
  p.runs_text = std::move(*text);
  return p;
}

// The guest's initramfs: memplace itself, the spec without its [testbed] table, the kernel's
// modules and an init that runs the matrix (a shard's slice of it, or the rest of a resumed one).
Result<Initramfs> build_guest_image(const KernelBoot& b, const KernelProgress& progress,
                                    const std::vector<Cell>& cells) {
  InitramfsInputs in;
  in.busybox = b.host.busybox;
  in.modules_dir = b.k.files.modules_dir;
  in.programs[b.host.memplace_binary.empty() ? self_executable() : b.host.memplace_binary] =
      "memplace";
  in.extra_files.push_back(cpio_file("spec.toml", render_spec_toml(b.spec, false)));
  // A shard's slice of this kernel's runs is listed for the guest, which has no other kernels
  // to rank them against (shard.h).
  if (b.spec.shard) in.extra_files.push_back(cpio_file("runs.txt", run_keys_text(cells)));
  std::string resume_dir;
  if (!progress.done.empty()) {
    // The guest resumes a copy of this dir: it skips what is done and numbers new runs after
    // the highest id in use, so its samples never overwrite the earlier ones.
    resume_dir = "/resume";
    in.extra_files.push_back(cpio_dir("resume"));
    in.extra_files.push_back(cpio_file("resume/spec.toml", render_spec_toml(b.spec, false)));
    in.extra_files.push_back(cpio_file("resume/runs.jsonl", progress.runs_text));
  }
  in.run_line = b.host.guest_run_line.empty()
                    ? guest_memplace_line(b.accel, b.topology, b.spec.shard.has_value(), resume_dir)
                    : b.host.guest_run_line;
  return build_initramfs(in);
}

Manifest testbed_manifest(const KernelBoot& b, const Initramfs& image,
                          const std::vector<std::string>& argv, size_t done_before) {
  Manifest m(b.k.dir, b.options.invocation, b.all_cells.size());
  auto& f = m.fields();
  f["kind"] = "testbed";
  f["kernel"] = {{"requested", b.k.files.origin},
                 {"release", b.k.files.release},
                 {"vmlinuz", b.k.files.vmlinuz},
                 {"modules_dir", b.k.files.modules_dir},
                 {"modules_included", image.modules_loaded},
                 {"build", b.k.files.build_info}};
  f["accel"] = b.accel;
  f["topology"] = b.topology;
  f["qemu_command"] = argv;
  f["qemu_command_line"] = join_command(argv);
  f["initramfs_bytes"] = image.bytes.size();
  f["timeout_seconds"] = b.tb.timeout_seconds;
  f["runs_done_before"] = done_before;
  if (b.spec.shard) f["shard"] = {{"index", b.spec.shard->index}, {"count", b.spec.shard->count}};
  return m;
}

// How the guest's session ended: "interrupted", "complete" (it sent its "end"), "panic",
// "timeout" or "exit".
std::string session_outcome(const GuestSessionResult& session, bool saw_end,
                            const std::string& console) {
  if (session.interrupted_by) return "interrupted";
  if (saw_end) return "complete";
  return guest_failure_reason(console, session.timed_out, session.exit_status);
}

// The message of every run the guest never reported.
std::string missing_reason(const KernelBoot& b, const std::string& outcome,
                           const GuestSessionResult& session, int guest_exit,
                           const std::string& console, const std::string& qemu_log) {
  std::string why;
  if (outcome == "timeout") {
    why = session.boot_timed_out
              ? "testbed guest did not boot within " + std::to_string(b.tb.boot_timeout_seconds) +
                    " s (testbed.boot_timeout_s)"
              : "testbed guest timed out after " + std::to_string(b.tb.timeout_seconds) +
                    " s of running (testbed.timeout_s)";
  } else if (outcome == "panic") {
    why = "testbed guest kernel panicked: " + panic_line(console);
  } else if (outcome == "complete") {
    why = "the guest's matrix ended (exit code " + std::to_string(guest_exit) +
          ") without reporting this run";
  } else {
    why = "QEMU exited (status " + std::to_string(session.exit_status) +
          ") before the guest reported this run";
    if (!session.connected && !qemu_log.empty()) why += "; QEMU said: " + last_lines(qemu_log, 5);
  }
  return why + "; last console lines:\n" + last_lines(console, 15);
}

// A failed record for each of `missing` (indexes into `cells`), numbered after every run id in
// use, the guest's new ones included.
Status record_missing_runs(const KernelBoot& b, const std::vector<Cell>& cells,
                           const std::vector<size_t>& missing, int64_t last_id,
                           const std::string& why, RunsWriter& writer, MatrixSummary& summary) {
  Environment env = b.options.environment;
  env.kind = "testbed";
  env.kernel = b.k.files.release;
  env.kernel_build = b.k.files.build_info;
  env.accel = b.accel;
  env.topology = b.topology;
  env.topology_digest = topology_digest(b.topology);
  auto now = read_runs(b.k.dir + "/runs.jsonl");
  int64_t next_id = now ? next_run_number(*now, b.k.dir) - 1 : last_id;
  for (size_t i : missing) {
    char id[24];
    std::snprintf(id, sizeof id, "f%04" PRId64, ++next_id);
    RunRecord failed = testbed_failed_record(cells[i], id, why, env);
    if (auto s = writer.append(failed); !s) return s;
    summary.count(failed);
  }
  return {};
}

// The guest booted with `argv` until it ended, its lines into the kernel's dir.
struct Boot {
  GuestSessionResult session;
  MatrixSummary summary;
  std::vector<size_t> missing;  // indexes of the runs it did not report
  std::string outcome;
};

Result<Boot> boot_guest(const KernelBoot& b, const KernelProgress& progress,
                        const std::vector<Cell>& cells, const std::vector<std::string>& argv,
                        const QemuTestbedConfig& qc, RunsWriter& writer, Manifest& manifest) {
  b.say("booting " + b.k.files.origin + " (" + b.accel + ", " + std::to_string(b.tb.nodes) +
        " nodes, " + std::to_string(cells.size()) + " runs)");
  std::vector<Cell> admitted = cells;  // and what a test's own guest line adds
  admitted.insert(admitted.end(), b.host.guest_extra_runs.begin(), b.host.guest_extra_runs.end());
  RecordStreamReader stream(
      {b.k.dir, admitted, progress.files, b.k.files.build_info, RecordStreamReader::Clock::now()},
      writer, b.say);
  GuestSessionConfig sc{argv, qc.socket_path, b.k.dir + "/qemu.log", b.tb.boot_timeout_seconds,
                        b.tb.timeout_seconds};
  auto session = run_guest_session(sc, [&](std::string_view line) { stream.on_line(line); });
  if (!session) return session.error();
  const std::string console = read_or_empty(qc.console_log);
  Boot boot{*session, stream.summary(), cells_without_records(cells, stream.received()),
            session_outcome(*session, stream.saw_end(), console)};
  boot.summary.skipped = static_cast<int>(progress.done.size());
  boot.summary.interrupted_by = session->interrupted_by;
  // An interrupted boot's missing runs stay without a record: --resume runs them.
  if (!boot.missing.empty() && boot.outcome != "interrupted") {
    std::string why = missing_reason(b, boot.outcome, *session, stream.guest_exit_code(), console,
                                     read_or_empty(sc.qemu_log));
    if (auto s = record_missing_runs(b, cells, boot.missing, progress.last_id, why, writer,
                                     boot.summary);
        !s)
      return s.error();
    b.say(std::to_string(boot.missing.size()) + " runs failed: " + boot.outcome);
  }
  auto& f = manifest.fields();
  f["boot_seconds"] = stream.boot_seconds();
  f["guest_exit_code"] = stream.guest_exit_code();
  f["records_received"] = stream.records();
  f["records_dropped"] = stream.dropped();
  f["guest_notes"] = stream.notes();
  return boot;
}

// One kernel: boot, stream, account for every cell. Errors here are environment failures
// before the guest ran; everything after boot ends up in records.
Result<MatrixSummary> run_one_kernel(const KernelBoot& b) {
  const KernelRun& k = b.k;
  if (auto s = make_dirs(k.dir); !s) return s.error();
  auto progress = kernel_progress(k.dir, b.options.resume, b.say);
  if (!progress) return progress.error();
  std::vector<Cell> cells;  // the runs this boot is for
  for (const Cell& c : b.all_cells)
    if (!progress->done.count({cell_key(c), c.repeat})) cells.push_back(c);
  if (cells.empty()) {
    b.say("all " + std::to_string(b.all_cells.size()) + " runs already done");
    MatrixSummary done;
    done.skipped = static_cast<int>(b.all_cells.size());
    return done;
  }
  std::string spec_text =
      b.spec.source_text.empty() ? render_spec_toml(b.spec) : b.spec.source_text;
  if (auto s = write_file_atomic(k.dir + "/spec.toml", spec_text); !s) return s.error();
  auto tmp = TempDir::create((fs::temp_directory_path() / "memplace-testbed-").string());
  if (!tmp) return tmp.error();
  auto image = build_guest_image(b, *progress, cells);
  if (!image) return image.error();
  const std::string initrd = tmp->path() + "/initrd.cpio";
  if (auto s = write_file_atomic(initrd, image->bytes); !s) return s.error();

  QemuTestbedConfig qc = testbed_qemu_config(b.tb, b.accel, b.host);
  qc.kernel = k.files.vmlinuz;
  qc.initrd = initrd;
  qc.console_log = k.dir + "/console.log";
  qc.socket_path = tmp->path() + "/records.sock";
  const auto argv = qemu_testbed_command(qc);
  Manifest manifest = testbed_manifest(b, *image, argv, progress->done.size());
  if (auto s = manifest.write(); !s) return s.error();
  auto writer = RunsWriter::open(k.dir + "/runs.jsonl");
  if (!writer) return writer.error();

  auto boot = boot_guest(b, *progress, cells, argv, qc, *writer, manifest);
  if (!boot) return boot.error();
  char wall[64];
  std::snprintf(wall, sizeof wall, "done in %.1f s", boot->session.wall_seconds);
  b.say(wall);
  auto& f = manifest.fields();
  f["fetch_seconds"] = k.fetch_seconds;
  f["wall_seconds"] = boot->session.wall_seconds;
  f["qemu_exit_status"] = boot->session.exit_status;
  f[boot->outcome == "interrupted" ? "runs_unfinished" : "runs_failed_without_record"] =
      boot->missing.size();
  manifest.finish(boot->outcome, boot->summary);
  if (auto s = manifest.write(); !s) return s.error();
  // Each kernel's directory is a complete results dir, reported like a local run.
  if (b.options.on_dir_finished) b.options.on_dir_finished(k.dir);
  return boot->summary;
}

}  // namespace

Result<MatrixSummary> run_testbed(const Spec& spec, const TestbedSpec& tb,
                                  const RunOptions& options) {
  return run_testbed(spec, tb, options, TestbedHostConfig{});
}

namespace {

// Every kernel resolved (and fetched) before any boots, so a bad version fails before hours of
// runs; each gets its results dir, the label made unique.
Result<std::vector<KernelRun>> resolve_kernels(const TestbedSpec& tb, const RunOptions& options,
                                               const TestbedHostConfig& host) {
  KernelFetchOptions fetch = host.fetch;
  fetch.progress = options.progress;
  std::vector<KernelRun> runs;
  std::set<std::string> labels;
  for (const auto& kernel : tb.kernels) {
    auto fetch_start = Clock::now();
    auto files = fetch_kernel(kernel, tb.modules_dir, fetch);
    if (!files) return files.error();
    KernelRun k{*files, ""};
    k.fetch_seconds = std::chrono::duration<double>(Clock::now() - fetch_start).count();
    std::string label = k.files.label;
    for (int n = 2; labels.count(label); ++n) label = k.files.label + "-" + std::to_string(n);
    labels.insert(label);
    k.dir = options.out_dir + "/" + label;
    runs.push_back(std::move(k));
  }
  return runs;
}

// OUT/manifest.json: what `--resume OUT` and a reader of OUT need above the kernels' dirs.
nlohmann::json testbed_run_manifest(const std::vector<KernelRun>& runs, const RunOptions& options) {
  nlohmann::json kernels = nlohmann::json::array();
  for (const auto& k : runs)
    kernels.push_back({{"requested", k.files.origin}, {"label", fs::path(k.dir).filename()}});
  return {{"schema_version", kSchemaVersion},
          {"kind", "testbed-run"},
          {"spec_file", "spec.toml"},
          {"kernels", kernels},
          {"memplace_revision", memplace_revision()},
          {"invocation", options.invocation},
          {"status", "running"}};
}

}  // namespace

Result<MatrixSummary> run_testbed(const Spec& spec, const TestbedSpec& tb,
                                  const RunOptions& options, const TestbedHostConfig& host) {
  if (tb.kernels.empty()) {
    return make_error("testbed: no kernel given (--kernel debian:VERSION, build:NAME or PATH)");
  }
  if (options.out_dir.empty()) return make_error("testbed: no results directory");
  std::vector<Cell> cells = expand(spec);
  std::string accel = detect_accel(tb.accel);
  nlohmann::json topology = testbed_topology_json(tb);
  auto runs = resolve_kernels(tb, options, host);
  if (!runs) return runs.error();

  // The whole run holds OUT; its spec.toml and manifest.json are what `--resume OUT` reads.
  if (auto s = make_dirs(options.out_dir); !s) return s.error();
  auto lock = DirLock::acquire(options.out_dir);
  if (!lock) return lock.error();
  nlohmann::json top = testbed_run_manifest(*runs, options);
  std::string spec_text = spec.source_text.empty() ? render_spec_toml(spec) : spec.source_text;
  if (auto s = write_file_atomic(options.out_dir + "/spec.toml", spec_text); !s) return s.error();
  top["spec_digest"] = spec_digest(spec_text);
  if (auto s = write_json_atomic(options.out_dir + "/manifest.json", top); !s) return s.error();

  MatrixSummary total;
  StopSignalGuard stop;
  std::vector<std::string> done_labels;
  for (size_t i = 0; i < runs->size(); ++i) {
    const KernelRun& k = (*runs)[i];
    std::vector<Cell> mine =
        spec.shard ? shard_cells_for_kernel(cells, tb.kernels, i, *spec.shard) : cells;
    if (mine.empty() && spec.shard) {
      if (options.progress)
        std::fprintf(stderr, "[testbed %s] no runs in shard %s\n", k.files.label.c_str(),
                     shard_text(*spec.shard).c_str());
      continue;
    }
    const std::string tag =
        "[testbed " + (k.files.release.empty() ? k.files.label : k.files.release) + "]";
    auto say = [&](const std::string& line) {
      if (options.progress) std::fprintf(stderr, "%s %s\n", tag.c_str(), line.c_str());
    };
    auto s = run_one_kernel({spec, tb, options, host, k, mine, accel, topology, say});
    if (!s) return s.error().prefixed(k.files.label + ": ");
    total.add(*s);
    done_labels.push_back(fs::path(k.dir).filename().string());
    if (s->interrupted_by) {
      total.interrupted_by = s->interrupted_by;
      break;  // the kernels not started yet have no results dir; --resume runs them
    }
  }
  top["status"] = total.interrupted_by ? "interrupted" : "complete";
  if (auto s = write_json_atomic(options.out_dir + "/manifest.json", top); !s) return s.error();
  if (host.on_testbed_finished) host.on_testbed_finished(options.out_dir, done_labels);
  return total;
}

}  // namespace memplace
