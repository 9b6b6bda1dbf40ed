// The cell runner for touchers that fault a host mapping (host threads, vCPUs of the micro-VM):
// snapshot, back, bind, touch under the sampler, snapshot, place, judge, release. Whatever fails
// becomes the record's status and message; nothing here exits.
#include "touchers/local_cell_runner.h"

#include <unistd.h>

#include <chrono>
#include <fstream>

#include "base/clock.h"
#include "base/nodelist.h"
#include "experiment/locality_run.h"
#include "experiment/record_builder.h"
#include "experiment/results.h"
#include "kernel/backing.h"
#include "kernel/placement.h"
#include "kernel/sampler.h"
#include "kernel/sysfs.h"
#include "touchers/toucher.h"

namespace memplace {
namespace {

using Clock = std::chrono::steady_clock;

// guest_memfd and policy modes are kernel features: their absence is "unsupported", not a
// failure of the experiment.
bool is_unsupported_backing_error(BackingKind kind, const Error& e) {
  if (kind != BackingKind::kGuestMemfd) return false;
  return e.err == ENOENT || e.err == ENODEV || e.err == EACCES || e.err == EPERM ||
         e.err == ENOTTY || e.err == EINVAL || e.err == 0;
}

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

// Times the locality workload on the memory just placed, with the cell's threads pinned like the
// toucher's, and links its Google Benchmark JSON from the record as extra.workload.file. The
// JSON's "benchmarks" array is copied in as well: a testbed guest streams only its records back.
// A workload that cannot run leaves the placement result alone and says why in
// extra.workload.error.
void run_workload_into(RunRecord& r, const Cell& cell, const RunContext& ctx, Mapping& mapping) {
  nlohmann::json w = {{"kind", ctx.workload}};
  auto kind = parse_workload(ctx.workload);
  auto cpus = choose_cpus(ctx.sysfs_root, cell.cpu_node, cell.threads);
  std::string file = "workloads/" + r.run_id + "-" + ctx.workload + ".json";
  Status s = !kind ? Status(kind.error()) : !cpus ? Status(cpus.error()) : Status();
  if (s) s = make_dirs(ctx.out_dir + "/workloads");
  if (s)
    s = run_workload_benchmark(*kind, mapping.addr(), mapping.size(), *cpus,
                               ctx.out_dir + "/" + file);
  if (s) {
    w["file"] = file;
    std::ifstream in(ctx.out_dir + "/" + file);
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_discarded() && j.contains("benchmarks")) w["benchmarks"] = j["benchmarks"];
  } else {
    w["error"] = s.error().describe();
  }
  r.extra["workload"] = w;
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
  refresh_vm_stats(ctx.sysfs_root);
  auto before = read_meminfo_snapshot(ctx.sysfs_root);
  if (!before) {
    r.message = "reading node meminfo: " + before.error().describe();
    return;
  }
  r.meminfo_before = *before;

  auto mapping = create_backing(cell.backing, cell.size_bytes);
  if (!mapping) {
    r.status = is_unsupported_backing_error(cell.backing, mapping.error()) ? RunStatus::kUnsupported
                                                                           : RunStatus::kFailed;
    r.message = "creating " + r.backing + ": " + mapping.error().describe();
    return;
  }
  if (auto s = apply_policy(mapping->addr(), mapping->size(), cell.policy, cell.nodes); !s) {
    bool unsupported =
        s.error().err == EINVAL && !kernel_supports_policy(cell.policy, host_nodes->front());
    r.status = unsupported ? RunStatus::kUnsupported : RunStatus::kFailed;
    r.message = s.error().describe();
    return;
  }
  if (mapping->fd() >= 0) {
    // A policy set through one VMA is visible through another only if the file keeps a shared
    // policy: the property the guest_memfd series adds.
    auto view = mapping->map_again();
    if (view) {
      auto rb = read_policy_at(view->addr());
      r.policy_readback = rb ? readback_text(*rb) : "error: " + rb.error().describe();
    }
  }

  Sampler sampler(ctx.sysfs_root, std::chrono::milliseconds(ctx.sample_interval_ms));
  sampler.start();
  auto stats = toucher->touch(cell, *mapping);
  auto samples = sampler.stop();
  refresh_vm_stats(ctx.sysfs_root);
  auto after = read_meminfo_snapshot(ctx.sysfs_root);
  if (after) r.meminfo_after = *after;

  r.samples_file = "samples/" + r.run_id + ".csv";
  if (auto s = write_samples_csv(ctx.out_dir + "/" + r.samples_file, samples); !s) {
    r.samples_file.clear();
  }
  if (!stats) {
    r.status = run_status_for(stats.error());
    r.message = "touch: " + stats.error().describe();
    return;
  }
  r.populate_seconds = stats->seconds;
  r.populate_method = stats->method;
  r.extra["per_thread_seconds"] = stats->per_thread_seconds;
  r.extra["cpus"] = stats->cpus;
  if (!stats->extra.is_null()) r.extra["toucher"] = stats->extra;
  if (!after) {
    r.message = "reading node meminfo after the touch: " + after.error().describe();
    return;
  }
  r.delta_used_mib = delta_mib(r.meminfo_before, r.meminfo_after, "MemUsed");
  r.backing_counter = backing_counter(cell.backing);
  r.delta_backing_mib = delta_mib(r.meminfo_before, r.meminfo_after, r.backing_counter);
  // What the THP advice came to: huge folios the kernel actually handed out, per node.
  const char* huge_counter =
      cell.backing == BackingKind::kAnon ? "AnonHugePages" : "ShmemHugePages";
  r.extra["huge_pages_mib"] =
      node_mib_json(delta_mib(r.meminfo_before, r.meminfo_after, huge_counter));
  r.extra["delta_used_less_pcp_mib"] =
      node_mib_json(delta_used_less_pcp_mib(r.meminfo_before, r.meminfo_after));

  auto placement = mapping->fd() >= 0 ? query_placement_of_file(*mapping)
                                      : query_placement(mapping->addr(), mapping->size());
  if (!placement) {
    r.message = "reading placement: " + placement.error().describe();
    return;
  }
  r.placement_pages = placement->pages_per_node;
  r.pages_absent = placement->pages_absent;
  if (!placement->pages_error.empty()) r.extra["pages_error"] = placement->pages_error;

  r.verdict =
      judge(cell, r.placement_pages, verdict_inputs(cell, *host_nodes, r.meminfo_before, ctx));
  r.status = RunStatus::kOk;
  if (ctx.workload != "none") run_workload_into(r, cell, ctx, *mapping);
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

std::shared_ptr<CellRunner> make_local_cell_runner() { return std::make_shared<LocalCellRunner>(); }

}  // namespace memplace
