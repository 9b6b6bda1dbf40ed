// SPDX-License-Identifier: GPL-2.0-only
#include "qemu/qemu_cell_record.h"

#include <filesystem>

#include "base/files.h"
#include "experiment/placement_choice.h"
#include "experiment/record_builder.h"
#include "qemu/guest_ram_placement.h"
#include "results/results.h"

namespace memplace {

namespace fs = std::filesystem;

void keep_qemu_logs(RunRecord& r, const RunContext& ctx, const std::string& work) {
  std::error_code ec;
  fs::create_directories(ctx.out_dir + "/qemu", ec);
  for (const char* f : {"serial.log", "qemu.log"}) {
    std::string src = work + "/" + f;
    if (!fs::exists(src, ec)) continue;
    std::string rel = "qemu/" + r.run_id + "." + f;
    fs::copy_file(src, ctx.out_dir + "/" + rel, fs::copy_options::overwrite_existing, ec);
    if (!ec) r.extra[std::string(f) == "serial.log" ? "serial_log" : "qemu_log"] = rel;
  }
}

nlohmann::json locality_into_results(const Result<GuestMessage>& message, const std::string& run_id,
                                     const std::string& kind, const std::string& out_dir) {
  nlohmann::json w = {{"kind", kind}, {"timed_by", "memplace-agent"}};
  const auto* report = message ? std::get_if<AgentLocality>(&*message) : nullptr;
  if (!message) {
    w["error"] = message.error().message;
  } else if (!report || report->kind != kind) {
    w["error"] = "locality: the guest agent sent something other than its " + kind + " report";
  } else {
    std::string file = std::string(kLocalityDir) + run_id + "-" + kind + ".json";
    Status s = make_dirs(out_dir + "/" + std::string(kLocalityDir));
    if (s) s = write_file_atomic(out_dir + "/" + file, report->report.dump(2) + "\n");
    if (s) {
      w["file"] = file;
    } else {
      w["error"] = "writing " + file + ": " + s.error().describe();
    }
    w["benchmarks"] = report->report["benchmarks"];
  }
  return w;
}

void record_agent_done(RunRecord& r, const AgentDone& done, int progress_messages,
                       const nlohmann::json& agent_log) {
  r.populate_seconds = done.seconds;
  r.populate_method = done.method;
  r.extra["agent"] = {{"seconds", done.seconds},
                      {"method", done.method},
                      {"bytes", done.bytes},
                      {"per_thread_seconds", done.per_thread_seconds},
                      {"progress_messages", progress_messages}};
  r.extra["per_thread_seconds"] = done.per_thread_seconds;
  if (!agent_log.empty()) r.extra["agent_log"] = agent_log;
  // The agent, as PID 1, says what its "/" is: the disk image's device or the initramfs.
  for (const auto& line : agent_log) {
    if (line.is_string() && line.get<std::string>().rfind("root: ", 0) == 0)
      r.extra["guest"]["root"] = line.get<std::string>().substr(6);
  }
}

namespace {

std::map<int, double> guest_ram_delta_mib(const GuestRamPlacement& at_go,
                                          const GuestRamPlacement& at_done) {
  std::map<int, double> delta;
  for (const auto& [node, pages] : at_done.pages) {
    uint64_t was = at_go.pages.count(node) ? at_go.pages.at(node) : 0;
    delta[node] = (static_cast<double>(pages) - static_cast<double>(was)) / 256.0;
  }
  return delta;
}

// QEMU's guest RAM pages that became resident between go and done: the touch as the mapped view
// sees it. Private guest_memfd memory is not mapped into QEMU, so there numa_maps sees nothing.
SourceReading numa_maps_reading(const Cell& cell, const GuestRamPlacement& at_done,
                                const GuestRamPlacement& at_go, bool have_go) {
  uint64_t mapped = 0;
  for (const auto& [node, pages] : at_done.pages) mapped += pages;
  if (cell.backing == BackingKind::kGuestMemfd && mapped * 4096 < cell.size_bytes / 2)
    return source_unsupported("guest_memfd pages are not in QEMU's numa_maps (" +
                              std::to_string(mapped) +
                              " pages were): private memory is never "
                              "mapped");
  if (!have_go) return source_unsupported("QEMU's numa_maps could not be read at go");
  std::map<int, uint64_t> pages;
  for (const auto& [node, n] : at_done.pages) {
    uint64_t was = at_go.pages.count(node) ? at_go.pages.at(node) : 0;
    pages[node] = n > was ? n - was : 0;
  }
  SourceReading r = source_ok(pages);
  r.detail["absent"] = 0;
  r.detail["resident_at_done"] = mapped;
  return r;
}

}  // namespace

Status record_guest_placement(RunRecord& r, const Cell& cell, const std::string& backend,
                              const std::vector<NumaMapsEntry>& maps,
                              const Result<std::vector<NumaMapsEntry>>& maps_at_go) {
  auto placement = guest_ram_placement(maps, backend);
  r.extra["numa_maps"] = {{"how", placement.how}, {"mappings", placement.mappings}};
  auto at_go = maps_at_go ? guest_ram_placement(*maps_at_go, backend) : GuestRamPlacement{};
  r.extra["guest_ram_delta_mib"] = node_mib_json(guest_ram_delta_mib(at_go, placement));
  r.placement_sources["numa_maps"] = numa_maps_reading(cell, placement, at_go, maps_at_go.ok());
  r.placement_sources["move_pages"] =
      source_unsupported("QEMU owns the guest RAM; its numa_maps is read instead");
  r.placement_sources["meminfo"] = meminfo_reading(r.meminfo_before, r.meminfo_after);
  if (r.placement_sources["numa_maps"].ok() && placement.mappings.empty())
    return make_error("no guest RAM mapping found in QEMU's numa_maps (" + placement.how + ")");
  if (!choose_placement(r, 0)) return make_error("no placement source could measure this cell");
  // The mapped view's verdict judges the whole guest RAM, as before; the reading in
  // placement_sources is its change over the window, comparable with the other sources.
  if (r.placement_source == "numa_maps") r.placement_pages = placement.pages;
  return {};
}

}  // namespace memplace
