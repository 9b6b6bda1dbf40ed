// SPDX-License-Identifier: GPL-2.0-only
#include "experiment/placement_choice.h"

#include <cmath>
#include <cstdio>
#include <set>

#include "experiment/record_builder.h"

namespace memplace {

SourceReading move_pages_reading(const Placement& p) {
  SourceReading r = source_ok(p.pages_per_node);
  r.detail["absent"] = p.pages_absent;
  if (!p.pages_error.empty()) {
    nlohmann::json errors = nlohmann::json::object();
    for (const auto& [err, n] : p.pages_error) errors[std::to_string(err)] = n;
    r.detail["errors"] = errors;
  }
  return r;
}

SourceReading meminfo_reading(const MeminfoSnapshot& before, const MeminfoSnapshot& after) {
  auto mib = delta_used_less_pcp_mib(before, after);
  const char* field = "MemUsed-PcpFree";
  if (mib.empty()) {
    mib = delta_mib(before, after, "MemUsed");
    field = "MemUsed";
  }
  if (mib.empty()) return source_unsupported("no node meminfo before and after the touch");
  std::map<int, uint64_t> pages;
  for (const auto& [node, m] : mib)
    pages[node] = m > 0 ? static_cast<uint64_t>(std::llround(m * 256.0)) : 0;
  SourceReading r = source_ok(pages);
  r.detail["field"] = field;
  return r;
}

bool choose_placement(RunRecord& r, uint64_t expected_pages) {
  auto ok = [&](const std::string& name) -> const SourceReading* {
    auto it = r.placement_sources.find(name);
    return it != r.placement_sources.end() && it->second.ok() ? &it->second : nullptr;
  };
  for (const char* mapped : {"move_pages", "numa_maps"}) {
    const SourceReading* s = ok(mapped);
    if (s && s->total_pages() >= expected_pages && s->detail.value("absent", 0) == 0) {
      r.placement_source = mapped;
      r.placement_pages = s->pages;
      return true;
    }
  }
  for (const char* name : {"trace", "cgroup", "meminfo"}) {
    if (const SourceReading* s = ok(name)) {
      r.placement_source = name;
      r.placement_pages = s->pages;
      return true;
    }
  }
  r.placement_source.clear();
  return false;
}

std::optional<SourceDisagreement> largest_disagreement(const RunRecord& r) {
  std::optional<SourceDisagreement> worst;
  const uint64_t whole_pages = r.size_bytes / 4096;  // cells are whole pages
  const double cell_pages = static_cast<double>(whole_pages);
  for (auto a = r.placement_sources.begin(); a != r.placement_sources.end(); ++a) {
    if (!a->second.ok()) continue;
    for (auto b = std::next(a); b != r.placement_sources.end(); ++b) {
      if (!b->second.ok()) continue;
      std::set<int> nodes;
      for (const auto& [n, _] : a->second.pages) nodes.insert(n);
      for (const auto& [n, _] : b->second.pages) nodes.insert(n);
      for (int n : nodes) {
        auto get = [n](const SourceReading& s) {
          auto it = s.pages.find(n);
          return it == s.pages.end() ? uint64_t{0} : it->second;
        };
        const uint64_t x = get(a->second), y = get(b->second);
        const uint64_t d = x > y ? x - y : y - x;
        if (!worst || d > worst->pages) {
          worst = SourceDisagreement{a->first, b->first, n, d,
                                     cell_pages > 0 ? 100.0 * d / cell_pages : 0};
        }
      }
    }
  }
  return worst;
}

std::string disagreement_warning(const RunRecord& r) {
  auto d = largest_disagreement(r);
  if (!d || d->percent <= kDisagreementWarnPercent) return "";
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%s: %s and %s differ by %llu pages (%.2f%% of the cell) on node %d",
                r.run_id.c_str(), d->a.c_str(), d->b.c_str(),
                static_cast<unsigned long long>(d->pages), d->percent, d->node);
  return buf;
}

}  // namespace memplace
