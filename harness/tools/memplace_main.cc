// SPDX-License-Identifier: GPL-2.0-only
// memplace: parses arguments into the library's argument structs and returns what the command
// returns. Nothing else lives here.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "cli_reference.h"
#include "memplace/commands.h"

namespace {

std::string join_argv(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
  return s;
}

// A flag taking one value per occurrence, given as often as wanted: it never takes the
// positional argument after it (CLI11 lets a list option swallow it by default).
CLI::Option* repeatable(CLI::Option* opt) {
  return opt->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

// A required list of existing directories: the operands of compare, merge and plot.
CLI::Option* add_dirs(CLI::App* cmd, std::vector<std::string>& dirs, const char* help) {
  return cmd->add_option("dirs", dirs, help)->required()->check(CLI::ExistingDirectory);
}

CLI::App* add_probe(CLI::App& app, memplace::ProbeArgs& probe) {
  auto* probe_cmd =
      app.add_subcommand("probe", "Report what this host can do (NUMA, KVM, guest_memfd)");
  probe_cmd->add_flag("--json", probe.json, "Machine-readable output");
  probe_cmd
      ->add_option("--require", probe.require,
                   "Only these host features (kvm, guest_memfd, guest_memfd_mmap, "
                   "sw_protected_vm, tracefs, bpf, memcg, thp, two_nodes); exit 1 unless all "
                   "are available")
      ->delimiter(',');
  repeatable(probe_cmd->add_option("--qemu", probe.qemu,
                                   "QEMU binaries to describe (default: $MEMPLACE_QEMU_BINARY, "
                                   "else qemu-system-x86_64 on PATH)"));
  probe_cmd->add_option("--root", probe.sysfs_root, "Read /sys and /proc under this root")
      ->group("");
  return probe_cmd;
}

CLI::App* add_run(CLI::App& app, memplace::RunArgs& run) {
  auto* run_cmd = app.add_subcommand("run", "Run an experiment matrix (spec file and/or flags)");
  run_cmd->add_option("spec", run.spec_path, "Spec file (TOML)")->check(CLI::ExistingFile);
  for (const memplace::KeyFlag& f : memplace::run_key_flags()) {
    auto* opt = run_cmd->add_option(f.flag, run.key_flags[f.flag], f.help)
                    ->group(f.old ? "" : "Spec keys (see memplace spec-keys)");
    repeatable(opt);  // a single-valued key given twice is refused by name
  }
  run_cmd->add_flag("--thp", run.thp,
                    "Require transparent huge pages: MADV_HUGEPAGE, refused = unsupported "
                    "(default auto: advised like QEMU's guest RAM, the kernel's THP mode decides)");
  run_cmd->add_flag("--no-thp", run.no_thp, "4 KiB pages: MADV_NOHUGEPAGE before populating");
  run_cmd->add_option("--out", run.out_dir, "Results directory");
  run_cmd->add_option("--resume", run.resume_dir,
                      "Finish the remaining cells of a results directory");
  run_cmd->add_flag("--check", run.check,
                    "Exit 1 if any verdict is not honored, any run failed or was unsupported, "
                    "or nothing ran");
  run_cmd
      ->add_option("--format", run.format,
                   "text, or ktap/junit: the run's cells as tests on stdout when it ends")
      ->check(CLI::IsMember({"text", "ktap", "junit"}))
      ->capture_default_str();
  run_cmd->add_flag("--allow-unsupported", run.allow_unsupported,
                    "With --check: unsupported runs do not fail it");
  run_cmd->add_flag("--dry-run", run.dry_run, "Print what would run, run nothing");
  run_cmd->add_flag("--force", run.force, "Run cells that exceed the free-memory safety margin");
  run_cmd->add_option("--margin", run.margin, "Memory kept free on every node (default 256MiB)");
  run_cmd->add_flag("-q,--quiet", run.quiet, "No progress lines");
  run_cmd->add_flag("--no-plots", run.no_plots,
                    "Draw no charts when the run ends (report.md says how to add them)");
  run_cmd->add_flag("--testbed", run.testbed, "Run inside an emulated multi-node QEMU host");
  run_cmd->add_option("--root", run.sysfs_root, "Read /sys and /proc under this root")->group("");
  run_cmd->add_option("--only-runs", run.only_runs_path, "Run only these run keys")->group("");
  run_cmd->add_option("--stream", run.stream_path, "Also write each record to this file/port")
      ->group("");
  run_cmd->add_option("--env-kind", run.env_kind, "Environment kind for records")->group("");
  run_cmd->add_option("--env-accel", run.env_accel, "Testbed accelerator for records")->group("");
  run_cmd->add_option("--env-topology", run.env_topology_json, "Testbed topology JSON")->group("");
  return run_cmd;
}

CLI::App* add_report(CLI::App& app, memplace::ReportArgs& report) {
  auto* report_cmd = app.add_subcommand("report",
                                        "Write report.md, CSV tables, charts and report.html for a "
                                        "results dir");
  report_cmd->add_option("dir", report.dir, "Results directory (or a testbed's)")
      ->required()
      ->check(CLI::ExistingDirectory);
  report_cmd->add_flag("--no-plots", report.no_plots, "Draw no charts");
  report_cmd
      ->add_option("--format", report.format,
                   "paths (the files written), or ktap/junit: one test per cell on stdout")
      ->check(CLI::IsMember({"paths", "ktap", "junit"}))
      ->capture_default_str();
  return report_cmd;
}

CLI::App* add_compare(CLI::App& app, memplace::CompareArgs& compare) {
  auto* compare_cmd = app.add_subcommand("compare", "Compare the same cells across results dirs");
  compare_cmd
      ->add_option("--format", compare.format,
                   "markdown, csv, json, or ktap/junit: one test per cell and later dir")
      ->check(CLI::IsMember({"markdown", "csv", "json", "ktap", "junit"}))
      ->capture_default_str();
  compare_cmd
      ->add_option("--by", compare.by,
                   "dir (one side per dir) or host (one side per hostname, e.g. of a "
                   "merged dir)")
      ->check(CLI::IsMember({"dir", "host"}))
      ->capture_default_str();
  compare_cmd->add_option("--out", compare.out_dir, "Also write compare.md/.csv/.json here");
  compare_cmd->add_flag("--fail-on-regression", compare.fail_on_regression,
                        "Exit 1 if any cell went from honored to not honored, or ran in the "
                        "baseline and failed, vanished or became unsupported");
  compare_cmd->add_flag("--allow-unsupported", compare.allow_unsupported,
                        "With --fail-on-regression: a cell unsupported here does not fail it");
  // Last: CLI11 checks in the order options were added, so --format xml is named before any
  // dir is looked at.
  add_dirs(compare_cmd, compare.dirs, "Results dirs; the first is the baseline");
  return compare_cmd;
}

CLI::App* add_merge(CLI::App& app, memplace::MergeArgs& merge) {
  auto* merge_cmd = app.add_subcommand(
      "merge", "Merge results dirs (shards of one spec, or hosts) into one results dir");
  merge_cmd->add_option("--out", merge.out_dir, "The merged results dir (new or empty)");
  // No existence check here: the old form `merge OUT DIR...` names a new OUT first.
  merge_cmd->add_option("dirs", merge.dirs, "Results dirs to merge")->required();
  return merge_cmd;
}

CLI::App* add_slurm(CLI::App& app, memplace::SlurmArgs& slurm) {
  auto* slurm_cmd = app.add_subcommand(
      "slurm",
      "Run a spec on a Slurm cluster: an array job of shards (or one job per host), "
      "then a merge + report job");
  slurm_cmd->add_option("spec", slurm.spec_path, "Spec file (TOML)")
      ->required()
      ->check(CLI::ExistingFile);
  slurm_cmd->add_option("--out", slurm.out_dir, "Submission dir every node can write")->required();
  slurm_cmd->add_option("--partition", slurm.partition, "Slurm partition");
  slurm_cmd->add_option("--constraint", slurm.constraint, "Node features, e.g. snp or zen4");
  auto* shards_opt = slurm_cmd->add_option("--shards", slurm.shards, "Array tasks (default 1)");
  slurm_cmd
      ->add_option("--per-host", slurm.per_host,
                   "Nodes (comma list): the whole matrix once on each, to compare hosts")
      ->excludes(shards_opt);
  slurm_cmd->add_option("--memplace", slurm.memplace,
                        "memplace on the compute nodes (default: this executable's path)");
  slurm_cmd->add_flag("--dry-run", slurm.dry_run, "Print the job scripts; submit nothing");
  return slurm_cmd;
}

CLI::App* add_plot(CLI::App& app, memplace::PlotArgs& plot) {
  auto* plot_cmd = app.add_subcommand("plot", "Draw charts (PNG and SVG) from results dirs");
  add_dirs(plot_cmd, plot.dirs, "Results dirs");
  plot_cmd->add_option("--out", plot.out_dir, "Output dir (default: DIR/plots)");
  return plot_cmd;
}

CLI::App* add_exec(CLI::App& app, memplace::ExecArgs& exec) {
  auto* cmd = app.add_subcommand(
      "exec",
      "Run a command (after --) in a memory cgroup of its own and record where its memory lands "
      "per node, mapped or not (guest_memfd too); --attach reads a running process or cgroup");
  cmd->add_option("--policy", exec.policy, "Start it under this task policy, as numactl would");
  cmd->add_option("--expect", exec.expect, "The split to judge (default: --policy's)");
  cmd->add_option("--cpu-node", exec.cpu_node, "Run it on this node's CPUs");
  cmd->add_option("--out", exec.out_dir, "Results directory (new or empty; default results/)");
  cmd->add_option("--mark", exec.mark,
                  "A regex: the first line of its output that matches records the placement then");
  cmd->add_option("--sample-interval-ms", exec.sample_interval_ms, "cgroup sampling interval")
      ->capture_default_str();
  cmd->add_option("--tolerance", exec.tolerance, "Verdict tolerance as a fraction")
      ->capture_default_str();
  cmd->add_option("--attach", exec.attach, "A running PID, or a memory cgroup, to read instead");
  cmd->add_option("--for", exec.attach_seconds, "With --attach: seconds to read")
      ->capture_default_str();
  cmd->add_flag("--check", exec.check, "Exit 1 unless the verdict is honored");
  cmd->add_flag("--no-plots", exec.no_plots, "Draw no charts");
  cmd->add_option("--root", exec.sysfs_root, "Read /sys and /proc under this root")->group("");
  cmd->add_option("command", exec.command, "The command and its arguments, after --");
  return cmd;
}

CLI::App* add_noise(CLI::App& app, memplace::NoiseProcessArgs& noise) {
  auto* noise_cmd = app.add_subcommand("noise-process", "")->group("");  // internal, unlisted
  noise_cmd->add_option("spec", noise.spec)->required();
  noise_cmd->add_option("go_fd", noise.go_fd)->required();
  noise_cmd->add_option("done_fd", noise.done_fd)->required();
  return noise_cmd;
}
// "unknown command 'bogus' (commands: probe, run, ...)" when the first word names none; CLI11
// alone said only "A subcommand is required".
std::string unknown_command(CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return "";
  std::string names;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name() == argv[1]) return "";
    if (!sub->get_group().empty()) names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return "unknown command '" + std::string(argv[1]) + "' (commands: " + names + ")";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"memplace: where does guest memory land on a NUMA host?"};
  app.require_subcommand(1);
  app.set_version_flag(
      "--version", "memplace " MEMPLACE_VERSION " (revision " + memplace::build_revision() + ")");
  app.footer(memplace::kExitCodesHelp);
  memplace::ProbeArgs probe;
  memplace::RunArgs run;
  memplace::ReportArgs report;
  memplace::CompareArgs compare;
  memplace::MergeArgs merge;
  memplace::SlurmArgs slurm;
  memplace::PlotArgs plot;
  memplace::NoiseProcessArgs noise;
  memplace::ExecArgs exec;
  CLI::App* probe_cmd = add_probe(app, probe);
  CLI::App* run_cmd = add_run(app, run);
  CLI::App* report_cmd = add_report(app, report);
  CLI::App* compare_cmd = add_compare(app, compare);
  CLI::App* merge_cmd = add_merge(app, merge);
  CLI::App* slurm_cmd = add_slurm(app, slurm);
  CLI::App* plot_cmd = add_plot(app, plot);
  CLI::App* noise_cmd = add_noise(app, noise);
  CLI::App* exec_cmd = add_exec(app, exec);
  CLI::App* keys_cmd =
      app.add_subcommand("spec-keys", "Print every spec key (Markdown): type, default, meaning");
  std::string man_command;
  bool man = false;
  CLI::App* reference_cmd =
      app.add_subcommand("reference", "Print docs/commands.md, or with --man a man page")
          ->group("");
  reference_cmd->add_flag("--man", man, "A man page: memplace(1), or memplace-COMMAND(1)");
  reference_cmd->add_option("command", man_command, "The command of the man page");

