// SPDX-License-Identifier: GPL-2.0-only
// Subcommands. Input problems are found here, before anything is allocated or written, and end
// in exit status 2 with a message naming the field.
#include "memplace/commands.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <sstream>

#include "base/bounded_read.h"
#include "base/dir_lock.h"
#include "base/json_bounded.h"
#include "base/nodelist.h"
#include "base/text.h"
#include "cli/cell_runners.h"
#include "cli/commands_internal.h"
#include "experiment/locality_run.h"
#include "experiment/matrix.h"
#include "host/populate.h"
#include "host/preflight.h"
#include "host/sysfs.h"
#include "kernels/kernel_fetch.h"
#include "kernels/kernel_ref.h"
#include "probe/host_features.h"
#include "probe/probe.h"
#include "qemu/qemu_cell_runner.h"
#include "qemu/qemu_guest.h"
#include "qemu/qemu_policy_reach.h"
#include "report/report.h"
#include "report/report_hooks.h"
#include "results/manifest.h"
#include "results/results.h"
#include "results/results_dir.h"
#include "spec/spec.h"
#include "spec/spec_keys.h"
#include "spec/spec_ranges.h"
#include "testbed/record_stream.h"
#include "touchers/noise_process.h"

namespace memplace {

namespace {

// The cells a run still has to do: all of them, or on --resume those runs.jsonl lacks.
size_t runs_left(const std::vector<Cell>& cells, const std::string& resume_dir) {
  if (resume_dir.empty()) return cells.size();
  auto runs = read_runs(resume_dir + "/runs.jsonl");
  if (!runs) return cells.size();
  std::set<std::pair<std::string, int>> done;
  for (const RunRecord& r : runs->records) done.insert({r.cell_key, r.repeat});
  size_t left = 0;
  for (const Cell& c : cells) left += !done.count({cell_key(c), c.repeat});
  return left;
}

}  // namespace

std::string build_revision() {
  return memplace_revision();
}

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "memplace: error: %s\n", terminal_safe(message).c_str());
  return code;
}

int finish_matrix(const char* what, const MatrixSummary& summary, const std::string& where,
                  bool check, bool allow_unsupported) {
  std::fprintf(stderr,
               "memplace: %s%d ok (%d not honored), %d unsupported, %d failed, %d already done; "
               "results in %s\n",
               what, summary.ok, summary.not_honored, summary.unsupported, summary.failed,
               summary.skipped, where.c_str());
  if (summary.interrupted_by) return 128 + summary.interrupted_by;
  if (!check) return kExitOk;
  // The gate fails closed: nothing measured, or a cell the kernel could not run, is no pass.
  std::string why;
  if (summary.not_honored > 0 || summary.failed > 0)
    why = "not honored or failed cells";
  else if (summary.ok == 0 && summary.unsupported == 0 && summary.skipped == 0)
    why = "no cell ran";
  else if (summary.unsupported > 0 && !allow_unsupported)
    why = "unsupported cells (--allow-unsupported accepts them)";
  if (why.empty()) return kExitOk;
  std::fprintf(stderr, "memplace: --check: %s\n", why.c_str());
  return kExitCheckFailed;
}

Result<HostFacts> host_facts(const std::string& root) {
  HostFacts facts;
  auto nodes = list_nodes(root);
  if (!nodes) return nodes.error();
  facts.nodes = *nodes;
  auto snap = read_meminfo_snapshot(root);
  if (!snap) return snap.error();
  for (const auto& [node, fields] : *snap) {
    auto it = fields.find("MemFree");
    if (it != fields.end()) facts.free_bytes[node] = it->second * 1024;
  }
  return facts;
}

