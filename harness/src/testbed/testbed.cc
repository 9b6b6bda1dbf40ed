#include "testbed/testbed.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/agent_protocol.h"
#include "base/dir_lock.h"
#include "base/json_bounded.h"
#include "testbed/guest_records.h"
#include "qemu/guest_session.h"
#include "qemu/initramfs.h"
#include "kernel/kvm_uapi.h"
#include "qemu/qemu_command.h"
#include "experiment/host_identity.h"
#include "experiment/results.h"
#include "experiment/matrix.h"
#include "experiment/placement_choice.h"
#include "experiment/record_builder.h"
#include "base/subprocess.h"
#include "kernel/sysfs.h"

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

std::string guest_memplace_line(const std::string& accel, const nlohmann::json& topology,
                                bool only_listed_runs, const std::string& resume_dir) {
  std::string matrix =
      resume_dir.empty() ? "/spec.toml --out /tmp/out" : "--resume " + shell_quote(resume_dir);
  return "/memplace run " + matrix + " --stream \"$PORT\" --env-kind testbed --env-accel " +
         shell_quote(accel) + " --env-topology " + shell_quote(topology.dump()) +
         (only_listed_runs ? " --only-runs /runs.txt" : "");
}

GuestLine classify_guest_line(std::string_view line) {
  GuestLine g;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  auto parsed = parse_json_bounded(line);
  if (!parsed || !parsed->is_object()) {
    g.kind = GuestLine::Kind::kMalformed;
    g.error = parsed ? "not a JSON object" : parsed.error().message;
    return g;
  }
  g.json = std::move(*parsed);
  if (!g.json.contains("type")) {
    g.kind = GuestLine::Kind::kRecord;
    return g;
  }
  const auto& t = g.json["type"];
  std::string type = t.is_string() ? t.get<std::string>() : "";
  if (type == "hello")
    g.kind = GuestLine::Kind::kHello;
  else if (type == "end")
    g.kind = GuestLine::Kind::kEnd;
  else if (type == "log")
    g.kind = GuestLine::Kind::kLog;
  else if (type == "samples")
    g.kind = GuestLine::Kind::kSamples;
  else if (type == "workload")
    g.kind = GuestLine::Kind::kWorkload;
  else
    g.kind = GuestLine::Kind::kOther;
  return g;
}

namespace {

// A file the guest sent as one JSON line ({"file": ..., <text_key>: ...}): a name under `subdir`
// that safe_result_file accepted, at most `max_bytes`, `check` passed; written atomically.
template <class Check>
Result<std::string> store_guest_file(const std::string& kernel_dir, const nlohmann::json& line,
                                     const char* kind, const char* text_key, const char* subdir,
                                     bool (*safe)(std::string_view), size_t max_bytes,
                                     Check check) {
  if (!line.contains("file") || !line["file"].is_string())
    return make_error(std::string(kind) + " line without a file name");
  if (!line.contains(text_key) || !line[text_key].is_string())
    return make_error(std::string(kind) + " line without its " + text_key + " text");
  std::string file = line["file"].get<std::string>();
  if (!safe(file))
    return make_error(std::string(kind) + " file name refused: " + file.substr(0, 200));
  const auto& text = line[text_key].get_ref<const std::string&>();
  if (text.size() > max_bytes)
    return make_error(file + ": " + std::to_string(text.size()) + " bytes of " + kind +
                      ", more than " + std::to_string(max_bytes));
  if (auto s = check(file, text); !s) return s.error();
  if (auto s = make_dirs(kernel_dir + "/" + subdir); !s) return s.error();
  if (auto s = write_file_atomic(kernel_dir + "/" + file, text); !s) return s.error();
  return file;
}

}  // namespace

Result<std::string> store_guest_samples(const std::string& kernel_dir, const nlohmann::json& line) {
  return store_guest_file(kernel_dir, line, "samples", "csv", "samples", &safe_samples_path,
                          kMaxGuestSamplesBytes,
                          [](const std::string&, const std::string&) { return Status{}; });
}

