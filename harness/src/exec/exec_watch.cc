// SPDX-License-Identifier: GPL-2.0-only
// watch_exec: the command in its cgroup, sampled until it exits; or an attach target, sampled for
// a while. Output lines pass through to memplace's stdout and are matched against --mark.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <regex>

#include "base/clock.h"
#include "base/stop_signals.h"
#include "base/subprocess.h"
#include "base/unique_fd.h"
#include "exec/exec_run.h"
#include "host/policy.h"
#include "host/sysfs.h"

namespace memplace {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// One more sample: kept in the series (every other one dropped once it is full), and the peak.
void take_sample(const CgroupWatch& cg, Clock::time_point t0, ExecOutcome& out) {
  auto pages = cg.read();
  if (!pages) return;  // the cgroup went with its last process: nothing more to read
  ExecSample s{since(t0), std::move(*pages)};
  if (!out.peak || s.pages.total_pages() > out.peak->pages.total_pages()) {
    out.peak = s;
    // The host's meminfo (every node's file) at most every 100 ms while memory grows: the
    // cgroup read is what each sample costs.
    if (s.t - out.meminfo_at_peak_t >= 0.1)
      if (auto host = read_meminfo_snapshot(out.sysfs_root)) {
        out.meminfo_at_peak = std::move(*host);
        out.meminfo_at_peak_t = s.t;
      }
  }
  if (out.samples.size() >= kMaxExecSamples) {
    std::vector<ExecSample> kept;
    for (size_t i = 0; i < out.samples.size(); i += 2) kept.push_back(out.samples[i]);
    out.samples = std::move(kept);
  }
  out.samples.push_back(s);
  out.end = std::move(s);
}

// Lines of the command's stdout, passed through; the first to match `mark` marks the placement.
bool pass_output(int fd, const std::regex* mark, const CgroupWatch& cg, Clock::time_point t0,
                 std::string& pending, ExecOutcome& out) {
  char buf[4096];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n <= 0) return false;
  [[maybe_unused]] ssize_t w = ::write(1, buf, static_cast<size_t>(n));
  pending.append(buf, static_cast<size_t>(n));
  for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
    const std::string line = pending.substr(0, std::min<size_t>(nl, 4096));
    if (!mark || out.mark || !std::regex_search(line, *mark)) continue;
    if (auto pages = cg.read()) out.mark = ExecSample{since(t0), std::move(*pages)};
    out.mark_line = line;
  }
  if (pending.size() > 65536) pending.clear();  // a line that long is no marker
  return true;
}

Status check_command(const std::vector<std::string>& argv) {
  if (argv.empty()) return bad_input_error("exec needs a command after --");
  const std::string& c = argv.front();
  const bool path = c.find('/') != std::string::npos;
  if ((path && ::access(c.c_str(), X_OK) != 0) || (!path && find_on_path(c).empty()))
    return bad_input_error(c + ": no such command (not found or not executable)");
  return {};
}

Result<SpawnOptions> spawn_options(const ExecOptions& o, int gate) {
  SpawnOptions s;
  s.output.stdout_to = ChildOutput::To::kPipe;
  s.start_gate = gate;
  if (o.policy && o.policy->mode != PolicyMode::kDefault) {
    s.mempolicy.mode = mpol_value(o.policy->mode);
    s.mempolicy.nodes = o.policy->nodes.value_or(std::vector<int>{});
  }
  if (o.cpu_node) {
    auto cpus = read_node_cpulist(o.sysfs_root, *o.cpu_node);
    if (!cpus) return cpus.error().prefixed("--cpu-node: ").as_kind(ErrorKind::kBadInput);
    s.cpus = *cpus;
  }
  return s;
}

