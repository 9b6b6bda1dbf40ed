// SPDX-License-Identifier: GPL-2.0-only
// The one parser for JSON memplace did not write itself in this process: runs.jsonl lines,
// manifests, guest lines, agent messages. Copying and dumping a json value recurse once per
// nesting level, so a hostile 300,000-deep array would overflow the stack long after parsing
// succeeded; the depth is refused here, before a tree exists.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "base/result.h"

namespace memplace {

// Deep enough for every file memplace writes (a record nests 4 levels, a Google Benchmark
// report 4), far below what would overflow a stack.
inline constexpr int kMaxJsonDepth = 64;

// Nesting depth of the arrays and objects in `text` (0 for a scalar), counted lexically with
// strings skipped; stops counting once `limit` is exceeded.
int json_nesting_depth(std::string_view text, int limit = kMaxJsonDepth);

// Parses `text`; an error names the reason: "JSON nested deeper than 64 levels" or
// "malformed JSON".
Result<nlohmann::json> parse_json_bounded(std::string_view text, int max_depth = kMaxJsonDepth);

// Whether an already parsed `j` nests at most `max` levels (for a field that must stay shallow),
// checked without recursing deeper than that.
inline bool json_depth_at_most(const nlohmann::json& j, int max) {
  if (!j.is_structured()) return true;
  if (max == 0) return false;
  for (const auto& v : j)
    if (!json_depth_at_most(v, max - 1)) return false;
  return true;
}

}  // namespace memplace
