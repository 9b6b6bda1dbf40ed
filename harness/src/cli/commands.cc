// Subcommands. Input problems are found here, before anything is allocated or written, and end
// in exit status 2 with a message naming the field.
#include "memplace/commands.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "cli/cell_runners.h"
#include "cli/commands_internal.h"
#include "report/report_hooks.h"
#include "base/nodelist.h"
#include "kernel/populate.h"
#include "kernel/preflight.h"
#include "kernel/probe.h"
#include "qemu/kernel_fetch.h"
#include "qemu/kernel_ref.h"
#include "qemu/qemu_cell_runner.h"
#include "report/report.h"
#include "experiment/matrix.h"
#include "experiment/spec.h"
#include "kernel/sysfs.h"
#include "experiment/locality_run.h"

namespace memplace {
namespace {

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "memplace: error: %s\n", message.c_str());
  return code;
}

std::vector<std::string> split_commas(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::stringstream ss(v);
    std::string item;
    while (std::getline(ss, item, ',')) out.push_back(item);
  }
  return out;
}

// Flags replace whole axes: "--backing guest_memfd" means only guest_memfd.
Status apply_overrides(const RunArgs& a, Spec& spec) {
  if (!a.policies.empty()) {
    spec.policies.clear();
    // Not comma-split: a policy's own node list ("interleave:0,2") contains commas. Repeat the
    // flag.
    for (const auto& p : a.policies) {
      auto e = parse_policy_entry(p, "--policy");
      if (!e) return e.error();
      spec.policies.push_back(*e);
    }
  }
  if (!a.nodes.empty()) {
    spec.node_lists.clear();
    for (const auto& n : a.nodes) {
      auto ids = parse_id_list(n);
      if (!ids) return make_error("--nodes: " + ids.error().message);
      spec.node_lists.push_back(*ids);
    }
  }
  if (!a.backings.empty()) {
    spec.backings.clear();
    for (const auto& b : split_commas(a.backings)) {
      auto k = parse_backing(b, "--backing");
      if (!k) return k.error();
      spec.backings.push_back(*k);
    }
  }
  if (!a.touchers.empty()) {
    spec.touchers.clear();
    for (const auto& t : split_commas(a.touchers)) {
      auto kind = parse_toucher(t);
      if (!kind) return make_error("--toucher: " + kind.error().message);
      spec.touchers.push_back(*kind);
    }
  }
  if (!a.sizes.empty()) {
    spec.sizes.clear();
    for (const auto& s : split_commas(a.sizes)) {
      auto b = parse_size(s);
      if (!b) return make_error("--size: " + b.error().message);
      if (*b == 0) return make_error("--size: size must be positive, got '" + s + "'");
      spec.sizes.push_back(*b);
    }
  }
  if (!a.threads.empty()) {
    for (int t : a.threads)
      if (t < 1 || t > 1024)
        return make_error("--threads: must be 1..1024, got " + std::to_string(t));
    spec.threads = a.threads;
  }
  if (a.cpu_node) {
    if (*a.cpu_node == "any") {
      spec.cpu_nodes = {std::nullopt};
    } else {
      auto ids = parse_id_list(*a.cpu_node);
      if (!ids || ids->size() != 1) return make_error("--cpu-node: expected one node id or 'any'");
      spec.cpu_nodes = {ids->front()};
    }
  }
  if (a.repeats) {
    if (*a.repeats < 1) return make_error("--repeats: must be at least 1");
    spec.repeats = *a.repeats;
  }
  if (a.sample_interval_ms) {
    if (*a.sample_interval_ms < 1) return make_error("--sample-interval-ms: must be at least 1");
    spec.sample_interval_ms = *a.sample_interval_ms;
  }
  if (a.populate) {
    if (*a.populate != "auto") {
      if (auto m = parse_populate_method(*a.populate); !m)
        return make_error("--populate: " + m.error().message);
    }
    spec.populate_method = *a.populate;
  }
  if (a.thp && a.no_thp) return make_error("--thp and --no-thp contradict each other");
  if (a.thp) spec.thp = ThpMode::kOn;
  if (a.no_thp) spec.thp = ThpMode::kOff;
  if (a.workload) {
    if (auto w = parse_workload(*a.workload); !w)
      return make_error("--workload: " + w.error().message);
    spec.workload = *a.workload;
  }
  if (a.toucher_timeout_s) {
    auto t = parse_toucher_timeout(*a.toucher_timeout_s, "--toucher-timeout-s");
    if (!t) return t.error();
    spec.toucher_timeout_s = *t;
  }
  if (a.tolerance) {
    if (!(*a.tolerance > 0 && *a.tolerance < 1))
      return make_error("--tolerance: must be in (0, 1)");
    spec.tolerance = *a.tolerance;
  }
  return check_spec(spec);
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
  std::string cache = memplace_cache_dir();
  if (spec.testbed) {
    for (const auto& k : spec.testbed->kernels) {
      if (auto s = check_kernel_ref(k, spec.testbed->modules_dir, cache); !s)
        return make_error("testbed.kernels: " + s.error().message);
    }
  }
  bool qemu = std::find(spec.touchers.begin(), spec.touchers.end(), ToucherKind::kQemu) !=
              spec.touchers.end();
  if (qemu && spec.qemu.kernel) {
    if (auto s = check_kernel_ref(*spec.qemu.kernel, "", cache); !s)
      return make_error("qemu.kernel: " + s.error().message);
  }
  return {};
}