Result<std::string> store_guest_workload(const std::string& kernel_dir,
                                         const nlohmann::json& line) {
  return store_guest_file(
      kernel_dir, line, "workload", "text", "workloads", &safe_workload_path,
      kMaxGuestWorkloadBytes, [](const std::string& file, const std::string& text) -> Status {
        auto j = parse_json_bounded(text);
        if (!j) return make_error(file + ": " + j.error().message);
        if (auto s = check_benchmark_json(*j); !s)
          return make_error(file + " is not Google Benchmark JSON: " + s.error().message);
        return {};
      });
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

std::string run_keys_text(const std::vector<Cell>& cells) {
  std::string out;
  for (const auto& c : cells) out += run_key(c) + "\n";
  return out;
}

Result<std::string> make_temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "memplace-testbed-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return errno_error("mkdtemp " + tmpl);
  return tmpl;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Nor a workload file: without it the record keeps the benchmarks it carries and says why.
void unlink_missing_workload(nlohmann::json& record, const std::set<std::string>& stored) {
  auto extra = record.find("extra");
  if (extra == record.end() || !extra->is_object()) return;
  auto w = extra->find("workload");
  if (w == extra->end() || !w->is_object()) return;
  auto file = w->find("file");
  if (file == w->end()) return;
  if (file->is_string() && stored.count(file->get<std::string>())) return;
  (*w)["file_error"] = "the guest's workload JSON did not reach the host";
  w->erase("file");
}

// What a record says about its kernel's build is the host's to say: the guest cannot know it,
// and must not be able to claim one.
void stamp_kernel_build(nlohmann::json& record, const nlohmann::json& build_info) {
  auto env = record.find("environment");
  if (env == record.end() || !env->is_object()) return;
  if (build_info.is_null()) {
    env->erase("kernel_build");
  } else {
    (*env)["kernel_build"] = build_info;
  }
}

// Whether a guest line names a file an earlier session left (`earlier`, "samples/r0001.csv"):
// those belong to runs already recorded, and no guest may replace them.
bool earlier_file(const std::set<std::string>& earlier, const nlohmann::json& line) {
  auto f = line.find("file");
  return f != line.end() && f->is_string() && earlier.count(f->get<std::string>());
}

// What a kernel's dir already holds when a testbed run is resumed.
struct KernelProgress {
  std::set<std::pair<std::string, int>> done;  // (cell_key, repeat) with a record
  int last_id = 0;                             // highest run id number in use
  std::string runs_text;                       // runs.jsonl, for the guest's own --resume
  std::set<std::string> files;                 // "samples/r0001.csv", "workloads/..." on disk
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
  for (const char* sub : {"samples", "workloads"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir + "/" + sub, ec))
      p.files.insert(std::string(sub) + "/" + e.path().filename().string());
  }
  auto text = read_text_file(runs);
  if (!text) return text.error();
  p.runs_text = std::move(*text);
  return p;
}

