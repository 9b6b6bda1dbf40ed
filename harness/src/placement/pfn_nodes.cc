// SPDX-License-Identifier: GPL-2.0-only
#include "placement/pfn_nodes.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "base/text.h"
#include "host/sysfs.h"

namespace memplace {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kPageBytes = 4096;

// "node12" / "memory31" -> 12 / 31.
std::optional<uint64_t> numbered(std::string_view name, std::string_view prefix) {
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return std::nullopt;
  uint64_t v = 0;
  auto digits = name.substr(prefix.size());
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
  return v;
}

}  // namespace

Result<PfnNodeMap> PfnNodeMap::from_ranges(std::vector<Range> ranges, std::string source) {
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.first_pfn < b.first_pfn; });
  PfnNodeMap m;
  m.source_ = std::move(source);
  for (const Range& r : ranges) {
    if (r.end_pfn <= r.first_pfn) continue;
    if (!m.ranges_.empty()) {
      Range& last = m.ranges_.back();
      if (r.first_pfn < last.end_pfn) {
        if (r.node != last.node)
          return make_error(m.source_ + ": pfn ranges of nodes " + std::to_string(last.node) +
                            " and " + std::to_string(r.node) + " overlap at pfn " +
                            std::to_string(r.first_pfn));
        last.end_pfn = std::max(last.end_pfn, r.end_pfn);
        continue;
      }
      if (r.first_pfn == last.end_pfn && r.node == last.node) {
        last.end_pfn = r.end_pfn;
        continue;
      }
    }
    m.ranges_.push_back(r);
  }
  if (m.ranges_.empty()) return make_error(m.source_ + ": no memory ranges");
  return m;
}

std::optional<int> PfnNodeMap::node_of(uint64_t pfn) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), pfn,
                             [](uint64_t p, const Range& r) { return p < r.first_pfn; });
  if (it == ranges_.begin()) return std::nullopt;
  --it;
  if (pfn >= it->end_pfn) return std::nullopt;
  return it->node;
}

Result<PfnNodeMap> read_pfn_node_map_from_blocks(const std::string& root) {
  auto text = read_text_file(sys_path(root, "sys/devices/system/memory/block_size_bytes"));
  if (!text) return text.error();
  std::string_view hex = trim(*text);
  if (hex.substr(0, 2) == "0x") hex.remove_prefix(2);
  uint64_t block = 0;
  auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), block, 16);
  if (ec != std::errc() || p != hex.data() + hex.size() || block < kPageBytes ||
      block % kPageBytes != 0)
    return make_error("block_size_bytes: not a page multiple in hex: '" + std::string(hex) + "'");
  const uint64_t pages_per_block = block / kPageBytes;
  auto nodes = list_nodes(root);
  if (!nodes) return nodes.error();
  std::vector<PfnNodeMap::Range> ranges;
  for (int node : *nodes) {
    std::error_code ec2;
    fs::directory_iterator it(sys_path(root, "sys/devices/system/node/node" + std::to_string(node)),
                              ec2);
    if (ec2) return make_error("listing node" + std::to_string(node) + ": " + ec2.message());
    for (const auto& entry : it) {
      auto m = numbered(entry.path().filename().string(), "memory");
      if (!m || *m > (UINT64_MAX / block)) continue;
      ranges.push_back({*m * pages_per_block, (*m + 1) * pages_per_block, node});
    }
  }
  return PfnNodeMap::from_ranges(std::move(ranges), "memory_blocks");
}

Result<PfnNodeMap> parse_zoneinfo_spans(std::string_view text) {
  std::vector<PfnNodeMap::Range> ranges;
  int node = -1;
  uint64_t spanned = 0;  // of the zone being read; 0 until its "spanned" line
  LineCursor lines(text);
  for (std::string_view line; lines.next(line);) {
    std::string_view t = trim(line);
    if (t.substr(0, 5) == "Node ") {
      auto comma = t.find(',');
      auto n = numbered(t.substr(0, comma), "Node ");
      node = n && *n < 4096 ? static_cast<int>(*n) : -1;
      spanned = 0;
      continue;
    }
    auto value_of = [&](std::string_view key) -> std::optional<uint64_t> {
      if (t.substr(0, key.size()) != key) return std::nullopt;
      std::string_view v = trim(t.substr(key.size()));
      uint64_t x = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
      if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
      return x;
    };
    if (auto s = value_of("spanned")) spanned = *s;
    if (auto start = value_of("start_pfn:"); start && node >= 0 && spanned > 0)
      ranges.push_back({*start, *start + spanned, node});
  }
  return PfnNodeMap::from_ranges(std::move(ranges), "zoneinfo");
}

Result<PfnNodeMap> read_pfn_node_map(const std::string& root) {
  auto blocks = read_pfn_node_map_from_blocks(root);
  if (blocks) return blocks;
  auto text = read_text_file(sys_path(root, "proc/zoneinfo"));
  if (!text) {
    return text.error().prefixed("memory blocks: " + blocks.error().describe() + "; zoneinfo: ");
  }
  auto spans = parse_zoneinfo_spans(*text);
  if (!spans) {
    return spans.error().prefixed("memory blocks: " + blocks.error().describe() + "; zoneinfo: ");
  }
  return spans;
}

}  // namespace memplace
