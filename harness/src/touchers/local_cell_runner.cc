// SPDX-License-Identifier: GPL-2.0-only
// The cell runner for touchers that fault a host mapping (host threads, vCPUs of the micro-VM):
// snapshot, back, bind, touch under the sampler, snapshot, place, judge, release. Whatever fails
// becomes the record's status and message; nothing here exits.
#include "touchers/local_cell_runner.h"

#include <unistd.h>

#include <chrono>
#include <fstream>

#include "base/clock.h"
#include "base/json_bounded.h"
#include "base/nodelist.h"
#include "experiment/locality_run.h"
#include "experiment/placement_choice.h"
#include "experiment/placement_window.h"
#include "experiment/record_builder.h"
#include "host/backing.h"
#include "host/placement.h"
#include "host/sampler.h"
#include "host/sysfs.h"
#include "results/results.h"
#include "touchers/noise_process.h"
#include "touchers/toucher.h"

namespace memplace {
namespace {

using Clock = std::chrono::steady_clock;

std::string readback_text(const PolicyReadback& rb) {
  auto mode = policy_from_mpol(rb.mpol);
  std::string name = mode ? policy_name(*mode) : "mpol" + std::to_string(rb.mpol);
  if (!rb.nodes.empty() && mode && policy_takes_nodes(*mode))
    name += ":" + format_id_list(rb.nodes);
  return name;
}

// guest_memfd and shmem folios are page cache; anonymous memory is not.
std::string backing_counter(BackingKind kind) {
  return kind == BackingKind::kAnon ? "AnonPages" : "FilePages";
}

// The node the touchers run on: the cell's, else the lowest node that has CPUs.
std::optional<int> resolve_cpu_node(const Cell& cell, const std::string& root,
                                    const std::vector<int>& nodes) {
  if (cell.cpu_node) return cell.cpu_node;
  for (int n : nodes) {
    auto cpus = read_node_cpulist(root, n);
    if (cpus && !cpus->empty()) return n;
  }
  return std::nullopt;
}

std::unique_ptr<Toucher> toucher_for(ToucherKind kind, const RunContext& ctx) {
  std::optional<std::chrono::milliseconds> timeout;
  if (ctx.toucher_timeout_s) timeout = std::chrono::seconds(*ctx.toucher_timeout_s);
  switch (kind) {
    case ToucherKind::kHost:
      return make_host_toucher(ctx.sysfs_root, ctx.populate, timeout);
    case ToucherKind::kVcpu:
      return make_vcpu_toucher(ctx.sysfs_root, timeout);
    case ToucherKind::kQemu:
      break;
  }
  return nullptr;
}

// Times the locality locality on the memory just placed, with the cell's threads pinned like the
// toucher's, and links its Google Benchmark JSON from the record as extra.locality.file. The
// JSON's "benchmarks" array is copied in as well: a testbed guest streams only its records back.
// A locality that cannot run leaves the placement result alone and says why in
// extra.locality.error.
void run_locality_into(RunRecord& r, const Cell& cell, const RunContext& ctx, Mapping& mapping) {
  nlohmann::json w = {{"kind", ctx.locality}};
  auto kind = parse_locality(ctx.locality);
  auto cpus = choose_cpus(ctx.sysfs_root, cell.cpu_node, cell.threads);
  std::string file = std::string(kLocalityDir) + r.run_id + "-" + ctx.locality + ".json";
  Status s = !kind ? Status(kind.error()) : !cpus ? Status(cpus.error()) : Status();
  if (s) s = make_dirs(ctx.out_dir + "/" + std::string(kLocalityDir));
  if (s)
    s = run_locality_benchmark(*kind, mapping.addr(), mapping.size(), *cpus,
                               ctx.out_dir + "/" + file);
  if (s) {
    w["file"] = file;
    auto text = read_text_file(ctx.out_dir + "/" + file);
    auto j = text ? parse_json_bounded(*text) : Result<nlohmann::json>(text.error());
    if (j && j->is_object() && j->contains("benchmarks")) w["benchmarks"] = (*j)["benchmarks"];
  } else {
    w["error"] = s.error().describe();
  }
  r.extra["locality"] = w;
}

// mbind on the mapping for the mbind channel (a private guest_memfd without a mapping has
// none to take it); the task channel sets each touching thread's policy in the thread hook.
bool apply_mapping_policy(RunRecord& r, const Cell& cell, Mapping& mapping,
                          const std::vector<int>& host_nodes) {
  if (cell.channel != PolicyChannel::kMbind) return true;
  if (!mapping.addr()) {
    r.status = RunStatus::kUnsupported;
    r.message = "the mbind channel needs a mapping of " + r.backing;
    return false;
  }
  if (auto s = apply_policy(mapping.addr(), mapping.size(), cell.policy, cell.nodes); !s) {
    bool unsupported =
        s.error().err == EINVAL && !kernel_supports_policy(cell.policy, host_nodes.front());
    r.status = unsupported ? RunStatus::kUnsupported : RunStatus::kFailed;
    r.message = s.error().describe();
    return false;
  }
  if (mapping.fd() >= 0) {
    // A policy set through one VMA is visible through another only if the file keeps a shared
    // policy: the property the guest_memfd series adds.
    auto view = mapping.map_again();
    if (view) {
      auto rb = read_policy_at(view->addr());
      r.policy_readback = rb ? readback_text(*rb) : "error: " + rb.error().describe();
    }
  }
  return true;
}

// What move_pages can see of the cell: every page of a mapping (through a second view for
// files), nothing of private memory.
SourceReading mapped_reading(RunRecord& r, const Mapping& mapping) {
  if (mapping.kind() == BackingKind::kGuestMemfdPrivate)
    return source_unsupported("private guest memory is never mapped, so move_pages cannot see it");
  auto placement = mapping.fd() >= 0 ? query_placement_of_file(mapping)
                                     : query_placement(mapping.addr(), mapping.size());
  if (!placement) return source_unsupported("reading placement: " + placement.error().describe());
  r.pages_absent = placement->pages_absent;
  if (!placement->pages_error.empty()) r.extra["pages_error"] = placement->pages_error;
  return move_pages_reading(*placement);
}

// The meminfo deltas a record carries beside its placement.
void record_meminfo_deltas(RunRecord& r, BackingKind backing) {
  r.delta_used_mib = delta_mib(r.meminfo_before, r.meminfo_after, "MemUsed");
  r.backing_counter = backing_counter(backing);
  r.delta_backing_mib = delta_mib(r.meminfo_before, r.meminfo_after, r.backing_counter);
  // What the THP advice came to: huge folios the kernel actually handed out, per node.
  const char* huge_counter = backing == BackingKind::kAnon ? "AnonHugePages" : "ShmemHugePages";
  r.extra["huge_pages_mib"] =
      node_mib_json(delta_mib(r.meminfo_before, r.meminfo_after, huge_counter));
  r.extra["delta_used_less_pcp_mib"] =
      node_mib_json(delta_used_less_pcp_mib(r.meminfo_before, r.meminfo_after));
}

void record_touch_stats(RunRecord& r, const TouchStats& stats) {
  r.populate_seconds = stats.seconds;
  r.populate_method = stats.method;
  r.extra["per_thread_seconds"] = stats.per_thread_seconds;
  r.extra["cpus"] = stats.cpus;
  if (!stats.extra.is_null()) r.extra["toucher"] = stats.extra;
}

// The test hook's noise process (noise_process.h), started before the window opens so that it
// is neither traced nor in the cell's cgroup.
std::optional<NoiseProcess> start_noise(RunRecord& r) {
  auto spec = noise_from_env();
  if (!spec || !*spec) {
    if (!spec) r.extra["test_noise"] = {{"error", spec.error().describe()}};
    return std::nullopt;
  }
  auto noise = NoiseProcess::start(**spec);
  r.extra["test_noise"] = {{"bytes", (*spec)->bytes}, {"node", (*spec)->node}};
  if (!noise) {
    r.extra["test_noise"]["error"] = noise.error().describe();
    return std::nullopt;
  }
  return std::move(*noise);
}

// The touch itself, under the sampler, the placement window and the noise: returns what the
// toucher returned; the window's readings and the "after" snapshot land in `r`.
Result<TouchStats> touch_in_window(RunRecord& r, const Cell& cell, const RunContext& ctx,
                                   Toucher& toucher, Mapping& mapping, PlacementWindow& window,
                                   std::optional<NoiseProcess>& noise) {
  toucher.set_thread_hook([&](pid_t tid) -> Status {
    window.add_task(tid);
    if (cell.channel == PolicyChannel::kTask) return apply_task_policy(cell.policy, cell.nodes);
    return {};
  });
  Sampler sampler(ctx.sysfs_root, std::chrono::milliseconds(ctx.sample_interval_ms));
  sampler.start();
  if (noise && !noise->go()) noise.reset();
  auto stats = toucher.touch(cell, mapping);
  if (noise) {
    if (auto s = noise->wait_done(60000); !s) r.extra["test_noise"]["error"] = s.error().describe();
  }
  auto samples = sampler.stop();
  refresh_vm_stats(ctx.sysfs_root);
  auto after = read_meminfo_snapshot(ctx.sysfs_root);
  if (after) r.meminfo_after = *after;
  // Closed before anything is read or released: frees after the touch are not its placement.
  r.placement_sources = window.close();
  r.samples_file = "samples/" + r.run_id + ".csv";
  if (auto s = write_samples_csv(ctx.out_dir + "/" + r.samples_file, samples); !s) {
    r.samples_file.clear();
  }
  if (!after) return after.error().prefixed("reading node meminfo after the touch: ");
  return stats;
}

// The body of run_cell; returns early on the first failure, with `r` holding what was learned.
void run_cell_into(RunRecord& r, Cell cell, const RunContext& ctx) {
  auto host_nodes = list_nodes(ctx.sysfs_root);
  if (!host_nodes) {
    r.message = "listing NUMA nodes: " + host_nodes.error().describe();
    return;
  }
  cell.cpu_node = resolve_cpu_node(cell, ctx.sysfs_root, *host_nodes);
  r.cpu_node = cell.cpu_node;

  auto toucher = toucher_for(cell.toucher, ctx);
  if (!toucher) {
    r.status = RunStatus::kUnsupported;
    r.message = "toucher '" + toucher_name(cell.toucher) + "' does not run on a host mapping";
    return;
  }
  auto noise = start_noise(r);
  // Before the "before" snapshot: the trace's buffers and the cgroup exist before anything is
  // measured, and nothing is attributed until a touching thread names itself.
  PlacementWindow window(cell, ctx);
  refresh_vm_stats(ctx.sysfs_root);
  auto before = read_meminfo_snapshot(ctx.sysfs_root);
  if (!before) {
    r.message = "reading node meminfo: " + before.error().describe();
    return;
  }
  r.meminfo_before = *before;

  BackingOptions backing_options;
  backing_options.map_private = cell.channel == PolicyChannel::kMbind;
  auto mapping = create_backing(cell.backing, cell.size_bytes, backing_options);
  if (!mapping) {
    const Error& e = mapping.error();
    // Where the kernel refused, the backing said so in the error's kind (backing.cc, kvm.cc).
    r.status = e.kind == ErrorKind::kUnsupported ? RunStatus::kUnsupported : RunStatus::kFailed;
    r.message = "creating " + r.backing + ": " + e.describe();
    return;
  }
  if (is_guest_memfd(cell.backing)) r.extra["guest_memfd_flags"] = mapping->guest_memfd_flags();
  if (!apply_mapping_policy(r, cell, *mapping, *host_nodes)) return;

  auto stats = touch_in_window(r, cell, ctx, *toucher, *mapping, window, noise);
  if (!stats) {
    r.status = run_status_for(stats.error());
    r.message = "touch: " + stats.error().describe();
    return;
  }
  record_touch_stats(r, *stats);
  record_meminfo_deltas(r, cell.backing);
  r.placement_sources["move_pages"] = mapped_reading(r, *mapping);
  r.placement_sources["meminfo"] = meminfo_reading(r.meminfo_before, r.meminfo_after);
  if (!choose_placement(r, cell.size_bytes / 4096)) {
    r.message = "no placement source could measure this cell";
    return;
  }
  r.verdict =
      judge(cell, r.placement_pages, verdict_inputs(cell, *host_nodes, r.meminfo_before, ctx));
  r.status = RunStatus::kOk;
  if (ctx.locality != "none" && mapping->addr() && cell.backing != BackingKind::kGuestMemfdPrivate)
    run_locality_into(r, cell, ctx, *mapping);
}

}  // namespace

namespace {

class LocalCellRunner : public CellRunner {
 public:
  RunRecord run(const Cell& cell, const RunContext& ctx, const std::string& run_id) override {
    RunRecord r = record_for_cell(cell, run_id, ctx.environment);
    r.started_at = utc_now();
    auto t0 = Clock::now();
    run_cell_into(r, cell, ctx);
    r.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return r;
  }
};

}  // namespace

std::shared_ptr<CellRunner> make_local_cell_runner() {
  return std::make_shared<LocalCellRunner>();
}

}  // namespace memplace