// The command's life: sampled, its output passed on, a stop signal forwarded to it once.
void follow(Child& child, const CgroupWatch& cg, const ExecOptions& o, ExecOutcome& out) {
  std::regex mark_re;
  if (!o.mark.empty()) mark_re = std::regex(o.mark);
  StopSignalGuard signals;
  const auto t0 = Clock::now();
  std::string pending;
  const int fd = child.stdout_pipe().get();
  for (bool open = true; !child.poll_exit();) {
    if (int sig = StopSignalGuard::received(); sig && !out.forwarded_signal) {
      child.kill(sig);
      out.forwarded_signal = sig;
    }
    take_sample(cg, t0, out);
    pollfd p{fd, POLLIN, 0};
    if (open && ::poll(&p, 1, o.sample_interval_ms) > 0) {
      if (p.revents & POLLIN)
        pass_output(fd, o.mark.empty() ? nullptr : &mark_re, cg, t0, pending, out);
      if (p.revents & (POLLHUP | POLLERR) && !(p.revents & POLLIN)) open = false;
    } else if (!open) {
      ::usleep(static_cast<useconds_t>(o.sample_interval_ms) * 1000);
    }
  }
  // What the command wrote just before it exited.
  for (pollfd p{fd, POLLIN, 0}; ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);)
    if (!pass_output(fd, nullptr, cg, t0, pending, out)) break;
  out.exit_status = child.exit_status();
  out.seconds = since(t0);
}

Result<ExecOutcome> run_command_in_cgroup(const ExecOptions& o) {
  if (auto s = check_command(o.argv); !s) return s.error();
  if (!o.mark.empty()) try {
      std::regex check(o.mark);
    } catch (const std::regex_error& e) {
      return bad_input_error("--mark: not a regular expression: " + std::string(e.what()));
    }
  auto cg = CgroupWatch::create(o.sysfs_root);
  if (!cg) return cg.error().prefixed("exec needs a memory cgroup of its own: ");
  int gate[2];
  if (::pipe2(gate, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd gate_read(gate[0]), gate_write(gate[1]);
  auto options = spawn_options(o, gate_read.get());
  if (!options) return options.error();
  auto child = Child::spawn(o.argv, *options);
  if (!child) return child.error();
  gate_read.reset();
  ExecOutcome out;
  out.cgroup = cg->dir();
  out.version = cg->version();
  out.sysfs_root = o.sysfs_root;
  if (auto host = read_meminfo_snapshot(o.sysfs_root)) out.meminfo_before = std::move(*host);
  if (auto s = cg->add_process(child->pid()); !s) return s.error().prefixed("moving the command: ");
  // The command runs now, inside the cgroup. A byte, not just the close: the child holds a copy
  // of the write end until it execs, so it would never see the pipe close.
  if (::write(gate_write.get(), "g", 1) != 1) return errno_error("starting the command");
  gate_write.reset();
  follow(*child, *cg, o, out);
  return out;
}

Result<ExecOutcome> attach(const ExecOptions& o) {
  auto cg = o.attach_pid ? CgroupWatch::of_process(*o.attach_pid, o.sysfs_root)
                         : CgroupWatch::of_dir(o.attach_cgroup, o.sysfs_root);
  if (!cg) return cg.error();
  ExecOutcome out;
  out.cgroup = cg->dir();
  out.version = cg->version();
  out.sysfs_root = o.sysfs_root;
  if (auto host = read_meminfo_snapshot(o.sysfs_root)) out.meminfo_before = std::move(*host);
  StopSignalGuard signals;
  const auto t0 = Clock::now();
  while (since(t0) < o.attach_seconds && !StopSignalGuard::received()) {
    if (o.attach_pid && ::kill(*o.attach_pid, 0) != 0) break;  // the process is gone
    take_sample(*cg, t0, out);
    ::usleep(static_cast<useconds_t>(o.sample_interval_ms) * 1000);
  }
  out.seconds = since(t0);
  if (out.samples.empty())
    return bad_input_error("attach: nothing could be read from " + cg->dir());
  return out;
}

}  // namespace

Result<ExecOutcome> watch_exec(const ExecOptions& options) {
  if (options.sample_interval_ms < 1 || options.sample_interval_ms > 60000)
    return bad_input_error("--sample-interval-ms: must be 1..60000");
  if (options.attach_pid || !options.attach_cgroup.empty()) return attach(options);
  return run_command_in_cgroup(options);
}

}  // namespace memplace