  if (auto unknown = unknown_command(app, argc, argv); !unknown.empty()) {
    std::fprintf(stderr, "memplace: error: %s\n", unknown.c_str());
    return memplace::kExitBadInput;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 exits 0 for --help and 106/109 etc. for errors; memplace's contract is 2 for bad input.
    int code = app.exit(e);
    return code == 0 ? 0 : memplace::kExitBadInput;
  }

  if (*probe_cmd) return memplace::command_probe(probe);
  if (*keys_cmd) return memplace::command_spec_keys();
  if (*reference_cmd) {
    const std::string text =
        man ? memplace::cli_reference::man_page(app, man_command, app.version())
            : memplace::cli_reference::markdown(app);
    std::fputs(text.c_str(), stdout);
    return text.empty() ? memplace::kExitBadInput : memplace::kExitOk;
  }
  if (*noise_cmd) return memplace::command_noise_process(noise);
  if (*run_cmd) {
    run.invocation = join_argv(argc, argv);

    return memplace::command_run(run);
  }
  if (*report_cmd) return memplace::command_report(report);
  if (*exec_cmd) {
    exec.invocation = join_argv(argc, argv);
    return memplace::command_exec(exec);
  }
  if (*compare_cmd) return memplace::command_compare(compare);
  if (*plot_cmd) return memplace::command_plot(plot);
  if (*slurm_cmd) return memplace::command_slurm(slurm);
  if (*merge_cmd) {
    merge.invocation = join_argv(argc, argv);
    return memplace::command_merge(merge);
  }
  return memplace::kExitBadInput;
}
