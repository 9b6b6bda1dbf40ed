// SPDX-License-Identifier: GPL-2.0-only
/* One page event as the trace source's BPF programs hand it to memplace: shared by the programs
 * (page_events.bpf.c, C for the BPF target) and their reader (page_events_bpf.cc). Plain C,
 * fixed-width fields, no padding: both compilers must lay it out alike. */
#ifndef MEMPLACE_PAGE_EVENTS_RECORD_H
#define MEMPLACE_PAGE_EVENTS_RECORD_H

#include <linux/types.h>

enum memplace_page_event_kind {
  MEMPLACE_PAGE_ALLOC = 0,
  MEMPLACE_PAGE_FREE = 1,
  MEMPLACE_MIGRATE_START = 2,
  MEMPLACE_MIGRATE_END = 3,
};

struct memplace_page_event {
  __u64 sequence; /* one global count across CPUs: the order the events happened in */
  __u64 page;     /* the struct page pointer; the reader turns it into a pfn */
  __u32 order;
  __u32 gfp;
  __u32 pid; /* the thread */
  __u32 kind;
};

/* Events are gathered per CPU and handed over a batch at a time: a ring-buffer reservation per
 * event cost more than the rest of the program. 128 events of 32 bytes: one 4 KiB record. */
#define MEMPLACE_PAGE_EVENT_BATCH 128
struct memplace_page_event_batch {
  __u32 count;
  __u32 unused;
  struct memplace_page_event events[MEMPLACE_PAGE_EVENT_BATCH];
};

/* What the reader needs besides the events, in the programs' .bss. */
struct memplace_page_events_state {
  __u64 sequence;
  __u64 lost;         /* events in batches the ring buffer had no room for */
  __u64 vmemmap_base; /* where struct page for pfn 0 sits (0: the symbol was not found) */
  __u64 page_size;    /* sizeof(struct page) in the running kernel */
};

/* Values in the tasks map. */
#define MEMPLACE_TRACED_THREAD 1
#define MEMPLACE_TRACED_PROCESS 2

#endif