// One kernel: boot, stream, account for every cell. Errors here are environment failures
// before the guest ran; everything after boot ends up in records.
Result<MatrixSummary> run_one_kernel(const Spec& spec, const TestbedSpec& tb,
                                     const RunOptions& options, const TestbedHostConfig& host,
                                     const KernelRun& k, const std::vector<Cell>& all_cells,
                                     const std::string& accel, const nlohmann::json& topology) {
  std::string tag = "[testbed " + (k.files.release.empty() ? k.files.label : k.files.release) + "]";
  auto say = [&](const std::string& s) {
    if (options.progress) std::fprintf(stderr, "%s %s\n", tag.c_str(), s.c_str());
  };
  if (auto s = make_dirs(k.dir); !s) return s.error();
  auto progress = kernel_progress(k.dir, options.resume, say);
  if (!progress) return progress.error();
  std::vector<Cell> cells;  // the runs this boot is for
  for (const Cell& c : all_cells)
    if (!progress->done.count({cell_key(c), c.repeat})) cells.push_back(c);
  if (cells.empty()) {
    say("all " + std::to_string(all_cells.size()) + " runs already done");
    MatrixSummary done;
    done.skipped = static_cast<int>(all_cells.size());
    return done;
  }
  std::string spec_text = spec.source_text.empty() ? render_spec_toml(spec) : spec.source_text;
  if (auto s = write_file_atomic(k.dir + "/spec.toml", spec_text); !s) return s.error();

  auto tmp = make_temp_dir();
  if (!tmp) return tmp.error();
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{*tmp};

  std::string memplace_bin = host.memplace_binary.empty() ? self_executable() : host.memplace_binary;
  InitramfsInputs in;
  in.busybox = host.busybox;
  in.modules_dir = k.files.modules_dir;
  in.programs[memplace_bin] = "memplace";
  in.extra_files.push_back(cpio_file("spec.toml", render_spec_toml(spec, false)));
  // A shard's slice of this kernel's runs is listed for the guest, which has no other kernels
  // to rank them against (shard.h).
  if (spec.shard) in.extra_files.push_back(cpio_file("runs.txt", run_keys_text(cells)));
  std::string resume_dir;
  if (!progress->done.empty()) {
    // The guest resumes a copy of this dir: it skips what is done and numbers new runs after
    // the highest id in use, so its samples never overwrite the earlier ones.
    resume_dir = "/resume";
    in.extra_files.push_back(cpio_dir("resume"));
    in.extra_files.push_back(cpio_file("resume/spec.toml", render_spec_toml(spec, false)));
    in.extra_files.push_back(cpio_file("resume/runs.jsonl", progress->runs_text));
  }
  in.run_line = host.guest_run_line.empty() ? guest_memplace_line(accel, topology, spec.shard.has_value(), resume_dir)
                                            : host.guest_run_line;
  auto image = build_initramfs(in);
  if (!image) return image.error();
  std::string initrd = *tmp + "/initrd.cpio";
  if (auto s = write_file_atomic(initrd, image->bytes); !s) return s.error();

  QemuTestbedConfig qc = testbed_qemu_config(tb, accel, host);
  qc.kernel = k.files.vmlinuz;
  qc.initrd = initrd;
  qc.console_log = k.dir + "/console.log";
  qc.socket_path = *tmp + "/records.sock";
  auto argv = qemu_testbed_command(qc);

  nlohmann::json manifest = {{"schema_version", kSchemaVersion},
                             {"kind", "testbed"},
                             {"kernel",
                              {{"requested", k.files.origin},
                               {"release", k.files.release},
                               {"vmlinuz", k.files.vmlinuz},
                               {"modules_dir", k.files.modules_dir},
                               {"modules_included", image->modules_loaded},
                               {"build", k.files.build_info}}},
                             {"accel", accel},
                             {"topology", topology},
                             {"qemu_command", argv},
                             {"qemu_command_line", join_command(argv)},
                             {"initramfs_bytes", image->bytes.size()},
                             {"timeout_seconds", tb.timeout_seconds},
                             {"memplace_revision", memplace_revision()},
                             {"invocation", options.invocation},
                             {"cells", all_cells.size()},
                             {"runs_done_before", progress->done.size()},
                             {"status", "running"}};
  if (spec.shard) manifest["shard"] = {{"index", spec.shard->index}, {"count", spec.shard->count}};
  if (auto s = write_json_atomic(k.dir + "/manifest.json", manifest); !s) return s.error();

  auto writer = RunsWriter::open(k.dir + "/runs.jsonl");
  if (!writer) return writer.error();

  MatrixSummary summary;
  summary.skipped = static_cast<int>(progress->done.size());
  std::vector<Cell> admitted = cells;
  admitted.insert(admitted.end(), host.guest_extra_runs.begin(), host.guest_extra_runs.end());
  GuestRecordGate gate(admitted);
  GuestNotes notes;
  auto note = [&](const std::string& text) {
    std::string kept = notes.add(text);
    if (!kept.empty()) say(kept);
  };
  std::set<std::string> samples_stored;
  std::set<std::string> workloads_stored;
  bool saw_end = false;
  int guest_exit = -1;
  double boot_seconds = -1;
  int records = 0;
  Clock::time_point t0 = Clock::now();
  say("booting " + k.files.origin + " (" + accel + ", " + std::to_string(tb.nodes) + " nodes, " +
      std::to_string(cells.size()) + " runs)");

  auto on_line = [&](std::string_view line) -> std::string {
    GuestLine g = classify_guest_line(line);
    switch (g.kind) {
      case GuestLine::Kind::kMalformed:
        note("malformed line from the guest (" + g.error + "): " + cut_text(line, 200));
        break;
      case GuestLine::Kind::kHello: {
        boot_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
        char buf[64];
        std::snprintf(buf, sizeof buf, "booted in %.1f s", boot_seconds);
        say(buf);
        break;
      }
      case GuestLine::Kind::kEnd:
        saw_end = true;
        if (g.json.contains("exit_code") && g.json["exit_code"].is_number_integer()) {
          guest_exit = g.json["exit_code"].get<int>();
        }
        break;
      case GuestLine::Kind::kSamples: {
        auto stored = earlier_file(progress->files, g.json)
                          ? Result<std::string>(make_error("it names an earlier run's file"))
                          : store_guest_samples(k.dir, g.json);
        if (stored)
          samples_stored.insert(*stored);
        else
          note("samples from the guest skipped: " + stored.error().describe());
        break;
      }
      case GuestLine::Kind::kWorkload: {
        auto stored = earlier_file(progress->files, g.json)
                          ? Result<std::string>(make_error("it names an earlier run's file"))
                          : store_guest_workload(k.dir, g.json);
        if (stored)
          workloads_stored.insert(*stored);
        else
          note("workload JSON from the guest skipped: " + stored.error().describe());
        break;
      }
      case GuestLine::Kind::kLog:
      case GuestLine::Kind::kOther: {
        auto m = g.json.find("message");
        note("guest: " +
             (m != g.json.end() && m->is_string() ? m->get<std::string>() : cut_text(line, 200)));
        break;
      }
      case GuestLine::Kind::kRecord: {
        if (line.size() > kMaxGuestRecordBytes) {
          gate.drop();
          note("record from the guest dropped: " + std::to_string(line.size()) + " bytes");
          break;
        }
        auto rec = record_from_json(g.json);
        if (!rec) {
          gate.drop();
          note("record from the guest skipped: " + rec.error().describe());
          break;
        }
        if (std::string why = gate.admit(*rec); !why.empty()) {
          note("record from the guest dropped (" + why + "): " + cut_text(rec->cell_key, 200) +
               " #" + std::to_string(rec->repeat));
          break;
        }
        // A record never names a samples file the host does not hold.
        if (!rec->samples_file.empty() && !samples_stored.count(rec->samples_file))
          g.json["samples_file"] = "";
        unlink_missing_workload(g.json, workloads_stored);
        stamp_kernel_build(g.json, k.files.build_info);
        if (auto s = writer->append_json(g.json); !s) {
          say("writing runs.jsonl: " + s.error().describe());
        }
        ++records;
        summary.count(*rec);
        say(std::to_string(records) + "/" + std::to_string(admitted.size()) + " runs");
        if (std::string w = disagreement_warning(*rec); !w.empty()) say("warning: " + w);
        break;
      }
    }
    return "";
  };

  GuestSessionConfig sc;
  sc.argv = argv;
  sc.socket_path = qc.socket_path;
  sc.qemu_log = k.dir + "/qemu.log";
  sc.timeout_seconds = tb.timeout_seconds;
  auto session = run_guest_session(sc, on_line);
  if (!session) return session.error();

  std::string console = read_all(qc.console_log);
  std::string qemu_log = read_all(sc.qemu_log);
  auto missing = cells_without_records(cells, gate.received());
  summary.interrupted_by = session->interrupted_by;
  std::string outcome =
      session->interrupted_by ? "interrupted"
      : saw_end               ? "complete"
                : guest_failure_reason(console, session->timed_out, session->exit_status);
  // An interrupted boot's missing runs stay without a record: --resume runs them.
  if (!missing.empty() && outcome != "interrupted") {
    std::string why;
    if (outcome == "timeout") {
      why = "testbed guest timed out after " + std::to_string(tb.timeout_seconds) + " s";
    } else if (outcome == "panic") {
      why = "testbed guest kernel panicked: " + panic_line(console);
    } else if (outcome == "complete") {
      why = "the guest's matrix ended (exit code " + std::to_string(guest_exit) +
            ") without reporting this run";
    } else {
      why = "QEMU exited (status " + std::to_string(session->exit_status) +
            ") before the guest reported this run";
      if (!session->connected && !qemu_log.empty())
        why += "; QEMU said: " + last_lines(qemu_log, 5);
    }
    why += "; last console lines:\n" + last_lines(console, 15);
    Environment env = options.environment;
    env.kind = "testbed";
    env.kernel = k.files.release;
    env.kernel_build = k.files.build_info;
    env.accel = accel;
    env.topology = topology;
    env.topology_digest = topology_digest(topology);
    // After every id in use, the guest's new ones included.
    auto now = read_runs(k.dir + "/runs.jsonl");
    int next_id = now ? next_run_number(*now, k.dir) - 1 : progress->last_id;
    for (size_t i : missing) {
      char id[16];
      std::snprintf(id, sizeof id, "f%04d", ++next_id);
      RunRecord failed = testbed_failed_record(cells[i], id, why, env);
      if (auto s = writer->append(failed); !s) return s.error();
      summary.count(failed);
    }
    say(std::to_string(missing.size()) + " runs failed: " + outcome);
  }
  char wall[64];
  std::snprintf(wall, sizeof wall, "done in %.1f s", session->wall_seconds);
  say(wall);

  manifest["status"] = outcome;
  manifest["fetch_seconds"] = k.fetch_seconds;
  manifest["boot_seconds"] = boot_seconds;
  manifest["wall_seconds"] = session->wall_seconds;
  manifest["qemu_exit_status"] = session->exit_status;
  manifest["guest_exit_code"] = guest_exit;
  manifest["records_received"] = records;
  manifest["records_dropped"] = gate.dropped();
  if (outcome == "interrupted")
    manifest["runs_unfinished"] = missing.size();
  else
    manifest["runs_failed_without_record"] = missing.size();
  manifest["guest_notes"] = notes.list();
  manifest["summary"] = {{"ok", summary.ok},
                         {"unsupported", summary.unsupported},
                         {"failed", summary.failed},
                         {"not_honored", summary.not_honored}};
  if (auto s = write_json_atomic(k.dir + "/manifest.json", manifest); !s) return s.error();
  // Each kernel's directory is a complete results dir, reported like a local run.
  if (options.on_dir_finished) options.on_dir_finished(k.dir);
  return summary;
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
nlohmann::json testbed_run_manifest(const std::vector<KernelRun>& runs,
                                    const RunOptions& options) {
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
    auto s = run_one_kernel(spec, tb, options, host, k, mine, accel, topology);
    if (!s) return make_error(k.files.label + ": " + s.error().describe());
    total.ok += s->ok;
    total.unsupported += s->unsupported;
    total.failed += s->failed;
    total.not_honored += s->not_honored;
    total.skipped += s->skipped;
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
