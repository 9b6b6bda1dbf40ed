// SPDX-License-Identifier: GPL-2.0-only
#include "spec/shard.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "base/hash.h"

namespace memplace {
namespace {

bool parse_positive(std::string_view text, int& out) {
  if (text.empty() || text.size() > 9) return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && p == text.data() + text.size() && out >= 1;
}

}  // namespace

Result<Shard> parse_shard(std::string_view text, const std::string& field) {
  auto bad = [&](const std::string& why) {
    return bad_input_error(field + ": " + why + ", got '" + std::string(text) + "'");
  };
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return bad("expected K/N (shard K of N, 1 <= K <= N)");
  Shard s;
  if (!parse_positive(text.substr(0, slash), s.index) ||
      !parse_positive(text.substr(slash + 1), s.count))
    return bad("expected K/N with whole numbers K and N of at least 1");
  if (s.count > kMaxShards) return bad("N must be at most " + std::to_string(kMaxShards));
  if (s.index > s.count) return bad("K must be at most N");
  return s;
}

std::string shard_text(const Shard& s) {
  return std::to_string(s.index) + "/" + std::to_string(s.count);
}

std::string run_key(std::string_view cell_key, int repeat) {
  return std::string(cell_key) + "#" + std::to_string(repeat);
}

std::string run_key(const Cell& cell, std::string_view kernel) {
  std::string key = run_key(cell_key(cell), cell.repeat);
  return kernel.empty() ? key : std::string(kernel) + "|" + key;
}

std::vector<int> assign_shards(const std::vector<std::string>& keys, int count) {
  // One rank per distinct key, so a key repeated in the input gets one shard.
  std::map<std::string, int> shard_of;
  for (const auto& k : keys) shard_of.emplace(k, 0);
  std::vector<std::pair<uint64_t, const std::string*>> ranked;
  ranked.reserve(shard_of.size());
  for (const auto& [k, unused] : shard_of) ranked.push_back({fnv1a64(k), &k});
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : *a.second < *b.second;
  });
  for (size_t i = 0; i < ranked.size(); ++i)
    shard_of[*ranked[i].second] = static_cast<int>(i % static_cast<size_t>(count)) + 1;
  std::vector<int> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(shard_of[k]);
  return out;
}

std::vector<Cell> shard_cells(const std::vector<Cell>& cells, const Shard& s) {
  return shard_cells_for_kernel(cells, {}, 0, s);
}

std::vector<Cell> shard_cells_for_kernel(const std::vector<Cell>& cells,
                                         const std::vector<std::string>& kernels,
                                         size_t kernel_index, const Shard& s) {
  std::vector<std::string> ids = kernels.empty() ? std::vector<std::string>{""} : kernels;
  std::map<std::string, int> seen;
  for (auto& id : ids)
    if (int n = ++seen[id]; n > 1) id += "@" + std::to_string(n);
  std::vector<std::string> keys;
  for (const auto& id : ids)
    for (const auto& c : cells) keys.push_back(run_key(c, id));
  std::vector<int> shards = assign_shards(keys, s.count);
  // The slice of this kernel's keys, in the matrix's own order.
  size_t offset = std::min(kernel_index, ids.size() - 1) * cells.size();
  std::vector<Cell> out;
  for (size_t i = 0; i < cells.size(); ++i)
    if (shards[offset + i] == s.index) out.push_back(cells[i]);
  return out;
}

std::vector<Cell> select_runs(const std::vector<Cell>& cells,
                              const std::vector<std::string>& keys) {
  std::set<std::string> wanted(keys.begin(), keys.end());
  std::vector<Cell> out;
  for (const auto& c : cells)
    if (wanted.count(run_key(c))) out.push_back(c);
  return out;
}

}  // namespace memplace
