// SPDX-License-Identifier: GPL-2.0-only
// The page-allocation trace source: kmem:mm_page_alloc and kmem:mm_page_free (and
// mm_page_free_batched) for the touching tasks only, in a tracefs instance of memplace's own, so
// nothing else that traces on the host is disturbed. Net pages per node = pages allocated in the
// window minus those of them freed in it, each pfn mapped to its node (pfn_nodes.h).
//
// Only user-memory allocations count: the tally keeps allocations whose gfp mask has
// __GFP_HARDWALL (GFP_USER and everything built on it: anonymous memory, shmem and guest_memfd
// folios, huge pages), so the page tables, slab and KVM MMU pages the same tasks allocate do not
// make the count differ from move_pages.
//
// A page migrated in the window (NUMA balancing moves the touching task's own older pages next
// to its CPU) allocates a page without adding memory: migrate:mm_migrate_pages_start and
// migrate:mm_migrate_pages bound each migration, and its destination counts only where its
// source was the cell's (PageTally).
//
// Events are read from the per-CPU raw buffers (trace_pipe_raw) by a thread that drains them
// while the window is open, and decoded with libtraceevent (kbuffer for the ring-buffer pages,
// the event formats tracefs publishes for the fields). Any lost event (ring-buffer overrun,
// dropped events, a sub-buffer marked as having missed events) makes the reading incomplete.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "placement/pfn_nodes.h"
#include "placement/placement_source.h"
#include "placement/trace_transport.h"

namespace memplace {

struct PageTraceOptions {
  TraceTransport transport = TraceTransport::kAuto;
  // tracefs to use as is; "" = the mounted one (mountinfo), else mount it at /sys/kernel/tracing.
  std::string tracefs;
  std::string root;  // roots the pfn -> node map and mountinfo (tests)
  // tracefs: the per-CPU ring-buffer size; 0 = sized so one CPU's buffer holds every event of
  // `expected_bytes` even if it were never drained (at least 1 MiB, at most 64 MiB). BPF: the
  // one ring buffer's size (page_events_bpf.h, bpf_ring_bytes).
  uint64_t buffer_kib = 0;
  uint64_t expected_bytes = 1ull << 30;
  int drain_interval_ms = 20;
};

// Per-CPU buffer size for `expected_bytes` of 4 KiB pages: one event of ~48 bytes per page for
// the allocation and one more for a possible free, a quarter for headers and time extends.
uint64_t trace_buffer_kib_for(uint64_t expected_bytes);

std::unique_ptr<PlacementSource> make_trace_source(const PageTraceOptions& options);
std::unique_ptr<PlacementSource> make_tracefs_trace_source(const PageTraceOptions& options);
std::unique_ptr<PlacementSource> make_bpf_trace_source(const PageTraceOptions& options);

// tracefs's mount point (mounting it at /sys/kernel/tracing on the live system when it is not
// mounted), and the value of __GFP_HARDWALL from its mm_page_alloc format: the gfp flags' bits
// move between kernels, and the BPF transport needs the filter value too.
Result<std::string> locate_tracefs(const PageTraceOptions& o);
Result<uint64_t> read_gfp_hardwall(const std::string& tracefs);

// ---- the parts below are pure and unit-tested on fixtures ----

// The value of gfp flag `flag` ("__GFP_HARDWALL") in an event format's print fmt. Kernels print
// it as "(1UL) << (20)" after enum evaluation, older ones as a hex constant.
std::optional<uint64_t> gfp_flag_value(std::string_view format, std::string_view flag);

// per_cpu/cpuN/stats: what the ring buffer lost.
struct CpuBufferStats {
  uint64_t entries = 0;
  uint64_t overrun = 0;         // overwritten (overwrite mode)
  uint64_t commit_overrun = 0;  // lost while being written (nested writers)
  uint64_t dropped = 0;         // refused because the buffer was full (no overwrite)
  uint64_t lost() const { return overrun + commit_overrun + dropped; }
};
Result<CpuBufferStats> parse_cpu_buffer_stats(std::string_view text);

// Pages allocated in the window and not freed in it, as disjoint pfn intervals.
class PageLedger {
 public:
  void alloc(uint64_t pfn, unsigned order);
  // Frees of pages allocated before the window are not the cell's and are ignored; a free that
  // covers part of an allocation (a split huge page freed piecewise) removes only that part.
  void free(uint64_t pfn, unsigned order);
  uint64_t pages() const;
  // True when every page of [pfn, pfn + 2^order) is live.
  bool holds(uint64_t pfn, unsigned order) const;
  // Pages per node; pages whose pfn no node claims go to *unplaced.
  std::map<int, uint64_t> pages_per_node(const PfnNodeMap& map, uint64_t* unplaced) const;

