// SPDX-License-Identifier: GPL-2.0-only
// Wall-clock timestamps for records, manifests and the guest agent's hello: one format everywhere.
#pragma once

#include <ctime>
#include <string>

namespace memplace {

// ISO 8601 UTC with seconds ("2026-11-26T07:59:49Z").
inline std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace memplace
