// SPDX-License-Identifier: GPL-2.0-only
// What a trace window's events come to (page_trace.h, PageTally): the ledger of the pages the
// traced tasks allocated and kept, with migrations told apart from new memory.
#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>

#include "placement/page_trace.h"

namespace memplace {

namespace {

struct Folio {
  uint64_t pfn = 0;
  unsigned order = 0;
  uint64_t pages() const { return uint64_t{1} << std::min(order, 20u); }
};

// One task's migrate_pages() call in progress: the destinations it allocated whose sources
// have not been freed yet.
struct Migration {
  bool open = false;
  std::deque<Folio> destinations;
};

void count_kind(PageTally& t, const PageEvent& e) {
  char key[48];
  std::snprintf(key, sizeof key, "0x%llx/%u", static_cast<unsigned long long>(e.gfp), e.order);
  if (t.kinds.size() < 32 || t.kinds.count(key)) ++t.kinds[key];
}

// A free inside a migration: a destination given back (that folio's migration failed), or the
// source of the oldest destination (same order), or something else the task freed.
void free_in_migration(PageTally& t, Migration& m, const PageEvent& e) {
  for (auto it = m.destinations.begin(); it != m.destinations.end(); ++it) {
    if (it->pfn == e.pfn && it->order == e.order) {
      m.destinations.erase(it);
      return;
    }
  }
  const bool cells = t.ledger.holds(e.pfn, e.order);
  if (m.destinations.empty() || m.destinations.front().order != e.order) {
    // A cell page moved to a destination no event named (compaction takes its destinations from
    // pages it isolated itself): where it went is unknown.
    if (cells) t.unpaired_pages += uint64_t{1} << std::min(e.order, 20u);
    t.ledger.free(e.pfn, e.order);
    return;
  }
  const Folio dst = m.destinations.front();
  m.destinations.pop_front();
  t.migrated_pages += dst.pages();
  if (cells) {
    t.ledger.free(e.pfn, e.order);
    t.ledger.alloc(dst.pfn, dst.order);
  } else {
    t.migrated_not_cell += dst.pages();
  }
}

}  // namespace

PageTally tally_page_events(const std::vector<PageEvent>& events, uint64_t gfp_required) {
  PageTally t;
  std::map<int, Migration> migrations;  // by task
  for (const PageEvent& e : events) {
    switch (e.kind) {
      case PageEvent::Kind::kMigrateStart:
        migrations[e.pid].open = true;
        break;
      case PageEvent::Kind::kMigrateEnd: {
        // Destinations whose source outlived the call: whose they are cannot be told. They stay
        // counted, and the reading says so.
        Migration& m = migrations[e.pid];
        for (const Folio& f : m.destinations) {
          t.ledger.alloc(f.pfn, f.order);
          t.unpaired_pages += f.pages();
        }
        m = Migration{};
        break;
      }
      case PageEvent::Kind::kAlloc: {
        if (!(e.gfp & gfp_required)) break;  // page tables, slab, KVM MMU pages
        ++t.allocs;
        count_kind(t, e);
        auto m = migrations.find(e.pid);
        if (m != migrations.end() && m->second.open)
          m->second.destinations.push_back({e.pfn, e.order});
        else
          t.ledger.alloc(e.pfn, e.order);
        break;
      }
      case PageEvent::Kind::kFree: {
        ++t.frees;
        auto m = migrations.find(e.pid);
        if (m != migrations.end() && m->second.open)
          free_in_migration(t, m->second, e);
        else
          t.ledger.free(e.pfn, e.order);
        break;
      }
    }
  }
  // A window closed inside a migration: its destinations are counted, unattributed.
  for (auto& [pid, m] : migrations) {
    for (const Folio& f : m.destinations) {
      t.ledger.alloc(f.pfn, f.order);
      t.unpaired_pages += f.pages();
    }
  }
  return t;
}

void prefault_event_storage(std::vector<PageEvent>& events, uint64_t expected_bytes) {
  const uint64_t want = expected_bytes / 4096 + expected_bytes / 40960 + 4096;
  events.resize(std::min<uint64_t>(want, uint64_t{1} << 21));
  events.clear();
}

SourceReading trace_window_reading(TraceWindowEvents& w, const PfnNodeMap& pfn_map) {
  std::stable_sort(w.events.begin(), w.events.end(),
                   [](const PageEvent& a, const PageEvent& b) { return a.ts < b.ts; });
  PageTally tally = tally_page_events(w.events, w.hardwall);
  nlohmann::json detail = w.detail;
  detail["gfp_filter"] = "__GFP_HARDWALL";
  detail["pfn_map"] = pfn_map.source();
  detail["events"] = {{"alloc", tally.allocs}, {"free", tally.frees}, {"other", w.other_events}};
  detail["alloc_gfp_order"] = tally.kinds;
  if (w.migrations_traced) {
    detail["migrated_pages"] = {{"all", tally.migrated_pages},
                                {"not_the_cells", tally.migrated_not_cell}};
  } else {
    detail["migrated_pages"] = "not traced: no migrate:mm_migrate_pages(_start) events";
  }
  uint64_t unplaced = 0;
  auto pages = tally.ledger.pages_per_node(pfn_map, &unplaced);
  if (w.tasks == 0) return source_unsupported("no task was traced in the window");
  auto incomplete = [&](std::string why) {
    SourceReading r = source_incomplete(std::move(why), pages);
    r.detail = detail;
    return r;
  };
  if (!w.lost.empty()) return incomplete(w.lost);
  if (!w.error.empty()) return incomplete(w.error);
  if (unplaced) return incomplete(std::to_string(unplaced) + " pages at pfns no node claims");
  if (tally.unpaired_pages)
    return incomplete(std::to_string(tally.unpaired_pages) +
                      " pages migrated in the window could not be paired with the pages they "
                      "replaced");
  SourceReading r = source_ok(pages);
  r.detail = detail;
  return r;
}

}  // namespace memplace
