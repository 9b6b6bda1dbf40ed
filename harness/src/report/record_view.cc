// SPDX-License-Identifier: GPL-2.0-only
#include "report/record_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string_view>

#include "base/enum_names.h"
#include "base/nodelist.h"
#include "spec/spec.h"

namespace memplace::view {

std::string nodes_text(const std::vector<int>& nodes) {
  return nodes.empty() ? "-" : format_id_list(nodes);
}

std::vector<int> split_nodes(const RunRecord& r) {
  std::set<int> ids(r.nodes.begin(), r.nodes.end());
  for (const auto& [node, pages] : r.placement_pages) ids.insert(node);
  if (r.verdict) {
    for (const auto& [node, f] : r.verdict->expected) ids.insert(node);
    for (const auto& [node, f] : r.verdict->measured) ids.insert(node);
  }
  return {ids.begin(), ids.end()};
}

std::map<int, double> measured_split(const RunRecord& r) {
  uint64_t total = 0;
  for (const auto& [node, pages] : r.placement_pages) total += pages;
  if (total == 0) return r.verdict ? r.verdict->measured : std::map<int, double>{};
  std::map<int, double> out;
  for (const auto& [node, pages] : r.placement_pages)
    out[node] = static_cast<double>(pages) / static_cast<double>(total);
  return out;
}

std::string split_text(const std::map<int, double>& split, const std::vector<int>& nodes) {
  std::string out;
  for (int node : nodes) {
    auto it = split.find(node);
    double f = it == split.end() ? 0.0 : it->second;
    if (!out.empty()) out += '/';
    out += std::to_string(static_cast<long>(std::lround(f * 100)));
  }
  return out;
}

std::optional<uint64_t> memused_kb(const MeminfoSnapshot& s, int node) {
  auto n = s.find(node);
  if (n == s.end()) return std::nullopt;
  const NodeMeminfo& m = n->second;
  auto total = m.find("MemTotal"), free = m.find("MemFree");
  // Figures that contradict each other are no measurement: "n/a", never an unsigned wrap.
  if (auto u = m.find("MemUsed"); u != m.end()) {
    if (total != m.end() && u->second > total->second) return std::nullopt;
    return u->second;
  }
  if (total == m.end() || free == m.end() || free->second > total->second) return std::nullopt;
  return total->second - free->second;
}

std::string verdict_text(const RunRecord& r) {
  if (!r.verdict) return "";
  return r.verdict->honored ? "honored" : "not honored";
}

std::string size_text(uint64_t bytes) {
  return format_size(bytes);
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

namespace {

// A spreadsheet runs a cell starting with = + - @ (or a tab or CR before one) as a formula.
// Numbers ("-0.25") and the empty node list ("-") are not formulas and stay as they are.
bool looks_like_formula(const std::string& s) {
  if (s.empty() || std::string_view("=+-@\t\r").find(s[0]) == std::string_view::npos) return false;
  if (s == "-") return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end != s.c_str() + s.size();
}

}  // namespace

std::string csv_field(const std::string& s) {
  bool formula = looks_like_formula(s);
  if (!formula && s.find_first_of(",\"\n\r") == std::string::npos) return s;
  // The leading quote makes the spreadsheet take the cell as text.
  std::string out = formula ? "\"'" : "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += csv_field(fields[i]);
  }
  return out + "\n";
}

namespace {

// `code`: inside a `code span`, where a backtick would end the span and HTML is inert.
std::string hex_byte(char c) {
  char b[8];
  std::snprintf(b, sizeof b, "\\x%02x", static_cast<unsigned char>(c));
  return b;
}

std::string md_escape(const std::string& s, bool code) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else if (c == '`' && code)
      out += '\'';
    else if (c == '<' && !code)
      out += "&lt;";  // no raw HTML from a record in a rendered report
    else if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
      out += hex_byte(c);  // an escape sequence from a record would reach a terminal as one
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string md_cell(const std::string& s) {
  return md_escape(s, false);
}

std::string md_code(const std::string& s) {
  return md_escape(s, true);
}

void CellFold::add(const RunRecord& r) {
  if (!first) first = &r;
  ++runs;
  if (r.status == RunStatus::kOk) {
    ++ok;
    populate_seconds.push_back(r.populate_seconds);
    for (const auto& [node, p] : r.placement_pages) pages[node] += p;
    for (const auto& [node, f] : measured_split(r)) measured_sum[node] += f;
    if (r.verdict) {
      ++judged;
      honored += r.verdict->honored;
    }
    return;
  }
  (r.status == RunStatus::kUnsupported ? unsupported : failed) += 1;
  if (message.empty()) message = r.message;
}

std::map<int, double> CellFold::split() const {
  uint64_t total = 0;
  for (const auto& [node, p] : pages) total += p;
  std::map<int, double> out;
  if (total == 0) {
    for (const auto& [node, f] : measured_sum) out[node] = f / ok;
    return out;
  }
  for (const auto& [node, p] : pages) out[node] = static_cast<double>(p) / total;
  return out;
}

constexpr EnumNames<CellState, 7> kCellStateNames{
    {"honored", "not honored", "mixed", "no verdict", "unsupported", "failed", "absent"}};

std::string cell_state_name(CellState state) {
  return name_of(kCellStateNames, state, "absent");
}

CellState CellFold::state() const {
  if (ok == 0) return failed ? CellState::kFailed : CellState::kUnsupported;
  if (judged == 0) return CellState::kNoVerdict;
  if (honored == judged) return CellState::kHonored;
  return honored == 0 ? CellState::kNotHonored : CellState::kMixed;
}

double CellFold::populate_mean() const {
  double sum = 0;
  for (double v : populate_seconds) sum += v;
  return populate_seconds.empty() ? 0 : sum / populate_seconds.size();
}

}  // namespace memplace::view
