// SPDX-License-Identifier: GPL-2.0-only
// The trace source's BPF object as bytes in the library: compiled from bpf/page_events.bpf.c by
// the build (CMakeLists.txt), which names its path in MEMPLACE_PAGE_EVENTS_BPF_OBJECT. Kept in
// the binary, not beside it, so that a guest's initramfs or a cluster node needs no extra file.
#ifndef MEMPLACE_PAGE_EVENTS_BPF_OBJECT
#error "the build names the compiled BPF object"
#endif

__asm__(
    ".section .rodata\n"
    ".global memplace_page_events_bpf\n"
    ".global memplace_page_events_bpf_end\n"
    ".balign 8\n"
    "memplace_page_events_bpf:\n"
    ".incbin \"" MEMPLACE_PAGE_EVENTS_BPF_OBJECT
    "\"\n"
    "memplace_page_events_bpf_end:\n"
    ".previous\n");