// Every kernel the run names, before anything runs: a typo or a build that was never made is
// bad input (exit 2), not a failure an hour into the matrix.
Status check_kernel_refs(const Spec& spec) {
  auto cache_dir = memplace_cache_dir();
  std::string cache = cache_dir ? *cache_dir : "";
  if (spec.testbed) {
    for (const auto& k : spec.testbed->kernels) {
      if (auto s = check_kernel_ref(k, spec.testbed->modules_dir, cache); !s)
        return s.error().prefixed("testbed.kernels: ");
    }
  }
  bool qemu = std::find(spec.touchers.begin(), spec.touchers.end(), ToucherKind::kQemu) !=
              spec.touchers.end();
  if (qemu && spec.qemu.kernel) {
    if (auto s = check_kernel_ref(*spec.qemu.kernel, "", cache); !s)
      return s.error().prefixed("qemu.kernel: ");
  }
  return {};
}

void print_memory_figures(const std::string& root, bool quiet) {
  auto m = read_memory_figures(root);
  if (!m) return;
  if (!quiet) std::fprintf(stderr, "memplace: memory: %s\n", memory_figures_text(*m).c_str());
  if (auto w = memory_figures_warning(*m); !w.empty())
    std::fprintf(stderr, "memplace: warning: %s\n", terminal_safe(w).c_str());
}

Result<uint64_t> margin_bytes(const RunArgs& a) {
  if (a.margin.empty()) return HostFacts{}.margin_bytes;
  auto margin = parse_size(a.margin);
  if (!margin) return margin.error().prefixed("--margin: ");
  return margin;
}

