// SPDX-License-Identifier: GPL-2.0-only
// The numactl/sysfs list syntax shared by node lists ("0-1", "0,2") and cpulists
// ("0-3,8-11"). One parser for both, because the kernel prints both the same way.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace memplace {

// Accepts "N", "A-B", comma-separated mixes, surrounding whitespace and a trailing newline.
// Returns a sorted, de-duplicated list. Rejects empty input, reversed ranges, negatives,
// ids above `max_id` and any other character, naming the offending token.
Result<std::vector<int>> parse_id_list(std::string_view text, int max_id = 4095);

// numactl's node syntax: a list as above; "all", every node in `allowed`; "!LIST", every node in
// `allowed` but those; "+LIST", positions within `allowed` ("+0-1": the first two). `allowed` is
// the sorted nodes that exist where the cells run; with none given, only plain lists are read.
Result<std::vector<int>> parse_node_list(std::string_view text, const std::vector<int>& allowed);

// Inverse of parse_id_list: {0,1,2,5} -> "0-2,5".
std::string format_id_list(const std::vector<int>& ids);

}  // namespace memplace
