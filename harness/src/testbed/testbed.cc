#include "testbed/testbed.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "base/files.h"
#include "base/stop_signals.h"
#include "base/subprocess.h"
#include "experiment/record_builder.h"
#include "experiment/results.h"
#include "qemu/initramfs.h"
#include "qemu/qemu_command.h"
#include "qemu/qemu_process.h"
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
  return qc;
}

std::string guest_memplace_line(const std::string& accel, const nlohmann::json& topology) {
  return "/memplace run /spec.toml --out /tmp/out --stream \"$PORT\" --env-kind testbed"
         " --env-accel " +
         shell_quote(accel) + " --env-topology " + shell_quote(topology.dump());
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

// What one kernel's boot needs from the host, and reports back to it.
struct KernelBoot {
  const Spec& spec;
  const TestbedSpec& tb;
  const RunOptions& options;
  const TestbedHostConfig& host;
  const KernelRun& k;
  const std::vector<Cell>& cells;
  std::string accel;
  nlohmann::json topology;
  std::function<void(const std::string&)> say;
};

std::string self_exe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "" : p.string();
}

std::string read_or_empty(const std::string& path) {
  auto text = read_text_file(path);
  return text ? *text : "";
}

// The guest's initramfs: memplace itself, the spec without its [testbed] table, the kernel's
// modules and an init that runs the matrix.
Result<Initramfs> build_guest_image(const KernelBoot& b) {
  InitramfsInputs in;
  in.busybox = b.host.busybox;
  in.modules_dir = b.k.files.modules_dir;
  in.programs[b.host.memplace_binary.empty() ? self_exe() : b.host.memplace_binary] = "memplace";
  in.extra_files.push_back(cpio_file("spec.toml", render_spec_toml(b.spec, false)));
  in.run_line = b.host.guest_run_line.empty() ? guest_memplace_line(b.accel, b.topology)
                                              : b.host.guest_run_line;
  return build_initramfs(in);
}