namespace {

// Flags that define the matrix or where it runs. Next to --resume they would be ignored, since
// the results dir's spec.toml is the matrix, so they are refused by name instead.
std::vector<std::string> matrix_flags(const RunArgs& a) {
  std::vector<std::string> given;
  auto add = [&](bool set, const char* flag) {
    if (set) given.push_back(flag);
  };
  add(!a.spec_path.empty(), "SPEC");
  add(!a.out_dir.empty(), "--out");
  add(a.thp, "--thp");
  add(a.no_thp, "--no-thp");
  add(a.testbed, "--testbed");
  for (const auto& [flag, values] : a.key_flags) add(!values.empty(), flag.c_str());
  return given;
}

Result<Spec> load_resume_spec(const RunArgs& a) {
  if (auto given = matrix_flags(a); !given.empty()) {
    std::string list;
    for (const auto& f : given) list += (list.empty() ? "" : ", ") + f;
    return make_error("--resume takes the matrix from " + a.resume_dir + "/spec.toml; drop " +
                      list + " (or start a new --out)");
  }
  // One kernel's dir of a testbed run: its parent holds the run's spec and the other kernels.
  auto manifest = read_json_file(a.resume_dir + "/manifest.json");
  if (manifest && manifest->is_object() && manifest->contains("kind") &&
      (*manifest)["kind"] == "testbed")
    return make_error("--resume " + a.resume_dir +
                      ": this is one kernel of a testbed run; resume the directory above it");
  auto text = read_file_bounded(a.resume_dir + "/spec.toml", kMaxSpecBytes);
  if (!text) return text.error().prefixed("--resume: cannot read spec: ");
  if (auto s = check_resumable(a.resume_dir, *text); !s) return s.error();
  auto s = parse_spec(*text, a.resume_dir + "/spec.toml");
  if (!s) return s.error().prefixed("--resume: ");
  return s;
}

// What reading a spec found worth saying (an old key name), on stderr.
void print_spec_warnings(const Spec& spec) {
  for (const std::string& w : spec.warnings)
    std::fprintf(stderr, "memplace: warning: %s\n", terminal_safe(w).c_str());
}

Result<Spec> load_run_spec(const RunArgs& a) {
  Spec spec = default_spec();
  if (!a.resume_dir.empty()) {
    auto s = load_resume_spec(a);
    if (s) print_spec_warnings(*s);
    return s;
  }
  if (!a.spec_path.empty()) {
    auto s = load_spec(a.spec_path);
    if (!s) return s.error();
    spec = *s;
    print_spec_warnings(spec);
  }
  if (auto s = apply_key_flags(a, spec); !s) return s.error();
  if (a.testbed && !spec.testbed) spec.testbed = TestbedSpec{};
  if (auto s = apply_qemu_env_fallbacks(spec); !s) return s.error();
  if (auto s = check_kernel_refs(spec); !s) return s.error();
  return spec;
}

void print_cells(const Spec& spec, const std::vector<Cell>& cells, const std::string& sysfs_root) {
  QemuToucherOptions qemu = qemu_toucher_options(spec.qemu);
  for (const auto& c : cells) {
    std::printf("%s #%d\n", cell_key(c).c_str(), c.repeat);
    if (c.toucher == ToucherKind::kQemu)
      std::fputs(qemu_dry_run(c, qemu, sysfs_root).c_str(), stdout);
  }
}

// Inside a testbed guest: every record also goes down the stream to the host. A write that
// fails is said and the matrix goes on; the host accounts for runs it never received.
void attach_record_stream(RunOptions& options, RecordStreamWriter stream) {
  auto writer = std::make_shared<RecordStreamWriter>(std::move(stream));
  options.on_record = [writer](const RunRecord& r, const std::string& dir) {
    if (auto s = writer->write(r, dir); !s)
      std::fprintf(stderr, "memplace: %s\n", s.error().describe().c_str());
  };
}

Environment environment_from(const RunArgs& a) {
  Environment env;
  if (!a.env_kind.empty()) env.kind = a.env_kind;
  env.accel = a.env_accel;
  if (!a.env_topology_json.empty()) {
    auto topology = parse_json_bounded(a.env_topology_json);
    if (topology) env.topology = std::move(*topology);
  }
  return env;
}

// This invocation's slice of the matrix: its shard, or the runs a testbed host listed. An empty
// shard is not an error: its results dir says so, and `merge` finds nothing missing from it.
constexpr size_t kMaxOnlyRunsBytes = 16u << 20;
Result<std::vector<Cell>> select_local_runs(const Spec& spec, std::vector<Cell> cells,
                                            const RunArgs& args) {
  if (spec.shard) {
    size_t all = cells.size();
    cells = shard_cells(cells, *spec.shard);
    if (!args.quiet)
      std::fprintf(stderr, "memplace: shard %s: %zu of the matrix's %zu runs\n",
                   shard_text(*spec.shard).c_str(), cells.size(), all);
  }
  if (!args.only_runs_path.empty()) {
    auto text = read_file_bounded(args.only_runs_path, kMaxOnlyRunsBytes);
    if (!text) return text.error().prefixed("--only-runs: ");
    cells = select_runs(cells, split_lines(*text));
  }
  return cells;
}

// Debian kernels live in the user's cache; without XDG_CACHE_HOME or HOME there is no safe place
// for them, and that is the caller's to fix before anything runs.
Status check_kernel_cache(const Spec& spec) {
  bool debian =
      spec.testbed && std::any_of(spec.testbed->kernels.begin(), spec.testbed->kernels.end(),
                                  [](const std::string& k) { return k.rfind("debian:", 0) == 0; });
  bool qemu = std::find(spec.touchers.begin(), spec.touchers.end(), ToucherKind::kQemu) !=
              spec.touchers.end();
  if (qemu) debian |= qemu_toucher_options(spec.qemu).kernel.rfind("debian:", 0) == 0;
  if (!debian) return {};
  auto dir = memplace_cache_dir();
  if (!dir) return dir.error();
  return {};
}

}  // namespace

// Scripts configure qemu cells through MEMPLACE_QEMU_* variables. They fill only what
// [qemu] leaves unset, and land in the results dir's spec copy, so --resume needs none.
Status apply_qemu_env_fallbacks(Spec& spec) {
  if (std::find(spec.touchers.begin(), spec.touchers.end(), ToucherKind::kQemu) ==
      spec.touchers.end())
    return {};
  std::vector<std::string> warnings;
  auto q = qemu_spec_env_fallbacks(
      spec.qemu, [](const char* n) { return std::getenv(n); }, &warnings);
  if (!q) return q.error();
  for (const std::string& w : warnings)
    std::fprintf(stderr, "memplace: warning: %s\n", terminal_safe(w).c_str());
  spec.qemu = *q;
  return {};
}