 private:
  std::map<uint64_t, uint64_t> live_;  // first pfn -> one past the last
};

// One decoded event: a kmem allocation or free, or the start or end of a migrate_pages() call
// (migrate:mm_migrate_pages_start, migrate:mm_migrate_pages).
struct PageEvent {
  enum class Kind { kAlloc, kFree, kMigrateStart, kMigrateEnd } kind = Kind::kAlloc;
  uint64_t pfn = 0;
  unsigned order = 0;
  uint64_t gfp = 0;  // allocations only
  uint64_t ts = 0;   // the order across CPUs: the tracefs instance's clock, or the BPF sequence
  int pid = 0;       // the task the event happened in
};

// What a window's events come to. A page migration (NUMA balancing moving a page next to the
// CPU that touched it, compaction, ...) allocates a destination folio and frees its source, all
// inside one migrate_pages() call of one task. The destination is a move, not new memory: it is
// the cell's exactly when the source was (a page allocated in the window); a destination that
// replaces a page from before the window (the toucher's own stack, heap or code, last touched
// on another node) is not counted. Destinations and sources pair up in order, one folio each, as
// migrate_pages() allocates them and frees them.
struct PageTally {
  PageLedger ledger;
  uint64_t allocs = 0, frees = 0;
  std::map<std::string, uint64_t> kinds;  // "gfp/order" -> allocations (at most 32 keys)
  uint64_t migrated_pages = 0;            // destination pages of migrations in the window
  uint64_t migrated_not_cell = 0;         // of them, pages replacing pages from before the window
  // Pages the tally cannot attribute: destinations whose source was not freed inside their
  // migrate_pages() call, and cell pages migrated to a destination no event named.
  uint64_t unpaired_pages = 0;
};
// `events` in time order; allocations without `gfp_required` are skipped.
PageTally tally_page_events(const std::vector<PageEvent>& events, uint64_t gfp_required);

// Faults in room for the events of `expected_bytes` of 4 KiB pages (and a tenth more for
// frees), so that storing them allocates nothing inside the window: the memory cgroup source
// counts what the reader allocates there (+1530 pages of a 512 MiB cell when it did). Capped:
// past 2M events (8 GiB of 4 KiB pages) the vector grows inside the window, a few pages that no
// counted task allocates.
void prefault_event_storage(std::vector<PageEvent>& events, uint64_t expected_bytes);

// What a transport (tracefs or BPF) collected over one window.
struct TraceWindowEvents {
  std::vector<PageEvent> events;  // any order: sorted by ts here
  uint64_t hardwall = 0;          // the __GFP_HARDWALL value (the gfp filter)
  bool migrations_traced = false;
  int tasks = 0;                                     // tasks named to the window
  uint64_t other_events = 0;                         // events of no kind the tally knows
  std::string lost;                                  // why events are missing; "" when none were
  std::string error;                                 // the first error while reading; "" when none
  nlohmann::json detail = nlohmann::json::object();  // the transport's own detail
};
// The reading of a window: ok only when nothing was lost, nothing failed, every page is on a
// node and every migration paired; else incomplete with what was seen, and why.
SourceReading trace_window_reading(TraceWindowEvents& w, const PfnNodeMap& pfn_map);

// Decodes ring-buffer sub-buffers (the pages trace_pipe_raw hands out) with libtraceevent,
// given the text of events/header_page and the kmem event formats.
class PageEventDecoder {
 public:
  // `formats`: event name ("mm_page_alloc", "mm_page_free", "mm_page_free_batched",
  // "mm_migrate_pages_start", "mm_migrate_pages") -> the text of its format file. mm_page_alloc
  // and mm_page_free are required; the migrate pair is used when both are given.
  static Result<PageEventDecoder> create(const std::string& header_page,
                                         const std::map<std::string, std::string>& formats);
  PageEventDecoder(PageEventDecoder&&) noexcept;
  PageEventDecoder& operator=(PageEventDecoder&&) noexcept;
  ~PageEventDecoder();

  bool decodes_migrations() const;
  struct SubbufferResult {
    uint64_t events = 0;  // kmem and migrate events decoded
    uint64_t other = 0;   // events of other types (none expected)
    bool missed = false;  // the sub-buffer says events were lost before it
  };
  // Appends the sub-buffer's kmem events to `out`. `bytes` is the size read (a page or the
  // sub-buffer size); anything shorter than the sub-buffer header is an error.
  Result<SubbufferResult> decode(const void* subbuffer, size_t bytes, std::vector<PageEvent>& out);

 private:
  struct Impl;
  explicit PageEventDecoder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace memplace
