// SPDX-License-Identifier: GPL-2.0-only
// One qemu-toucher cell, start to finish (qemu_cell_runner.h lists the pieces it uses).
#include "qemu/qemu_cell_runner.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "agent/agent_protocol.h"
#include "base/clock.h"
#include "base/files.h"
#include "base/stop_signals.h"
#include "base/subprocess.h"
#include "experiment/placement_window.h"
#include "experiment/record_builder.h"
#include "experiment/verdict.h"
#include "host/policy.h"
#include "host/sampler.h"
#include "host/sysfs.h"
#include "qemu/qemu_caches.h"
#include "qemu/qemu_cell_image.h"
#include "qemu/qemu_cell_record.h"
#include "qemu/qemu_command.h"
#include "qemu/qemu_policy_reach.h"
#include "qemu/qemu_process.h"
#include "results/results.h"

namespace memplace {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string truncate(std::string s, size_t n) {
  if (s.size() > n) s = s.substr(0, n) + "...";
  return s;
}

std::string tail_of(const std::string& path, size_t n) {
  auto text = read_text_file(path);
  if (!text) return "";
  return text->size() > n ? text->substr(text->size() - n) : *text;
}

// One qemu cell in flight. Each phase returns the error that ends the run: before QEMU starts
// it becomes the record's status and message as is; after, the guest's logs are kept too.
class QemuCellRun {
 public:
  QemuCellRun(RunRecord& r, const Cell& cell, const RunContext& ctx, const QemuToucherOptions& o,
              std::string work)
      : r_(r), cell_(cell), ctx_(ctx), o_(o), work_(std::move(work)) {}

  void run() {
    Status s = prepare();
    if (s) s = build_guest();
    if (s) s = start_qemu();
    if (!s) return set_error(r_, s.error());
    s = boot();
    if (s) s = touch();
    if (s) s = collect();
    if (!s) return fail(s.error());
    r_.verdict = judge(cell_, r_.placement_pages,
                       verdict_inputs(cell_, host_nodes_, r_.meminfo_before, ctx_));
    // A verdict that went against the policy says when the prediction expected as much.
    if (r_.verdict && !r_.verdict->honored &&
        (reach_.shared == Reach::kNotGoverned || reach_.private_ == Reach::kNotGoverned))
      r_.verdict->reason += "; predicted: " + reach_.why;
    r_.status = RunStatus::kOk;
  }

 private:
  Status prepare();
  Status build_guest();
  Status start_qemu();
  Status boot();
  void settle();
  Status prepare_go(const AgentHello& hello);
  Status touch();
  Status collect();
  Result<GuestMessage> next_message(Clock::time_point deadline, const std::string& phase,
                                    int timeout);
  std::string describe_end(QemuProcess::Wait w, const std::string& phase, int timeout);
  void fail(const Error& e);

