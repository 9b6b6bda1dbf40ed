// SPDX-License-Identifier: GPL-2.0-only
#include "placement/placement_source.h"

#include <charconv>

namespace memplace {

uint64_t SourceReading::total_pages() const {
  uint64_t n = 0;
  for (const auto& [node, pages] : pages) n += pages;
  return n;
}

SourceReading source_ok(std::map<int, uint64_t> pages) {
  SourceReading r;
  r.state = SourceReading::State::kOk;
  r.pages = std::move(pages);
  return r;
}

SourceReading source_unsupported(std::string why) {
  SourceReading r;
  r.state = SourceReading::State::kUnsupported;
  r.reason = std::move(why);
  return r;
}

SourceReading source_incomplete(std::string why, std::map<int, uint64_t> seen) {
  SourceReading r;
  r.state = SourceReading::State::kIncomplete;
  r.reason = std::move(why);
  r.pages_seen = std::move(seen);
  return r;
}

namespace {

nlohmann::json node_pages_json(const std::map<int, uint64_t>& pages) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [node, n] : pages) j[std::to_string(node)] = n;
  return j;
}

// Node ids are small non-negative integers; counts are page counts. A record from a guest is
// untrusted, so anything else is refused rather than coerced.
Result<std::map<int, uint64_t>> node_pages_from_json(const nlohmann::json& j, const char* what) {
  if (!j.is_object() || j.size() > 1024) return make_error(std::string(what) + ": not a node map");
  std::map<int, uint64_t> out;
  for (const auto& [key, value] : j.items()) {
    int node = -1;
    auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), node);
    if (ec != std::errc() || p != key.data() + key.size() || node < 0 || node > 4095)
      return make_error(std::string(what) + ": bad node id '" + key.substr(0, 20) + "'");
    if (!value.is_number_unsigned())
      return make_error(std::string(what) + ": node " + key + " is not a page count");
    out[node] = value.get<uint64_t>();
  }
  return out;
}

}  // namespace

const char* source_state_name(SourceReading::State s) {
  switch (s) {
    case SourceReading::State::kOk:
      return "ok";
    case SourceReading::State::kUnsupported:
      return "unsupported";
    case SourceReading::State::kIncomplete:
      return "incomplete";
  }
  return "?";
}

nlohmann::json to_json(const SourceReading& r) {
  nlohmann::json j = r.detail.is_object() ? r.detail : nlohmann::json::object();
  switch (r.state) {
    case SourceReading::State::kOk:
      j["pages"] = node_pages_json(r.pages);
      break;
    case SourceReading::State::kUnsupported:
      j["unsupported"] = r.reason;
      break;
    case SourceReading::State::kIncomplete:
      j["incomplete"] = r.reason;
      j["pages_seen"] = node_pages_json(r.pages_seen);
      break;
  }
  return j;
}

Result<SourceReading> source_reading_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error("placement source: not an object");
  SourceReading r;
  nlohmann::json detail = j;
  if (j.contains("unsupported") && j["unsupported"].is_string()) {
    r = source_unsupported(j["unsupported"].get<std::string>());
    detail.erase("unsupported");
  } else if (j.contains("incomplete") && j["incomplete"].is_string()) {
    auto seen = node_pages_from_json(j.value("pages_seen", nlohmann::json::object()),
                                     "placement source pages_seen");
    if (!seen) return seen.error();
    r = source_incomplete(j["incomplete"].get<std::string>(), *seen);
    detail.erase("incomplete");
    detail.erase("pages_seen");
  } else if (j.contains("pages")) {
    auto pages = node_pages_from_json(j["pages"], "placement source pages");
    if (!pages) return pages.error();
    r = source_ok(*pages);
    detail.erase("pages");
  } else {
    return make_error("placement source: neither pages, unsupported nor incomplete");
  }
  r.detail = std::move(detail);
  return r;
}

}  // namespace memplace