Status check_out_for(const RunArgs& a) {
  if (a.dry_run || !a.resume_dir.empty()) return {};
  if (a.out_dir.empty()) return make_error("--out DIR is required (where the results go)");
  return check_fresh_out_dir(a.out_dir);
}

int exit_code_for(const Error& e) {
  // A results dir another run holds is the caller's mistake, not the host's.
  return e.kind == ErrorKind::kBadInput ? kExitBadInput : kExitEnvironment;
}

int command_noise_process(const NoiseProcessArgs& args) {
  return noise_process_main(args.spec, args.go_fd, args.done_fd);
}

// `probe --require a,b`: the answers to those features alone, for scripts and tests.
int require_features(const ProbeArgs& args) {
  std::vector<HostFeature> wanted;
  for (const std::string& name : args.require) {
    auto f = parse_host_feature(name);
    if (!f) return fail(kExitBadInput, "--require: " + f.error().describe());
    wanted.push_back(*f);
  }
  nlohmann::json out = nlohmann::json::object();
  bool all = true;
  for (HostFeature f : wanted) {
    FeatureAnswer a = probe_feature(f, args.sysfs_root);
    all = all && a.available;
    out[host_feature_name(f)] = to_json(a);
    if (!args.json)
      std::printf("%s: %s: %s\n", host_feature_name(f).c_str(), a.available ? "yes" : "no",
                  a.reason.c_str());
  }
  if (args.json) std::printf("%s\n", out.dump(2).c_str());
  return all ? kExitOk : kExitCheckFailed;
}

int command_spec_keys() {
  std::printf("%s", spec_keys_markdown().c_str());
  return kExitOk;
}

namespace {

// The QEMUs `memplace probe` describes: those named, else the one a qemu cell would run.
std::vector<std::string> probe_qemu_binaries(const ProbeArgs& args) {
  if (!args.qemu.empty()) return args.qemu;
  for (const char* name : {"MEMPLACE_QEMU_BINARY", "MEMPLACE_QEMU"})  // the new name, the old
    if (const char* configured = std::getenv(name); configured && *configured) return {configured};
  std::string found = find_on_path("qemu-system-x86_64");
  if (found.empty()) return {};
  return {found};
}

}  // namespace

int command_probe(const ProbeArgs& args) {
  if (!args.require.empty()) return require_features(args);
  ProbeReport report = run_probe(args.sysfs_root);
  nlohmann::json qemu = nlohmann::json::array();
  std::string qemu_text;
  for (const std::string& binary : probe_qemu_binaries(args)) {
    auto caps = probe_qemu(binary);
    if (!caps) {
      qemu.push_back({{"binary", binary}, {"error", caps.error().describe()}});
      qemu_text += "QEMU " + binary + "\n  not usable: " + caps.error().describe() + "\n";
      continue;
    }
    qemu.push_back(qemu_capabilities_json(*caps));
    qemu_text += qemu_capabilities_text(*caps);
  }
  if (args.json) {
    nlohmann::json j = to_json(report);
    j["qemu"] = qemu;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s%s", format_probe_text(report).c_str(), qemu_text.c_str());
  }
  return kExitOk;
}

