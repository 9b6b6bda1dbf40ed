// SPDX-License-Identifier: GPL-2.0-only
// Small text helpers shared by the parsers.
#pragma once

#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace memplace {

// "0x1f": flag words and capability bitmasks as kernel developers read them.
inline std::string hex_string(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

// Text from a results dir or a guest, made safe for a terminal: control characters other than a
// newline or a tab (an escape sequence would move the cursor or retitle the window) become \xNN.
inline std::string terminal_safe(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", u);
      out += b;
    } else {
      out += c;
    }
  }
  return out;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Hands out the lines of a text one at a time, without their newlines (the last may lack one):
//   LineCursor lines(text);
//   for (std::string_view line; lines.next(line);) ...
class LineCursor {
 public:
  explicit LineCursor(std::string_view text) : rest_(text) {}
  bool next(std::string_view& line) {
    if (rest_.empty()) return false;
    size_t nl = rest_.find('\n');
    line = rest_.substr(0, nl);
    rest_.remove_prefix(nl == std::string_view::npos ? rest_.size() : nl + 1);
    return true;
  }

 private:
  std::string_view rest_;
};

template <class Fn>
void for_each_line(std::string_view text, Fn fn) {
  LineCursor lines(text);
  for (std::string_view line; lines.next(line);) fn(line);
}

// Calls fn(line, line_number) -> Status for each non-blank line (numbered from 1 among all
// lines), and stops at the first error, which it returns.
template <class Fn>
Status for_each_nonblank_line(std::string_view text, Fn fn) {
  LineCursor lines(text);
  int lineno = 0;
  for (std::string_view line; lines.next(line);) {
    ++lineno;
    if (trim(line).empty()) continue;
    if (auto s = fn(line, lineno); !s) return s;
  }
  return {};
}

// The non-blank lines of `text`, trimmed.
inline std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> out;
  for_each_line(text, [&](std::string_view line) {
    if (!trim(line).empty()) out.emplace_back(trim(line));
  });
  return out;
}

}  // namespace memplace
