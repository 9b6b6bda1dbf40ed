// SPDX-License-Identifier: GPL-2.0-only
#include "base/json_bounded.h"

#include <string>

namespace memplace {

int json_nesting_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

Result<nlohmann::json> parse_json_bounded(std::string_view text, int max_depth) {
  if (json_nesting_depth(text, max_depth) > max_depth)
    return make_error("JSON nested deeper than " + std::to_string(max_depth) + " levels");
  // nlohmann's parser itself keeps its state in a vector, not on the stack.
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error("malformed JSON");
  return j;
}

}  // namespace memplace
