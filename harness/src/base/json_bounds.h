// Limits for JSON that comes from outside memplace's own process (a guest, a results dir, a
// file in the cache): nlohmann's serializer and accessors recurse, so depth must be bounded
// before anything walks the value.
#pragma once

#include <nlohmann/json.hpp>

namespace memplace {

// Whether `j` nests at most `max` levels, checked without recursing deeper than that.
inline bool json_depth_at_most(const nlohmann::json& j, int max) {
  if (!j.is_structured()) return true;
  if (max == 0) return false;
  for (const auto& v : j)
    if (!json_depth_at_most(v, max - 1)) return false;
  return true;
}

}  // namespace memplace
