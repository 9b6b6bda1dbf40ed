// SPDX-License-Identifier: GPL-2.0-only
// memplace exec and exec --attach: arguments into ExecOptions, the results dir claimed before
// the command starts, the record and reports written after.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <optional>

#include "base/dir_lock.h"
#include "base/text.h"
#include "cli/commands_internal.h"
#include "exec/exec_results.h"
#include "exec/exec_run.h"
#include "memplace/commands.h"
#include "results/results_dir.h"

namespace memplace {
namespace {

Result<ExecOptions> exec_options(const ExecArgs& a) {
  ExecOptions o;
  o.argv = a.command;
  o.mark = a.mark;
  o.sample_interval_ms = a.sample_interval_ms;
  o.tolerance = a.tolerance;
  o.attach_seconds = a.attach_seconds;
  o.sysfs_root = a.sysfs_root;
  if (!a.policy.empty()) {
    auto p = parse_policy_entry(a.policy, "--policy");
    if (!p) return p.error().as_kind(ErrorKind::kBadInput);
    o.policy = *p;
  }
  if (!a.expect.empty()) {
    auto p = parse_policy_entry(a.expect, "--expect");
    if (!p) return p.error().as_kind(ErrorKind::kBadInput);
    o.expect = *p;
  }
  if (!a.cpu_node.empty()) {
    if (a.cpu_node.find_first_not_of("0123456789") != std::string::npos || a.cpu_node.size() > 4)
      return bad_input_error("--cpu-node: expected a node id, got '" + a.cpu_node + "'");
    o.cpu_node = std::stoi(a.cpu_node);
  }
  if (!a.attach.empty()) {
    if (!a.command.empty()) return bad_input_error("--attach takes no command");
    if (a.attach.find_first_not_of("0123456789") == std::string::npos && a.attach.size() < 10)
      o.attach_pid = static_cast<pid_t>(std::stol(a.attach));
    else
      o.attach_cgroup = a.attach;
  }
  if (!(a.attach_seconds > 0 && a.attach_seconds <= 86400))
    return bad_input_error("--for: must be in (0, 86400] seconds");
  return o;
}

std::string default_out(bool attach) {
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return std::string("results/") + (attach ? "attach-" : "exec-") + stamp;
}

}  // namespace

int command_exec(const ExecArgs& args) {
  auto options = exec_options(args);
  if (!options) return fail(kExitBadInput, options.error().describe());
  const bool attaching = options->attach_pid || !options->attach_cgroup.empty();
  if (!attaching && options->argv.empty())
    return fail(kExitBadInput, "exec needs a command after -- (or --attach PID|CGROUP)");
  const std::string out = args.out_dir.empty() ? default_out(attaching) : args.out_dir;
  const bool existed = ::access(out.c_str(), F_OK) == 0;
  if (auto s = claim_new_or_empty_dir(out, "exec --out"); !s)
    return fail(exit_code_for(s.error()), s.error().describe());
  std::optional<DirLock> lock;
  if (auto l = DirLock::acquire(out); l) {
    lock = std::move(*l);
  } else {
    return fail(exit_code_for(l.error()), l.error().describe());
  }
  auto outcome = watch_exec(*options);
  if (!outcome) {
    // Nothing of this exec to keep: the dir is left as it was found (or not there at all).
    lock.reset();
    ::unlink((out + "/" + kDirLockName).c_str());
    if (!existed) ::rmdir(out.c_str());
    return fail(exit_code_for(outcome.error()), outcome.error().describe());
  }
  RunRecord record = exec_record(*options, *outcome);
  if (auto s = write_exec_dir(out, *outcome, record, args.invocation, !args.no_plots); !s)
    return fail(exit_code_for(s.error()), s.error().describe());
  std::fprintf(stderr, "memplace: %s: exit status %d, peak %.1f MiB; results in %s\n",
               record.cell_key.c_str(), outcome->exit_status,
               static_cast<double>(record.size_bytes) / (1 << 20), out.c_str());
  if (outcome->forwarded_signal) return 128 + outcome->forwarded_signal;
  if (args.check && (!record.verdict || !record.verdict->honored)) {
    std::fprintf(stderr, "memplace: --check: %s\n",
                 record.verdict ? "the placement is not the expected split" : "no verdict");
    return kExitCheckFailed;
  }
  return kExitOk;
}

}  // namespace memplace