Manifest testbed_manifest(const KernelBoot& b, const Initramfs& image,
                          const std::vector<std::string>& argv) {
  Manifest m(b.k.dir, b.options.invocation, b.cells.size());
  auto& f = m.fields();
  f["kind"] = "testbed";
  f["kernel"] = {{"requested", b.k.files.origin},
                 {"release", b.k.files.release},
                 {"vmlinuz", b.k.files.vmlinuz},
                 {"modules_dir", b.k.files.modules_dir},
                 {"modules_included", image.modules_loaded}};
  f["accel"] = b.accel;
  f["topology"] = b.topology;
  f["qemu_command"] = argv;
  f["qemu_command_line"] = join_command(argv);
  f["initramfs_bytes"] = image.bytes.size();
  f["timeout_seconds"] = b.tb.timeout_seconds;
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
  if (outcome == "interrupted") {
    why = "interrupted by signal " + std::to_string(session.interrupted_by) +
          " before the guest reported this run";
  } else if (outcome == "timeout") {
    why = "testbed guest timed out after " + std::to_string(b.tb.timeout_seconds) + " s";
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

// A failed record for each cell the guest did not report.
Result<size_t> record_missing_runs(const KernelBoot& b,
                                   const std::set<std::pair<std::string, int>>& received,
                                   const std::string& why, RunsWriter& writer,
                                   MatrixSummary& summary) {
  Environment env = b.options.environment;
  env.kind = "testbed";
  env.kernel = b.k.files.release;
  env.accel = b.accel;
  env.topology = b.topology;
  auto missing = cells_without_records(b.cells, received);
  for (size_t i : missing) {
    char id[16];
    std::snprintf(id, sizeof id, "f%04zu", i + 1);
    RunRecord failed = testbed_failed_record(b.cells[i], id, why, env);
    if (auto s = writer.append(failed); !s) return s.error();
    summary.count(failed);
  }
  return missing.size();
}

// One kernel: boot, stream, account for every cell. Errors here are environment failures
// before the guest ran; everything after boot ends up in records.
Result<MatrixSummary> run_one_kernel(const KernelBoot& b) {
  const KernelRun& k = b.k;
  if (auto s = make_dirs(k.dir); !s) return s.error();
  std::string spec_text =
      b.spec.source_text.empty() ? render_spec_toml(b.spec) : b.spec.source_text;
  if (auto s = write_file_atomic(k.dir + "/spec.toml", spec_text); !s) return s.error();
  auto tmp = TempDir::create((fs::temp_directory_path() / "memplace-testbed-").string());
  if (!tmp) return tmp.error();
  auto image = build_guest_image(b);
  if (!image) return image.error();
  std::string initrd = tmp->path() + "/initrd.cpio";
  if (auto s = write_file_atomic(initrd, image->bytes); !s) return s.error();

  QemuTestbedConfig qc = testbed_qemu_config(b.tb, b.accel, b.host);
  qc.kernel = k.files.vmlinuz;
  qc.initrd = initrd;
  qc.console_log = k.dir + "/console.log";
  qc.socket_path = tmp->path() + "/records.sock";
  auto argv = qemu_testbed_command(qc);
  Manifest manifest = testbed_manifest(b, *image, argv);
  if (auto s = manifest.write(); !s) return s.error();
  auto writer = RunsWriter::open(k.dir + "/runs.jsonl");
  if (!writer) return writer.error();

  b.say("booting " + k.files.origin + " (" + b.accel + ", " + std::to_string(b.tb.nodes) +
        " nodes, " + std::to_string(b.cells.size()) + " runs)");
  RecordStreamReader stream(k.dir, *writer, b.cells.size(), Clock::now(), b.say);
  GuestSessionConfig sc{argv, qc.socket_path, k.dir + "/qemu.log", b.tb.timeout_seconds};
  auto session = run_guest_session(sc, [&](std::string_view line) { stream.on_line(line); });
  if (!session) return session.error();

  const std::string console = read_or_empty(qc.console_log);
  MatrixSummary summary = stream.summary();
  summary.interrupted_by = session->interrupted_by;
  const std::string outcome = session_outcome(*session, stream.saw_end(), console);
  std::string why = missing_reason(b, outcome, *session, stream.guest_exit_code(), console,
                                   read_or_empty(sc.qemu_log));
  auto missing = record_missing_runs(b, stream.received(), why, *writer, summary);
  if (!missing) return missing.error();
  if (*missing) b.say(std::to_string(*missing) + " runs failed: " + outcome);
  char wall[64];
  std::snprintf(wall, sizeof wall, "done in %.1f s", session->wall_seconds);
  b.say(wall);

  auto& f = manifest.fields();
  f["fetch_seconds"] = k.fetch_seconds;
  f["boot_seconds"] = stream.boot_seconds();
  f["wall_seconds"] = session->wall_seconds;
  f["qemu_exit_status"] = session->exit_status;
  f["guest_exit_code"] = stream.guest_exit_code();
  f["records_received"] = stream.records();
  f["runs_failed_without_record"] = *missing;
  f["guest_notes"] = stream.notes();
  manifest.finish(outcome, summary);
  if (auto s = manifest.write(); !s) return s.error();
  // Each kernel's directory is a complete results dir, reported like a local run.
  if (b.options.on_dir_finished) b.options.on_dir_finished(k.dir);
  return summary;
}

}  // namespace

Result<MatrixSummary> run_testbed(const Spec& spec, const TestbedSpec& tb,
                                  const RunOptions& options) {
  return run_testbed(spec, tb, options, TestbedHostConfig{});
}

namespace {

// Every kernel resolved (fetched if need be) before any boots, so a bad version fails before
// hours of runs; each gets its own results dir, named by its label.
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

}  // namespace

Result<MatrixSummary> run_testbed(const Spec& spec, const TestbedSpec& tb,
                                  const RunOptions& options, const TestbedHostConfig& host) {
  if (tb.kernels.empty()) {
    return make_error("testbed: no kernel given (--kernel debian:VERSION or --kernel PATH)");
  }
  if (options.out_dir.empty()) return make_error("testbed: no results directory");
  const std::vector<Cell> cells = expand(spec);
  auto runs = resolve_kernels(tb, options, host);
  if (!runs) return runs.error();

  const std::string accel = detect_accel(tb.accel);
  const nlohmann::json topology = testbed_topology_json(tb);
  MatrixSummary total;
  StopSignalGuard stop;
  std::vector<std::string> done_labels;
  for (const auto& k : *runs) {
    const std::string tag =
        "[testbed " + (k.files.release.empty() ? k.files.label : k.files.release) + "]";
    auto say = [&](const std::string& line) {
      if (options.progress) std::fprintf(stderr, "%s %s\n", tag.c_str(), line.c_str());
    };
    KernelBoot boot{spec, tb, options, host, k, cells, accel, topology, say};
    auto s = run_one_kernel(boot);
    if (!s) return make_error(k.files.label + ": " + s.error().describe());
    total.add(*s);
    done_labels.push_back(fs::path(k.dir).filename().string());
    if (s->interrupted_by) {
      total.interrupted_by = s->interrupted_by;
      break;  // the kernels not started yet have no results dir at all
    }
  }
  if (host.on_testbed_finished) host.on_testbed_finished(options.out_dir, done_labels);
  return total;
}

}  // namespace memplace
