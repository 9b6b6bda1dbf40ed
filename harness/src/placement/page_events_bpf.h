// SPDX-License-Identifier: GPL-2.0-only
// The trace source's BPF transport: the programs of bpf/page_events.bpf.c, loaded with libbpf
// and attached to the kmem and migrate raw tracepoints, and the reader of what they hand over.
// It yields the same PageEvent stream as the tracefs transport, so one tally serves both
// (page_trace.h). It exists for its price: a raw tracepoint formats no record and writes no
// trace event, and cost ×1.08 of an untraced 1 GiB populate where tracefs cost ×1.16 (README).
//
// The programs see a struct page pointer, not a pfn. The reader turns one into the other with
// the kernel's vmemmap_base and sizeof(struct page), which a program reads once (from
// /proc/kallsyms and the kernel's BTF; a kernel without the symbol has x86-64's fixed base). A
// kernel without BTF cannot use this transport; a wrong base would put pages at pfns no node
// claims, which makes the reading incomplete, never wrong.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "base/result.h"
#include "placement/page_trace.h"

struct bpf_link;

namespace memplace {

// Where the kernel keeps struct page: pfn = (page - vmemmap_base) / page_size.
struct StructPageLayout {
  uint64_t vmemmap_base = 0;
  uint64_t page_size = 0;
  const char* vmemmap_base_from = "";  // how the base was found, for the reading's detail
};
// The pfn of a struct page pointer; nullopt for a pointer no pfn has (below the base, or not on
// a struct page boundary).
std::optional<uint64_t> pfn_of_struct_page(uint64_t page, const StructPageLayout& layout);

// The ring buffer's size for `kib` asked for: the power of two at or above it, from 8 KiB (two
// batches) to 256 MiB.
uint64_t bpf_ring_bytes(uint64_t kib);
// For `expected_bytes` of 4 KiB pages: every event of the cell (an allocation and a possible
// free per page, 32 bytes each) even if the ring were never drained; at least 1 MiB.
uint64_t bpf_ring_bytes_for(uint64_t expected_bytes);

class BpfPageEvents {
 public:
  // Loads the programs and reads the layout. Errors are kUnsupported when this kernel or this
  // process cannot run them (not root, no BTF, no vmemmap_base), kFailed otherwise.
  static Result<std::unique_ptr<BpfPageEvents>> load(uint64_t ring_bytes);
  ~BpfPageEvents();
  BpfPageEvents(const BpfPageEvents&) = delete;
  BpfPageEvents& operator=(const BpfPageEvents&) = delete;

  const StructPageLayout& layout() const { return layout_; }
  uint64_t ring_bytes() const { return ring_bytes_; }
  // Clears what an earlier window left in the maps, then attaches the programs (the migrate
  // pair only where the kernel has those tracepoints). Once per window: loaded programs serve
  // one window after another.
  Status attach();
  bool traces_migrations() const { return migrations_; }
  // Thread-safe: one map update each.
  Status add_thread(pid_t tid);
  Status add_process(pid_t pid);
  // Appends what the ring buffer holds. From one thread at a time (the drainer).
  Status drain(std::vector<PageEvent>& out);
  // Detaches, then appends the rest: the ring buffer and every CPU's partial batch.
  Status finish(std::vector<PageEvent>& out);
  // Events the programs could not hand over (a full ring buffer): the count is incomplete.
  Result<uint64_t> lost_events() const;
  // Runs the kernel skipped because the same program was already running on that CPU (an
  // interrupt during a run, or a preempted run: trace_transport.h): also incomplete.
  uint64_t missed_runs() const;
  uint64_t bad_pointers() const { return bad_pointers_; }

 private:
  struct Impl;
  explicit BpfPageEvents(std::unique_ptr<Impl> impl);
  static Result<StructPageLayout> read_struct_page_layout(const Impl& impl);
  void append(const void* records, size_t bytes);
  Status clear_maps();
  uint64_t cumulative_missed_runs() const;
  struct bpf_link* attach_program(const char* program, const char* tracepoint);
  std::unique_ptr<Impl> impl_;
  StructPageLayout layout_;
  bool migrations_ = false;
  std::vector<PageEvent>* sink_ = nullptr;
  uint64_t bad_pointers_ = 0;
  uint64_t ring_bytes_ = 0;
  uint64_t missed_before_ = 0;  // the programs' skipped runs before this window
};

}  // namespace memplace