int command_run(const RunArgs& args) {
  auto spec = load_run_spec(args);
  if (!spec) return fail(kExitBadInput, spec.error().describe());
  std::vector<Cell> cells = expand(*spec);
  if (cells.empty()) return fail(kExitBadInput, "the matrix is empty");
  if (auto s = check_kernel_cache(*spec); !s) return fail(kExitBadInput, s.error().describe());

  // The testbed shards over kernels too, so it takes its slices itself.
  if (spec->testbed) return run_testbed_command(*spec, cells, args);
  auto selected = select_local_runs(*spec, std::move(cells), args);
  if (!selected) return fail(kExitBadInput, selected.error().describe());
  cells = std::move(*selected);

  auto facts = host_facts(args.sysfs_root);
  if (!facts) return fail(kExitEnvironment, "reading host NUMA facts: " + facts.error().describe());
  auto margin = margin_bytes(args);
  if (!margin) return fail(kExitBadInput, margin.error().message);
  facts->margin_bytes = *margin;
  print_memory_figures(args.sysfs_root, args.quiet);
  if (auto s = validate_cells(cells, *facts); !s) return fail(kExitBadInput, s.error().message);
  if (auto s = check_free_memory(cells, *facts); !s) {
    if (!args.force)
      return fail(kExitBadInput,
                  s.error().message + " (--margin sets the margin; --force runs anyway)");
    std::fprintf(stderr, "memplace: warning: %s; running anyway (--force)\n",
                 s.error().message.c_str());
  }
  if (args.dry_run) {
    print_cells(*spec, cells, args.sysfs_root);
    return kExitOk;
  }
  if (auto s = check_out_for(args); !s) return fail(kExitBadInput, s.error().describe());
  std::string out = args.resume_dir.empty() ? args.out_dir : args.resume_dir;

  if (auto s = check_results_disk(out, runs_left(cells, args.resume_dir)); !s)
    return fail(kExitEnvironment, s.error().message);
  for (const auto& w : kvm_warnings(cells))
    std::fprintf(stderr, "memplace: warning: %s\n", terminal_safe(w).c_str());

  RunOptions options;
  options.out_dir = out;
  options.sysfs_root = args.sysfs_root;
  options.progress = !args.quiet;
  options.resume = !args.resume_dir.empty();
  options.environment = environment_from(args);
  options.invocation = args.invocation;
  Spec effective = *spec;
  effective.source_text = render_spec_toml(*spec);
  options.runners = all_cell_runners();
  // Inside a testbed guest the records stream to the host, which writes the reports.
  bool guest = !args.stream_path.empty();
  attach_reports(options, ReportSettings{!args.no_plots && !guest, !guest});
  if (guest) {
    auto stream = RecordStreamWriter::open(args.stream_path);
    if (!stream) return fail(kExitEnvironment, stream.error().describe());
    attach_record_stream(options, std::move(*stream));
  }
  auto summary = run_matrix(effective, cells, options);
  if (!summary) return fail(exit_code_for(summary.error()), summary.error().describe());
  if (auto s = print_test_report(args.format, out); !s)
    return fail(exit_code_for(s.error()), s.error().describe());
  return finish_matrix("", *summary, out, args.check, args.allow_unsupported);
}

int command_report(const ReportArgs& args) {
  // A report is written only into a results dir memplace made: a folder that merely holds some
  // (beside a user's own report.md) is not one.
  if (!is_results_dir(args.dir))
    return fail(kExitBadInput, args.dir +
                                   ": is not a memplace results dir: no runs.jsonl here "
                                   "or in its subdirectories that a memplace run wrote; "
                                   "report each results dir, or compare them with "
                                   "memplace compare DIR... --out NEW");
  // The reports are written like a run writes them: not while a run holds the dir.
  auto lock = DirLock::acquire(args.dir);
  if (!lock) return fail(exit_code_for(lock.error()), lock.error().describe());
  auto kernels = find_kernel_dirs(args.dir);
  if (!kernels) return fail(kExitBadInput, kernels.error().describe());
  if (auto s = write_results_report(args.dir, ReportSettings{!args.no_plots, true}, *kernels); !s)
    return fail(s.error().kind == ErrorKind::kBadInput ? kExitBadInput : kExitEnvironment,
                s.error().describe());
  if (args.format != "paths") {
    if (auto s = print_test_report(args.format, args.dir); !s)
      return fail(exit_code_for(s.error()), s.error().describe());
    return kExitOk;
  }
  std::printf("%s/report.md\n%s/report.html\n", args.dir.c_str(), args.dir.c_str());
  return kExitOk;
}

}  // namespace memplace
