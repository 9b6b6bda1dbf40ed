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
#include "qemu/guest_session.h"
#include "qemu/initramfs.h"
#include "kernel/kvm_uapi.h"
#include "qemu/qemu_command.h"
#include "experiment/host_identity.h"
#include "experiment/results.h"
#include "experiment/matrix.h"
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
                                bool only_listed_runs) {
  return "/memplace run /spec.toml --out /tmp/out --stream \"$PORT\" --env-kind testbed"
         " --env-accel " +
         shell_quote(accel) + " --env-topology " + shell_quote(topology.dump()) +
         (only_listed_runs ? " --only-runs /runs.txt" : "");
}

GuestLine classify_guest_line(std::string_view line) {
  GuestLine g;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  g.json = nlohmann::json::parse(line, nullptr, false);
  if (g.json.is_discarded() || !g.json.is_object()) {
    g.kind = GuestLine::Kind::kMalformed;
    g.error = g.json.is_discarded() ? "not JSON" : "not a JSON object";
    g.json = nullptr;
    return g;
  }
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
        auto j = nlohmann::json::parse(text, nullptr, false);
        if (auto s = check_benchmark_json(j); !s)
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

// One kernel: boot, stream, account for every cell. Errors here are environment failures
// before the guest ran; everything after boot ends up in records.
Result<MatrixSummary> run_one_kernel(const Spec& spec, const TestbedSpec& tb,
                                     const RunOptions& options, const TestbedHostConfig& host,
                                     const KernelRun& k, const std::vector<Cell>& cells,
                                     const std::string& accel, const nlohmann::json& topology) {
  std::string tag = "[testbed " + (k.files.release.empty() ? k.files.label : k.files.release) + "]";
  auto say = [&](const std::string& s) {
    if (options.progress) std::fprintf(stderr, "%s %s\n", tag.c_str(), s.c_str());
  };
  if (auto s = make_dirs(k.dir); !s) return s.error();
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
  in.run_line = host.guest_run_line.empty()
                    ? guest_memplace_line(accel, topology, spec.shard.has_value())
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
                               {"modules_included", image->modules_loaded}}},
                             {"accel", accel},
                             {"topology", topology},
                             {"qemu_command", argv},
                             {"qemu_command_line", join_command(argv)},
                             {"initramfs_bytes", image->bytes.size()},
                             {"timeout_seconds", tb.timeout_seconds},
                             {"memplace_revision", memplace_revision()},
                             {"invocation", options.invocation},
                             {"cells", cells.size()},
                             {"status", "running"}};
  if (spec.shard) manifest["shard"] = {{"index", spec.shard->index}, {"count", spec.shard->count}};
  if (auto s = write_json_atomic(k.dir + "/manifest.json", manifest); !s) return s.error();

  auto writer = RunsWriter::open(k.dir + "/runs.jsonl");
  if (!writer) return writer.error();

  MatrixSummary summary;
  std::set<std::pair<std::string, int>> received;
  std::vector<std::string> guest_notes;
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
      case GuestLine::Kind::kMalformed: {
        std::string note =
            "malformed line from the guest (" + g.error + "): " + std::string(line.substr(0, 200));
        guest_notes.push_back(note);
        say(note);
        break;
      }
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
        auto stored = store_guest_samples(k.dir, g.json);
        if (stored) {
          samples_stored.insert(*stored);
        } else {
          std::string note = "samples from the guest skipped: " + stored.error().describe();
          guest_notes.push_back(note);
          say(note);
        }
        break;
      }
      case GuestLine::Kind::kWorkload: {
        auto stored = store_guest_workload(k.dir, g.json);
        if (stored) {
          workloads_stored.insert(*stored);
        } else {
          std::string note = "workload JSON from the guest skipped: " + stored.error().describe();
          guest_notes.push_back(note);
          say(note);
        }
        break;
      }
      case GuestLine::Kind::kLog:
      case GuestLine::Kind::kOther:
        guest_notes.push_back(g.json.dump());
        say("guest: " + g.json.value("message", g.json.dump()));
        break;
      case GuestLine::Kind::kRecord: {
        auto rec = record_from_json(g.json);
        if (!rec) {
          std::string note = "record from the guest skipped: " + rec.error().describe();
          guest_notes.push_back(note);
          say(note);
          break;
        }
        // A record never names a samples file the host does not hold.
        if (!rec->samples_file.empty() && !samples_stored.count(rec->samples_file))
          g.json["samples_file"] = "";
        unlink_missing_workload(g.json, workloads_stored);
        if (auto s = writer->append_json(g.json); !s) {
          say("writing runs.jsonl: " + s.error().describe());
        }
        received.insert({rec->cell_key, rec->repeat});
        ++records;
        summary.count(*rec);
        say(std::to_string(records) + "/" + std::to_string(cells.size()) + " runs");
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
  auto missing = cells_without_records(cells, received);
  summary.interrupted_by = session->interrupted_by;
  std::string outcome =
      session->interrupted_by ? "interrupted"
      : saw_end               ? "complete"
                : guest_failure_reason(console, session->timed_out, session->exit_status);
  if (!missing.empty()) {
    std::string why;
    if (outcome == "interrupted") {
      why = "interrupted by signal " + std::to_string(session->interrupted_by) +
            " before the guest reported this run";
    } else if (outcome == "timeout") {
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
    env.accel = accel;
    env.topology = topology;
    env.topology_digest = topology_digest(topology);
    for (size_t i : missing) {
      char id[16];
      std::snprintf(id, sizeof id, "f%04zu", i + 1);
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
  manifest["runs_failed_without_record"] = missing.size();
  manifest["guest_notes"] = guest_notes;
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

Result<MatrixSummary> run_testbed(const Spec& spec, const TestbedSpec& tb,
                                  const RunOptions& options, const TestbedHostConfig& host) {
  if (tb.kernels.empty()) {
    return make_error("testbed: no kernel given (--kernel debian:VERSION or --kernel PATH)");
  }
  if (options.out_dir.empty()) return make_error("testbed: no results directory");
  std::vector<Cell> cells = expand(spec);
  std::string accel = detect_accel(tb.accel);
  nlohmann::json topology = testbed_topology_json(tb);

  // Resolve every kernel before booting any, so a bad version fails before hours of runs.
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

  MatrixSummary total;
  StopSignalGuard stop;
  std::vector<std::string> done_labels;
  for (size_t i = 0; i < runs.size(); ++i) {
    const KernelRun& k = runs[i];
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
