// SPDX-License-Identifier: GPL-2.0-only
#include "base/nodelist.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "base/text.h"

namespace memplace {
namespace {

// Digits only: from_chars would accept a leading '-' and we want negatives named as such.
Result<int> parse_id(std::string_view tok, std::string_view whole, int max_id) {
  if (tok.empty()) return make_error("empty id in list \"" + std::string(whole) + "\"");
  if (tok.front() == '-')
    return make_error("negative id \"" + std::string(tok) + "\" in list \"" + std::string(whole) +
                      "\"");
  for (char c : tok)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return make_error("bad id \"" + std::string(tok) + "\" in list \"" + std::string(whole) +
                        "\"");
  int v = 0;
  auto [ptr, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
  if (ec != std::errc() || v > max_id)
    return make_error("id \"" + std::string(tok) + "\" exceeds the maximum " +
                      std::to_string(max_id) + " in list \"" + std::string(whole) + "\"");
  return v;
}

}  // namespace

// Input like "0-3,8-11\n" (a sysfs cpulist) or "0,2" (a numactl node list).
Result<std::vector<int>> parse_id_list(std::string_view text, int max_id) {
  const std::string_view whole = trim(text);
  if (whole.empty()) return make_error("empty id list");
  std::vector<int> ids;
  std::string_view rest = whole;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view tok = trim(rest.substr(0, comma));
    if (tok.empty()) return make_error("empty element in list \"" + std::string(whole) + "\"");
    // A dash after the first character separates a range; a leading dash is a negative id.
    size_t dash = tok.find('-', 1);
    if (dash == std::string_view::npos) {
      auto id = parse_id(tok, whole, max_id);
      if (!id) return id.error();
      ids.push_back(*id);
    } else {
      auto lo = parse_id(trim(tok.substr(0, dash)), whole, max_id);
      if (!lo) return lo.error();
      auto hi = parse_id(trim(tok.substr(dash + 1)), whole, max_id);
      if (!hi) return hi.error();
      if (*hi < *lo)
        return make_error("reversed range \"" + std::string(tok) + "\" in list \"" +
                          std::string(whole) + "\"");
      for (int i = *lo; i <= *hi; ++i) ids.push_back(i);
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Result<std::vector<int>> parse_node_list(std::string_view text, const std::vector<int>& allowed) {
  const std::string_view whole = trim(text);
  const bool symbolic = whole == "all" || (!whole.empty() && (whole[0] == '!' || whole[0] == '+'));
  if (!symbolic) return parse_id_list(whole);
  if (allowed.empty())
    return bad_input_error("\"" + std::string(whole) +
                           "\" needs the nodes that exist where the cells run; give node numbers");
  if (whole == "all") return allowed;
  auto ids = parse_id_list(whole.substr(1));
  if (!ids) return ids.error();
  std::vector<int> out;
  if (whole[0] == '!') {
    for (int node : allowed)
      if (!std::binary_search(ids->begin(), ids->end(), node)) out.push_back(node);
    if (out.empty()) return bad_input_error("\"" + std::string(whole) + "\" leaves no node");
    return out;
  }
  for (int position : *ids) {
    if (position >= static_cast<int>(allowed.size()))
      return bad_input_error("\"" + std::string(whole) + "\": there are only " +
                             std::to_string(allowed.size()) + " nodes here");
    out.push_back(allowed[static_cast<size_t>(position)]);
  }
  return out;
}

std::string format_id_list(const std::vector<int>& ids) {
  std::vector<int> sorted = ids;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string out;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(sorted[i]);
    if (j > i) out += '-' + std::to_string(sorted[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace memplace