  RunRecord& r_;
  const Cell& cell_;
  const RunContext& ctx_;
  const QemuToucherOptions& o_;
  const std::string work_;
  std::vector<int> host_nodes_;
  QemuCapabilities caps_;
  std::string accel_;
  QemuGuestConfig config_;
  std::vector<std::string> argv_;
  QemuProcess qemu_;
  Clock::time_point t0_;
  nlohmann::json agent_log_ = nlohmann::json::array();
  AgentGo go_;
  Result<std::vector<NumaMapsEntry>> maps_at_go_ = make_error("not read yet");
  std::optional<PlacementWindow> window_;
  Clock::time_point t_go_;
  PolicyReach reach_;
};

// The host's nodes, QEMU's capabilities and what this host lacks for the cell.
Status QemuCellRun::prepare() {
  auto host_nodes = list_nodes(ctx_.sysfs_root);
  if (!host_nodes) return host_nodes.error().prefixed("listing NUMA nodes: ");
  host_nodes_ = *host_nodes;
  auto caps = cached_qemu_probe(o_.qemu_binary);
  if (!caps) {
    return caps.error()
        .prefixed("cannot probe QEMU '" + o_.qemu_binary + "': ")
        .as_kind(ErrorKind::kUnsupported);
  }
  caps_ = *caps;
  accel_ = o_.snp ? "kvm" : detect_accel(o_.accel);
  r_.extra["qemu_binary"] = o_.qemu_binary;
  r_.extra["qemu_version"] = caps_.version.text();
  r_.extra["qemu_version_line"] = caps_.version_line;
  r_.extra["accel"] = accel_;
  r_.extra["qemu_guest_memfd_backend"] = caps_.guest_memfd_backend;
  reach_ = predict_policy_reach(cell_, o_.snp, caps_, cached_host_gmem_policy());
  r_.extra["prediction"] = {{"shared", reach_name(reach_.shared)},
                            {"private", reach_name(reach_.private_)},
                            {"why", reach_.why}};
  return qemu_preflight(cell_, o_, caps_, accel_, ctx_.sysfs_root);
}

// The guest kernel, its initramfs, and the QEMU command line that boots them.
Status QemuCellRun::build_guest() {
  auto kernel = cached_guest_kernel(o_);
  if (!kernel) return kernel.error().prefixed("guest kernel " + o_.kernel + ": ");
  r_.extra["guest_kernel"] = kernel->origin;
  // The guest kernel placed this memory; a build says exactly what it was made from.
  if (!kernel->build_info.is_null()) r_.environment.kernel_build = kernel->build_info;
  QemuGuestPaths paths;
  paths.kernel = kernel->vmlinuz;
  paths.serial_log = work_ + "/serial.log";
  paths.socket_path = work_ + "/agent.sock";
  auto initrd = build_cell_initrd(o_, *kernel, work_, r_.extra);
  if (!initrd) return initrd.error();
  paths.initrd = *initrd;
  auto config = qemu_guest_config_for(cell_, o_, caps_, accel_, paths);
  if (!config) return config.error().as_kind(ErrorKind::kUnsupported);
  config_ = *config;
  argv_ = qemu_guest_command(config_);
  r_.extra["qemu_command"] = join_command(argv_);
  r_.extra["guest_mem_bytes"] = config_.nodes.front().mem_bytes;
  if (cell_.backing == BackingKind::kGuestMemfd) {
    r_.extra["numa_maps_note"] =
        "guest_memfd pages appear in QEMU's numa_maps only where QEMU mmaps the guest_memfd "
        "(fully shared x-guest-memfd); SNP private memory never does, so placement_pages then "
        "covers the shared part only and meminfo deltas are the measure";
  }
  return {};
}

Status QemuCellRun::start_qemu() {
  std::vector<int> pin;
  if (cell_.cpu_node) {
    auto cpus = read_node_cpulist(ctx_.sysfs_root, *cell_.cpu_node);
    if (cpus) pin = *cpus;
  }
  if (int sig = StopSignalGuard::received())
    return make_error("interrupted by signal " + std::to_string(sig) + " before QEMU started");
  t0_ = Clock::now();
  // The task channel: QEMU starts under the cell's policy, as numactl would start it, and every
  // thread it makes (the vCPUs that fault guest memory) inherits it.
  TaskMempolicy task;
  if (cell_.channel == PolicyChannel::kTask && cell_.policy != PolicyMode::kDefault) {
    task.mode = mpol_value(cell_.policy);
    task.nodes = cell_.nodes;
  }
  if (auto s = qemu_.start(argv_, config_.socket_path, work_ + "/qemu.log", pin, task); !s)
    return s.error().prefixed("starting QEMU: ");
  return {};
}

std::string QemuCellRun::describe_end(QemuProcess::Wait w, const std::string& phase, int timeout) {
  switch (w) {
    case QemuProcess::Wait::kTimeout:
      return phase + ": no answer from the guest agent within " + std::to_string(timeout) + " s";
    case QemuProcess::Wait::kSignal:
      return phase + ": interrupted by signal " + std::to_string(StopSignalGuard::received());
    case QemuProcess::Wait::kExited:
    case QemuProcess::Wait::kClosed: {
      qemu_.stop(std::chrono::milliseconds(2000));
      std::string m = phase + ": QEMU ended (status " + std::to_string(qemu_.exit_status()) + ")";
      std::string err = tail_of(work_ + "/qemu.log", 400);
      if (!err.empty()) m += ": " + err;
      // The disk boot's initramfs says on the console why it gave up.
      std::string console = tail_of(work_ + "/serial.log", 4000);
      size_t at = console.rfind("memplace-init: ");
      if (at != std::string::npos) m += "; " + console.substr(at, console.find('\n', at) - at);
      return m;
    }
    default:
      return phase;
  }
}

// Reads guest messages until one that the phase wants; logs are kept, anything else fails.
Result<GuestMessage> QemuCellRun::next_message(Clock::time_point deadline, const std::string& phase,
                                               int timeout) {
  while (true) {
    std::string line;
    auto w = qemu_.next_line(deadline, &line);
    if (w != QemuProcess::Wait::kLine) {
      return make_error(describe_end(w, phase, timeout), w == QemuProcess::Wait::kTimeout
                                                             ? ErrorKind::kTimeout
                                                             : ErrorKind::kFailed);
    }
    auto m = decode_guest_message(line);
    if (!m) {
      return m.error().prefixed(phase + ": garbage from the guest \"" + truncate(line, 200) +
                                "\": ");
    }
    if (auto* log = std::get_if<AgentLog>(&*m)) {
      agent_log_.push_back(log->message);
      continue;
    }
    if (auto* e = std::get_if<AgentError>(&*m))
      return make_error(phase + ": the guest agent failed: " + e->message);
    return m;
  }
}

void QemuCellRun::fail(const Error& e) {
  set_error(r_, e);
  if (!agent_log_.empty()) r_.extra["agent_log"] = agent_log_;
  qemu_.stop(std::chrono::milliseconds(0));
  keep_qemu_logs(r_, ctx_, work_);
}

// QEMU start to the agent's hello; then the go message that fits what the agent can do.
Status QemuCellRun::boot() {
  auto hello_msg = next_message(t0_ + std::chrono::seconds(o_.boot_timeout_seconds), "boot",
                                o_.boot_timeout_seconds);
  if (!hello_msg) return hello_msg.error();
  auto* hello = std::get_if<AgentHello>(&*hello_msg);
  if (!hello) return make_error("boot: the guest agent spoke before its hello");
  r_.extra["boot_seconds"] = seconds_since(t0_);
  r_.extra["guest"] = {{"kernel", hello->kernel},
                       {"nodes", hello->nodes},
                       {"cpus", hello->cpus},
                       {"mem_bytes", hello->mem_bytes}};
  r_.environment.accel = accel_;
  if (config_.free_page_reporting) settle();
  return prepare_go(*hello);
}

// With free page reporting the guest hands its boot leftovers back over a few seconds; the
// "before" snapshot waits until the guest RAM's resident size stops falling.
void QemuCellRun::settle() {
  auto resident = [&] {
    return guest_ram_resident_pages(ctx_.sysfs_root, qemu_.pid(), config_.backend);
  };
  auto t_settle = Clock::now();
  uint64_t at_hello = resident(), last = at_hello;
  auto last_drop = t_settle;
  while (seconds_since(t_settle) < o_.settle_max_seconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    uint64_t now = resident();
    if (now + 256 < last) {  // fell by more than 1 MiB
      last = now;
      last_drop = Clock::now();
    }
    if (seconds_since(t_settle) >= o_.settle_min_seconds && seconds_since(last_drop) >= 1.0) break;
  }
  r_.extra["settle"] = {{"seconds", seconds_since(t_settle)},
                        {"guest_ram_at_hello_mib", at_hello / 256.0},
                        {"guest_ram_at_go_mib", last / 256.0}};
}

Status QemuCellRun::prepare_go(const AgentHello& hello) {
  go_.size_bytes = cell_.size_bytes;
  go_.threads = std::max(1, cell_.threads);
  go_.node = hello.nodes.empty() ? std::nullopt : std::optional<int>(hello.nodes.front());
  // The spec's populate settings reach the guest's toucher as they reach the host's.
  if (ctx_.populate.method) go_.method = populate_method_name(*ctx_.populate.method);
  go_.thp = thp_mode_name(ctx_.populate.thp);
  if (auto s = check_go(go_); !s)
    return s.error()
        .prefixed("the guest agent's memory is anonymous: ")
        .as_kind(ErrorKind::kUnsupported);
  if (ctx_.locality == "none") return {};
  const auto& offered = hello.localities;
  if (std::find(offered.begin(), offered.end(), ctx_.locality) == offered.end()) {
    r_.extra["locality"] = {{"kind", ctx_.locality},
                            {"error", "the guest agent runs no " + ctx_.locality +
                                          " locality (an agent older than this memplace?)"}};
    return {};
  }
  go_.locality = ctx_.locality;
  go_.locality_repetitions = o_.locality_repetitions;
  go_.locality_min_time_seconds = o_.locality_min_time_seconds;
  return check_go(go_);
}

// "before", go, and the agent's done, with the node counters sampled meanwhile.
Status QemuCellRun::touch() {
  // The placement window's buffers and cgroup exist before the "before" snapshot; QEMU joins it
  // right before go, so its boot is outside the window.
  window_.emplace(cell_, ctx_);
  // "before": the guest is booted and idle, its own boot memory already counted.
  auto before = read_meminfo_snapshot(ctx_.sysfs_root);
  if (!before) return before.error().prefixed("reading node meminfo: ");
  r_.meminfo_before = *before;
  // QEMU's own view of the same moment: node MemUsed is host-wide and moves with everything else
  // on the machine, the guest RAM mapping's resident pages move only with the guest.
  maps_at_go_ = read_numa_maps(ctx_.sysfs_root, qemu_.pid());
  Sampler sampler(ctx_.sysfs_root, std::chrono::milliseconds(ctx_.sample_interval_ms));
  sampler.start();
  window_->add_process(qemu_.pid());
  t_go_ = Clock::now();
  if (auto s = qemu_.send(encode_host_message(go_)); !s) {
    sampler.stop();
    return s.error().prefixed("sending go: ");
  }
  int progress_messages = 0;
  Result<GuestMessage> done = make_error("no done");
  while (true) {
    done = next_message(t_go_ + std::chrono::seconds(o_.agent_timeout_seconds), "touch",
                        o_.agent_timeout_seconds);
    if (!done || !std::holds_alternative<AgentProgress>(*done)) break;
    ++progress_messages;
  }
  auto samples = sampler.stop();
  r_.samples_file = "samples/" + r_.run_id + ".csv";
  if (!write_samples_csv(ctx_.out_dir + "/" + r_.samples_file, samples)) r_.samples_file.clear();
  if (!done) return done.error();
  if (!std::holds_alternative<AgentDone>(*done))
    return make_error("touch: unexpected message from the guest agent instead of done");
  record_agent_done(r_, std::get<AgentDone>(*done), progress_messages, agent_log_);
  return {};
}

// "after" and placement while the agent still holds the memory (the window closes before the
// guest can free anything), its locality report, poweroff.
Status QemuCellRun::collect() {
  auto after = read_meminfo_snapshot(ctx_.sysfs_root);
  auto maps = read_numa_maps(ctx_.sysfs_root, qemu_.pid());
  r_.placement_sources = window_->close();
  r_.extra["host_touch_seconds"] = seconds_since(t_go_);
  if (go_.locality) {
    auto report = next_message(Clock::now() + std::chrono::seconds(o_.agent_timeout_seconds),
                               "locality", o_.agent_timeout_seconds);
    r_.extra["locality"] = locality_into_results(report, r_.run_id, *go_.locality, ctx_.out_dir);
    if (!agent_log_.empty()) r_.extra["agent_log"] = agent_log_;
  }
  // A guest that cannot take the poweroff is killed by stop() all the same.
  (void)qemu_.send(encode_host_message(AgentPoweroff{}));
  qemu_.stop(std::chrono::seconds(o_.poweroff_timeout_seconds));
  r_.extra["qemu_exit_status"] = qemu_.exit_status();
  if (!after) return after.error().prefixed("reading node meminfo after the touch: ");
  r_.meminfo_after = *after;
  r_.delta_used_mib = delta_mib(r_.meminfo_before, r_.meminfo_after, "MemUsed");
  r_.extra["delta_used_less_pcp_mib"] =
      node_mib_json(delta_used_less_pcp_mib(r_.meminfo_before, r_.meminfo_after));
  if (!maps) return maps.error().prefixed("reading QEMU's numa_maps: ");
  return record_guest_placement(r_, cell_, config_.backend, *maps, maps_at_go_);
}

class QemuCellRunner : public CellRunner {
 public:
  RunRecord run(const Cell& cell, const RunContext& ctx, const std::string& run_id) override {
    return run_qemu_cell(cell, ctx, run_id);
  }
};

}  // namespace

