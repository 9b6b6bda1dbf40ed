// SPDX-License-Identifier: GPL-2.0-only
#pragma once
// One table per enum gives its values the names used in specs, flags and records, so the name,
// the parse and the "known: ..." list of an error all come from one place.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace memplace {

// names[i] is the name of the enum's value i: the enum counts 0, 1, 2, ... in the table's order
// (no explicit values), which each table's round-trip test holds it to.
template <class E, size_t N>
struct EnumNames {
  std::array<std::string_view, N> names;
};

// The value's name, or `fallback` for a value outside the table (a corrupt enum).
template <class E, size_t N>
std::string name_of(const EnumNames<E, N>& table, E value, std::string_view fallback = "?") {
  auto i = static_cast<size_t>(value);
  return std::string(i < N ? table.names[i] : fallback);
}

template <class E, size_t N>
std::optional<E> value_named(const EnumNames<E, N>& table, std::string_view name) {
  for (size_t i = 0; i < N; ++i)
    if (table.names[i] == name) return static_cast<E>(i);
  return std::nullopt;
}

// "a, b, c": for errors that list what would have been accepted.
template <class E, size_t N>
std::string known_names(const EnumNames<E, N>& table, std::string_view separator = ", ") {
  std::string out;
  for (std::string_view name : table.names) {
    if (!out.empty()) out += separator;
    out += name;
  }
  return out;
}

// The value named `name`, or "unknown WHAT 'name' (known: a, b, c)".
template <class E, size_t N>
Result<E> parse_named(const EnumNames<E, N>& table, std::string_view name, std::string_view what) {
  if (auto v = value_named(table, name)) return *v;
  return make_error("unknown " + std::string(what) + " '" + std::string(name) +
                    "' (known: " + known_names(table) + ")");
}

template <class E, size_t N>
std::vector<E> all_values(const EnumNames<E, N>& table) {
  std::vector<E> out;
  for (size_t i = 0; i < N; ++i) out.push_back(static_cast<E>(i));
  return out;
}

}  // namespace memplace
