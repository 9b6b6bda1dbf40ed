// SPDX-License-Identifier: GPL-2.0-only
// Ways to fault a range of memory in, shared by the host toucher, the populate benchmarks and
// (compiled in directly, like agent_protocol.cc) the guest agent. Depends on libc and result.h
// only, so a static program can build it without the rest of the harness.
//
// The default order (populate_order) is what populate_bench measured fastest on 6.18 with 4 KiB
// pages: MADV_POPULATE_WRITE (one system call per slice, no user-space fault per page and no
// second pass over the memory), then a store per page where the kernel or backing refuses the
// madvise. fallocate and memset are never chosen automatically: fallocate allocates file pages
// without mapping them (placement cannot be read through the mapping until they are faulted),
// and memset writes every byte, which is what memhog does.
//
// Transparent huge pages are a separate axis (ThpMode). The default, auto, advises
// MADV_HUGEPAGE as QEMU does on every guest RAM block, and leaves the outcome to the kernel's THP
// mode (enabled=always|madvise|never, shmem_enabled): memory that stands in for a VMM's guest RAM
// gets the pages a VMM's would. With 4 KiB pages every method is within a few percent of the
// kernel's own MAP_POPULATE (per-page allocation, LRU and memcg work dominate, not the fault);
// 2 MiB folios are what makes populate several times faster. "off" advises MADV_NOHUGEPAGE, so
// 4 KiB pages are measured even under enabled=always.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace memplace {

enum class PopulateMethod {
  kMadvPopulateWrite,  // madvise(MADV_POPULATE_WRITE), 5.14+
  kStorePerPage,       // one volatile byte store per page
  kMemset,             // memset of every byte (memhog's way)
  kFallocate,  // fallocate(fd, 0, off, len): shmem/guest_memfd only; allocates, maps nothing
};

// "madv_populate_write", "store_per_page", "memset", "fallocate".
std::string populate_method_name(PopulateMethod m);
Result<PopulateMethod> parse_populate_method(std::string_view name);
std::vector<PopulateMethod> all_populate_methods();

// Whether `m` can populate a mapping with (has_fd) or without a backing file.
bool populate_method_applies(PopulateMethod m, bool has_fd);

// The order tried when no method is forced: madv_populate_write, store_per_page.
std::vector<PopulateMethod> populate_order();

// Populates [begin, begin+len) by `m`. `fd`/`file_offset` locate the slice in the backing file
// for fallocate (ignored otherwise). Errors keep errno: ENOMEM/EFAULT/EHWPOISON mean the
// memory itself could not be had (no other method would do better); anything else means the
// kernel or backing refuses the method.
Status populate_range(PopulateMethod m, void* begin, size_t len, int fd = -1,
                      off_t file_offset = 0);

// Whether an error from populate_range means "try the next method" rather than "give up".
bool populate_error_is_refusal(const Error& e);

enum class ThpMode {
  kAuto,  // MADV_HUGEPAGE where the backing can have huge folios; a refusal is no error
  kOn,    // MADV_HUGEPAGE, and a refusal makes the run unsupported
  kOff,   // MADV_NOHUGEPAGE (best effort): 4 KiB pages even under enabled=always
};

std::string thp_mode_name(ThpMode m);  // "auto", "on", "off"
Result<ThpMode> parse_thp_mode(std::string_view name);

// Gives [begin, begin+len) `mode`'s advice; call before populating. Returns whether huge pages
// were asked for and the kernel took the advice (the kernel may still hand out 4 KiB pages: the
// node meminfo's AnonHugePages/ShmemHugePages say what it did).
Result<bool> apply_thp_mode(ThpMode mode, void* begin, size_t len);

// How a toucher populates: a forced method or the default order, and the THP advice.
struct PopulateOptions {
  std::optional<PopulateMethod> method;  // forced; none = populate_order() with fallback
  ThpMode thp = ThpMode::kAuto;
};

// Populates by `forced`, or by the first method of populate_order() the kernel accepts. Returns
// the method that did the work.
Result<PopulateMethod> populate_with_fallback(std::optional<PopulateMethod> forced, void* begin,
                                              size_t len, int fd = -1, off_t file_offset = 0);

// The most one populate call covers when a touch has a deadline: small enough that a slow
// populate notices its deadline within a fraction of a second on a real host, large enough that
// the extra system calls cost nothing measurable (one per 4096 pages).
inline constexpr size_t kPopulateChunkBytes = 16u << 20;

// What populate_chunked did before it returned.
struct ChunkedPopulate {
  std::optional<PopulateMethod> method;  // the method that did the work; none if nothing was done
  size_t bytes_done = 0;
  bool stopped = false;  // `should_stop` said so before the whole range was done
};

// populate_with_fallback, `chunk` bytes per call: the first chunk picks the method, the rest use
// it. `should_stop` is asked before each chunk (the first included); once it answers true the
// range is left part-done and `stopped` set. A single call is never interrupted.
Result<ChunkedPopulate> populate_chunked(std::optional<PopulateMethod> forced, void* begin,
                                         size_t len, int fd, off_t file_offset, size_t chunk,
                                         const std::function<bool()>& should_stop);

}  // namespace memplace