RunRecord run_qemu_cell(const Cell& cell, const RunContext& ctx, const std::string& run_id) {
  return run_qemu_cell(cell, ctx, run_id, qemu_cell_options(ctx));
}

RunRecord run_qemu_cell(const Cell& cell, const RunContext& ctx, const std::string& run_id,
                        const QemuToucherOptions& options) {
  RunRecord r = record_for_cell(cell, run_id, ctx.environment);
  r.started_at = utc_now();
  auto t0 = Clock::now();
  // Covers the image build too (a Ctrl-C during a kernel download must not start a guest), and
  // outlives the run dir, so a re-raised default signal leaves nothing behind. Inside the
  // matrix's guard the matrix accounts for the signal; on its own, the signal is raised again.
  StopSignalGuard signals(StopSignalGuard::Unclaimed::kReraise);
  // Short: the agent socket's path must fit sun_path.
  auto work = TempDir::create("/tmp/memplace-qemu-");
  if (!work) {
    r.message = work.error().describe();
  } else {
    QemuCellRun(r, cell, ctx, options, work->path()).run();
    if (r.status == RunStatus::kFailed && !r.extra.contains("serial_log"))
      keep_qemu_logs(r, ctx, work->path());
  }
  r.wall_seconds = seconds_since(t0);
  return r;
}

std::shared_ptr<CellRunner> make_qemu_cell_runner() {
  return std::make_shared<QemuCellRunner>();
}

}  // namespace memplace
