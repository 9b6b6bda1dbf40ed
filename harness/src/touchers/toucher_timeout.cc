// SPDX-License-Identifier: GPL-2.0-only
// The time limit every touch runs under, and the words a timeout is reported in. The runner
// records any touch error as "failed"; "timed out after N s" is how a reader tells a hang apart.
#include <cstdio>

#include "touchers/toucher.h"

namespace memplace {

std::chrono::milliseconds default_toucher_timeout(uint64_t size_bytes) {
  constexpr uint64_t kGiB = 1ull << 30;
  const uint64_t gibs = (size_bytes + kGiB - 1) / kGiB;
  return std::chrono::seconds(120 + 60 * gibs);
}

std::chrono::milliseconds toucher_timeout_for(const Cell& cell,
                                              std::optional<std::chrono::milliseconds> configured) {
  return configured ? *configured : default_toucher_timeout(cell.size_bytes);
}

std::string timed_out_message(const std::string& toucher, std::chrono::milliseconds timeout) {
  const long long ms = timeout.count();
  std::string after;
  if (ms % 1000 == 0) {
    after = std::to_string(ms / 1000);
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", static_cast<double>(ms) / 1000.0);
    after = buf;
  }
  return toucher + " toucher timed out after " + after + " s";
}

}  // namespace memplace
