// SPDX-License-Identifier: GPL-2.0-only
// A stable, seedless 64-bit hash for identities that must agree across processes and hosts
// (shard assignment, topology digests). Not for security: results dirs are checked, not trusted.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace memplace {

// FNV-1a: the same bytes give the same value on every build and machine, unlike std::hash.
inline uint64_t fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

inline std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace memplace
