// SPDX-License-Identifier: GPL-2.0-only
/* The trace source's BPF transport (page_events_bpf.cc): the kmem and migrate tracepoints the
 * tracefs transport records, attached as raw tracepoints. A raw tracepoint hands the program
 * the tracepoint's arguments as they are, with no record formatted and no ring-buffer event
 * written, which is where most of the tracefs transport's cost per page went (README, "trace
 * cost").
 *
 * Each event of a traced task goes into its CPU's batch; a full batch goes to the ring buffer in
 * one copy. The reader sorts by sequence, so batches may arrive in any order. */
// The helpers need <linux/bpf.h>'s types first, so these stay in this order.
// clang-format off
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
// clang-format on

#include "placement/bpf/page_events_record.h"

char LICENSE[] SEC("license") = "GPL";

/* Only its size is used: the kernel's BTF has the real definition. */
struct page {
  int unused;
} __attribute__((preserve_access_index));

extern const void vmemmap_base __ksym __weak;

/* Thread ids (MEMPLACE_TRACED_THREAD) and process ids (MEMPLACE_TRACED_PROCESS: every thread of
 * that process, including ones it creates later). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, __u32);
} tasks SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct memplace_page_event_batch);
} batches SEC(".maps");

/* Sized by the reader before loading, for the cell. */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 20);
} events SEC(".maps");

struct memplace_page_events_state state;

static __always_inline int traced(__u64 id) {
  __u32 tid = (__u32)id, tgid = (__u32)(id >> 32);
  if (bpf_map_lookup_elem(&tasks, &tid)) return 1;
  __u32* kind = bpf_map_lookup_elem(&tasks, &tgid);
  return kind && *kind == MEMPLACE_TRACED_PROCESS;
}

static __always_inline void record(__u32 kind, __u64 page, __u32 order, __u32 gfp) {
  __u64 id = bpf_get_current_pid_tgid();
  if (!traced(id)) return;
  __u32 zero = 0;
  struct memplace_page_event_batch* b = bpf_map_lookup_elem(&batches, &zero);
  if (!b) return;
  __u32 n = b->count;
  if (n >= MEMPLACE_PAGE_EVENT_BATCH) n = 0; /* never: a full batch is sent at once */
  struct memplace_page_event* e = &b->events[n];
  e->sequence = __sync_fetch_and_add(&state.sequence, 1);
  e->page = page;
  e->order = order;
  e->gfp = gfp;
  e->pid = (__u32)id;
  e->kind = kind;
  if (++n == MEMPLACE_PAGE_EVENT_BATCH) {
    /* The reader wakes on its own timer, so no wakeup per batch. */
    if (bpf_ringbuf_output(&events, b->events, sizeof b->events, BPF_RB_NO_WAKEUP))
      __sync_fetch_and_add(&state.lost, MEMPLACE_PAGE_EVENT_BATCH);
    n = 0;
  }
  b->count = n;
}

/* mm_page_alloc(struct page *page, unsigned int order, gfp_t gfp_flags, int migratetype) */
SEC("raw_tp/mm_page_alloc")
int page_alloc(struct bpf_raw_tracepoint_args* ctx) {
  if (!ctx->args[0]) return 0; /* a failed allocation */
  record(MEMPLACE_PAGE_ALLOC, ctx->args[0], (__u32)ctx->args[1], (__u32)ctx->args[2]);
  return 0;
}

/* mm_page_free(struct page *page, unsigned int order) */
SEC("raw_tp/mm_page_free")
int page_free(struct bpf_raw_tracepoint_args* ctx) {
  record(MEMPLACE_PAGE_FREE, ctx->args[0], (__u32)ctx->args[1], 0);
  return 0;
}

/* mm_page_free_batched(struct page *page): order 0 */
SEC("raw_tp/mm_page_free_batched")
int page_free_batched(struct bpf_raw_tracepoint_args* ctx) {
  record(MEMPLACE_PAGE_FREE, ctx->args[0], 0, 0);
  return 0;
}

SEC("raw_tp/mm_migrate_pages_start")
int migrate_start(struct bpf_raw_tracepoint_args* ctx) {
  record(MEMPLACE_MIGRATE_START, 0, 0, 0);
  return 0;
}

SEC("raw_tp/mm_migrate_pages")
int migrate_end(struct bpf_raw_tracepoint_args* ctx) {
  record(MEMPLACE_MIGRATE_END, 0, 0, 0);
  return 0;
}

/* Run once by the reader (BPF_PROG_TEST_RUN), never attached: where the kernel keeps its
 * struct pages, so that a page pointer can be turned into a pfn. */
SEC("raw_tp")
int read_layout(void* ctx) {
  __u64 base = 0;
  if (&vmemmap_base) bpf_probe_read_kernel(&base, sizeof base, &vmemmap_base);
  state.vmemmap_base = base;
  state.page_size = bpf_core_type_size(struct page);
  return 0;
}