Result<Spec> load_run_spec(const RunArgs& a) {
  Spec spec = default_spec();
  if (!a.resume_dir.empty()) {
    auto s = load_spec(a.resume_dir + "/spec.toml");
    if (!s) return make_error("--resume: " + s.error().describe());
    return s;
  }
  if (!a.spec_path.empty()) {
    auto s = load_spec(a.spec_path);
    if (!s) return s.error();
    spec = *s;
  }
  if (auto s = apply_overrides(a, spec); !s) return s.error();
  if (!a.kernels.empty()) {
    if (!spec.testbed) spec.testbed = TestbedSpec{};
    spec.testbed->kernels = a.kernels;
  }
  if (!a.modules_dir.empty()) {
    if (!spec.testbed) spec.testbed = TestbedSpec{};
    spec.testbed->modules_dir = a.modules_dir;
  }
  if (a.testbed && !spec.testbed) spec.testbed = TestbedSpec{};
  // Older scripts configure qemu cells through MEMPLACE_QEMU* variables. They fill only what
  // [qemu] leaves unset, and land in the results dir's spec copy, so --resume (above) needs none.
  if (std::find(spec.touchers.begin(), spec.touchers.end(), ToucherKind::kQemu) !=
      spec.touchers.end()) {
    auto q = qemu_spec_env_fallbacks(spec.qemu, [](const char* n) { return std::getenv(n); });
    if (!q) return q.error();
    spec.qemu = *q;
  }
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

Environment environment_from(const RunArgs& a) {
  Environment env;
  if (!a.env_kind.empty()) env.kind = a.env_kind;
  env.accel = a.env_accel;
  if (!a.env_topology_json.empty()) {
    env.topology = nlohmann::json::parse(a.env_topology_json, nullptr, false);
    if (env.topology.is_discarded()) env.topology = nullptr;
  }
  return env;
}

}  // namespace

int command_probe(const ProbeArgs& args) {
  ProbeReport report = run_probe(args.sysfs_root);
  if (args.json)
    std::printf("%s\n", to_json(report).dump(2).c_str());
  else
    std::printf("%s", format_probe_text(report).c_str());
  return kExitOk;
}

int command_run(const RunArgs& args) {
  auto spec = load_run_spec(args);
  if (!spec) return fail(kExitBadInput, spec.error().describe());
  std::vector<Cell> cells = expand(*spec);
  if (cells.empty()) return fail(kExitBadInput, "the matrix is empty");

  if (spec->testbed) return run_testbed_command(*spec, cells, args);

  auto facts = host_facts(args.sysfs_root);
  if (!facts) return fail(kExitEnvironment, "reading host NUMA facts: " + facts.error().describe());
  if (!args.margin.empty()) {
    auto margin = parse_size(args.margin);
    if (!margin) return fail(kExitBadInput, "--margin: " + margin.error().message);
    facts->margin_bytes = *margin;
  }
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
  std::string out = args.resume_dir.empty() ? args.out_dir : args.resume_dir;
  if (out.empty()) return fail(kExitBadInput, "--out DIR is required (where the results go)");

  if (auto s = check_results_disk(out, cells.size()); !s)
    return fail(kExitEnvironment, s.error().message);
  for (const auto& w : kvm_warnings(cells))
    std::fprintf(stderr, "memplace: warning: %s\n", w.c_str());
  if (args.resume_dir.empty() && ::access((out + "/runs.jsonl").c_str(), F_OK) == 0)
    return fail(kExitBadInput, out + " already holds results; pass --resume " + out +
                                   " to finish it, or choose a new --out");

  RunOptions options;
  options.out_dir = out;
  options.sysfs_root = args.sysfs_root;
  options.progress = !args.quiet;
  options.resume = !args.resume_dir.empty();
  options.stream_path = args.stream_path;
  options.environment = environment_from(args);
  options.invocation = args.invocation;
  Spec effective = *spec;
  effective.source_text = render_spec_toml(*spec);
  options.runners = all_cell_runners();
  attach_reports(options);
  auto summary = run_matrix(effective, cells, options);
  if (!summary) return fail(kExitEnvironment, summary.error().describe());
  std::fprintf(stderr,
               "memplace: %d ok (%d not honoured), %d unsupported, %d failed, %d already done; "
               "results in %s\n",
               summary->ok, summary->not_honored, summary->unsupported, summary->failed,
               summary->skipped, out.c_str());
  if (summary->interrupted_by) return 128 + summary->interrupted_by;
  if (args.check && (summary->not_honored > 0 || summary->failed > 0)) return kExitCheckFailed;
  return kExitOk;
}

int command_report(const ReportArgs& args) {
  if (auto s = write_report(args.dir); !s) return fail(kExitEnvironment, s.error().describe());
  std::printf("%s/report.md\n", args.dir.c_str());
  return kExitOk;
}

}  // namespace memplace
