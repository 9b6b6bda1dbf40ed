// SPDX-License-Identifier: GPL-2.0-only
// The populate methods. Kept free of the rest of the harness but base/ (see populate.h), so the
// static guest agent's library can hold this file.
#include "host/populate.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/enum_names.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef EHWPOISON
#define EHWPOISON 133
#endif

namespace memplace {

constexpr EnumNames<PopulateMethod, 4> kPopulateMethodNames{
    {"madv_populate_write", "store_per_page", "memset", "fallocate"}};

std::string populate_method_name(PopulateMethod m) {
  return name_of(kPopulateMethodNames, m, "unknown");
}

std::vector<PopulateMethod> all_populate_methods() {
  return all_values(kPopulateMethodNames);
}

Result<PopulateMethod> parse_populate_method(std::string_view name) {
  return parse_named(kPopulateMethodNames, name, "populate method");
}

bool populate_method_applies(PopulateMethod m, bool has_fd) {
  return m != PopulateMethod::kFallocate || has_fd;
}

std::vector<PopulateMethod> populate_order() {
  return {PopulateMethod::kMadvPopulateWrite, PopulateMethod::kStorePerPage};
}

Status populate_range(PopulateMethod m, void* begin, size_t len, int fd, off_t file_offset) {
  if (len == 0) return {};
  char* p = static_cast<char*>(begin);
  switch (m) {
    case PopulateMethod::kMadvPopulateWrite:
      if (::madvise(p, len, MADV_POPULATE_WRITE) != 0)
        return errno_error("madvise(MADV_POPULATE_WRITE)");
      return {};
    case PopulateMethod::kStorePerPage: {
      const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
      for (size_t off = 0; off < len; off += page) *reinterpret_cast<volatile char*>(p + off) = 1;
      return {};
    }
    case PopulateMethod::kMemset:
      std::memset(p, 0xff, len);
      // Keep the compiler from treating the stores as dead (the caller may never read them).
      asm volatile("" : : "r"(p) : "memory");
      return {};
    case PopulateMethod::kFallocate:
      if (fd < 0)
        return system_error(EOPNOTSUPP, "fallocate needs a backing file (shmem, guest_memfd)");
      // KEEP_SIZE: the file already has its size, and guest_memfd accepts nothing else.
      if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, file_offset, static_cast<off_t>(len)) != 0)
        return errno_error("fallocate");
      return {};
  }
  return make_error("unknown populate method");
}

bool populate_error_is_refusal(const Error& e) {
  // Anything but "the memory could not be had" (ENOMEM; EFAULT/EHWPOISON: a hole or poison the
  // fault could not fill) is the method being refused, as the host toucher always treated it.
  return !(e.err == ENOMEM || e.err == EFAULT || e.err == EHWPOISON);
}

Result<PopulateMethod> populate_with_fallback(std::optional<PopulateMethod> forced, void* begin,
                                              size_t len, int fd, off_t file_offset) {
  if (forced) {
    if (auto s = populate_range(*forced, begin, len, fd, file_offset); !s) return s.error();
    return *forced;
  }
  Error last = make_error("no populate method");
  for (PopulateMethod m : populate_order()) {
    if (!populate_method_applies(m, fd >= 0)) continue;
    auto s = populate_range(m, begin, len, fd, file_offset);
    if (s) return m;
    last = s.error();
    // Out of memory, or a hole the policy could not fill: a store would SIGBUS or OOM instead.
    if (!populate_error_is_refusal(last)) return last;
  }
  return last;
}

Result<ChunkedPopulate> populate_chunked(std::optional<PopulateMethod> forced, void* begin,
                                         size_t len, int fd, off_t file_offset, size_t chunk,
                                         const std::function<bool()>& should_stop) {
  if (chunk == 0) return make_error("populate chunk size must be positive");
  ChunkedPopulate out;
  char* p = static_cast<char*>(begin);
  while (out.bytes_done < len) {
    if (should_stop && should_stop()) {
      out.stopped = true;
      return out;
    }
    const size_t n = std::min(chunk, len - out.bytes_done);
    const off_t off = file_offset + static_cast<off_t>(out.bytes_done);
    auto used =
        populate_with_fallback(out.method ? out.method : forced, p + out.bytes_done, n, fd, off);
    if (!used) return used.error();
    out.method = *used;
    out.bytes_done += n;
  }
  return out;
}

constexpr EnumNames<ThpMode, 3> kThpModeNames{{"auto", "on", "off"}};

std::string thp_mode_name(ThpMode m) {
  return name_of(kThpModeNames, m, "unknown");
}

Result<ThpMode> parse_thp_mode(std::string_view name) {
  return parse_named(kThpModeNames, name, "THP mode");
}

Result<bool> apply_thp_mode(ThpMode mode, void* begin, size_t len) {
  switch (mode) {
    case ThpMode::kOn:
      // A kernel that refuses the advice cannot give this range huge pages: unsupported.
      if (::madvise(begin, len, MADV_HUGEPAGE) != 0)
        return errno_error("madvise(MADV_HUGEPAGE)", ErrorKind::kUnsupported);
      return true;
    case ThpMode::kAuto:
      // EINVAL: no THP in this kernel, or a mapping that cannot have it; 4 KiB pages it is.
      return ::madvise(begin, len, MADV_HUGEPAGE) == 0;
    case ThpMode::kOff:
      (void)::madvise(begin, len, MADV_NOHUGEPAGE);  // without THP there is nothing to refuse
      return false;
  }
  return make_error("unknown THP mode");
}

}  // namespace memplace
